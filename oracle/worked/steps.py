"""Judging what a worked example printed after several steps ([[step]] tables): the parameters,
the outputs and the loss after k full-batch updates, or after k passes over the examples with
an update after each one (``schedule = "per_example"``, which also prints each pass's running
loss, every example's loss taken before its own update).

The exact values are manual_bp's trajectory. A loss or output printed in the same table as the
parameters is rounding carried when the printed parameters give it. A wrong value is compared
with the trajectory of every catalogued mistake (the classic: an author's code that updated the
output weights before computing the hidden deltas), within a work budget."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from manual_bp import BACKPROP, Backprop, Quantities, validate
from manual_bp.errors import InputError, LayerDict
from oracle.compare.tolerance import FLOAT64
from oracle.mistakes.catalogue import MISTAKES, NotApplicableError
from oracle.worked.explain import label
from oracle.worked.format import WorkedExample, step_key
from oracle.worked.result import Row, _fmt
from oracle.worked.rounding import at_digits, is_rounding_of, printed

STEP_BUDGET = 200_000  # mistaken trajectories: at most this many network-steps in all (a few seconds)


@dataclass
class _Params:
    """Just what the algorithm's steps read of a network: W, b, activations, L and sizes."""

    W: LayerDict
    b: LayerDict
    activations: LayerDict

    @property
    def L(self) -> int:
        return len(self.W)

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.W[1].shape[1], *(self.W[l].shape[0] for l in self.W))


def _data(ex: WorkedExample) -> tuple[np.ndarray, np.ndarray]:
    """All of the example's data as batches (examples as columns)."""
    x = ex.x if ex.data_x is None else ex.data_x
    y = ex.y if ex.data_y is None else ex.data_y
    X, single = validate.inputs(ex.net, x)
    return X, validate.targets(ex.net, y, ex.loss, X.shape[1], single)


def _update(alg: Backprop, p: _Params, X: np.ndarray, Y: np.ndarray, ex: WorkedExample) -> tuple[_Params, float]:
    q = alg.forward_pass(p, X)  # type: ignore[arg-type]
    q.lr = ex.lr
    alg.backward_pass(p, q, Y, ex.loss, ex.reduction)  # type: ignore[arg-type]
    W, b = alg.update_pass(p, q, np.float64(ex.lr), ex.update_biases)  # type: ignore[arg-type]
    return _Params(W, b, p.activations), q.loss


def _observe(alg: Backprop, p: _Params, X: np.ndarray, Y: np.ndarray, ex: WorkedExample, running: float
             ) -> dict[str, Any]:
    q: Quantities = alg.forward_pass(p, X)  # type: ignore[arg-type]
    loss = alg.loss_gradient(p, q, Y, ex.loss, ex.reduction)[0]  # type: ignore[arg-type]
    single = np.ndim(ex.x if ex.data_x is None else ex.data_x) == 1
    out: dict[str, Any] = {"L": loss, "L_running": running}
    for l in p.W:
        out[f"W{l}"], out[f"b{l}"] = p.W[l], p.b[l]
        out[f"a{l}"] = q.a[l][..., 0] if single else q.a[l]
    return out


def trajectory(ex: WorkedExample, steps: list[int], algorithm: Backprop | None = None) -> dict[int, dict[str, Any]]:
    """The network's parameters, outputs and loss after each of ``steps`` (full-batch updates, or
    passes over the examples for per_example)."""
    alg = algorithm or ex.algorithm
    X, Y = _data(ex)
    p = _Params(LayerDict(ex.net.W), LayerDict(ex.net.b), ex.net.activations)
    out: dict[int, dict[str, Any]] = {}
    with np.errstate(all="ignore"):
        for k in range(1, max(steps) + 1):
            running = 0.0
            if ex.schedule == "per_example":
                for j in range(X.shape[1]):
                    p, loss = _update(alg, p, X[:, [j]], Y[:, [j]], ex)
                    running += loss
            else:
                p, _ = _update(alg, p, X, Y, ex)
            if k in steps:
                out[k] = _observe(alg, p, X, Y, ex, running)
    return out


def _carried(ex: WorkedExample, claims: dict[str, np.ndarray], key: str) -> dict[str, Any] | None:
    """L and a^(l) computed from the parameters printed in the same table, when all are printed."""
    if step_key(key)[0] not in ("L", "a"):
        return None
    W, b = LayerDict(), LayerDict()
    for l in ex.net.W:
        text_W, text_b = claims.get(f"W{l}"), claims.get(f"b{l}")
        if text_W is None or any(t is None for t in text_W.ravel()) or (ex.net.b[l] is not None and (
                text_b is None or any(t is None for t in np.ravel(text_b)))):
            return None
        W[l] = np.vectorize(lambda t: float(printed(t)), otypes=[float])(text_W)
        b[l] = None if ex.net.b[l] is None else np.vectorize(lambda t: float(printed(t)), otypes=[float])(text_b)
    X, Y = _data(ex)
    with np.errstate(all="ignore"):
        return _observe(BACKPROP, _Params(W, b, ex.net.activations), X, Y, ex, float("nan"))


