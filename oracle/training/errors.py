"""The one error of the training checks: something outside what manual_bp models."""

from __future__ import annotations

from manual_bp.errors import InputError


class UnsupportedError(InputError):
    """The model, loss or optimizer uses something manual_bp does not model. The message says
    what it is and what to do instead, never only "unsupported"."""
