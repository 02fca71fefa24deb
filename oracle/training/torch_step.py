"""Check one real PyTorch training step against manual_bp, taken here rather than in the user's
own loop (for that, see oracle.training.watch):

    result = check_torch_step(model, x, y, loss_fn, optimizer)
    print(result.report()); assert result.passed

``model`` is any module whose forward is a chain of nn.Linear layers and supported
activations (oracle.training.models), ``loss_fn`` a supported loss module
(oracle.training.losses), ``optimizer`` torch.optim's SGD, Adam, AdamW or RMSprop
(oracle.training.optimizers). ``x`` has one example per row, as torch wants it.

The step is the textbook one, zero_grad, forward, loss, backward, optimizer.step(), checked
as watch checks any step: torch's loss, dL/dW^(l), dL/db^(l) and W'^(l), b'^(l) against
manual_bp's from the same numbers, as Records. The model's parameters are updated, as by any
training step. What manual_bp does not model, and bad x or y, are refused before the step is
taken: UnsupportedError (an InputError) says what to do instead.
"""

from __future__ import annotations

import torch
from torch import nn

from manual_bp import validate
from manual_bp.errors import require
from oracle.training.errors import UnsupportedError
from oracle.training.result import StepResult
from oracle.training.watch import Watch

TorchStepResult = StepResult  # the name this module's result had before watch
__all__ = ["TorchStepResult", "UnsupportedError", "check_torch_step"]


def _check_inputs(w: Watch, x: torch.Tensor, y: torch.Tensor) -> None:
    """x and y as a step needs them, before torch moves: tensors, finite, x in the model's dtype."""
    dtype = w.setup.model.dtype
    require(isinstance(x, torch.Tensor), f"x: expected a torch.Tensor, got {type(x).__name__}")
    require(isinstance(y, torch.Tensor), f"y: expected a torch.Tensor, got {type(y).__name__}")
    require(x.dtype == dtype, f"x: expected dtype {dtype} (the model's), got {x.dtype}")
    require(x.ndim >= 2 and x.shape[0] >= 1, f"x: expected one example per row, shape (m, ...) with m >= 1, "
            f"got shape {tuple(x.shape)}")
    validate.require_finite("x", x.detach().cpu().numpy())
    if y.is_floating_point():
        validate.require_finite("y", y.detach().cpu().numpy())
    dropout = w.setup.model.inactive_dropouts()
    if dropout:
        raise UnsupportedError(dropout)


def check_torch_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module,
                     optimizer: torch.optim.Optimizer) -> StepResult:
    """Take one real step of ``model`` on (x, y) and compare torch's loss, gradients and updated
    parameters with manual_bp's. Unsupported layers, losses or optimizers, and bad x or y,
    raise UnsupportedError or InputError before the step is taken."""
    w = Watch(model, optimizer, loss_fn)
    _check_inputs(w, x, y)
    with w:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    step = w.steps[0]
    step.about = w.about
    return step
