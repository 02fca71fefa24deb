"""Property-by-property comparison of manual_bp against a reference, one record each.

A record is about one (case, reference, property, layer): its equation, shape, the greatest
absolute error, the relative error against the tensor's own scale (max |reference|), the
worst element with both values, the tolerance rule with its numbers, and whether it passed.

The tolerance rule (oracle.tolerance) is |manual - reference| <= rtol * S for every element,
where S is the tensor's *comparison scale*: the larger of its own max |reference| and the
first-order magnitude of the terms it is computed from (oracle.scales). Rounding errors are
relative to the terms, not to the result, so a value that cancels to (nearly) zero is judged
against the size of its terms rather than against its own rounding noise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from manual_bp import backward, forward, sgd_step
from manual_bp.network import Network
from oracle.scales import comparison_scales
from oracle.tolerance import Tolerance

# The order every report lists them in; each property with the equation that produces it.
PROPERTIES = ("z", "a", "sigma_prime", "L", "dL_da", "delta", "dW", "db", "W_new", "b_new")


def equation_of(prop: str, layer: int | None, L: int) -> str:
    """The document's equation a property checks: forward, loss, Eq. 1 .. Eq. 5."""
    if prop in ("z", "a", "sigma_prime"):
        return "forward"
    if prop == "L":
        return "loss"
    if prop in ("dL_da", "delta"):
        return "Eq. 1" if layer == L else "Eq. 2"
    return {"dW": "Eq. 3", "db": "Eq. 4", "W_new": "Eq. 5", "b_new": "Eq. 5"}[prop]


def symbol_of(prop: str, layer: int | None) -> str:
    """The document's symbol with its 1-based layer: z^(1), dL/dW^(2), L, W'^(1)."""
    names = {"z": "z", "a": "a", "sigma_prime": "sigma'(z)", "dL_da": "dL/da", "delta": "delta",
             "dW": "dL/dW", "db": "dL/db", "W_new": "W'", "b_new": "b'"}
    return "L" if prop == "L" else f"{names[prop]}^({layer})"


@dataclass(frozen=True)
class Case:
    """One network and the data to run it on: everything a check needs."""

    case_id: str
    net: Network
    x: np.ndarray
    y: np.ndarray
    loss: str = "half_sse"
    reduction: str = "mean"
    lr: float = 0.1
    update_biases: bool = True
    seed: int | None = None

    @property
    def batch(self) -> int:
        """The number of examples m (1 for a single example of shape (n_0,))."""
        return 1 if np.ndim(self.x) == 1 else np.shape(self.x)[1]

    def describe(self) -> dict[str, Any]:
        """The network and settings as plain fields, for a record or a table row."""
        net = self.net
        return {
            "case": self.case_id,
            "seed": self.seed,
            "sizes": "-".join(map(str, net.sizes)),
            "activations": ",".join(net.activations.values()),
            "bias": ",".join(net.bias_kind(l) for l in net.W),
            "loss": self.loss,
            "reduction": self.reduction,
            "batch": self.batch,
            "dtype": np.dtype(net.dtype).name,
        }


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


def manual_properties(case: Case) -> dict[str, Any]:
    """Every property by manual_bp, in the same layout as oracle.autograd.torch_properties."""
    cache = forward(case.net, case.x)
    grads = backward(case.net, cache, case.y, case.loss, case.reduction)
    new = sgd_step(case.net, grads, case.lr, case.update_biases)
    return {
        "z": cache.z, "a": cache.a, "sigma_prime": cache.sigma_prime, "L": grads.loss,
        "dL_da": grads.dL_da, "delta": grads.delta, "dW": grads.dW, "db": grads.db,
        "W_new": new.W, "b_new": new.b,
    }


def compare_tensor(manual: Any, reference: Any, scale: float, tol: Tolerance) -> dict[str, Any]:
    """Errors of one tensor: greatest absolute and relative error, worst element, pass or fail."""
    m = np.asarray(manual, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    if m.shape != r.shape:
        return {"shape": f"{m.shape} vs reference {r.shape}", "max_abs_err": float("inf"),
                "max_rel_err": float("inf"), "worst_index": "-", "manual_value": float("nan"),
                "reference_value": float("nan"), "scale": scale, "allowed_abs_err": 0.0,
                "tolerance": "shapes must match", "passed": False}
    diff = np.abs(m - r)
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
                scale = S[prop] if l is None else S[prop].get(l, 0.0)
                result = compare_tensor(mv, rv, scale, case_tol)
            # A failing record keeps both tensors, so a report can list its worst elements.
            keep = not result["passed"] and mv is not None and rv is not None
            extra = {"manual": np.asarray(mv, dtype=np.float64), "reference": np.asarray(rv, dtype=np.float64)} \
                if keep else {}
            records.append(Record(**info, reference=reference_name, property=prop, equation=equation_of(prop, l, L),
                                  layer=l, symbol=symbol_of(prop, l), **result, extra=extra))
    return records
