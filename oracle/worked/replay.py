"""Replaying a worked example: manual_bp's own steps, one quantity at a time, fed the
example's printed values.

:func:`replay` runs the steps of :class:`manual_bp.Backprop` (the forward pass, the loss,
Eq. 1-5) in the document's order, quantity by quantity; after each one, the caller's ``fix``
says what the later steps read instead: the printed value (what the example's author fed
forward), a rounded one (a hand calculation), or the value itself. sigma' is written in the
activation where the activation allows (sigmoid's a (1 - a)), as hand calculations do, so a
printed a^(l) is what sigma'(z^(l)) is computed from. Where the example prints the parts of a
step (the terms of z^(l), the softmax's exponentials, the loss's terms), the step is made of
those parts (oracle.worked.intermediates).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from manual_bp import Backprop, InputError, Network, Quantities, validate
from manual_bp.backprop import batch_factor
from manual_bp.errors import LayerDict
from oracle.notation import PER_EXAMPLE
from oracle.worked import intermediates as parts
from oracle.worked.format import WorkedExample, parse_key

Fix = Callable[[str, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Replay:
    """``computed[key]``: the step's value from the values fed to it; ``fed[key]``: the value
    the next steps read (what ``fix`` made of it). Both in the quantity's shape in the file."""

    computed: dict[str, np.ndarray]
    fed: dict[str, np.ndarray]


@dataclass
class _State:
    """Everything the steps read: the document's quantities, and the fed parts and updates."""

    ex: WorkedExample
    algorithm: Backprop
    q: Quantities
    X: np.ndarray
    Y: np.ndarray
    parts: dict[str, np.ndarray]  # fed intermediates and updated parameters, batch layout
    W_new: LayerDict
    b_new: LayerDict


def _after_update(s: _State) -> Quantities | None:
    """The forward pass of the updated network (the fed W'^(l), b'^(l)) on the same data."""
    ex = s.ex
    try:
        net = Network([s.W_new[l] for l in ex.net.W], [s.b_new.get(l) for l in ex.net.W],
                      list(ex.net.activations.values()))
    except InputError:  # an updated parameter overflowed: so does everything after the update
        return None
    return s.algorithm.forward_pass(net, s.X)


def _forward(s: _State, prop: str, l: int) -> Any:
    ex, q, alg = s.ex, s.q, s.algorithm
    net = ex.net
    if prop == "z_terms":
        return parts.z_terms(net.W[l], net.b[l], q.a[l - 1])
    if prop == "z":
        terms = s.parts.get(f"z{l}_terms")
        if terms is None:
            return alg.weighted_input(net, l, q)
        return terms.sum(axis=1)
    if prop == "exp_z":
        return parts.exp_z(q.z[l], ex.conventions.softmax_shift)
    if prop == "sum_exp_z":
        return parts.sum_exp(s.parts.get(f"exp_z{l}", parts.exp_z(q.z[l], ex.conventions.softmax_shift)))
    if f"exp_z{l}" in s.parts or f"sum_exp_z{l}" in s.parts:  # a softmax made of its printed parts
        exps = s.parts.get(f"exp_z{l}", parts.exp_z(q.z[l], ex.conventions.softmax_shift))
        return parts.softmax_from(exps, s.parts.get(f"sum_exp_z{l}", parts.sum_exp(exps)))
    return alg.activation(net, l, q)


