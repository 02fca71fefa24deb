"""Judging a worked example: every printed number correct, rounding carried, or wrong.

The rule (docs/judging.md has it with examples):

* **correct**: the exact value (manual_bp, float64, taken to 12 significant digits so that
  float64's own rounding noise never decides a printed tie) rounded half away from zero
  (``decimal.ROUND_HALF_UP``) to the claim's printed digits equals the claim.
* **rounding carried**: not correct, but the claim agrees, at its printed digits, with the
  formula fed the example's *own earlier printed values* (z^(2) from the printed a^(1), the loss
  from the printed a^(L), delta^(1) from the printed delta^(2) and sigma'(z^(1)), ...; see
  oracle.worked.replay), allowing for the rounding of those inputs: the interval
  [claim - u/2, claim + u/2] (u one unit of its last printed digit) overlaps the range the
  formula takes, to first order, as each printed input moves within its own rounding interval.
  A printed input's rounding interval is the part of [p - u/2, p + u/2] between p and where its
  author's unrounded value can have been: the exact value (when p is correct) or the
  recomputation from *its* printed inputs. So an input printed exactly (0.9) carries no
  uncertainty, and one printed 0.796 for an exact 0.7955 only moves towards 0.7955.
* **wrong**: neither. The row gives the exact value and the difference, the recomputation,
  and, where the claim matches one, the classic mistake it matches (oracle.mistakes, plus a
  factor 2, 1/2, -1, m or 1/m on the exact value) or the earlier wrong printed value it
  follows from. A wrong value is not fed forward: later values are recomputed from what the
  formula gives in its place.

Values are judged in the document's order, so each judgement only reads earlier ones.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np

from oracle import notation
from oracle.worked import explain
from oracle.worked.format import WorkedExample, load_example, packaged_example, parse_key
from oracle.worked.replay import replay
from oracle.worked.result import Judgement, Row, _fmt
from oracle.worked.rounding import half_up, printed
from oracle.worked.values import exact_values, torch_values

MAX_INPUTS_SHOWN = 6
Leaves = dict[tuple[str, tuple[int, ...]], tuple[str, float, float, float, float]]


def _overlaps(q: float, half: float, band: tuple[float, float], slack: float) -> bool:
    """Whether some value in ``band`` rounds half away from zero to q at the digit of ``half``:
    the values that do are q - half .. q + half, the end away from zero excluded (0.00235 rounds
    to 0.0024, not 0.0023). ``slack`` absorbs float64 noise in the band."""
    lo_open, hi_open = q < 0, q > 0
    above_lo = band[1] > q - half + slack if lo_open else band[1] >= q - half - slack
    below_hi = band[0] < q + half - slack if hi_open else band[0] <= q + half + slack
    return above_lo and below_hi


def _rounding_interval(q: float, half: float, exact: float | None, band: tuple[float, float] | None
                       ) -> tuple[float, float]:
    """Where the unrounded value behind a printed q can have been: within half a unit of q, between
    q and the exact value (when q is correct) or the recomputation's band (when consistent)."""
    ends = [q]
    if exact is not None:
        ends.append(min(max(exact, q - half), q + half))
    if band is not None and band[1] >= q - half and band[0] <= q + half:
        ends += [max(band[0], q - half), min(band[1], q + half)]
    return min(ends), max(ends)


def _element(ex: WorkedExample, key: str, index: tuple[int, ...]) -> str:
    prop, layer = parse_key(key)
    return notation.element(prop, layer, index, int(np.prod(ex.shape_of(key))))


def _inputs_phrase(names: list[str]) -> str:
    if not names:
        return "the network's given numbers only"
    shown = names[:MAX_INPUTS_SHOWN]
    more = len(names) - len(shown)
    return "the printed " + ", ".join(shown) + (f" and {more} more" if more else "")


def _recompute(ex: WorkedExample, key: str, used: explain.Used, leaves: Leaves
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[tuple[int, ...], list[str]]]:
    """The formula for ``key`` fed the printed values so far, the range it takes (low, high, to
    first order) as each printed input moves within its rounding interval, and which printed
    inputs each element reads."""
    base = replay(ex, explain.fixer(used), until=key).computed[key]
    low, high = np.zeros(base.shape), np.zeros(base.shape)
    inputs: dict[tuple[int, ...], list[str]] = {i: [] for i in np.ndindex(base.shape)}
    for (k, idx), (text, fed, lo, hi, half) in leaves.items():
        ends = [lo, hi] if hi > lo else [fed + half]  # a zero-width input: only find out whether it feeds
        moved = [replay(ex, explain.fixer(explain.with_value(used, k, idx, end)), until=key).computed[key] - base
                 for end in ends]
        if hi > lo:
            low += np.minimum(0.0, np.minimum(*moved))
            high += np.maximum(0.0, np.maximum(*moved))
        feeds = np.any([d != 0 for d in moved], axis=0)
        for i in np.ndindex(base.shape):
            if feeds[i]:
                inputs[i].append(f"{_element(ex, k, idx)} = {text}")
    return base, low, high, inputs


