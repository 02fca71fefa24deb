"""torch.optim optimizers and manual_bp's, both ways: a torch optimizer read into the manual_bp
optimizer with the same hyper-parameters (and, for one step, the same state), and a manual_bp
optimizer turned into the torch one (for the trajectory tests).

    SGD(lr, momentum, dampening, weight_decay, nesterov, maximize)   <-> manual_bp.optimizers.SGD
    Adam(lr, betas, eps, weight_decay, amsgrad, maximize)            <-> Adam
    Adam(..., decoupled_weight_decay=True), AdamW(...)               <-> AdamW
    RMSprop(lr, alpha, eps, weight_decay, momentum, centered, maximize) <-> RMSprop

foreach, fused, capturable and differentiable change how torch computes a step, not what it
computes, and are accepted. Every param group must share one setting of the hyper-parameters
(manual_bp's optimizers have one for the whole network).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from manual_bp.errors import LayerDict
from manual_bp.optimizers import SGD, Adam, AdamW, Buffers, Optimizer, OptimizerState, RMSprop
from oracle.training.errors import UnsupportedError

MANUAL = {torch.optim.SGD: SGD, torch.optim.Adam: Adam, torch.optim.AdamW: AdamW, torch.optim.RMSprop: RMSprop}
TORCH = {SGD: torch.optim.SGD, Adam: torch.optim.Adam, AdamW: torch.optim.AdamW, RMSprop: torch.optim.RMSprop}
KNOWN = "torch.optim.SGD (momentum, dampening, nesterov, weight_decay), Adam (amsgrad, weight_decay), AdamW, RMSprop"


def _number(value: Any) -> Any:
    """A hyper-parameter as a Python number (torch allows 1-element tensors for lr and betas)."""
    if isinstance(value, torch.Tensor):
        return float(value.item())
    if isinstance(value, tuple | list):
        return tuple(_number(v) for v in value)
    return value


def settings(group: dict[str, Any], cls: type[Optimizer]) -> dict[str, Any]:
    """The hyper-parameters of one param group that ``cls`` takes, as numbers."""
    names = {SGD: ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"),
             Adam: ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"),
             RMSprop: ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize")}
    keys = names[Adam if issubclass(cls, Adam) else cls]
    return {k: _number(group[k]) for k in keys if k in group}


def manual_class(optimizer: torch.optim.Optimizer) -> type[Optimizer]:
    """The manual_bp optimizer class of a torch optimizer; UnsupportedError says what to use instead."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise UnsupportedError(f"optimizer: expected a torch.optim optimizer, got {type(optimizer).__name__}")
    cls = MANUAL.get(type(optimizer))
    if cls is None:
        raise UnsupportedError(f"optimizer: torch.optim.{type(optimizer).__name__} is outside what manual_bp codes "
                               f"by hand: {KNOWN}; check your loop with one of these")
    if cls is Adam and optimizer.param_groups[0].get("decoupled_weight_decay", False):
        cls = AdamW
    return cls


def manual_optimizer(optimizer: torch.optim.Optimizer, lr: float | None = None,
                     groups: list[dict[str, Any]] | None = None) -> Optimizer:
    """The manual_bp optimizer with this torch optimizer's hyper-parameters (its first param
    group's, which every group must share), or those of ``groups`` (the param groups as they
    were at a step); ``lr`` overrides the group's learning rate."""
    cls = manual_class(optimizer)
    groups = [settings(g, cls) for g in (optimizer.param_groups if groups is None else groups)]
    for i, group in enumerate(groups[1:], start=1):
        differ = sorted(k for k in group if group[k] != groups[0].get(k))
        if differ:
            raise UnsupportedError(f"optimizer: param_groups[{i}] has {differ[0]}={group[differ[0]]!r} where "
                                   f"param_groups[0] has {groups[0].get(differ[0])!r}; manual_bp's optimizers use one "
                                   "setting for every parameter: build the optimizer with one group")
    chosen = dict(groups[0])
    if lr is not None:
        chosen["lr"] = lr
    return cls(**chosen)


def torch_optimizer(opt: Optimizer, params: Iterable[torch.Tensor]) -> torch.optim.Optimizer:
    """The torch.optim optimizer with a manual_bp optimizer's hyper-parameters, over ``params``."""
    kwargs = dict(opt.hyperparameters())
    return TORCH[type(opt)](list(params), **kwargs)


def mirrored_state(opt: Optimizer, optimizer: torch.optim.Optimizer,
                   layers: dict[str, dict[int, torch.Tensor | None]], seen: int = 0) -> OptimizerState:
    """The torch optimizer's state before its step, as manual_bp's: the buffers of every
    parameter (copied) and the step count. torch's SGD counts no steps (its rule only asks
    whether a momentum buffer exists yet): its count here is ``seen``, the steps the caller
    saw, and at least 1 once a buffer exists. A parameter torch has never stepped (not in the
    optimizer, or its .grad always None) has no buffers and does not count. UnsupportedError if
    the others are at different steps (manual_bp counts one t for all)."""
    steps: set[int] = set()
    buffers = {name: Buffers(LayerDict(), LayerDict()) for name in opt.buffer_names}
    for kind in ("W", "b"):
        for l, p in layers[kind].items():
            if p is None:  # a layer without bias
                for name in opt.buffer_names:
                    getattr(buffers[name], kind)[l] = None
                continue
            state = optimizer.state.get(p, {})
            if "step" in state:
                steps.add(int(_number(state["step"])))
            elif state:
                steps.add(max(seen, 1))  # SGD's momentum buffer exists: past the first step
            for name in opt.buffer_names:
                value = state.get(name)
                getattr(buffers[name], kind)[l] = None if value is None else value.detach().cpu().numpy().copy()
    if len(steps) > 1:
        raise UnsupportedError(f"optimizer: its parameters are at different steps {sorted(steps)} (some were skipped "
                               "because their .grad was None); manual_bp's optimizers count one step for all")
    step = steps.pop() if steps else (seen if isinstance(opt, SGD) else 0)
    return OptimizerState(step, {n: b for n, b in buffers.items()
                                 if any(v is not None for v in (*b.W.values(), *b.b.values()))})


def as_numpy(t: torch.Tensor | None) -> np.ndarray | None:
    """A tensor's values as a new numpy array (None stays None)."""
    return None if t is None else t.detach().cpu().numpy().copy()
