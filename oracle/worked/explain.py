"""Why a printed number is wrong: the classic mistakes and simple slips whose value it matches,
and the earlier wrong printed values it follows from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from manual_bp.errors import InputError
from oracle.mistakes.catalogue import MISTAKES, NotApplicableError
from oracle.worked.format import WorkedExample
from oracle.worked.replay import replay
from oracle.worked.rounding import printed
from oracle.worked.values import by_key, case_of

Catalogue = list[tuple[str, str, dict[str, np.ndarray]]]
Used = dict[str, np.ndarray]


@dataclass(frozen=True)
class Candidate:
    """A value a classic mistake gives for one element."""

    name: str
    description: str
    value: float


def catalogue(ex: WorkedExample) -> Catalogue:
    """Every catalogued mistake that runs on this example, as (name, description, values by key)."""
    case = case_of(ex)
    out = []
    for name, mistake in MISTAKES.items():
        try:
            props = mistake.run(case)
        except (NotApplicableError, InputError, ValueError, IndexError):
            continue
        out.append((name, f"{mistake.description} ({mistake.equation})", by_key(ex, props)))
    return out


def slips(ex: WorkedExample, key: str, exact: float) -> list[Candidate]:
    """The simple slips: a factor 2 or 1/2 (the 1/2 of the loss dropped or doubled), the sign,
    and a factor m or 1/m (sum instead of mean, or the other way round)."""
    is_loss = key in ("L", "L_new")
    out = [
        Candidate("factor_2", "the 1/2 dropped: twice the exact loss" if is_loss else
                  "twice the exact value (a factor 2 too many, as when the 1/2 of the loss is dropped)", 2 * exact),
        Candidate("factor_half", "the 1/2 doubled: half the exact loss" if is_loss else
                  "half the exact value (a factor 1/2 too many, as when the 1/2 is applied twice)", exact / 2),
        Candidate("sign", "the sign flipped", -exact),
    ]
    m = ex.batch
    if m > 1:
        if ex.reduction == "mean":
            out.append(Candidate("sum_not_mean", f"summed over the batch instead of averaged (x m = {m})", m * exact))
        else:
            out.append(Candidate("mean_not_sum", f"averaged over the batch instead of summed (/ m = {m})", exact / m))
    return out


def matches(ex: WorkedExample, key: str, index: tuple[int, ...], claimed: float, exact: float, half: float,
            allowance: float, mistakes: Catalogue) -> list[Candidate]:
    """The mistakes whose value for this element agrees with the claim (within half a unit of its
    last digit plus the carried-rounding allowance), closest first; the catalogue before the
    simple slips. A mistake that does not move this element by more than half a unit is skipped."""
    found: list[tuple[int, float, Candidate]] = []
    listed = [Candidate(name, description, float(values[key][index]))
              for name, description, values in mistakes
              if key in values and values[key].ndim == len(index)]  # a sigma' without the Jacobian axis: skip
    for order, c in enumerate(listed + slips(ex, key, exact)):
        if abs(c.value - exact) <= half or not np.isfinite(c.value):
            continue
        if abs(claimed - c.value) <= allowance:
            found.append((0 if order < len(listed) else 1, abs(claimed - c.value), c))
    return [c for _, _, c in sorted(found, key=lambda t: (t[0], t[1]))]


def fixer(used: Used) -> Callable[[str, np.ndarray], np.ndarray]:
    """A replay fix that feeds the printed value where one is used, the formula's value elsewhere."""

    def fix(key: str, value: np.ndarray) -> np.ndarray:
        fed = used.get(key)
        return value if fed is None else np.where(np.isnan(fed), value, fed)

    return fix


def with_value(used: Used, key: str, index: tuple[int, ...], value: float) -> Used:
    """``used`` with one element replaced."""
    changed = dict(used)
    changed[key] = used[key].copy()
    changed[key][index] = value
    return changed


def follows_wrong(ex: WorkedExample, key: str, index: tuple[int, ...], used: Used,
                  wrong: dict[tuple[str, tuple[int, ...]], str], claimed: float, allowance: float
                  ) -> list[tuple[str, tuple[int, ...], str]]:
    """The earlier wrong printed values that, fed forward as printed, give this claim."""
    if not wrong:
        return []
    with_wrong = dict(used)
    culprits = []
    base = replay(ex, fixer(used), until=key).computed[key][index]
    for (k, idx), text in wrong.items():
        one = replay(ex, fixer(with_value(used, k, idx, float(printed(text)))), until=key)
        if one.computed[key][index] != base:
            culprits.append((k, idx, text))
            with_wrong = with_value(with_wrong, k, idx, float(printed(text)))
    if not culprits:
        return []
    value = float(replay(ex, fixer(with_wrong), until=key).computed[key][index])
    return culprits if abs(claimed - value) <= allowance else []
