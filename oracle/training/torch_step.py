"""Check one real PyTorch training step against the document's Eq. 1-5 computed by manual_bp.

    result = check_torch_step(model, x, y, loss_fn, optimizer)
    print(result.report()); assert result.passed

``model`` is a ``torch.nn.Sequential`` of ``nn.Linear`` layers, each optionally followed by one
supported activation module (nn.Sigmoid, nn.Tanh, nn.ReLU, nn.LeakyReLU(0.01), nn.Identity,
nn.Softplus(beta=1), nn.ELU(alpha=1), nn.SiLU, nn.GELU('none'), nn.Softmax(dim=1 or -1));
a Linear with no activation after it is an identity layer. ``x`` is (m, n_0), one example per
row as torch wants it; manual_bp gets x.T, the document's columns. nn.Linear's weight is
already W^(l) of shape (n_l, n_(l-1)).

The step is run for real (zero_grad, forward, loss, backward, optimizer.step), and the
parameters before, the gradients after backward and the parameters after the step are
captured. The network is rebuilt in manual_bp from the parameters before, and torch's loss,
dL/dW^(l), dL/db^(l), W'^(l) and b'^(l) are compared with manual_bp's as Records.

Losses: nn.MSELoss() is manual_bp's mse with mean; nn.MSELoss(reduction='sum') is sse with
sum; nn.BCELoss() is bce with mean (with sum only for one output unit, where the two agree);
nn.CrossEntropyLoss() works on logits, so the model must end in a Linear (no Softmax), and it
is rebuilt with a softmax output layer and cross_entropy: softmax followed by -sum y log a is
exactly torch's log-softmax + NLL. Only plain SGD is supported: momentum, dampening, weight
decay, nesterov and maximize change Eq. 5, and are refused with :class:`UnsupportedError`
before anything is run, as are unsupported layers, losses and options.

nn.Softplus switches to the identity above ``threshold`` (default 20); manual_bp's softplus is
exact, so a pre-activation above 20 shows up as a (real, ~1e-9) discrepancy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from manual_bp.errors import InputError, LayerDict, require
from manual_bp.network import Network
from oracle.cases import Case
from oracle.compare.records import Record, compare_properties, manual_properties
from oracle.compare.tolerance import policy_for
from oracle.text import markdown_table

STEP_PROPERTIES = ("L", "dW", "db", "W_new", "b_new")
TORCH_DTYPES = {torch.float64: np.float64, torch.float32: np.float32}


class UnsupportedError(InputError):
    """The model, loss or optimizer uses something the document's Eq. 1-5 do not cover."""


def _activation_name(module: nn.Module) -> str | None:
    """manual_bp's name for a supported activation module; None if unsupported."""
    simple = {nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.ReLU: "relu", nn.Identity: "identity", nn.SiLU: "silu"}
    for cls, name in simple.items():
        if type(module) is cls:
            return name
    if type(module) is nn.LeakyReLU and module.negative_slope == 0.01:
        return "leaky_relu"
    if type(module) is nn.Softplus and module.beta == 1:
        return "softplus"
    if type(module) is nn.ELU and module.alpha == 1.0:
        return "elu"
    if type(module) is nn.GELU and module.approximate == "none":
        return "gelu"
    if type(module) is nn.Softmax and module.dim in (1, -1):
        return "softmax"
    return None


def _why_not(module: nn.Module) -> str:
    if isinstance(module, nn.LeakyReLU):
        return f"nn.LeakyReLU(negative_slope={module.negative_slope}) (only 0.01 is supported)"
    if isinstance(module, nn.Softplus):
        return f"nn.Softplus(beta={module.beta}) (only beta=1 is supported)"
    if isinstance(module, nn.ELU):
        return f"nn.ELU(alpha={module.alpha}) (only alpha=1 is supported)"
    if isinstance(module, nn.GELU):
        return f"nn.GELU(approximate={module.approximate!r}) (only 'none' is supported)"
    if isinstance(module, nn.Softmax):
        return f"nn.Softmax(dim={module.dim}) (only dim=1 or dim=-1, over the units, is supported)"
    return f"{type(module).__name__} (not a Linear layer or a supported activation)"


def parse_model(model: nn.Module) -> tuple[list[nn.Linear], list[str]]:
    """The Linear layers and one activation name per layer; UnsupportedError lists every problem."""
    if not isinstance(model, nn.Sequential):
        raise UnsupportedError(f"model: expected a torch.nn.Sequential of Linear layers and activations, "
                               f"got {type(model).__name__}")
    linears: list[nn.Linear] = []
    acts: list[str | None] = []
    problems = []
    for i, module in enumerate(model):
        if type(module) is nn.Linear:
            linears.append(module)
            acts.append(None)
            continue
        name = _activation_name(module)
        if name is None:
            problems.append(f"model[{i}]: {_why_not(module)}")
        elif not linears:
            problems.append(f"model[{i}]: an activation before the first Linear layer")
        elif acts[-1] is not None:
            problems.append(f"model[{i}]: a second activation after one Linear layer")
        else:
            acts[-1] = name
    if not linears and not problems:
        problems.append("model: no Linear layer")
    if problems:
        raise UnsupportedError("; ".join(problems))
    return linears, [a or "identity" for a in acts]


