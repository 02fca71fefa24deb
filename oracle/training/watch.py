"""Check the user's own training loop against manual_bp, step by step.

    with oracle.watch(model, optimizer, loss_fn) as w:
        for x, y in loader:                     # the loop exactly as written
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
    print(w.report()); assert w.passed

Every optimizer.step() inside the block is checked: manual_bp recomputes the loss, dL/dW^(l),
dL/db^(l) and the updated W^(l), b^(l) from the numbers the step really used (the inputs and
targets the model and the loss saw, the parameters as the forward pass saw them, the
optimizer's state before the step), and compares them with torch's (oracle.training.replay).
A step that disagrees is explained, one line per classic loop bug the numbers show
(oracle.training.diagnose). Nothing is patched: torch's module, tensor and optimizer hooks do
the recording, and they are removed when the block ends.

What is outside manual_bp's model (a layer, a loss, an optimizer) is refused when the block
is entered, before the loop runs, with what to do instead. Two deliberate techniques are
checked when declared: ``clip_grad_norm=max_norm`` (the loop calls clip_grad_norm_ over the
model's parameters) and ``scheduled_lr=True`` (a learning-rate scheduler: each step is checked
with the lr in its param group); undeclared, each is caught and explained like a bug.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from manual_bp import validate
from oracle.compare.records import Record
from oracle.training.capture import Recorder, StepEvent, snapshot
from oracle.training.diagnose import explain
from oracle.training.losses import read_loss
from oracle.training.models import read_model
from oracle.training.optimizers import manual_optimizer, mirrored_state
from oracle.training.replay import Setup, build_context, records
from oracle.training.result import StepResult, report


class Watch:
    """The context manager :func:`watch` returns; after (or during) the block it holds one
    StepResult per optimizer.step(): ``steps``, and ``passed``, ``records``, ``explanations``,
    ``report()`` over all of them."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: nn.Module, *,
                 clip_grad_norm: float | None = None, scheduled_lr: bool = False) -> None:
        model_map = read_model(model)
        loss_map = read_loss(loss_fn, model_map)
        opt = manual_optimizer(optimizer)  # refuses what manual_bp does not code, before the loop runs
        if clip_grad_norm is not None:
            clip_grad_norm = validate.in_range("clip_grad_norm", clip_grad_norm, 0.0, float("inf"))
        in_optimizer = {id(p) for group in optimizer.param_groups for p in group["params"]}
        members = {(kind, l) for kind, by in model_map.params().items() for l, p in by.items()
                   if p is not None and id(p) in in_optimizer}
        group = optimizer.param_groups[0]
        built = float(group.get("initial_lr", group["lr"]))
        self.setup = Setup(model_map, loss_map, optimizer, built, clip_grad_norm,
                           validate.flag("scheduled_lr", scheduled_lr), members)
        model_map.network(snapshot(model_map.params()), self.setup.activations)  # the layers must chain
        self.model, self.loss_fn = model, loss_fn
        self.steps: list[StepResult] = []
        self.about = (f"watch: {type(model).__name__} as {model_map.L} layers "
                      f"({', '.join(model_map.activations)}; {str(model_map.dtype).removeprefix('torch.')}), "
                      f"{loss_map.name} as {loss_map.loss}/{loss_map.reduction}, {opt!r}")
        self._recorder: Recorder | None = None

    def __enter__(self) -> Watch:
        setup = self.setup

        def mirror(seen: int) -> Any:
            return mirrored_state(manual_optimizer(setup.optimizer), setup.optimizer, setup.model.params(), seen)

        self._recorder = Recorder(self.model, setup.model, self.loss_fn, setup.optimizer, mirror, self._check)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._recorder is not None:
            self._recorder.remove()
            self._recorder = None

    def _check(self, event: StepEvent) -> None:
        """Called by the step post-hook: the step's records and explanations."""
        try:
            ctx = build_context(self.setup, event)
            recs = records(ctx)
            result = StepResult(event.index, recs, problems=ctx.problems, optimizer=ctx.optimizer)
            if ctx.findings or (ctx.terms and not result.passed):
                result.explanations = explain(ctx)
            kinks = sum(t.kinks for t in ctx.terms)
            if kinks:
                result.notes.append(f"{kinks} relu input(s) within rounding of 0 fell on the other side of the kink "
                                    "in torch than in manual_bp; sigma' there is a convention: torch's side was taken")
        except Exception as exc:  # never raised into the user's loop; reported with the step
            result = StepResult(event.index, [], problems=[f"the check itself failed ({type(exc).__name__}: {exc})"])
        self.steps.append(result)

    @property
    def passed(self) -> bool:
        """At least one step was checked, and every step agrees with manual_bp."""
        return bool(self.steps) and all(s.passed for s in self.steps)

    @property
    def records(self) -> list[Record]:
        return [r for s in self.steps for r in s.records]

    @property
    def explanations(self) -> list[str]:
        """Every step's explanations and problems, each as 'step k: ...'."""
        return [f"step {s.index}: {line}" for s in self.steps for line in (*s.problems, *s.explanations)]

    def report(self) -> str:
        return report(self.steps, self.about)


def watch(model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: nn.Module, *,
          clip_grad_norm: float | None = None, scheduled_lr: bool = False) -> Watch:
    """Check every optimizer.step() of the training loop inside the ``with`` block (see the module
    docstring). Refuses, before the loop runs, a model, loss or optimizer manual_bp does not model."""
    return Watch(model, optimizer, loss_fn, clip_grad_norm=clip_grad_norm, scheduled_lr=scheduled_lr)