def judge_steps(ex: WorkedExample) -> list[Row]:
    """A row per element printed in the [[step]] tables."""
    if not ex.steps:
        return []
    wanted = [s.step for s in ex.steps]
    exact = trajectory(ex, wanted)
    mistaken: dict[str, dict[int, dict[str, Any]]] | None = None
    rows = []
    for table in ex.steps:
        for key, claim in table.claimed.items():
            carried = _carried(ex, table.claimed, key)
            for index in np.ndindex(claim.shape):
                if claim[index] is None:
                    continue
                row = _row(ex, table.step, key, index, claim[index], exact[table.step], carried)
                if row.verdict == "wrong":
                    if mistaken is None:
                        mistaken = _mistaken(ex, wanted)
                    _name(row, ex, table.step, key, index, mistaken)
                rows.append(row)
    return rows


def _value(values: dict[str, Any], key: str, index: tuple[int, ...], ex: WorkedExample) -> float:
    prop, _ = step_key(key)
    v = np.asarray(values[key], dtype=np.float64)
    v = ex.conventions.to_file({"W": "W", "b": "b_new", "a": "a"}.get(prop, prop), v, v.ndim == 2 and prop == "a")
    return float(v[index])


def _row(ex: WorkedExample, k: int, key: str, index: tuple[int, ...], text: str, exact: dict[str, Any],
         carried: dict[str, Any] | None) -> Row:
    q = printed(text)
    exponent = int(q.as_tuple().exponent)
    e = _value(exact, key, index, ex)
    noise = k * FLOAT64.for_depth(ex.net.L).allowed(max(abs(e), 1e-300))  # rounding adds up step by step
    r = _value(carried, key, index, ex) if carried is not None else e
    at = f"{-exponent} decimals"
    if is_rounding_of(q, e, noise):
        verdict, why = "correct", f"after {k} steps the exact value {_fmt(e)} is {at_digits(e, exponent)} at {at}"
    elif carried is not None and is_rounding_of(q, r, noise):
        verdict, why = "rounding carried", (f"the exact value {_fmt(e)} is {at_digits(e, exponent)} at {at}; from the "
                                            f"parameters printed after step {k}: {_fmt(r)}, which is {text}")
    else:
        verdict, why = "wrong", f"after {k} steps the exact value is {_fmt(e)} ({at_digits(e, exponent)} at {at})"
    prop, layer = step_key(key)
    symbol = {"W": f"W^({layer})", "b": f"b^({layer})", "a": f"a^({layer})"}.get(prop, prop)
    return Row(f"step{k}.{key}", index, f"after step {k}: {symbol}", f"[{','.join(map(str, index))}]"
               if len(index) else "", text, -exponent, e, float("nan"), float(q) - e, verdict, why, r, (r, r))


def _signature(values: dict[str, Any]) -> bytes:
    """Everything observed after one step, bit for bit: two algorithms that agree here on every
    parameter, output and loss follow the same trajectory (the same step applied to the same state)."""
    return b"".join(np.asarray(v, dtype=np.float64).tobytes() for _, v in sorted(values.items())
                    if v is not None)


def _mistaken(ex: WorkedExample, wanted: list[int]) -> dict[str, dict[int, dict[str, Any]]]:
    """Each catalogued mistake's trajectory, as far as the budget allows; a mistake that does
    nothing here (its first step is the exact one's) or that another one already traces (the
    same first step) shares that trajectory instead of running its own."""
    passes = max(wanted) * (1 if ex.schedule == "full_batch" else len(_data(ex)[0][0]))
    runs, out = 0, {}
    seen = {_signature(trajectory(ex, [1])[1]): None}  # None: the exact trajectory, which names nothing
    for name, mistake in MISTAKES.items():
        try:
            mistake.algorithm.applicable(ex.net)
            first = _signature(trajectory(ex, [1], mistake.algorithm)[1])
        except (NotApplicableError, InputError, ValueError, IndexError):
            continue
        if first in seen:
            if seen[first] is not None:
                out[name] = out[seen[first]]
            continue
        if (runs + 1) * passes > STEP_BUDGET:
            break
        runs += 1
        seen[first] = name
        out[name] = trajectory(ex, wanted, mistake.algorithm)
    return out


def _name(row: Row, ex: WorkedExample, k: int, key: str, index: tuple[int, ...],
          mistaken: dict[str, dict[int, dict[str, Any]]]) -> None:
    """Name the catalogued mistakes whose trajectory gives the printed value."""
    q = printed(row.claimed)
    half = float(Decimal(5).scaleb(int(q.as_tuple().exponent) - 1))
    for name, values in mistaken.items():
        v = _value(values[k], key, index, ex)
        if abs(v - row.exact) > half and abs(v - float(q)) <= half * 1.000001:
            row.mistakes.append(name)
    if not row.mistakes and step_key(key)[0] in ("L", "L_running"):
        # the loss printed with its 1/2 dropped or doubled, while the steps follow the right gradient
        for name, factor in (("factor_2", 2.0), ("factor_half", 0.5)):
            if abs(factor * row.exact - float(q)) <= half * 1.000001:
                row.mistakes.append(name)
                row.cause = (f"after {k} steps the exact trajectory's loss times {factor:g} [{name}]: "
                             f"{label(name)}")
    if row.mistakes and row.mistakes[0] in MISTAKES:
        d = MISTAKES[row.mistakes[0]].description
        row.cause = f"after {k} steps it is the trajectory of the mistake: {d} [{row.mistakes[0]}]"
    elif not row.mistakes:
        row.mistakes.append("trajectory_unexplained")
        row.cause = f"after {k} steps neither the exact trajectory nor a catalogued mistake's gives it"
    row.explanation += f"; {row.cause}"
