"""Printed numbers and the rounding rule: how many digits a number was printed with, what a
value becomes at those digits (half away from zero, as a hand calculation rounds), and whether
a printed number is the exact value at its digits.

All of it is decimal arithmetic with as many digits as the numbers need (a claim of 1e-400 on a
value of 1e27 included): nothing here can overflow decimal's context or round twice."""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, ROUND_HALF_UP, Context, Decimal, localcontext

EXACT_SIGNIFICANT = 12  # a computed value shown to a reader: float64 noise sits far below the 12th digit
# Enough digits for any float64 written out exactly (at most 767 significant digits) next to any
# printed number: comparisons and sums of the two are then exact.
_EXACT = Context(prec=2000, Emax=999_999, Emin=-999_999)


def printed(text: str) -> Decimal:
    """A printed number as a Decimal, exactly as written ('\u22120.5', a typeset minus, is -0.5)."""
    return Decimal(text.replace("\u2212", "-"))


def decimals_of(text: str) -> int:
    """The decimal places a printed number carries: '0.210' -> 3, '1' -> 0, '1.2e-3' -> 4."""
    return -int(printed(text).as_tuple().exponent)


def _unit(exponent: int) -> Decimal:
    return Decimal((0, (1,), exponent))


def _not_finite(value: float) -> Decimal | None:
    """Decimal('Infinity'), '-Infinity' or 'NaN' for a value that is not finite (a recomputation
    from a printed 0 it divides by), which no printed number rounds from; None for a number."""
    v = float(value)
    return None if math.isfinite(v) else Decimal(v)


def half_up(value: float, exponent: int) -> Decimal:
    """``value`` read to 12 significant digits and rounded half away from zero to the decimal
    place 10^exponent, the way a computed value is shown: half_up(-0.0047875, -4) == Decimal('-0.0048')."""
    if (odd := _not_finite(value)) is not None:
        return odd
    with localcontext(_EXACT):
        return Decimal(f"{float(value):.{EXACT_SIGNIFICANT}g}").quantize(_unit(exponent), rounding=ROUND_HALF_UP)


def truncated(value: float, exponent: int) -> Decimal:
    """``value`` (to 12 significant digits) cut, not rounded, at the decimal place 10^exponent."""
    if (odd := _not_finite(value)) is not None:
        return odd
    with localcontext(_EXACT):
        return Decimal(f"{float(value):.{EXACT_SIGNIFICANT}g}").quantize(_unit(exponent), rounding=ROUND_DOWN)


def rounded_twice(value: float, exponent: int) -> Decimal:
    """``value`` rounded half up to one more decimal, then again to 10^exponent (0.0245 -> 0.025 -> 0.03)."""
    if (odd := _not_finite(value)) is not None:
        return odd
    with localcontext(_EXACT):
        return half_up(value, exponent - 1).quantize(_unit(exponent), rounding=ROUND_HALF_UP)


def is_rounding_of(q: Decimal, value: float, noise: float) -> bool:
    """Whether the printed q is a value within ``noise`` of ``value`` rounded half away from zero
    at q's own digits: some v in [value - noise, value + noise] lies in q's rounding cell, the
    values that round to q (q - u/2 .. q + u/2, the end away from zero left out). ``noise`` is
    the computed value's own rounding error, so float64 noise never decides a printed digit, and
    a print of all 17 digits of the float64 value is correct."""
    if not q.is_finite() or _not_finite(value) is not None or _not_finite(noise) is not None:
        return False
    with localcontext(_EXACT):
        half = _unit(int(q.as_tuple().exponent)) / 2
        v, d = Decimal(value), Decimal(abs(noise))
        lo, hi = v - d, v + d
        cell_lo, cell_hi = q - half, q + half
        above = hi > cell_lo if q <= 0 else hi >= cell_lo  # the end away from zero rounds away: left out
        below = lo < cell_hi if q >= 0 else lo <= cell_hi
        return above and below


def shown(value: Decimal) -> str:
    """A rounded value as a reader sees it: as rounded, or, when that runs past 24 characters
    (0.9 at 400 decimals), in scientific notation to 12 significant digits."""
    text = str(value)
    return text if len(text) <= 24 else f"{value:.11e}"


def at_digits(value: float, exponent: int) -> str:
    """``value`` rounded half up at 10^exponent, as a reader sees it (shown)."""
    return shown(half_up(value, exponent))


def text_of(value: Decimal) -> str:
    """A rounded value as text; -0.0000 is written 0.0000."""
    return str(value.copy_abs() if value.is_zero() else value)