def _loss_mapping(loss_fn: nn.Module, out_act: str, n_out: int) -> tuple[str, str, bool]:
    """(manual_bp loss, reduction, whether the output layer becomes softmax) for a torch loss module."""
    reduction = getattr(loss_fn, "reduction", None)
    if reduction not in ("mean", "sum"):
        raise UnsupportedError(f"loss_fn: reduction={reduction!r} is not supported (mean or sum)")
    if type(loss_fn) is nn.MSELoss:
        return ("mse", "mean", False) if reduction == "mean" else ("sse", "sum", False)
    if type(loss_fn) is nn.BCELoss:
        if loss_fn.weight is not None:
            raise UnsupportedError("loss_fn: nn.BCELoss with weight= is not supported")
        if reduction == "sum" and n_out != 1:
            raise UnsupportedError(f"loss_fn: nn.BCELoss(reduction='sum') sums over the {n_out} outputs too, "
                                   "which manual_bp's bce (a mean over the outputs) does not; use the mean")
        return "bce", reduction, False
    if type(loss_fn) is nn.CrossEntropyLoss:
        problems = []
        if loss_fn.weight is not None:
            problems.append("weight= is not supported")
        if loss_fn.label_smoothing != 0.0:
            problems.append(f"label_smoothing={loss_fn.label_smoothing} is not supported")
        if out_act != "identity":
            problems.append(f"it applies log-softmax to the logits itself, so the model must end in a Linear "
                            f"layer, but it ends in {out_act} (softmax twice is not what you want)")
        if problems:
            raise UnsupportedError("loss_fn: nn.CrossEntropyLoss: " + "; ".join(problems))
        return "cross_entropy", reduction, True
    raise UnsupportedError(f"loss_fn: {type(loss_fn).__name__} is not supported "
                           "(nn.MSELoss, nn.BCELoss or nn.CrossEntropyLoss)")


def _check_optimizer(optimizer: torch.optim.Optimizer, params: list[nn.Parameter]) -> float:
    """The learning rate of a plain SGD optimizer over exactly the model's parameters."""
    if type(optimizer) is not torch.optim.SGD:
        raise UnsupportedError(f"optimizer: {type(optimizer).__name__} is not supported (plain torch.optim.SGD "
                               "only: Eq. 5)")
    problems = []
    lrs = set()
    for g, group in enumerate(optimizer.param_groups):
        for key, plain in (("momentum", 0), ("dampening", 0), ("weight_decay", 0), ("nesterov", False),
                           ("maximize", False)):
            if group.get(key, plain) != plain:
                problems.append(f"param_groups[{g}]: {key}={group[key]} (plain SGD needs {key}={plain})")
        lr = group["lr"]
        lrs.add(float(lr) if not isinstance(lr, torch.Tensor) else float(lr.item()))
    if len(lrs) > 1:
        problems.append(f"param_groups: different learning rates {sorted(lrs)} (Eq. 5 has one eta)")
    in_opt = {id(p) for group in optimizer.param_groups for p in group["params"]}
    missing = [i for i, p in enumerate(params) if id(p) not in in_opt]
    if missing or len(in_opt) != len(params):
        problems.append("optimizer: must update exactly the model's parameters (all of them, nothing else)")
    if any(not p.requires_grad for p in params):
        problems.append("model: every parameter must require grad")
    if problems:
        raise UnsupportedError("; ".join(problems))
    return lrs.pop()


def _targets(y: Any, loss: str, m: int, n_out: int) -> np.ndarray:
    """y in the document's layout: (n_L, m) columns, or class indices (m,) for cross-entropy."""
    require(isinstance(y, torch.Tensor), f"y: expected a torch.Tensor, got {type(y).__name__}")
    Y = y.detach().cpu()
    if loss == "cross_entropy" and not Y.is_floating_point():
        require(tuple(Y.shape) == (m,), f"y: class indices must have shape ({m},), got {tuple(Y.shape)}")
        return Y.numpy().astype(np.int64)
    require(Y.is_floating_point(), f"y: expected floating-point targets for {loss}, got {Y.dtype}")
    require(tuple(Y.shape) == (m, n_out), f"y: expected shape ({m}, {n_out}) (one row per example), "
            f"got {tuple(Y.shape)}; torch would broadcast a different shape silently")
    return Y.numpy().astype(np.float64).T.copy()


