"""The [network] table of a worked-example file: the network, its data, its settings and the
conventions it is written in (oracle.worked.conventions), each error naming its key path."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np

from manual_bp import validate
from manual_bp.errors import InputError
from manual_bp.losses import LOSSES, REDUCTIONS
from manual_bp.network import Network
from oracle.worked.conventions import DELTA_SIGNS, LAYOUTS, OUTPUT_REDUCTIONS, SOFTMAX_SHIFTS, Conventions
from oracle.worked.parse import all_ints, array, layers, shorten, string

NETWORK_KEYS = ("activations", "loss", "reduction", "learning_rate", "update_biases", "x", "y", "layout",
                "delta_sign", "output_reduction", "softmax_shift", "schedule")
SCHEDULES = ("full_batch", "per_example")


def network_table(table: dict[str, Any]) -> tuple[Network, np.ndarray, np.ndarray, dict[str, Any]]:
    """The [network] table: the Network, x, y and the remaining settings, each error with its path."""
    if not isinstance(table, dict):
        raise InputError("network: expected a table [network]")
    if "activations" not in table:
        raise InputError("network.activations: missing (one activation name per layer)")
    acts = layers(table["activations"])
    L = len(acts)
    allowed = {*NETWORK_KEYS, *(f"W{l}" for l in range(1, L + 1)), *(f"b{l}" for l in range(1, L + 1))}
    for key in table:
        if key not in allowed:
            raise InputError(f"network.{key}: unknown key; expected {', '.join(NETWORK_KEYS)}, W1..W{L}, b1..b{L} "
                             f"({L} layers, one per activation)")
    for key in ("loss", "x", "y", *(f"W{l}" for l in range(1, L + 1))):
        if key not in table:
            raise InputError(f"network.{key}: missing")
    settings = _settings(table)
    conv = settings["conventions"]
    net = _parameters(table, acts, conv.layout == "in_out")
    x, y = _data(table, net, settings["loss"], conv.layout == "in_out")
    if conv.output_reduction == "sum" and settings["loss"] == "mse":
        settings["loss"] = "sse"  # the squared errors summed over the outputs: exactly sse
    return net, x, y, settings


def _choice(table: dict[str, Any], key: str, known: tuple[str, ...]) -> str:
    value = string(f"network.{key}", table.get(key, known[0]))
    if value not in known:
        raise InputError(f"network.{key}: expected one of {', '.join(known)}, got {value!r}")
    return value


def _settings(table: dict[str, Any]) -> dict[str, Any]:
    """loss, reduction, update_biases and the learning rate (None when not given)."""
    loss = string("network.loss", table["loss"])
    if loss not in LOSSES:
        raise InputError(f"network.loss: unknown loss {loss!r}; known: {', '.join(LOSSES)}")
    reduction = string("network.reduction", table.get("reduction", "mean"))
    if reduction not in REDUCTIONS:
        raise InputError(f"network.reduction: expected one of {', '.join(REDUCTIONS)}, got {reduction!r}")
    update_biases = table.get("update_biases", True)
    if not isinstance(update_biases, bool):
        raise InputError(f"network.update_biases: expected true or false, got {update_biases!r}")
    lr = None
    if "learning_rate" in table:
        value = table["learning_rate"]
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise InputError(f"network.learning_rate: expected a positive number, got {shorten(value)}")
        try:
            lr = validate.learning_rate(value if isinstance(value, int) else float(value))  # an int may exceed float
        except InputError:
            raise InputError(f"network.learning_rate: expected a positive finite number, got "
                             f"{shorten(str(value))}") from None
    conv = Conventions(_choice(table, "layout", LAYOUTS), _choice(table, "delta_sign", DELTA_SIGNS),
                       _choice(table, "output_reduction", OUTPUT_REDUCTIONS),
                       _choice(table, "softmax_shift", SOFTMAX_SHIFTS))
    return {"loss": loss, "reduction": reduction, "lr": lr, "update_biases": update_biases, "conventions": conv,
            "schedule": _choice(table, "schedule", SCHEDULES)}


def _parameters(table: dict[str, Any], acts: list[str], in_out: bool) -> Network:
    """W1..WL (shapes that chain) and b1..bL (each optional) as a Network; in_out files write
    W{l} as (n_(l-1), n_l)."""
    weights, biases = [], []
    for l in range(1, len(acts) + 1):
        W = array(f"network.W{l}", table[f"W{l}"], (2,))
        W = W.T if in_out else W
        if l > 1 and W.shape[1] != weights[-1].shape[0]:
            what = ("rows (n_{0} = columns of network.W{1})" if in_out else "columns (n_{0} = rows of network.W{1})"
                    ).format(l - 1, l - 1)
            raise InputError(f"network.W{l}: expected {weights[-1].shape[0]} {what}, got {W.shape[1]}")
        weights.append(W)
        if f"b{l}" in table:
            b = array(f"network.b{l}", table[f"b{l}"], (0, 1))
            if b.ndim == 1 and len(b) != W.shape[0]:
                raise InputError(f"network.b{l}: expected {W.shape[0]} elements (n_{l} = rows of network.W{l}) "
                                 f"or a single shared number, got {len(b)}")
            biases.append(b)
        else:
            biases.append(None)
    return Network(weights, biases, acts)


def _data(table: dict[str, Any], net: Network, loss: str, in_out: bool) -> tuple[np.ndarray, np.ndarray]:
    """x (one example, or examples as columns; as rows in in_out files) and y (its outputs'
    shape, or class indices)."""
    n0, nL, L = net.sizes[0], net.sizes[-1], net.L
    x = array("network.x", table["x"], (1, 2))
    x = x.T if in_out else x
    if x.shape[0] != n0:
        raise InputError(f"network.x: expected {n0} {'elements' if x.ndim == 1 else 'rows'} (n_0 = columns of "
                         f"network.W1), got {x.shape[0]}")
    raw_y = table["y"]
    if loss == "cross_entropy" and all_ints(raw_y) and np.ndim(raw_y) == (0 if x.ndim == 1 else 1):
        for i, k in enumerate(np.ravel(np.asarray(raw_y, dtype=object))):
            if not 0 <= k < nL:  # before int64 conversion, which a class index of 10**20 overflows
                where = "" if x.ndim == 1 else f"[{i}]"
                raise InputError(f"network.y{where}: class index out of range 0..{nL - 1}: got {shorten(str(k))}")
        y = np.asarray(raw_y, dtype=np.int64)  # class indices
    else:
        y = array("network.y", raw_y, (0, 1, 2))
        y = y.T if in_out else y
        if y.ndim == 0 and nL == 1 and x.ndim == 1:
            y = y.reshape(1)  # y = 1.0 for a single output
        want = (nL,) if x.ndim == 1 else (nL, x.shape[1])
        if y.shape != want:
            raise InputError(f"network.y: expected shape {want} (n_{L} = {nL} outputs"
                             f"{'' if x.ndim == 1 else f', {x.shape[1]} examples as columns'}), got shape {y.shape}")
    try:
        validate.targets(net, y, loss, 1 if x.ndim == 1 else x.shape[1], x.ndim == 1)
    except InputError as exc:
        raise InputError(f"network.{exc}") from None
    return x, y


