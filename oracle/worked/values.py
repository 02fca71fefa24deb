"""The exact values of a worked example's quantities (manual_bp in float64) and, on request,
PyTorch autograd's, keyed like the file: z1, dW2, W1_new, L_new."""

from __future__ import annotations

from typing import Any

import numpy as np

from manual_bp import Network, backward, forward
from oracle.cases import Case
from oracle.compare.records import manual_properties
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
    """L' by manual_bp: the loss of the network with the given W_new, b_new on the same data
    (NaN when an updated parameter is not finite)."""
    try:
        net = Network([props["W_new"][l] for l in ex.net.W], [props["b_new"][l] for l in ex.net.W],
                      list(ex.net.activations.values()))
        return backward(net, forward(net, ex.x), ex.y, ex.loss, ex.reduction).loss
    except ValueError:  # InputError: an updated parameter, or the loss itself, overflowed
        return float("nan")


def by_key(ex: WorkedExample, props: dict[str, Any]) -> dict[str, np.ndarray]:
    """A properties dict keyed like the file, with L_new when the example has a learning rate."""
    out = {k: v for k in ex.quantities() if (v := lookup(props, k)) is not None}
    if ex.lr is not None and "W_new" in props:
        out["L_new"] = np.asarray(loss_after(ex, props))
    return out


def exact_values(ex: WorkedExample) -> dict[str, np.ndarray]:
    """Every claimable quantity by manual_bp in float64."""
    return by_key(ex, manual_properties(case_of(ex)))


def torch_values(ex: WorkedExample) -> dict[str, np.ndarray]:
    """The same quantities by PyTorch autograd (and torch.optim.SGD for the update); imports torch."""
    from oracle.references.autograd import torch_properties

    props = torch_properties(ex.net, ex.x, ex.y, ex.loss, ex.reduction, ex.lr, ex.update_biases)
    out = {k: v for k in ex.quantities() if (v := lookup(props, k)) is not None}
    if ex.lr is not None:
        net = Network([props["W_new"][l] for l in ex.net.W], [props["b_new"][l] for l in ex.net.W],
                      list(ex.net.activations.values()))
        out["L_new"] = np.asarray(torch_properties(net, ex.x, ex.y, ex.loss, ex.reduction)["L"])
    return out
