"""Property-by-property comparison of manual_bp against a reference, one record each.

A record is about one (case, reference, property, layer): its equation, shape, the greatest
absolute error, the relative error against the tensor's own scale (max |reference|), the
worst element with both values, the tolerance rule with its numbers, and whether it passed.

The tolerance rule (oracle.compare.tolerance) is |manual - reference| <= rtol * S for every element,
where S is the tensor's *comparison scale*: the larger of its own max |reference| and the
first-order magnitude of the terms it is computed from (oracle.compare.scales). Rounding errors are
relative to the terms, not to the result, so a value that cancels to (nearly) zero is judged
against the size of its terms rather than against its own rounding noise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from manual_bp import Backprop, backward, forward, sgd_step, validate
from manual_bp.backprop import as_given
from oracle import notation
from oracle.cases import Case
from oracle.compare.scales import comparison_scales
from oracle.compare.tolerance import Tolerance

PROPERTIES = notation.PROPERTIES


@dataclass
class Record:
    """The comparison of one property of one layer of one case with one reference."""

    case: str
    seed: int | None
    sizes: str
    activations: str
    bias: str
    loss: str
    reduction: str
    batch: int
    dtype: str
    reference: str
    property: str
    equation: str
    layer: int | None
    symbol: str
    shape: str
    max_abs_err: float
    max_rel_err: float
    worst_index: str
    manual_value: float
    reference_value: float
    scale: float
    allowed_abs_err: float
    tolerance: str
    passed: bool
    note: str = ""  # where and why the reference itself is off the true value (oracle.compare.torch_limits)
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def as_row(self) -> dict[str, Any]:
        """The record as a flat dict (for pandas), without the extra field."""
        row = asdict(self)
        row.pop("extra")
        return row

    def message(self) -> str:
        """A one-paragraph failure message in the style of torch.testing.assert_close."""
        status = "passed" if self.passed else "FAILED"
        return (
            f"{self.equation} {self.symbol} [{self.property}, layer {self.layer}] {status} against "
            f"{self.reference} in case {self.case} (sizes {self.sizes}, {self.activations}, {self.loss}/"
            f"{self.reduction}, batch {self.batch}, {self.dtype}): greatest absolute difference "
            f"{self.max_abs_err:.3e} at index {self.worst_index} (manual {self.manual_value!r}, reference "
            f"{self.reference_value!r}); greatest relative difference {self.max_rel_err:.3e} against the "
            f"tensor's scale; allowed {self.allowed_abs_err:.3e} by the rule {self.tolerance}"
        )


def manual_properties(case: Case, algorithm: Backprop | None = None) -> dict[str, Any]:
    """Every property by manual_bp, in the same layout as oracle.references.autograd.torch_properties:
    through its public functions (forward, backward, sgd_step), or, given an ``algorithm`` (a
    Backprop subclass: a catalogued mistake, a user's variant), through that algorithm's steps
    without validation or overflow checks (a mistake's inf and NaN are values to compare)."""
    if algorithm is not None:
        return _algorithm_properties(algorithm, case)
    cache = forward(case.net, case.x)
    grads = backward(case.net, cache, case.y, case.loss, case.reduction)
    new = sgd_step(case.net, grads, case.lr, case.update_biases)
    return {
        "z": cache.z, "a": cache.a, "sigma_prime": cache.sigma_prime, "L": grads.loss,
        "dL_da": grads.dL_da, "delta": grads.delta, "dW": grads.dW, "db": grads.db,
        "W_new": new.W, "b_new": new.b,
    }


def _algorithm_properties(algorithm: Backprop, case: Case) -> dict[str, Any]:
    """The forward pass, the loss, the backward pass and the update by ``algorithm``'s steps
    (one example keeps no batch axis)."""
    net = case.net
    X, single = validate.inputs(net, case.x)
    Y = validate.targets(net, case.y, case.loss, X.shape[1], single)
    eta = net.dtype(validate.learning_rate(case.lr))
    with np.errstate(all="ignore"):  # a mistake may overflow: its inf and NaN match nothing
        q = algorithm.forward_pass(net, X)
        q.lr = eta
        algorithm.backward_pass(net, q, Y, case.loss, case.reduction)
        W_new, b_new = algorithm.update_pass(net, q, eta, case.update_biases)
    return {"z": as_given(q.z, single), "a": as_given(q.a, single), "sigma_prime": as_given(q.sigma_prime, single),
            "L": q.loss, "dL_da": as_given(q.dL_da, single), "delta": as_given(q.delta, single), "dW": q.dW,
            "db": q.db, "W_new": W_new, "b_new": b_new}


def _difference(m: np.ndarray, r: np.ndarray) -> np.ndarray:
    """|m - r| elementwise, 0 where both are the same value: an infinity on both sides agrees (a
    dL/da^(L) = -y/a where a softmax output underflowed to 0), a NaN never does."""
    with np.errstate(invalid="ignore"):
        return np.where(m == r, 0.0, np.abs(m - r))


def compare_tensor(manual: Any, reference: Any, scale: float | np.ndarray, tol: Tolerance) -> dict[str, Any]:
    """Errors of one tensor: greatest absolute and relative error, worst element, pass or fail.
    ``scale`` is the tensor's comparison scale S, or an array of one scale per element (then
    see :func:`compare_elementwise`)."""
    m = np.asarray(manual, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    if np.ndim(scale) and m.shape == r.shape:
        return compare_elementwise(m, r, np.asarray(scale, dtype=np.float64), tol)
    if m.shape != r.shape:
        return {"shape": f"{m.shape} vs reference {r.shape}", "max_abs_err": float("inf"),
                "max_rel_err": float("inf"), "worst_index": "-", "manual_value": float("nan"),
                "reference_value": float("nan"), "scale": scale, "allowed_abs_err": 0.0,
                "tolerance": "shapes must match", "passed": False}
    diff = _difference(m, r)
    k = int(diff.argmax()) if diff.size else 0  # argmax stops at the first NaN, so a NaN shows here
    if diff.size and np.isnan(diff.flat[k]):
        diff = np.where(np.isnan(diff), np.inf, diff)  # a NaN on either side never passes
        k = int(diff.argmax())
    index = tuple(int(i) for i in np.unravel_index(k, m.shape)) if m.ndim else ()
    own = float(np.abs(r).max()) if r.size else 0.0
    S = max(own, scale)
    max_abs = float(diff.flat[k]) if diff.size else 0.0
    allowed = tol.allowed(S)
    return {
        "shape": str(tuple(m.shape)),
        "max_abs_err": max_abs,
        "max_rel_err": max_abs / own if own > 0 else (0.0 if max_abs == 0 else float("inf")),
        "worst_index": str(list(index)),
        "manual_value": float(m.flat[k]) if m.size else float("nan"),
        "reference_value": float(r.flat[k]) if r.size else float("nan"),
        "scale": S,
        "allowed_abs_err": allowed,
        "tolerance": tol.rule(S),
        "passed": bool(max_abs <= allowed),
    }


def compare_elementwise(m: np.ndarray, r: np.ndarray, scale: np.ndarray, tol: Tolerance) -> dict[str, Any]:
    """compare_tensor with one comparison scale per element (an optimizer's update, whose
    sensitivity to rounding differs element by element: oracle.compare.updates). Each element
    is held to rtol x max(its scale, |reference|); the record shows the element nearest its
    bound (largest |diff| / allowed), with that element's difference, scale and allowance."""
    diff = _difference(m, r)
    S = np.maximum(np.broadcast_to(scale, m.shape), np.abs(r))
    allowed = tol.rtol * S + tol.floor
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(diff == 0, 0.0, diff / allowed)
    ratio = np.where(np.isnan(ratio), np.inf, ratio)  # a NaN on either side never passes
    k = int(np.argmax(ratio)) if ratio.size else 0
    index = tuple(int(i) for i in np.unravel_index(k, m.shape)) if m.ndim else ()
    own = float(np.abs(r).max()) if r.size else 0.0
    worst = float(diff.flat[k]) if diff.size else 0.0
    return {
        "shape": str(tuple(m.shape)),
        "max_abs_err": worst,
        "max_rel_err": worst / own if own > 0 else (0.0 if worst == 0 else float("inf")),
        "worst_index": str(list(index)),
        "manual_value": float(m.flat[k]) if m.size else float("nan"),
        "reference_value": float(r.flat[k]) if r.size else float("nan"),
        "scale": float(S.flat[k]) if S.size else 0.0,
        "allowed_abs_err": float(allowed.flat[k]) if allowed.size else 0.0,
        "tolerance": tol.rule(float(S.flat[k]) if S.size else 0.0) + " (this element's S; each has its own)",
        "passed": bool(np.all(ratio <= 1.0)),
    }


def case_scales(case: Case, values: dict[str, Any]) -> dict[str, Any]:
    """The comparison scales S of every property and layer of a case, from a full set of its values."""
    return comparison_scales(case.net, case.x, case.y, case.loss, case.reduction, case.lr, values)


def compare_properties(case: Case, manual: dict[str, Any], reference: dict[str, Any], reference_name: str,
                       tol: Tolerance, properties: tuple[str, ...] = PROPERTIES,
                       scales: dict[str, Any] | None = None) -> list[Record]:
    """One Record per (property, layer) present in both ``manual`` and ``reference``. The
    comparison scales come from ``scales`` if given (one computation for several references),
    else from the reference's values (or manual_bp's, where the reference lacks some)."""
    info = case.describe()
    L = case.net.L
    if scales is None:
        full = reference if all(k in reference for k in ("a", "sigma_prime", "dL_da", "delta", "L")) else manual
        scales = case_scales(case, full)
    S = scales
    case_tol = tol.for_case(L, S)  # the same for every tensor of the case
    records = []
    for prop in properties:
        if prop not in manual or prop not in reference:
            continue
        layers: list[int | None] = [None] if prop == "L" else [l for l in sorted(reference[prop]) if l >= 1]
        for l in layers:
            mv = manual[prop] if l is None else manual[prop][l]
            rv = reference[prop] if l is None else reference[prop][l]
            if mv is None and rv is None:
                continue  # a layer without bias has no db and no b'
            if mv is None or rv is None:
                result = compare_tensor(np.nan, 0.0, 0.0, tol) | {
                    "tolerance": "both must exist", "shape": f"manual {mv is not None}, reference {rv is not None}"}
            else:
                scale = S[prop] if l is None else S[prop].get(l, 0.0)  # one S, or one per element
                result = compare_tensor(mv, rv, scale, case_tol)
            # A failing record keeps both tensors, so a report can list its worst elements.
            keep = not result["passed"] and mv is not None and rv is not None
            extra = {"manual": np.asarray(mv, dtype=np.float64), "reference": np.asarray(rv, dtype=np.float64)} \
                if keep else {}
            records.append(Record(**info, reference=reference_name, property=prop,
                                  equation=notation.equation(prop, l, L), layer=l, symbol=notation.symbol(prop, l),
                                  **result, extra=extra))
    return records
