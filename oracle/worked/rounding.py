"""Printed numbers and the rounding rule: how many digits a number was printed with, and what
a value becomes at those digits (half away from zero, as a hand calculation rounds)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

EXACT_SIGNIFICANT = 12  # float64 noise (~1e-16 relative) sits far below the 12th digit


def printed(text: str) -> Decimal:
    """A printed number as a Decimal, exactly as written ('\u22120.5', a typeset minus, is -0.5)."""
    return Decimal(text.replace("\u2212", "-"))


def decimals_of(text: str) -> int:
    """The decimal places a printed number carries: '0.210' -> 3, '1' -> 0, '1.2e-3' -> 4."""
    return -int(printed(text).as_tuple().exponent)


def half_up(value: float, exponent: int) -> Decimal:
    """``value`` (to 12 significant digits) rounded half away from zero to the decimal place
    10^exponent: half_up(-0.0047875, -4) == Decimal('-0.0048')."""
    return Decimal(f"{float(value):.{EXACT_SIGNIFICANT}g}").quantize(Decimal((0, (1,), exponent)),
                                                                     rounding=ROUND_HALF_UP)


def text_of(value: Decimal) -> str:
    """A rounded value as text; -0.0000 is written 0.0000."""
    return str(value.copy_abs() if value.is_zero() else value)
