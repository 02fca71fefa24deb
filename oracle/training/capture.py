"""What watch records of a user's training step, through torch's own hooks (nothing is patched):

  * a forward pre-hook on the model: the parameters as the forward pass used them, and the
    .grad each parameter already held (left over from before, unless zero_grad() ran);
  * a forward pre-hook on the first nn.Linear: x, the input of the document's layer 1 (after
    any flatten or view on the model's input); a forward hook on every nn.Linear: z^(l) as
    torch computed it (to follow torch's side of a relu kink that rounding puts in doubt);
  * a forward hook on the model: its output, and a tensor hook on it that notes whether
    backward reached it;
  * a forward hook on the loss module: the tensor and target it was called with, the loss
    value, and a tensor hook on the loss that records the gradient backward brought to it
    (1 for loss.backward(), m for (m * loss).backward(), 1/K for loss / K);
  * a step pre-hook on the optimizer: the gradients, parameters, hyper-parameters and state
    at optimizer.step(); a step post-hook: the parameters after it.

Forward passes and losses computed without gradients (under torch.no_grad(), an evaluation
loop) are not part of a training step and are not recorded.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from oracle.training.models import ModelMap
from oracle.training.optimizers import as_numpy

Params = dict[str, dict[int, np.ndarray | None]]


def snapshot(layers: dict[str, dict[int, torch.Tensor | None]]) -> Params:
    """The values of {'W': {l: tensor}, 'b': {l: tensor or None}} as new numpy arrays."""
    return {kind: {l: as_numpy(p) for l, p in by_layer.items()} for kind, by_layer in layers.items()}


def grads_of(layers: dict[str, dict[int, torch.Tensor | None]]) -> Params:
    """The .grad of every parameter (None where there is none), as new numpy arrays."""
    return {kind: {l: None if p is None else as_numpy(p.grad) for l, p in by_layer.items()}
            for kind, by_layer in layers.items()}


@dataclass
class ForwardEvent:
    """One forward pass of the model with gradients on."""

    params: Params
    grads_before: Params
    x: np.ndarray | None = None
    z: dict[int, np.ndarray] = field(default_factory=dict)  # torch's z^(l), one example per row
    output: weakref.ref | None = None  # the model's output, while the user holds it
    output_fn: Any = None  # the autograd node that made it (alive while the graph is: softmax(model(x)))
    output_shape: tuple[int, ...] = ()
    dropout: str | None = None  # why this pass was random, if it was
    reached: bool = False  # backward reached the output
    step: int = 0  # the step it belongs to


@dataclass
class LossEvent:
    """One call of the loss module with gradients on."""

    value: float
    given: tuple[int, ...]  # the shape of the tensor the loss was given
    target: torch.Tensor
    forward: ForwardEvent | None  # the forward pass whose output (or a view of it) it was given
    stale: str | None = None  # the tensor was not this step's model output: where it came from
    weight: float | None = None  # the gradient backward brought to the loss; None: never reached


@dataclass
class StepEvent:
    """Everything of one training step: the passes, the losses, and optimizer.step()."""

    index: int
    forwards: list[ForwardEvent] = field(default_factory=list)
    losses: list[LossEvent] = field(default_factory=list)
    grads: Params | None = None
    at_step: Params | None = None
    after: Params | None = None
    groups: list[dict[str, Any]] = field(default_factory=list)
    state: Any = None  # the optimizer's state before the step, mirrored (or the reason it could not be)


def _derived(given: torch.Tensor, out_fn: Any, depth: int = 4) -> str | None:
    """The operations (as autograd names them: 'SoftmaxBackward0' is Softmax) that made ``given``
    within a few steps from the tensor ``out_fn`` made, or None if it was not made from it."""
    if out_fn is None or given.grad_fn is None:
        return None
    path, node = [], given.grad_fn
    for _ in range(depth):
        path.append(node.name().removesuffix("Backward0").removesuffix("Backward1"))
        parents = [f for f, _ in node.next_functions if f is not None]
        if out_fn in parents:
            return " of ".join(path)
        if len(parents) != 1:
            return None
        node = parents[0]
    return None


class Recorder:
    """Registers the hooks and files what they see into StepEvents; ``on_step(event)`` is
    called after every optimizer.step()."""

    def __init__(self, model: torch.nn.Module, model_map: ModelMap, loss_fn: torch.nn.Module,
                 optimizer: torch.optim.Optimizer, mirror: Callable[[int], Any], on_step: Callable[[StepEvent], None]):
        self.map, self.layers = model_map, model_map.params()
        self.mirror, self.on_step = mirror, on_step
        self.current = StepEvent(1)
        self.earlier: list[ForwardEvent] = []  # forward passes of steps already checked
        self._in_forward: ForwardEvent | None = None
        first = model_map.linears[0]
        self.handles = [lin.register_forward_hook(self._linear(l)) for l, lin in enumerate(model_map.linears, start=1)]
        self.handles += [model.register_forward_pre_hook(self._model_pre),
                         model.register_forward_hook(self._model_post),
                         first.register_forward_pre_hook(self._first_linear),
                         loss_fn.register_forward_hook(self._loss, with_kwargs=True),
                         optimizer.register_step_pre_hook(self._step_pre),
                         optimizer.register_step_post_hook(self._step_post)]

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()

    def _model_pre(self, module: torch.nn.Module, args: tuple) -> None:
        if not torch.is_grad_enabled():
            return
        self._in_forward = ForwardEvent(snapshot(self.layers), grads_of(self.layers),
                                        dropout=self.map.inactive_dropouts())

    def _first_linear(self, module: torch.nn.Module, args: tuple) -> None:
        if self._in_forward is not None and self._in_forward.x is None and args:
            self._in_forward.x = as_numpy(args[0])

    def _linear(self, l: int) -> Callable[..., None]:
        def hook(module: torch.nn.Module, args: tuple, output: Any) -> None:
            if self._in_forward is not None and isinstance(output, torch.Tensor):
                self._in_forward.z[l] = as_numpy(output)
        return hook

    def _model_post(self, module: torch.nn.Module, args: tuple, output: Any) -> None:
        event, self._in_forward = self._in_forward, None
        if event is None or not isinstance(output, torch.Tensor):
            return
        event.output, event.output_fn, event.output_shape = weakref.ref(output), output.grad_fn, tuple(output.shape)
        event.step = self.current.index
        if output.requires_grad:
            output.register_hook(lambda grad: setattr(event, "reached", True))
        self.current.forwards.append(event)

    def _loss(self, module: torch.nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
        if not torch.is_grad_enabled() or not isinstance(output, torch.Tensor) or output.ndim != 0:
            return
        given = args[0] if args else kwargs.get("input")
        target = args[1] if len(args) > 1 else kwargs.get("target")
        if not isinstance(given, torch.Tensor):
            return
        forward, stale = self._source(given)
        event = LossEvent(float(output.detach()), tuple(given.shape), target.detach().clone()
                          if isinstance(target, torch.Tensor) else target, forward, stale)
        if output.requires_grad:
            output.register_hook(lambda grad: setattr(event, "weight", float(grad)))
        self.current.losses.append(event)

    def _source(self, given: torch.Tensor) -> tuple[ForwardEvent | None, str | None]:
        """The forward pass whose output the loss was given (or a view of it), and, if that was
        not one of this step's, where the tensor came from."""
        def same(ref: weakref.ref | None) -> bool:
            out = None if ref is None else ref()
            if out is None or given.numel() != out.numel():
                return False
            shared = given.data_ptr() == out.data_ptr() and given.dtype == out.dtype
            return given is out or given._base is out or shared

        for event in reversed(self.current.forwards):
            if same(event.output):
                return event, None
        latest = self.current.forwards[-1] if self.current.forwards else None
        for event in reversed(self.earlier):
            if same(event.output):
                return latest, f"the output of step {event.step}'s forward pass"
        for event in reversed(self.current.forwards):
            op = _derived(given, event.output_fn)
            if op:
                return latest, f"{op} of the model's output, not the output itself"
        return latest, "a tensor that is not the output of any forward pass of the model"

    def _step_pre(self, optimizer: torch.optim.Optimizer, args: tuple, kwargs: dict) -> None:
        event = self.current
        event.grads, event.at_step = grads_of(self.layers), snapshot(self.layers)
        event.groups = [{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups]
        try:
            event.state = self.mirror(event.index - 1)  # the steps seen before this one
        except Exception as exc:  # reported with the step, never raised into the user's loop
            event.state = f"the optimizer's state could not be read: {exc}"

    def _step_post(self, optimizer: torch.optim.Optimizer, args: tuple, kwargs: dict) -> None:
        event = self.current
        event.after = snapshot(self.layers)
        for forward in event.forwards:
            forward.output_fn = None  # done with: let the graph go
        self.earlier = (self.earlier + event.forwards)[-8:]
        self.current = StepEvent(event.index + 1)
        self.on_step(event)
