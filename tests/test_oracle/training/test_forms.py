"""Every model form, every loss and every optimizer watch supports pass a correct training loop,
in float64 and float32: each (form, loss) pair runs two steps (the second with the optimizer's
buffers filled), the optimizer rotating so that every form and every loss meet every optimizer."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import oracle

HEADS = {"linear": [], "sigmoid": [nn.Sigmoid()], "log_softmax": [nn.LogSoftmax(dim=1)]}


class MLP(nn.Module):
    """An nn.Module subclass as tutorials write one: layers in __init__, functions in forward."""

    def __init__(self, head: str) -> None:
        super().__init__()
        self.head = head
        self.hidden = nn.Linear(6, 5)
        self.out = nn.Linear(5, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.gelu(self.hidden(x.view(x.size(0), -1)))
        out = self.out(h)
        if self.head == "sigmoid":
            return torch.sigmoid(out)
        if self.head == "log_softmax":
            return F.log_softmax(out, dim=1)
        return out


FORMS = {
    "Sequential": lambda head: nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3), *HEADS[head]),
    "nested Sequential": lambda head: nn.Sequential(nn.Sequential(nn.Linear(6, 5), nn.ReLU()), nn.Sequential(
        nn.Linear(5, 4), nn.SiLU(), nn.Sequential(nn.Linear(4, 3), *HEADS[head]))),
    "Flatten on the input": lambda head: nn.Sequential(nn.Flatten(), nn.Linear(6, 5), nn.ELU(), nn.Linear(5, 3),
                                                       *HEADS[head]),
    "Module subclass": MLP,
    "bias=False": lambda head: nn.Sequential(nn.Linear(6, 5, bias=False), nn.Softplus(), nn.Linear(5, 3, bias=False),
                                             *HEADS[head]),
    "Dropout in eval mode": lambda head: nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Dropout(0.3), nn.Linear(5, 3),
                                                       *HEADS[head]).eval(),
    "Dropout p=0": lambda head: nn.Sequential(nn.Linear(6, 5), nn.Sigmoid(), nn.Dropout(0.0), nn.Linear(5, 3),
                                              *HEADS[head]),
    "Identity": lambda head: nn.Sequential(nn.Linear(6, 5), nn.LeakyReLU(0.01), nn.Identity(), nn.Linear(5, 3),
                                           nn.Identity(), *HEADS[head]),
}


def _indices(g, m, dtype):
    return torch.randint(0, 3, (m,), generator=g)


LOSSES = {  # name: (loss module, the model's head, targets for m examples)
    "MSELoss": (lambda: nn.MSELoss(), "linear", lambda g, m, dt: torch.randn(m, 3, generator=g, dtype=dt)),
    "BCELoss": (lambda: nn.BCELoss(), "sigmoid", lambda g, m, dt: torch.rand(m, 3, generator=g, dtype=dt)),
    "BCELoss sum": (lambda: nn.BCELoss(reduction="sum"), "sigmoid",
                    lambda g, m, dt: torch.rand(m, 3, generator=g, dtype=dt)),
    "BCEWithLogitsLoss": (lambda: nn.BCEWithLogitsLoss(), "linear",
                          lambda g, m, dt: torch.randint(0, 2, (m, 3), generator=g).to(dt)),
    "CrossEntropyLoss, class indices": (lambda: nn.CrossEntropyLoss(), "linear", _indices),
    "CrossEntropyLoss, probabilities": (lambda: nn.CrossEntropyLoss(), "linear",
                                        lambda g, m, dt: torch.softmax(torch.randn(m, 3, generator=g, dtype=dt), 1)),
    "CrossEntropyLoss, sum": (lambda: nn.CrossEntropyLoss(reduction="sum"), "linear", _indices),
    "CrossEntropyLoss, label smoothing": (lambda: nn.CrossEntropyLoss(label_smoothing=0.1), "linear", _indices),
    "LogSoftmax + NLLLoss": (lambda: nn.NLLLoss(), "log_softmax", _indices),
}

OPTIMIZERS = [
    lambda p: torch.optim.SGD(p, lr=0.1),
    lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.5, dampening=0.2),
    lambda p: torch.optim.Adam(p, lr=0.01),
    lambda p: torch.optim.Adam(p, lr=0.01, amsgrad=True, weight_decay=1e-2),
    lambda p: torch.optim.AdamW(p, lr=0.01),
    lambda p: torch.optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
]


def run_loop(form: str, loss: str, make_optimizer, dtype: torch.dtype, steps: int = 2):
    """The textbook loop, watched: fresh data each step, zero_grad, forward, loss, backward, step."""
    make_loss, head, targets = LOSSES[loss]
    torch.manual_seed(list(FORMS).index(form))
    model = FORMS[form](head).to(dtype)
    optimizer, loss_fn = make_optimizer(model.parameters()), make_loss()
    g = torch.Generator().manual_seed(7)
    shape = (4, 2, 3) if form == "Flatten on the input" else (4, 6)
    with oracle.watch(model, optimizer, loss_fn) as w:
        for _ in range(steps):
            x, y = torch.randn(*shape, generator=g, dtype=dtype), targets(g, 4, dtype)
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
    return w


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("form", list(FORMS))
def test_every_loss_and_optimizer_passes_a_correct_loop(form, dtype):
    for j, loss in enumerate(LOSSES):
        make_optimizer = OPTIMIZERS[(list(FORMS).index(form) + j) % len(OPTIMIZERS)]
        w = run_loop(form, loss, make_optimizer, dtype)
        assert len(w.steps) == 2, w.report()
        assert w.passed, f"{form}, {loss}:\n{w.report()}"
        per_layer = 2 if form == "bias=False" else 4  # dL/dW, W' (and dL/db, b')
        assert len(w.steps[1].records) == 1 + per_layer * w.setup.model.L  # and the loss


def test_the_rotation_pairs_every_form_and_every_loss_with_every_optimizer():
    pairs_form = {(i, (i + j) % len(OPTIMIZERS)) for i in range(len(FORMS)) for j in range(len(LOSSES))}
    pairs_loss = {(j, (i + j) % len(OPTIMIZERS)) for i in range(len(FORMS)) for j in range(len(LOSSES))}
    assert {o for _, o in pairs_form} == set(range(len(OPTIMIZERS)))
    assert all({o for f, o in pairs_form if f == i} == set(range(len(OPTIMIZERS))) for i in range(len(FORMS)))
    assert all({o for j, o in pairs_loss if j == k} == set(range(len(OPTIMIZERS))) for k in range(len(LOSSES)))