def _step(s: _State, prop: str, l: int | None) -> Any:
    """The value of one quantity by manual_bp's step for it, from what has been fed so far."""
    ex, q, alg = s.ex, s.q, s.algorithm
    net, L = ex.net, ex.net.L
    if prop in ("z_terms", "z", "exp_z", "sum_exp_z", "a"):
        return _forward(s, prop, l)
    if prop == "L_terms":
        return parts.loss_terms(ex.loss, q.a[L], s.Y, _factor(ex))
    if prop == "L" and "L_terms" in s.parts:
        return parts.loss_from_terms(s.parts["L_terms"], ex.reduction)
    if prop == "L" or (prop == "dL_da" and l == L):
        loss, dL_daL = alg.loss_gradient(net, q, s.Y, ex.loss, ex.reduction)
        return loss if prop == "L" else dL_daL
    if prop == "dL_da_terms":
        return parts.dL_da_terms(net.W[l + 1], q.delta[l + 1])
    if prop == "dL_da" and f"dL_da{l}_terms" in s.parts:
        return s.parts[f"dL_da{l}_terms"].sum(axis=1)
    if prop == "delta" and l == L and ex.loss == "cross_entropy" and net.activations[L] == "softmax" \
            and alg is ex.algorithm:
        # J^T (-y / a) is a - y exactly; a hand calculation computes the simple form from the printed a
        return (q.a[L] - s.Y) * batch_factor(ex.reduction, s.X.shape[1])
    steps = {"sigma_prime": alg.sigma_prime, "dL_da": alg.backpropagate, "dW": alg.weight_gradient,
             "db": alg.bias_gradient, "delta": alg.output_error if l == L else alg.hidden_error}
    if prop in steps:
        return steps[prop](net, l, q)
    if prop == "W_new":
        return alg.update(net.W[l], q.dW[l], q.lr)
    if prop == "b_new":
        return alg.update_bias(net.b[l], q.db[l], q.lr) if ex.update_biases else net.b[l]
    after = _after_update(s)
    if after is None:
        return np.full(q.a[l].shape, np.nan) if prop == "a_new" else float("nan")
    if prop == "a_new":
        return after.a[l]
    return alg.loss_gradient(net, after, s.Y, ex.loss, ex.reduction)[0]  # L_new


def _factor(ex: WorkedExample) -> float:
    return float(ex.net.sizes[-1]) if ex.conventions.output_reduction == "sum" and ex.loss == "bce" else 1.0


def _store(s: _State, prop: str, l: int | None, key: str, value: np.ndarray) -> None:
    if prop == "L":
        s.q.loss = float(value)
    elif prop == "W_new":
        s.W_new[l] = value
    elif prop == "b_new":
        s.b_new[l] = value
    elif prop in ("z", "a", "sigma_prime", "dL_da", "delta", "dW", "db"):
        getattr(s.q, prop)[l] = value
    else:
        s.parts[key] = value


def replay(ex: WorkedExample, fix: Fix | None = None, until: str | None = None,
           algorithm: Backprop | None = None) -> Replay:
    """Run the forward pass, the loss, Eq. 1-4 and Eq. 5 quantity by quantity in the document's
    order; after each quantity, ``fix(key, value)`` says what the later steps read instead (the
    printed value, a rounded one), and ``until`` stops after that key. ``algorithm`` (default:
    the example's own) runs the steps: a catalogued mistake replays that mistake."""
    X, single = validate.inputs(ex.net, ex.x)
    Y = validate.targets(ex.net, ex.y, ex.loss, X.shape[1], single)
    s = _State(ex, algorithm or ex.algorithm, Quantities(a=LayerDict({0: X}), lr=ex.lr), X, Y, {}, LayerDict(),
               LayerDict())
    computed: dict[str, np.ndarray] = {}
    fed: dict[str, np.ndarray] = {"a0": np.asarray(ex.x, dtype=np.float64)}
    with np.errstate(all="ignore"):  # a replay fed wrong values may overflow; its inf is judged, not raised
        for key in ex.quantities():
            prop, l = parse_key(key)
            value = np.asarray(_step(s, prop, l), dtype=np.float64)
            per_example = prop in PER_EXAMPLE
            computed[key] = value[..., 0] if single and per_example else value
            fed[key] = computed[key] if fix is None else np.asarray(fix(key, computed[key]), dtype=np.float64)
            _store(s, prop, l, key, fed[key][..., None] if single and per_example else fed[key])
            if key == until:
                break
    return Replay(computed, fed)
