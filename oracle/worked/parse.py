"""Reading the values of a worked-example file: numbers, arrays, printed claims and names, each
error naming its key path (``claimed.dW2[0]: expected 2 columns, got 3``)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import numpy as np

from manual_bp.activations import ACTIVATIONS
from manual_bp.errors import InputError

UNPRINTED = "?"
FLOAT64_MAX = float(np.finfo(np.float64).max)
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def shorten(value: Any, limit: int = 40) -> str:
    """A value for a message: its repr, cut to ``limit`` characters (a 5,000-digit number too)."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else f"{text[:limit - 3]}... ({len(text)} characters)"


def numbers(path: str, value: Any, max_depth: int = 2) -> Any:
    """Nested lists (at most ``max_depth`` deep) of TOML numbers as floats; anything else raises
    InputError naming the path. The depth is checked on the way down, so a list nested 500
    deep is an error about its depth, not a RecursionError."""
    if isinstance(value, list):
        if max_depth <= 0:
            raise InputError(f"{path}: expected a number, got a list (lists nested too deep)")
        if not value:
            raise InputError(f"{path}: expected numbers, got an empty list")
        return [numbers(f"{path}[{i}]", v, max_depth - 1) for i, v in enumerate(value)]
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise InputError(f"{path}: expected a number, got {shorten(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond 1.8e308
        number = float("inf")
    if not np.isfinite(number):
        raise InputError(f"{path}: expected a finite number a float64 can hold, got {shorten(str(value))}")
    return number


def array(path: str, value: Any, ndims: tuple[int, ...]) -> np.ndarray:
    """A rectangular float array of one of the allowed numbers of dimensions."""
    nested = numbers(path, value, max(ndims))
    check_rectangular(path, nested)
    try:
        array = np.array(nested, dtype=np.float64)
    except ValueError:  # rows of equal length whose entries nest to different depths: [[[0.4]], [0.3]]
        raise InputError(f"{path}: expected a rectangular array, got rows nested to different depths") from None
    if array.ndim not in ndims:
        want = " or ".join({0: "a number", 1: "a list", 2: "a matrix (a list of rows)"}[d] for d in ndims)
        raise InputError(f"{path}: expected {want}, got {array.ndim} dimensions")
    return array


def check_rectangular(path: str, nested: Any) -> None:
    """Raise InputError at the first row whose length or depth differs from the first row's."""
    if not isinstance(nested, list):
        return
    first = nested[0]
    for i, row in enumerate(nested):
        if isinstance(row, list) != isinstance(first, list):
            raise InputError(f"{path}[{i}]: expected {'a list' if isinstance(first, list) else 'a number'} like "
                             f"{path}[0], got {row!r}")
        if isinstance(row, list) and len(row) != len(first):
            raise InputError(f"{path}[{i}]: expected {len(first)} columns like {path}[0], got {len(row)}")
        check_rectangular(f"{path}[{i}]", row)


def string(path: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InputError(f"{path}: expected a string, got {value!r}")
    return value


def dim_word(depth: int, ndim: int) -> str:
    if ndim == 1:
        return "elements"
    return {0: "rows", 1: "columns"}.get(depth, "entries")


def claim_element(path: str, value: Any) -> str | None:
    """One printed number as its text ("0.210"), or None for "?"."""
    if isinstance(value, bool):
        raise InputError(f"{path}: expected a printed number (\"0.711\"), a number or \"?\", got {value!r}")
    if isinstance(value, Decimal | int):
        if isinstance(value, Decimal) and not value.is_finite():
            raise InputError(f"{path}: expected a finite number, got {value}")
        return _in_range(path, str(value))
    if isinstance(value, str):
        text = value.strip()
        if text == UNPRINTED:
            return None
        normal = text.replace("\u2212", "-")  # a typeset minus sign, as copied from a document
        if not _NUMBER.match(normal):
            raise InputError(f"{path}: expected a number such as \"-0.0047\" or \"?\", got {value!r}")
        return _in_range(path, text)
    raise InputError(f"{path}: expected a printed number (\"0.711\"), a number or \"?\", got {value!r}")


def _in_range(path: str, text: str) -> str:
    """A printed number a float64 can hold (beyond 1.8e308 nothing can be computed to compare with)."""
    if abs(Decimal(text.replace("\u2212", "-"))) > Decimal(FLOAT64_MAX):
        raise InputError(f"{path}: {shorten(text)} is beyond what a float64 can hold (about 1.8e308)")
    return text


def claim_array(path: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A claim as an object array of the quantity's shape (a bare number for a 1-element quantity)."""
    size = int(np.prod(shape)) if shape else 1
    if not isinstance(value, list) and size == 1:
        out = np.empty(shape, dtype=object)
        out[(0,) * len(shape)] = claim_element(path, value)
        return out
    out = np.empty(shape, dtype=object)

    def fill(sub: Any, depth: int, prefix: tuple[int, ...], where: str) -> None:
        if depth == len(shape):
            if isinstance(sub, list):
                raise InputError(f"{where}: expected a single number, got a list of {len(sub)}")
            out[prefix] = claim_element(where, sub)
            return
        word = dim_word(depth, len(shape))
        if not isinstance(sub, list):
            raise InputError(f"{where}: expected a list of {shape[depth]} {word}, got {sub!r}")
        if len(sub) != shape[depth]:
            raise InputError(f"{where}: expected {shape[depth]} {word}, got {len(sub)}")
        for i, item in enumerate(sub):
            fill(item, depth + 1, (*prefix, i), f"{where}[{i}]")

    fill(value, 0, (), path)
    return out


def layers(activations: Any) -> list[str]:
    if isinstance(activations, str) or not isinstance(activations, list) or not activations:
        raise InputError(f"network.activations: expected a list of names, one per layer, got {activations!r}")
    for i, name in enumerate(activations):
        if not isinstance(name, str) or name not in ACTIVATIONS:
            raise InputError(f"network.activations[{i}]: unknown activation {name!r}; known: {', '.join(ACTIVATIONS)}")
    return list(activations)


def all_ints(value: Any, max_depth: int = 1) -> bool:
    """Whether ``value`` is an integer or a list (at most ``max_depth`` deep) of integers."""
    if isinstance(value, list):
        return max_depth > 0 and all(all_ints(v, max_depth - 1) for v in value)
    return isinstance(value, int) and not isinstance(value, bool)
