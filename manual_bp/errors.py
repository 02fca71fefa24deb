"""One exception type for every bad input, so callers (and the CLI) can tell a user's
mistake apart from a bug in this package; and the 1-based layer dict every result uses."""

from __future__ import annotations


class InputError(ValueError):
    """Raised for bad input; the message names the argument, the expected and the actual."""


def describe(value: object, limit: int = 60) -> str:
    """``value`` for a one-line message: its repr on one line, shortened past ``limit`` characters
    (an array's or a tensor's repr spans several)."""
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else f"{type(value).__name__} {text[:limit - 10]}..."


def require(condition: bool, message: str) -> None:
    """Raise :class:`InputError` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise InputError(message)


class LayerDict(dict):
    """A dict keyed by the document's 1-based layer numbers (``cache.z[1]`` is z^(1)).

    A missing key gets a message that says which layers exist, instead of a bare KeyError.
    """

    def __missing__(self, key: object) -> None:
        layers = sorted(self)
        span = f"{layers[0]}..{layers[-1]}" if layers else "none"
        raise KeyError(f"no layer {key!r} here; layers are numbered {span} (1-based, as in the document)")
