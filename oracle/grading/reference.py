"""What a correct function returns on a case, under its spec: manual_bp's (or torch's) gradients
of the declared loss, plus the L2 term, or the parameters after one SGD step; and the
comparison scales S that the tolerance is taken on.

The declared conventions are applied to the document's quantities, once, in :func:`adjust`:
mse and bce summed over the n_L output units are n_L times manual_bp's (which average them);
the L2 term (LAMBDA/2) sum ||W||^2 adds LAMBDA W^(l) to dL/dW^(l) (not to the biases); the step
is Eq. 5 on those gradients. The same function turns a catalogued mistake's quantities into what
that mistake returns under the same spec, so a user's tensor and a mistake's are comparable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from manual_bp import BACKPROP, Backprop, Network
from manual_bp.errors import LayerDict
from oracle.cases import Case
from oracle.compare.records import case_scales, manual_properties
from oracle.grading.spec import GradeSpec


@dataclass(frozen=True)
class Conventions:
    """How one function's returned quantities differ from the document's: a factor on the loss
    and its gradients, the L2 coefficients on W and on b, and the step's learning rate."""

    factor: float = 1.0
    l2_weights: float = 0.0
    l2_biases: float = 0.0
    lr: float | None = None


def conventions(case: Case, spec: GradeSpec) -> Conventions:
    """The declared conventions for this case."""
    summed = spec.output_reduction == "sum" and case.loss in ("mse", "bce")
    return Conventions(float(case.net.sizes[-1]) if summed else 1.0, spec.l2, 0.0, spec.step)


def adjust(props: dict[str, Any], case: Case, conv: Conventions) -> dict[str, Any]:
    """dL/dW, dL/db and L under the conventions, and W', b' after Eq. 5 on them."""
    net = case.net
    dW = LayerDict({l: conv.factor * np.asarray(props["dW"][l], dtype=np.float64) + conv.l2_weights * net.W[l]
                    for l in net.W})
    db = LayerDict({l: None if props["db"].get(l) is None else
                    conv.factor * np.asarray(props["db"][l], dtype=np.float64) + conv.l2_biases * net.b[l]
                    for l in net.W})
    penalty = 0.5 * conv.l2_weights * sum(float(np.sum(np.square(net.W[l], dtype=np.float64))) for l in net.W)
    out: dict[str, Any] = {"dW": dW, "db": db, "L": conv.factor * float(props["L"]) + penalty}
    if conv.lr is not None:
        eta = np.float64(conv.lr)
        out["W_new"] = LayerDict({l: BACKPROP.update(net.W[l].astype(np.float64), dW[l], eta) for l in net.W})
        out["b_new"] = LayerDict({l: None if db[l] is None else BACKPROP.update(net.b[l].astype(np.float64), db[l],
                                                                                   eta) for l in net.W})
    return out


def float64_case(case: Case) -> Case:
    """The case in float64 with the same numbers (a float32 case's truth)."""
    if case.net.dtype == np.float64:
        return case
    net = case.net
    layers = range(1, net.L + 1)
    net64 = Network([net.W[l].astype(np.float64) for l in layers],
                    [None if net.b[l] is None else net.b[l].astype(np.float64) for l in layers],
                    [net.activations[l] for l in layers])
    y = case.y if np.asarray(case.y).dtype.kind in "iu" else np.asarray(case.y, dtype=net.dtype).astype(np.float64)
    return Case(case.case_id, net64, np.asarray(case.x, dtype=net.dtype).astype(np.float64), y, case.loss,
                case.reduction, case.lr, case.update_biases, case.seed)


def properties(case: Case, spec: GradeSpec, algorithm: Backprop | None = None) -> dict[str, Any]:
    """The document's quantities of the case in float64 by manual_bp (or ``algorithm``), or by
    torch autograd when the spec asks for it and no algorithm is given."""
    truth = float64_case(case)
    if algorithm is None and spec.reference == "torch":
        from oracle.references.autograd import torch_properties

        return torch_properties(truth.net, truth.x, truth.y, truth.loss, truth.reduction)
    return manual_properties(truth, algorithm)


def expected(case: Case, spec: GradeSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a correct function returns on the case, and the comparison scales for it."""
    conv = conventions(case, spec)
    truth = float64_case(case)
    props = manual_properties(truth)
    want = adjust(properties(case, spec), case, conv)
    S = case_scales(truth, props)
    W_max = {l: float(np.max(np.abs(truth.net.W[l]))) for l in truth.net.W}
    S["dW"] = {l: conv.factor * S["dW"][l] + conv.l2_weights * W_max[l] for l in S["dW"]}
    S["db"] = {l: conv.factor * v for l, v in S["db"].items()}
    S["L"] = conv.factor * S["L"] + 0.5 * conv.l2_weights * sum(w * w for w in W_max.values())
    if conv.lr is not None:
        S["W_new"] = {l: W_max[l] + conv.lr * S["dW"][l] for l in S["dW"]}
        S["b_new"] = {l: float(np.max(np.abs(truth.net.b[l]))) + conv.lr * v for l, v in S["db"].items()}
    return want, S
