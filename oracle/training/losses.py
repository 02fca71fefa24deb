"""torch loss modules as manual_bp's losses: which loss and reduction, which output layer, and
how torch's targets become the document's.

    nn.MSELoss()                      mse, mean (the mean over all m n elements)
    nn.MSELoss(reduction='sum')       sse, sum
    nn.BCELoss()                      bce, mean                    on the model's own output
    nn.BCELoss(reduction='sum')       bce, sum, times n            (torch sums over the n outputs too)
    nn.BCEWithLogitsLoss(...)         a sigmoid output layer + bce, as BCELoss
    nn.CrossEntropyLoss(...)          a softmax output layer + cross_entropy, mean or sum; class
                                      indices become one-hot columns, probabilities stay as they
                                      are, label smoothing eps makes them (1 - eps) y + eps / C
    nn.LogSoftmax(dim=1) + nn.NLLLoss the same: log-softmax then NLL is softmax then -sum y log a

The *WithLogits and CrossEntropy losses take the last Linear layer's output (logits), so the
model must end in that Linear layer; manual_bp's network then ends in the sigmoid or softmax
the loss applies itself, which is the same function. manual_bp computes a sigmoid with bce at
the logit, as BCEWithLogitsLoss does, exact for any logit; nn.BCELoss on the model's own sigmoid
saturates once |z| passes about 27 in float64 and 16 in float32 (it clamps), and a check then
names that logit as torch's limit (oracle.training.diagnose).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from oracle.training.errors import UnsupportedError
from oracle.training.models import ModelMap

KNOWN = ("nn.MSELoss, nn.BCELoss, nn.BCEWithLogitsLoss, nn.CrossEntropyLoss, or nn.NLLLoss after nn.LogSoftmax(dim=1)")


class TargetError(ValueError):
    """A target that manual_bp cannot take as torch took it; the message says why, in one line."""


@dataclass(frozen=True)
class LossMap:
    """A torch loss as manual_bp's: torch's loss = ``factor`` x manual_bp's ``loss`` with
    ``reduction``, on a network whose output layer is ``output``."""

    module: nn.Module
    loss: str
    reduction: str
    output: str
    factor_per_output: bool = False  # BCELoss(reduction='sum'): torch's loss is n x manual_bp's
    smoothing: float = 0.0
    ignore_index: int | None = None

    def factor(self, n_out: int) -> float:
        return float(n_out) if self.factor_per_output else 1.0

    @property
    def name(self) -> str:
        return type(self.module).__name__

    def targets(self, target: torch.Tensor, given: tuple[int, ...], output: tuple[int, ...]) -> np.ndarray:
        """torch's target as manual_bp's y: (n, m) columns, or (m,) class indices. ``given`` is
        the shape of the tensor the loss was given, ``output`` the model's output shape (m, n)."""
        if not isinstance(target, torch.Tensor):
            raise TargetError(f"the target is a {type(target).__name__}, not a tensor")
        t = target.detach().cpu()
        if self.loss == "cross_entropy" and not t.is_floating_point():
            return self._class_indices(t, output)
        if tuple(t.shape) != given:
            raise TargetError(f"the target has shape {tuple(t.shape)} and the output {given}: {self.name} "
                                f"broadcasts them to {tuple(torch.broadcast_shapes(t.shape, given))}, comparing every "
                                f"output with every target; give the target the output's shape ({tuple(given)})")
        Y = t.to(torch.float64).reshape(output).numpy().T.copy()
        if self.smoothing:
            Y = (1.0 - self.smoothing) * Y + self.smoothing / output[1]
        return Y

    def _class_indices(self, t: torch.Tensor, output: tuple[int, ...]) -> np.ndarray:
        m, n = output
        if tuple(t.shape) != (m,):
            raise TargetError(f"class indices of shape {tuple(t.shape)} for an output of shape {output}; "
                                f"{self.name} takes one index per example, shape ({m},)")
        labels = t.numpy().astype(np.int64)
        if self.ignore_index is not None and np.any(labels == self.ignore_index):
            raise TargetError(f"{int(np.sum(labels == self.ignore_index))} target(s) equal ignore_index="
                                f"{self.ignore_index}: torch leaves those examples out, manual_bp has no ignored "
                                "examples; drop them from the batch")
        if self.smoothing:
            return (1.0 - self.smoothing) * np.eye(n)[:, labels] + self.smoothing / n
        return labels


def _reduction(loss_fn: nn.Module) -> str:
    reduction = getattr(loss_fn, "reduction", None)
    if reduction not in ("mean", "sum"):
        raise UnsupportedError(f"loss_fn: {type(loss_fn).__name__}(reduction={reduction!r}) gives one loss per "
                               "element; manual_bp's losses reduce over the batch: use reduction='mean' or 'sum'")
    return reduction


def _no_weights(loss_fn: nn.Module, *names: str) -> None:
    for name in names:
        if getattr(loss_fn, name, None) is not None:
            raise UnsupportedError(f"loss_fn: {type(loss_fn).__name__}({name}=...) weighs the terms, which manual_bp's "
                                   f"losses do not; leave {name} out to check the step")


def read_loss(loss_fn: nn.Module, model: ModelMap) -> LossMap:
    """The LossMap of a torch loss module for this model; UnsupportedError says what to use."""
    kind = type(loss_fn)
    last = model.activations[-1]
    if last == "log_softmax" and kind is not nn.NLLLoss:
        raise UnsupportedError(f"loss_fn: the model ends in LogSoftmax, which gives log-probabilities for nn.NLLLoss; "
                               f"with {kind.__name__} use nn.NLLLoss, or end the model in its Linear layer and use "
                               "nn.CrossEntropyLoss")
    if kind is nn.MSELoss:
        reduction = _reduction(loss_fn)
        return LossMap(loss_fn, "mse" if reduction == "mean" else "sse", reduction, last)
    if kind in (nn.BCELoss, nn.BCEWithLogitsLoss):
        reduction = _reduction(loss_fn)
        _no_weights(loss_fn, "weight", "pos_weight")
        output = last
        if kind is nn.BCEWithLogitsLoss:
            _logits(loss_fn, last, "sigmoid")
            output = "sigmoid"
        return LossMap(loss_fn, "bce", reduction, output, factor_per_output=reduction == "sum")
    if kind in (nn.CrossEntropyLoss, nn.NLLLoss):
        reduction = _reduction(loss_fn)
        _no_weights(loss_fn, "weight")
        if kind is nn.CrossEntropyLoss:
            _logits(loss_fn, last, "log-softmax")
        elif last != "log_softmax":
            raise UnsupportedError(f"loss_fn: nn.NLLLoss takes log-probabilities, but the model ends in {last}; end it "
                                   "in nn.LogSoftmax(dim=1), or use nn.CrossEntropyLoss on the Linear layer's output")
        return LossMap(loss_fn, "cross_entropy", reduction, "softmax",
                       smoothing=getattr(loss_fn, "label_smoothing", 0.0), ignore_index=loss_fn.ignore_index)
    raise UnsupportedError(f"loss_fn: {kind.__name__} is outside the losses manual_bp models ({KNOWN}); check the step "
                           "with one of these")


def _logits(loss_fn: nn.Module, last: str, applies: str) -> None:
    if last != "identity":
        raise UnsupportedError(f"loss_fn: {type(loss_fn).__name__} applies a {applies} to the logits itself, so the "
                               f"model must end in its Linear layer, but it ends in {last} (the {applies} would come "
                               "twice); drop the last activation")
