"""check_torch_step: one real torch step (zero_grad, forward, loss, backward, optimizer.step())
against manual_bp's Eq. 1-5 and its optimizers; what manual_bp does not model is refused
before the step is taken."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from oracle.training.torch_step import UnsupportedError, check_torch_step


def _model(*layers, dtype=torch.float64):
    torch.manual_seed(0)
    return nn.Sequential(*layers).to(dtype)


def _data(m=5, n0=3, dtype=torch.float64):
    g = torch.Generator().manual_seed(1)
    return torch.randn(m, n0, generator=g, dtype=dtype)


@pytest.mark.parametrize(("layers", "loss_fn", "target"), [
    ((nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2), nn.Sigmoid()), nn.MSELoss(), "real"),
    ((nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)), nn.MSELoss(reduction="sum"), "real"),
    ((nn.Linear(3, 3), nn.ELU(), nn.Linear(3, 2), nn.Sigmoid()), nn.BCELoss(), "prob"),
    ((nn.Linear(3, 4), nn.GELU(), nn.Linear(4, 3)), nn.CrossEntropyLoss(), "index"),
    ((nn.Linear(3, 4), nn.SiLU(), nn.Linear(4, 3)), nn.CrossEntropyLoss(reduction="sum"), "soft"),
    ((nn.Linear(3, 4), nn.Softplus(), nn.Linear(4, 4, bias=False), nn.LeakyReLU(0.01), nn.Linear(4, 3),
      nn.Softmax(dim=1)), nn.MSELoss(), "real"),
])
def test_plain_sgd_step_passes(layers, loss_fn, target):
    model = _model(*layers)
    x = _data()
    n_out = [m for m in layers if isinstance(m, nn.Linear)][-1].out_features
    g = torch.Generator().manual_seed(2)
    y = {"real": lambda: torch.randn(5, n_out, generator=g, dtype=torch.float64),
         "prob": lambda: torch.rand(5, n_out, generator=g, dtype=torch.float64),
         "index": lambda: torch.randint(0, n_out, (5,), generator=g),
         "soft": lambda: torch.softmax(torch.randn(5, n_out, generator=g, dtype=torch.float64), dim=1)}[target]()
    before = [p.detach().clone() for p in model.parameters()]
    result = check_torch_step(model, x, y, loss_fn, torch.optim.SGD(model.parameters(), lr=0.1))
    assert result.passed, result.report()
    assert {r.property for r in result.records} == {"L", "dW", "db", "W_new", "b_new"}
    assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters(), strict=True))  # a real step


def test_float32_model_passes():
    model = _model(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 1), nn.Sigmoid(), dtype=torch.float32)
    x = _data(dtype=torch.float32)
    y = torch.rand(5, 1, generator=torch.Generator().manual_seed(3))
    result = check_torch_step(model, x, y, nn.BCELoss(reduction="sum"), torch.optim.SGD(model.parameters(), lr=0.5))
    assert result.passed, result.report()


def _small():
    model = _model(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    return model, _data(), torch.randn(5, 2, generator=torch.Generator().manual_seed(4), dtype=torch.float64)


def test_corrupted_gradient_by_hook_is_caught():
    model, x, y = _small()
    model[0].weight.register_hook(lambda grad: grad * 1.001)  # a 0.1% error in dL/dW^(1)
    result = check_torch_step(model, x, y, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1))
    assert not result.passed
    assert {(r.property, r.layer) for r in result.failures} == {("dW", 1), ("W_new", 1)}


def test_corrupted_gradient_before_the_step_is_caught():
    model, x, y = _small()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    step = opt.step

    def corrupted_step(*args, **kwargs):
        model[2].bias.grad[0] += 1e-6  # tiny, but far above float64 rounding
        return step(*args, **kwargs)

    opt.step = corrupted_step
    result = check_torch_step(model, x, y, nn.MSELoss(), opt)
    # The gradients are read at optimizer.step(): the corrupted dL/db^(2) shows, and the update from it.
    assert {(r.property, r.layer) for r in result.failures} == {("db", 2), ("b_new", 2)}


@pytest.mark.parametrize("options", [dict(momentum=0.9), dict(weight_decay=1e-4), dict(momentum=0.9, nesterov=True),
                                     dict(momentum=0.5, dampening=0.1), dict(maximize=True)])
def test_sgd_options_are_checked(options):
    model, x, y = _small()
    result = check_torch_step(model, x, y, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1, **options))
    assert result.passed, result.report()
    assert {r.property for r in result.records} == {"L", "dW", "db", "W_new", "b_new"}


@pytest.mark.parametrize(("layers", "loss_fn", "match"), [
    ((nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 2)), nn.MSELoss(), r"Dropout\(p=0.5\) in training mode.*eval"),
    ((nn.Linear(3, 4), nn.LeakyReLU(0.2), nn.Linear(4, 2)), nn.MSELoss(), "slope=0.2.*use negative_slope=0.01"),
    ((nn.Linear(3, 4), nn.GELU("tanh"), nn.Linear(4, 2)), nn.MSELoss(), "approximate='tanh'.*use approximate='none'"),
    ((nn.Linear(3, 4), nn.Tanh(), nn.Sigmoid(), nn.Linear(4, 2)), nn.MSELoss(), "second activation"),
    ((nn.Linear(3, 2), nn.Softmax(dim=1)), nn.CrossEntropyLoss(), "ends in softmax.*drop the last activation"),
    ((nn.Linear(3, 2),), nn.L1Loss(), "L1Loss is outside the losses manual_bp models"),
    ((nn.Linear(3, 2),), nn.MSELoss(reduction="none"), "use reduction='mean' or 'sum'"),
])
def test_unsupported_models_and_losses_are_refused_before_the_step(layers, loss_fn, match):
    model = _model(*layers)
    before = [p.detach().clone() for p in model.parameters()]
    y = torch.zeros(5, dtype=torch.long) if isinstance(loss_fn, nn.CrossEntropyLoss) else torch.zeros(5, 2).double()
    with pytest.raises(UnsupportedError, match=match):
        check_torch_step(model, _data(), y, loss_fn, torch.optim.SGD(model.parameters(), lr=0.1))
    assert all(torch.equal(b, p) for b, p in zip(before, model.parameters(), strict=True))


def test_other_optimizers_are_refused_saying_which_are_coded():
    model, x, y = _small()
    with pytest.raises(UnsupportedError, match=r"Adagrad is outside what manual_bp codes by hand: torch\.optim\.SGD"):
        check_torch_step(model, x, y, nn.MSELoss(), torch.optim.Adagrad(model.parameters()))


def test_param_groups_with_different_settings_are_refused():
    model, x, y = _small()
    opt = torch.optim.SGD([{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 0.01}], lr=0.1)
    with pytest.raises(UnsupportedError, match=r"param_groups\[1\] has lr=0.01.*build the optimizer with one group"):
        check_torch_step(model, x, y, nn.MSELoss(), opt)


def test_the_report_names_the_step_the_network_and_every_quantity():
    model, x, y = _small()
    result = check_torch_step(model, x, y, nn.MSELoss(), torch.optim.Adam(model.parameters(), lr=0.01))
    text = result.report()
    assert text.startswith("watch: Sequential as 2 layers (tanh, identity; float64), MSELoss as mse/mean, Adam(lr=0.01")
    assert "step 1: 9/9 quantities agree with manual_bp" in text  # L; dL/dW, dL/db, W', b' of 2 layers
    for symbol in ("dL/dW^(1)", "dL/db^(2)", "W'^(2)", "b'^(1)"):
        assert f"| {symbol}" in text