class _Judge:
    """The state of one judgement: what was printed and fed forward so far, and what was wrong."""

    def __init__(self, ex: WorkedExample, with_torch: bool) -> None:
        self.ex = ex
        self.exact = exact_values(ex)
        self.torch = torch_values(ex) if with_torch else {}
        self.used = {k: np.full(ex.shape_of(k), np.nan) for k in ex.claimed}
        # printed elements fed forward: (key, index) -> (text, value, lower and upper end of its
        # rounding interval, half a unit of its last digit)
        self.leaves: Leaves = {}
        self.wrong: dict[tuple[str, tuple[int, ...]], str] = {}
        self.catalogue: explain.Catalogue | None = None

    def quantity(self, key: str) -> list[Row]:
        """Judge every printed element of one quantity."""
        claim = self.ex.claimed[key]
        base, low, high, inputs = _recompute(self.ex, key, self.used, self.leaves)
        rows = []
        for index in np.ndindex(claim.shape):
            if claim[index] is not None:
                band = (float(base[index] + low[index]), float(base[index] + high[index]))
                rows.append(self.element(key, index, claim[index], float(base[index]), band, inputs[index]))
        return rows

    def element(self, key: str, index: tuple[int, ...], text: str, r: float, band: tuple[float, float],
                used_inputs: list[str]) -> Row:
        """Judge one printed element, then feed it (or, if wrong, what it should have been) forward."""
        q = printed(text)
        exponent = int(q.as_tuple().exponent)
        half = float(Decimal(5).scaleb(exponent - 1))
        qf, e = float(q), float(self.exact[key][index])
        slack = 1e-6 * half + 8 * np.finfo(np.float64).eps * max(abs(r), abs(qf), 1.0)
        is_correct = half_up(e, exponent) == q
        is_carried = _overlaps(qf, half, band, slack)
        verdict = "correct" if is_correct else ("rounding carried" if is_carried else "wrong")
        at = f"{-exponent} decimal{'s' if exponent != -1 else ''}" if exponent <= 0 else f"10^{exponent}"
        recomputation = _fmt(r) + (f" ({_fmt(band[0])} .. {_fmt(band[1])} with their rounding)"
                                   if band[1] > band[0] else "")
        mistakes: list[str] = []
        if verdict == "correct":
            explanation = f"the exact value {_fmt(e)} is {half_up(e, exponent)} at {at}"
        elif verdict == "rounding carried":
            explanation = (f"the exact value {_fmt(e)} is {half_up(e, exponent)} at {at}; from "
                           f"{_inputs_phrase(used_inputs)}: {recomputation}, which is {text} at {at}")
        else:
            allowance = half + max(abs(band[0] - r), abs(band[1] - r)) + slack
            explanation = (f"the exact value is {_fmt(e)} ({half_up(e, exponent)} at {at}), the claim differs by "
                           f"{qf - e:+.3g}; from {_inputs_phrase(used_inputs)}: {recomputation}, "
                           f"{half_up(r, exponent)} at {at}") + self.cause(key, index, qf, e, half, allowance, mistakes)
        prop, layer = parse_key(key)
        size = self.ex.claimed[key].size
        row = Row(key, index, notation.symbol(prop, layer), f"[{','.join(map(str, index))}]" if size > 1 else "",
                  text, -exponent, e, float(self.torch[key][index]) if key in self.torch else float("nan"), qf - e,
                  verdict, explanation, r, band, used_inputs, mistakes)
        fed_text = text
        if verdict == "wrong":
            # Fed forward in its place: what the example should have printed at its own digits.
            self.wrong[(key, index)] = text
            should = half_up(r, exponent)
            fed_text = f"{should} (in place of the wrong {text})"
            qf, is_correct, is_carried = float(should), half_up(e, exponent) == should, True
        self.used[key][index] = qf
        lo, hi = _rounding_interval(qf, half, e if is_correct else None, band if is_carried else None)
        self.leaves[(key, index)] = (fed_text, qf, lo, hi, half)
        return row

    def cause(self, key: str, index: tuple[int, ...], qf: float, e: float, half: float, allowance: float,
              mistakes: list[str]) -> str:
        """The explanation's tail for a wrong value: the wrong inputs it follows from and the
        mistakes it matches (their names appended to ``mistakes``)."""
        if self.catalogue is None:
            self.catalogue = explain.catalogue(self.ex)
        found = explain.matches(self.ex, key, index, qf, e, half, allowance, self.catalogue)
        mistakes += [c.name for c in found]
        tail = ""
        follows = explain.follows_wrong(self.ex, key, index, self.used, self.wrong, qf, allowance)
        if follows:
            names = ", ".join(f"{_element(self.ex, k, idx)} = {t}" for k, idx, t in follows)
            tail += f"; it follows from the wrong printed {names} (an error carried on)"
        if found:
            tail += f"; matches the classic mistake: {found[0].description} [{found[0].name}], " \
                    f"which gives {_fmt(found[0].value)}"
            if len(found) > 1:
                tail += "; also consistent with " + "; ".join(f"{c.description} [{c.name}]" for c in found[1:])
        return tail


def judge(ex: WorkedExample, with_torch: bool = False) -> Judgement:
    """Judge every printed element of ``ex`` (see the module docstring for the rule);
    ``with_torch`` adds PyTorch autograd's value of each element (and imports torch)."""
    state = _Judge(ex, with_torch)
    return Judgement(ex, [row for key in ex.claim_keys() for row in state.quantity(key)], with_torch)


def judge_file(path: str | Path, with_torch: bool = False) -> Judgement:
    """Read a worked-example file and judge it."""
    return judge(load_example(path), with_torch)


def judge_example(name: str, with_torch: bool = False) -> Judgement:
    """Judge a worked example shipped with the package, by name (e.g. 'seed-2-2-1')."""
    return judge(packaged_example(name), with_torch)
