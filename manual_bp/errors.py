"""One exception type for every bad input, so callers (and the CLI) can tell a user's
mistake apart from a bug in this package."""

from __future__ import annotations

import numpy as np


class InputError(ValueError):
    """Raised for bad input; the message names the argument, the expected and the actual."""


def require(condition: bool, message: str) -> None:
    """Raise :class:`InputError` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise InputError(message)


def all_finite(array: np.ndarray) -> bool:
    """Whether no element is NaN or inf. A large array is judged by its minimum and maximum,
    which are both finite exactly then (a NaN makes both NaN), without the temporary array of
    np.isfinite; for a small one that temporary is cheaper than two reductions."""
    array = np.asarray(array)
    if array.size < 65536:
        return bool(np.isfinite(array).all())
    return bool(np.isfinite(array.min()) and np.isfinite(array.max()))


def require_finite(name: str, array: np.ndarray) -> None:
    """Raise :class:`InputError` naming ``name`` and the first bad index if ``array`` holds NaN or inf."""
    if all_finite(array):
        return
    bad = ~np.isfinite(array)  # not all finite, so at least one element is bad
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    where = f" at index {list(index)}" if index else ""
    raise InputError(f"{name}: expected finite values, got {array[bad].flat[0]}{where}")


class LayerDict(dict):
    """A dict keyed by the document's 1-based layer numbers (``cache.z[1]`` is z^(1)).

    A missing key gets a message that says which layers exist, instead of a bare KeyError.
    """

    def __missing__(self, key: object) -> None:
        layers = sorted(self)
        span = f"{layers[0]}..{layers[-1]}" if layers else "none"
        raise KeyError(f"no layer {key!r} here; layers are numbered {span} (1-based, as in the document)")
