"""The exact values of a worked example's quantities (manual_bp in float64) and, on request,
PyTorch autograd's, keyed like the file: z1, dW2, W1_new, L_new."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from manual_bp import BACKPROP, Network, backward, forward
from manual_bp.losses import expand_class_indices
from oracle.cases import Case
from oracle.compare.records import case_scales, manual_properties
from oracle.compare.tolerance import FLOAT64
from oracle.worked import intermediates as parts
from oracle.worked.conventions import OutputsSummed
from oracle.worked.format import WorkedExample, parse_key


def case_of(ex: WorkedExample) -> Case:
    """The worked example as an oracle Case (the learning rate defaults to 1 when none is given)."""
    return Case(ex.name, ex.net, ex.x, ex.y, ex.loss, ex.reduction, ex.lr if ex.lr is not None else 1.0,
                ex.update_biases)


def lookup(props: dict[str, Any], key: str) -> np.ndarray | None:
    """One quantity of a properties dict (manual_properties' layout) by its file key, or None."""
    prop, layer = parse_key(key)
    if prop not in props:
        return None
    value = props[prop] if layer is None else props[prop].get(layer)
    return None if value is None else np.asarray(value, dtype=np.float64)


def loss_after(ex: WorkedExample, props: dict[str, Any]) -> float:
    """L' by manual_bp under the example's conventions: the loss of the network with the given
    W_new, b_new on the same data (NaN when an updated parameter or the loss is not finite)."""
    try:
        net = Network([props["W_new"][l] for l in ex.net.W], [props["b_new"][l] for l in ex.net.W],
                      list(ex.net.activations.values()))
        if ex.algorithm is not BACKPROP:
            return float(manual_properties(replace(case_of(ex), net=net), ex.algorithm)["L"])
        return backward(net, forward(net, ex.x), ex.y, ex.loss, ex.reduction).loss
    except ValueError:  # InputError: an updated parameter, or the loss itself, overflowed
        return float("nan")


def by_key(ex: WorkedExample, props: dict[str, Any]) -> dict[str, np.ndarray]:
    """A properties dict keyed like the file, with L_new when the example has a learning rate."""
    out = {k: v for k in ex.quantities() if (v := lookup(props, k)) is not None}
    if ex.lr is not None and "W_new" in props:
        out["L_new"] = np.asarray(loss_after(ex, props))
    return out


def exact_properties(ex: WorkedExample) -> dict[str, Any]:
    """manual_bp's quantities of the example (under its conventions: bce summed over the outputs)."""
    case = case_of(ex)
    return manual_properties(case) if ex.algorithm is BACKPROP else manual_properties(case, ex.algorithm)


def exact_values(ex: WorkedExample) -> dict[str, np.ndarray]:
    """Every claimable quantity by manual_bp in float64, the claimed intermediates too."""
    props = exact_properties(ex)
    out = by_key(ex, props)
    out.update(_intermediates(ex, props))
    return out


def _intermediates(ex: WorkedExample, props: dict[str, Any], after: Any = None) -> dict[str, np.ndarray]:
    """The claimed intermediates from a reference's quantities (oracle.worked.intermediates);
    ``after(l)``: a^(l) after the update (default: manual_bp's forward pass of props' W', b')."""
    net, single = ex.net, ex.single
    col = (lambda v: np.asarray(v, dtype=np.float64)[..., None]) if single else \
        (lambda v: np.asarray(v, dtype=np.float64))
    given = (lambda v: v[..., 0]) if single else (lambda v: v)
    out: dict[str, np.ndarray] = {}
    for key in ex.claimed:
        prop, l = parse_key(key)
        if prop == "z_terms":
            out[key] = given(parts.z_terms(net.W[l], net.b[l], col(props["a"][l - 1])))
        elif prop == "exp_z":
            out[key] = given(parts.exp_z(col(props["z"][l]), ex.conventions.softmax_shift))
        elif prop == "sum_exp_z":
            out[key] = given(parts.sum_exp(parts.exp_z(col(props["z"][l]), ex.conventions.softmax_shift)))
        elif prop == "L_terms":
            Y = expand_class_indices(ex.y, ex.loss, net.sizes[-1]).reshape(net.sizes[-1], -1)
            factor = float(net.sizes[-1]) if ex.algorithm is not BACKPROP else 1.0
            out[key] = given(parts.loss_terms(ex.loss, col(props["a"][net.L]), Y.astype(np.float64), factor))
        elif prop == "dL_da_terms":
            out[key] = given(parts.dL_da_terms(net.W[l + 1], col(props["delta"][l + 1])))
        elif prop == "a_new":
            out[key] = _outputs_after(ex, props, l) if after is None else after(l)
    return out


def _outputs_after(ex: WorkedExample, props: dict[str, Any], l: int) -> np.ndarray:
    """a^(l) of the updated network on the same data."""
    try:
        net = Network([props["W_new"][k] for k in ex.net.W], [props["b_new"][k] for k in ex.net.W],
                      list(ex.net.activations.values()))
    except ValueError:  # InputError: an updated parameter overflowed
        return np.full(ex.shape_of(f"a{l}_new"), np.nan)
    return np.asarray(forward(net, ex.x).a[l], dtype=np.float64)


def exact_noise(ex: WorkedExample, exact: dict[str, np.ndarray]) -> dict[str, float]:
    """How far each exact value can be from the true one by float64 rounding: the tolerance
    policy's bound for two implementations, 4 eps (L+1) S on the quantity's comparison scale S
    (oracle.compare.scales); for L' and the claimable intermediates, the same on |value|."""
    case = case_of(ex)
    S = case_scales(case, manual_properties(case))
    tol = FLOAT64.for_depth(ex.net.L)
    out = {}
    for key, value in exact.items():
        prop, layer = parse_key(key)
        scale = S.get(prop, {}) if prop != "L" else S["L"]
        scale = scale.get(layer, 0.0) if isinstance(scale, dict) else float(scale)
        out[key] = tol.allowed(max(float(scale), float(np.max(np.abs(value), initial=0.0))))
    return out


def torch_values(ex: WorkedExample) -> dict[str, np.ndarray]:
    """The same quantities by PyTorch autograd (and torch.optim.SGD for the update); imports torch.
    A loss summed over the n_L outputs is n_L times torch's mean over them, so its gradients are
    n_L times torch's and its step is torch's step with n_L times the learning rate."""
    from oracle.references.autograd import torch_properties

    n = ex.net.sizes[-1] if isinstance(ex.algorithm, OutputsSummed) else 1
    lr = None if ex.lr is None else n * ex.lr
    props = torch_properties(ex.net, ex.x, ex.y, ex.loss, ex.reduction, lr, ex.update_biases)
    for name in ("dL_da", "delta", "dW", "db"):
        props[name] = {l: None if v is None else n * np.asarray(v) for l, v in props[name].items()}
    props["L"] = n * props["L"]
    out = {k: v for k in ex.quantities() if (v := lookup(props, k)) is not None}
    after: dict[str, Any] = {}
    if ex.lr is not None:
        net = Network([props["W_new"][l] for l in ex.net.W], [props["b_new"][l] for l in ex.net.W],
                      list(ex.net.activations.values()))
        after = torch_properties(net, ex.x, ex.y, ex.loss, ex.reduction)
        out["L_new"] = np.asarray(n * after["L"])
    out.update(_intermediates(ex, props, lambda l: np.asarray(after["a"][l], dtype=np.float64)))
    return out
