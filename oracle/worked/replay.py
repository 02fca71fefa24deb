"""Replaying a worked example: manual_bp's own steps, one quantity at a time, fed the
example's printed values.

:func:`replay` runs the steps of :class:`manual_bp.Backprop` (the forward pass, the loss,
Eq. 1-5) in the document's order, quantity by quantity; after each one, the caller's ``fix``
says what the later steps read instead: the printed value (what the example's author fed
forward), a rounded one (a hand calculation), or the value itself. sigma' is written in the
activation where the activation allows (sigmoid's a (1 - a)), as hand calculations do, so a
printed a^(l) is what sigma'(z^(l)) is computed from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from manual_bp import BACKPROP, Backprop, InputError, Network, Quantities, validate
from manual_bp.errors import LayerDict
from oracle.notation import PER_EXAMPLE
from oracle.worked.format import WorkedExample, parse_key

Fix = Callable[[str, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Replay:
    """``computed[key]``: the step's value from the values fed to it; ``fed[key]``: the value
    the next steps read (what ``fix`` made of it). Both in the quantity's shape in the file."""

    computed: dict[str, np.ndarray]
    fed: dict[str, np.ndarray]


def _loss_after(algorithm: Backprop, ex: WorkedExample, q: Quantities, X: np.ndarray, Y: np.ndarray,
                new: tuple[LayerDict, LayerDict]) -> float:
    """L': the loss of the updated network (the fed W'^(l), b'^(l)) on the same data."""
    W, b = new
    try:
        net = Network([W[l] for l in ex.net.W], [b.get(l) for l in ex.net.W], list(ex.net.activations.values()))
    except InputError:  # an updated parameter overflowed: so does the loss after the update
        return float("nan")
    after = algorithm.forward_pass(net, X)
    return algorithm.loss_gradient(net, after, Y, ex.loss, ex.reduction)[0]


def _step(algorithm: Backprop, ex: WorkedExample, q: Quantities, prop: str, l: int | None, X: np.ndarray,
          Y: np.ndarray, new: tuple[LayerDict, LayerDict]) -> object:
    """The value of one quantity by manual_bp's step for it, from what q holds so far."""
    net, L = ex.net, ex.net.L
    if prop == "L" or (prop == "dL_da" and l == L):
        loss, dL_daL = algorithm.loss_gradient(net, q, Y, ex.loss, ex.reduction)
        return loss if prop == "L" else dL_daL
    steps = {
        "z": algorithm.weighted_input, "a": algorithm.activation, "sigma_prime": algorithm.sigma_prime,
        "dL_da": algorithm.backpropagate, "delta": algorithm.output_error if l == L else algorithm.hidden_error,
        "dW": algorithm.weight_gradient, "db": algorithm.bias_gradient,
    }
    if prop in steps:
        return steps[prop](net, l, q)
    if prop == "W_new":
        return algorithm.update(net.W[l], q.dW[l], q.lr)
    if prop == "b_new":
        return algorithm.update_bias(net.b[l], q.db[l], q.lr) if ex.update_biases else net.b[l]
    return _loss_after(algorithm, ex, q, X, Y, new)


def replay(ex: WorkedExample, fix: Fix | None = None, until: str | None = None,
           algorithm: Backprop = BACKPROP) -> Replay:
    """Run the forward pass, the loss, Eq. 1-4 and Eq. 5 quantity by quantity in the document's
    order; after each quantity, ``fix(key, value)`` says what the later steps read instead (the
    printed value, a rounded one), and ``until`` stops after that key."""
    X, single = validate.inputs(ex.net, ex.x)
    Y = validate.targets(ex.net, ex.y, ex.loss, X.shape[1], single)
    q = Quantities(a=LayerDict({0: X}), lr=ex.lr)
    new: tuple[LayerDict, LayerDict] = (LayerDict(), LayerDict())
    computed: dict[str, np.ndarray] = {}
    fed: dict[str, np.ndarray] = {"a0": np.asarray(ex.x, dtype=np.float64)}
    with np.errstate(all="ignore"):  # a replay fed wrong values may overflow; its inf is judged, not raised
        for key in ex.quantities():
            prop, l = parse_key(key)
            value = np.asarray(_step(algorithm, ex, q, prop, l, X, Y, new), dtype=np.float64)
            per_example = prop in PER_EXAMPLE
            computed[key] = value[..., 0] if single and per_example else value
            fed[key] = computed[key] if fix is None else np.asarray(fix(key, computed[key]), dtype=np.float64)
            stored = fed[key][..., None] if single and per_example else fed[key]
            if prop == "L":
                q.loss = float(stored)
            elif prop in ("W_new", "b_new"):
                new[prop == "b_new"][l] = stored
            elif prop != "L_new":
                getattr(q, prop)[l] = stored
            if key == until:
                break
    return Replay(computed, fed)
