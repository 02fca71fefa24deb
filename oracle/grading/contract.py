"""Between a case (the document's layout) and a user's function (the layout its spec declares):
the arguments it is called with, and its result read back, with a hint where a shape fits
another convention (a transposed layout, gradients in the wrong order, a sum on the wrong axis).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from manual_bp import validate
from manual_bp.errors import InputError, LayerDict
from manual_bp.losses import expand_class_indices
from oracle import notation
from oracle.cases import Case
from oracle.grading.spec import GradeSpec


def _bias(b: np.ndarray, shape: str) -> np.ndarray | None:
    return {"flat": b.copy(), "column": b.reshape(-1, 1).copy(), "row": b.reshape(1, -1).copy(), "none": None}[shape]


def _weight(W: np.ndarray, layout: str) -> np.ndarray:
    return W.copy() if layout == "columns" else W.T.copy()


def arguments(case: Case, spec: GradeSpec) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The positional arguments (weights, biases, activations, loss, x, y) and keywords (l2, lr)."""
    net, L = case.net, case.net.L
    weights = [_weight(net.W[l], spec.layout) for l in range(1, L + 1)]
    biases = [None if net.b[l] is None else _bias(net.b[l], spec.bias_shape) for l in range(1, L + 1)]
    x = np.array(case.x)
    x = x if spec.layout == "columns" else x.T.copy()
    y = np.asarray(case.y)
    if not (case.loss == "cross_entropy" and spec.labels == "indices"):
        y = np.asarray(expand_class_indices(y, case.loss, net.sizes[-1], net.dtype)).reshape(net.sizes[-1], -1)
        y = y.astype(net.dtype) if spec.layout == "columns" else y.T.astype(net.dtype)
    else:
        y = y.copy()
    keywords: dict[str, Any] = {}
    if spec.l2:
        keywords["l2"] = spec.l2
    if spec.step is not None:
        keywords["lr"] = spec.step
    return (weights, biases, [net.activations[l] for l in range(1, L + 1)], case.loss, x, y), keywords


def _expected(case: Case, spec: GradeSpec) -> tuple[list[tuple[int, ...]], list[tuple[int, ...] | None]]:
    """The shapes the function must return, in its own layout: those of its W^(l) and b^(l)."""
    net = case.net
    W = [tuple(_weight(net.W[l], spec.layout).shape) for l in net.W]
    b = [None if net.b[l] is None else tuple(_bias(net.b[l], spec.bias_shape).shape) for l in net.W]
    return W, b


def _hint(name: str, got: tuple[int, ...], want: tuple[int, ...], other: tuple[int, ...] | None, case: Case,
          spec: GradeSpec) -> str:
    """Why a returned shape may be wrong, where it fits another convention."""
    if got == want[::-1] and got != want:
        flip = "rows" if spec.layout == "columns" else "columns"
        return f"; {name} has the transposed shape: is it --layout {flip}?"
    if other is not None and got == other:
        return "; that is the shape of the other parameter: are dW and db returned in the wrong order?"
    if case.batch in got and int(np.prod(got)) == case.batch:
        return f"; that is the batch size m = {case.batch}: is the sum over the examples taken on the wrong axis?"
    return ""


def _array(name: str, value: Any, want: tuple[int, ...], other: tuple[int, ...] | None, case: Case,
           spec: GradeSpec) -> tuple[np.ndarray, str]:
    """One returned array as float64 in the function's layout, and its dtype's name; refuses
    complex, object, masked and non-finite values."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "O":
        raise InputError(f"{name}: expected real numbers, got an array of Python objects (dtype object); return a "
                         "float array")
    raw = validate.real_array(name, value)  # the one rule for "an array of real numbers"
    arr = validate.float_array(name, raw, np.float64)
    if arr.shape != want:
        raise InputError(f"{name}: expected shape {want}, got shape {arr.shape}"
                         + _hint(name, arr.shape, want, other, case, spec))
    return arr, raw.dtype.name


def _two(out: Any, first: str, second: str, L: int) -> tuple[Sequence[Any], Sequence[Any]]:
    """The pair (first, second) of per-layer sequences, or (first{l}, second{l}) keys of a dict."""
    if isinstance(out, Mapping):
        missing = [k for l in range(1, L + 1) for k in (f"{first}{l}",) if k not in out]
        if missing:
            raise InputError(f"returned a dict without {', '.join(missing)} (keys {first}1..{first}{L} and "
                             f"{second}1..{second}{L} are expected; it has {', '.join(map(str, list(out)[:8]))})")
        return ([out[f"{first}{l}"] for l in range(1, L + 1)], [out.get(f"{second}{l}") for l in range(1, L + 1)])
    if not isinstance(out, list | tuple) or len(out) != 2:
        got = f"a {type(out).__name__} of length {len(out)}" if isinstance(out, list | tuple) else type(out).__name__
        raise InputError(f"returned {got}; expected a pair ({first}, {second}) of lists, or a dict with keys "
                         f"{first}1..{first}{L}, {second}1..{second}{L}")
    for what, seq in zip((first, second), out, strict=True):
        if isinstance(seq, np.ndarray) or not isinstance(seq, Sequence) or len(seq) != L:
            n = len(seq) if isinstance(seq, Sequence) else type(seq).__name__
            raise InputError(f"{what}: expected a list of L = {L} arrays, one per layer, got {n}")
    return out[0], out[1]


def read_result(out: Any, case: Case, spec: GradeSpec) -> tuple[dict[str, LayerDict], set[str]]:
    """The function's result in the document's layout: {'dW', 'db'} (gradients) or {'W_new',
    'b_new'} (after the step), and L when a dict also holds 'L' or 'loss'; with the dtypes seen."""
    L = case.net.L
    step = spec.step is not None
    names = ("W", "b") if step else ("dW", "db")
    props = ("W_new", "b_new") if step else ("dW", "db")
    first, second = _two(out, *names, L)
    W_shapes, b_shapes = _expected(case, spec)
    dtypes: set[str] = set()
    result: dict[str, Any] = {props[0]: LayerDict(), props[1]: LayerDict()}
    for l in range(1, L + 1):
        sym_W, sym_b = notation.symbol(props[0], l), notation.symbol(props[1], l)
        arr, dt = _array(sym_W, first[l - 1], W_shapes[l - 1], b_shapes[l - 1], case, spec)
        result[props[0]][l] = arr if spec.layout == "columns" else arr.T
        dtypes.add(dt)
        if b_shapes[l - 1] is None:
            result[props[1]][l] = None
            continue
        if second[l - 1] is None:
            raise InputError(f"{sym_b}: missing (layer {l} has a bias)")
        arr, dt = _array(sym_b, second[l - 1], b_shapes[l - 1], W_shapes[l - 1], case, spec)
        result[props[1]][l] = arr.reshape(-1)
        dtypes.add(dt)
    if isinstance(out, Mapping) and not step and ("L" in out or "loss" in out):
        loss = out.get("L", out.get("loss"))
        result["L"] = float(validate.float_array("L", loss, np.float64).reshape(-1)[0])
    return result, dtypes