@dataclass
class TorchStepResult:
    """The records of one torch step against manual_bp, and what it was mapped to."""

    records: list[Record]
    loss: str
    reduction: str
    lr: float
    network: str

    @property
    def passed(self) -> bool:
        """True when torch's loss, gradients and updated parameters all agree with manual_bp."""
        return all(r.passed for r in self.records)

    @property
    def failures(self) -> list[Record]:
        """The records that disagree."""
        return [r for r in self.records if not r.passed]

    def table(self) -> str:
        """One row per quantity: symbol, equation, greatest errors, passed (Markdown)."""
        return markdown_table(["symbol", "equation", "max abs err", "max rel err", "allowed", "passed"],
                              [[r.symbol, r.equation, f"{r.max_abs_err:.2e}", f"{r.max_rel_err:.2e}",
                                f"{r.allowed_abs_err:.2e}", r.passed] for r in self.records])

    def report(self) -> str:
        """A verdict line, the table and one message per discrepancy."""
        head = (f"torch step on {self.network}, loss {self.loss}/{self.reduction}, SGD lr {self.lr:g}: "
                f"{sum(r.passed for r in self.records)}/{len(self.records)} quantities agree with manual_bp")
        lines = [head, "", self.table()]
        lines += ["", *(r.message() for r in self.failures)] if self.failures else []
        return "\n".join(lines)


def check_torch_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module,
                     optimizer: torch.optim.Optimizer) -> TorchStepResult:
    """Run one real SGD step of ``model`` on (x, y) and compare torch's loss, gradients and
    updated parameters with manual_bp's (Eq. 1-5). The model's parameters are updated, as by
    any training step. Unsupported layers, losses or optimizer options raise UnsupportedError
    (an InputError) before the step is taken."""
    linears, acts = parse_model(model)
    params = list(model.parameters())
    lr = _check_optimizer(optimizer, params)
    require(isinstance(x, torch.Tensor), f"x: expected a torch.Tensor, got {type(x).__name__}")
    dtypes = {p.dtype for p in params}
    require(len(dtypes) == 1 and next(iter(dtypes)) in TORCH_DTYPES,
            f"model: expected float32 or float64 parameters of one dtype, got {sorted(map(str, dtypes))}")
    dtype = next(iter(dtypes))
    require(x.dtype == dtype, f"x: expected dtype {dtype} (the model's), got {x.dtype}")
    n0 = linears[0].in_features
    require(x.ndim == 2 and x.shape[1] == n0, f"x: expected shape (m, {n0}) (one example per row), "
            f"got {tuple(x.shape)}")
    require(x.shape[0] >= 1, "x: expected at least one example (row), got none")
    loss, reduction, softmax_out = _loss_mapping(loss_fn, acts[-1], linears[-1].out_features)
    if softmax_out:
        acts = [*acts[:-1], "softmax"]

    # manual_bp first, from the parameters before the step: bad x or y fails before torch moves.
    net = Network([lin.weight.detach().cpu().numpy().copy() for lin in linears],
                  [None if lin.bias is None else lin.bias.detach().cpu().numpy().copy() for lin in linears],
                  acts, dtype=TORCH_DTYPES[dtype])
    X = x.detach().cpu().numpy().T.copy()
    case = Case("torch-step", net, X, _targets(y, loss, x.shape[0], net.sizes[-1]), loss, reduction, lr)
    manual = manual_properties(case)

    reference = _take_step(model, x, y, loss_fn, optimizer, linears, params)
    records = compare_properties(case, manual, reference, "torch step", policy_for(net.dtype), STEP_PROPERTIES)
    return TorchStepResult(records, loss, reduction, lr, repr(net))


def _take_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module,
               optimizer: torch.optim.Optimizer, linears: list[nn.Linear], params: list[nn.Parameter]
               ) -> dict[str, Any]:
    """One real step (zero_grad, forward, loss, backward, step): torch's loss, the gradients at the
    step and the parameters after it, in manual_properties' layout."""
    optimizer.zero_grad()
    loss_value = loss_fn(model(x), y)
    loss_value.backward()
    grads = {id(p): None if p.grad is None else p.grad.detach().cpu().clone() for p in params}
    optimizer.step()

    def grad_of(p: nn.Parameter | None) -> np.ndarray | None:
        if p is None:
            return None
        g = grads[id(p)]
        return np.zeros(tuple(p.shape)) if g is None else g.numpy()

    return {
        "L": float(loss_value.detach()),
        "dW": LayerDict({l: grad_of(lin.weight) for l, lin in enumerate(linears, start=1)}),
        "db": LayerDict({l: grad_of(lin.bias) for l, lin in enumerate(linears, start=1)}),
        "W_new": LayerDict({l: lin.weight.detach().cpu().numpy().copy() for l, lin in enumerate(linears, start=1)}),
        "b_new": LayerDict({l: None if lin.bias is None else lin.bias.detach().cpu().numpy().copy()
                            for l, lin in enumerate(linears, start=1)}),
    }
