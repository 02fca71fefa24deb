"""Judging a worked example: every printed number correct, rounding carried, or wrong.

The rule (docs/judging.md has it with examples):

* **correct**: the exact value (manual_bp, float64) rounded half away from zero to the
  claim's printed digits equals the claim, for some value within the exact value's own float64
  rounding error (the tolerance policy's bound): float64 noise never decides a printed tie, and
  a print of all the digits of the float64 value is correct.
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

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np

from oracle import notation
from oracle.worked import explain
from oracle.worked.conventions import negate_text
from oracle.worked.format import WorkedExample, load_example, packaged_example, parse_key
from oracle.worked.replay import replay
from oracle.worked.result import Judgement, Row, _fmt
from oracle.worked.rounding import at_digits, half_up, is_rounding_of, printed
from oracle.worked.steps import judge_steps
from oracle.worked.values import exact_noise, exact_values, torch_values

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


def _digits_for(q: Decimal):
    """A formatter showing a computed value with two significant digits more than the claim has
    (at least 6), so that a 9-decimal claim is compared with 11-digit numbers."""
    sig = max(6, len(q.as_tuple().digits) + 2)
    return lambda value: f"{value:.{sig}g}"


def _element(ex: WorkedExample, key: str, index: tuple[int, ...]) -> str:
    """An element named as the file writes it (in_out: W^(l)[i,j] is the file's row i, column j)."""
    prop, layer = parse_key(key)
    in_file = ex.conventions.file_index(prop, index, not ex.single)
    return notation.element(prop, layer, in_file, int(np.prod(ex.shape_of(key))))


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
        with np.errstate(invalid="ignore"):  # inf - inf where a printed 0 is divided by: NaN, which moves it
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


def _unprinted_rounding(ex: WorkedExample, key: str, used: explain.Used, exponent: int | None
                        ) -> tuple[np.ndarray, np.ndarray, dict[tuple[int, ...], list[str]]]:
    """How far the formula for ``key`` moves (low, high, to first order) when each earlier
    quantity it reads that the example did *not* print was rounded half up at the claims' own
    decimal place 10^exponent: a hand calculation rounds the steps it does not write down too.
    Like a printed input's, an unprinted value's interval runs from it to its rounding (0.85 at
    3 decimals does not move). Also, per element, which unprinted values move it."""
    rep = replay(ex, explain.fixer(used), until=key)
    base = rep.computed[key]
    low, high = np.zeros(base.shape), np.zeros(base.shape)
    names: dict[tuple[int, ...], list[str]] = {i: [] for i in np.ndindex(base.shape)}
    if exponent is None:
        return low, high, names
    for k, value in rep.fed.items():
        if k in (key, "a0"):
            continue
        for idx in np.ndindex(value.shape):
            v = float(value[idx])
            if not explain.is_unprinted(used, k, idx) or not np.isfinite(v):
                continue
            rounded = float(half_up(v, exponent))
            if rounded == v:
                continue
            with np.errstate(invalid="ignore"):  # as in _input_rounding
                moved = replay(ex, explain.fixer(explain.with_value(used, k, idx, rounded, value.shape)),
                               until=key).computed[key] - base
            low += np.minimum(0.0, moved)
            high += np.maximum(0.0, moved)
            for i in np.ndindex(base.shape):
                if moved[i] != 0:
                    names[i].append(_element(ex, k, idx))
    return low, high, names


def _names(c: explain.Candidate, sign: int) -> str:
    """The cause line of a mistake or slip that gives a wrong value."""
    return f"from the printed inputs it is {c.description} [{c.name}], which gives {_fmt(sign * c.value)}"



def _fit_tests(sign: int, qf: float, half: float, spread: float, r: float
               ) -> tuple[Callable[[explain.Candidate, float], bool], explain.Near]:
    """Whether a mistake's or slip's value gives the claim ``qf`` (within half its last digit, plus
    the candidate's share of the recomputation's rounding range ``spread``) and differs from
    the value it is judged against: as a test of one Candidate, and of an array of slip values."""

    def fits(c: explain.Candidate, against: float) -> bool:
        v = sign * c.value
        return bool(np.isfinite(v)) and abs(v - against) > half and abs(qf - v) <= half + abs(c.spread) * spread

    def near(values: np.ndarray) -> np.ndarray:
        v = sign * values
        with np.errstate(invalid="ignore"):
            return np.isfinite(v) & (np.abs(v - r) > half) & (np.abs(qf - v) <= half + spread)

    return fits, near

class _Judge:
    """The state of one judgement: what was printed and fed forward so far, and what was wrong."""

    def __init__(self, ex: WorkedExample, with_torch: bool) -> None:
        self.ex = ex
        self.exact = exact_values(ex)
        self.noise = exact_noise(ex, self.exact)
        self.torch = torch_values(ex) if with_torch else {}
        self.used = {k: np.full(ex.shape_of(k), np.nan) for k in ex.claimed}
        # printed elements fed forward: (key, index) -> (text, value, lower and upper end of its
        # rounding interval, half a unit of its last digit)
        self.leaves: Leaves = {}
        self.wrong: dict[tuple[str, tuple[int, ...]], str] = {}
        self.catalogue: explain.Catalogue | None = None
        self.local: dict[str, dict[str, explain.Candidate]] = {}  # each mistake's step, per quantity

    def as_printed(self, key: str, stored: str) -> str:
        """A stored claim (the document's sign) as the file printed it."""
        return negate_text(stored) if self.ex.conventions.sign(parse_key(key)[0]) < 0 else stored

    def local_mistakes(self, key: str) -> dict[str, explain.Candidate]:
        """Each catalogued mistake's step from the printed inputs, for the quantity ``key`` (once)."""
        if key not in self.local:
            self.local[key] = explain.local_mistakes(self.ex, key, self.used)
        return self.local[key]

    def quantity(self, key: str) -> list[Row]:
        """Judge every printed element of one quantity."""
        claim = self.ex.claimed[key]
        base, low, high, inputs = _recompute(self.ex, key, self.used, self.leaves)
        exponents = [int(printed(c).as_tuple().exponent) for c in claim.flat if c is not None]
        common = max(sorted(set(exponents)), key=exponents.count) if exponents else None  # most used; finest on ties
        u_low, u_high, unprinted = _unprinted_rounding(self.ex, key, self.used, common)
        rows = []
        for index in np.ndindex(claim.shape):
            if claim[index] is not None:
                band = (float(base[index] + low[index]), float(base[index] + high[index]))
                wider = (band[0] + float(u_low[index]), band[1] + float(u_high[index]))
                rows.append(self.element(key, index, claim[index], float(base[index]), (band, wider),
                                         (inputs[index], unprinted[index])))
        self.prefer_shared(key, rows)
        return rows

    def prefer_shared(self, key: str, rows: list[Row]) -> None:
        """Where several mistakes give a wrong element's printed value, name the one the quantity's
        other printed elements bear out: a formula used for one element was used for all, so a
        catalogued mistake that would have changed a sibling printed as it should be is less likely
        than one that leaves it as printed (softmax's elementwise sigma' leaves the target's delta
        right; sigma' forgotten does not)."""
        sign = self.ex.conventions.sign(parse_key(key)[0])
        local = self.local.get(key, {})

        def score(row: Row, name: str) -> int:
            total = 0
            for other in rows:
                if other is row:
                    continue
                if other.verdict == "wrong":
                    total += name in other.mistakes
                elif name in local:
                    value = sign * float(local[name].value[other.index])
                    total += 1 if abs(value - float(printed(other.claimed))) <= 0.5 * 10.0 ** -other.digits else -1
            return total

        for row in rows:
            if len(row.options) > 1:
                best = max(row.options, key=lambda c: score(row, c.name))
                if best is not row.options[0]:
                    cause = _names(best, sign)
                    row.explanation = row.explanation.removesuffix(row.cause) + cause
                    row.cause = cause
                    row.mistakes.remove(best.name)
                    row.mistakes.insert(0, best.name)

    def element(self, key: str, index: tuple[int, ...], stored: str, r_in: float,
                bands: tuple[tuple[float, float], tuple[float, float]], reads: tuple[list[str], list[str]]) -> Row:
        """Judge one printed element in the file's own convention (sign, layout), then feed it, or
        what it should have been if it is wrong, forward in the document's. ``bands``: the
        recomputation's range with the printed inputs' rounding, and with the unprinted steps'
        rounding too; ``reads``: the printed inputs and the unprinted steps it reads."""
        used_inputs, unprinted = reads
        prop, layer = parse_key(key)
        sign = self.ex.conventions.sign(prop)
        text = negate_text(stored) if sign < 0 else stored  # as printed
        q = printed(text)
        exponent = int(q.as_tuple().exponent)
        half = float(Decimal(5).scaleb(exponent - 1))
        qf, e, r = float(q), sign * float(self.exact[key][index]), sign * r_in
        band, wider = (tuple(sorted((sign * b[0], sign * b[1]))) for b in bands)
        slack = 1e-6 * half + 8 * np.finfo(np.float64).eps * max(abs(r), abs(qf))
        is_correct = is_rounding_of(q, e, self.noise[key])
        is_carried = _overlaps(qf, half, band, slack)
        by_unprinted = not is_correct and not is_carried and _overlaps(qf, half, wider, slack)
        if by_unprinted:  # the steps it was computed through were rounded too, without being printed
            band, is_carried = wider, True
        verdict = "correct" if is_correct else ("rounding carried" if is_carried else "wrong")
        fmt = _digits_for(q)
        at = f"{-exponent} decimal{'s' if exponent != -1 else ''}" if exponent <= 0 else f"10^{exponent}"
        recomputation = fmt(r) + (f" ({fmt(band[0])} .. {fmt(band[1])} with their rounding)"
                                  if band[1] > band[0] else "")
        mistakes, sources, options, cause = [], [], [], ""
        exact = f"the exact value {fmt(e)} is {at_digits(e, exponent)} at {at}"
        if verdict == "correct":
            explanation = exact
        elif verdict == "rounding carried":
            explanation = (f"{exact}; from {_inputs_phrase(used_inputs)}: {recomputation}, which is {text} at {at}"
                           + (f" with the unprinted {', '.join(unprinted[:MAX_INPUTS_SHOWN])} rounded to {at} as "
                              "well" if by_unprinted else ""))
        else:
            allowance = half + max(abs(band[0] - r), abs(band[1] - r)) + slack
            cause = self.cause(key, index, text, sign, (qf, e, r, half, allowance), mistakes, sources,
                               options)
            explanation = (f"the exact value is {fmt(e)} ({at_digits(e, exponent)} at {at}), the claim differs by "
                           f"{qf - e:+.3g}; from {_inputs_phrase(used_inputs)}: {recomputation}, "
                           f"{at_digits(r, exponent)} at {at}; {cause}")
        in_file = self.ex.conventions.file_index(prop, index, not self.ex.single)
        row = Row(key, index, notation.symbol(prop, layer),
                  f"[{','.join(map(str, in_file))}]" if self.ex.claimed[key].size > 1 else "", text, -exponent, e,
                  sign * float(self.torch[key][index]) if key in self.torch else float("nan"), qf - e, verdict,
                  explanation, r, band, used_inputs, mistakes, cause, sources, options=options)
        self.feed(key, index, stored, (text, q, exponent, half), (e, r, band), (is_correct, is_carried))
        return row

    def feed(self, key: str, index: tuple[int, ...], stored: str, claim: tuple[str, Decimal, int, float],
             numbers: tuple[float, float, tuple[float, float]], verdict: tuple[bool, bool]) -> None:
        """Feed a judged element forward with its rounding interval; a wrong one is fed as what the
        example should have printed at its own digits."""
        text, q, exponent, half = claim
        e, r, band = numbers
        is_correct, is_carried = verdict
        sign = self.ex.conventions.sign(parse_key(key)[0])
        qf, fed_text = float(q), text
        if not (is_correct or is_carried):
            self.wrong[(key, index)] = stored
            should = half_up(r, exponent)
            fed_text = f"{should} (in place of the wrong {text})"
            qf, is_correct, is_carried = float(should), is_rounding_of(should, e, self.noise[key]), True
        self.used[key][index] = sign * qf
        lo, hi = _rounding_interval(qf, half, e if is_correct else None, band if is_carried else None)
        self.leaves[(key, index)] = (fed_text, sign * qf, min(sign * lo, sign * hi), max(sign * lo, sign * hi), half)

    def cause(self, key: str, index: tuple[int, ...], text: str, sign: int, numbers: tuple[float, ...],
              mistakes: list[str], sources: list[tuple[str, tuple[int, ...]]], options: list[explain.Candidate]
              ) -> str:
        """One line saying why a wrong value is wrong (the names of what it matches go to ``mistakes``,
        the earlier wrong values it is carried from to ``sources``, the mistakes and slips that give
        it to ``options``, closest first):
        a mistake or slip from the step's own printed inputs, an earlier wrong value it follows
        from, a mistake made throughout, or an arithmetic slip with what the formula gives."""
        qf, e, r, half, allowance = numbers
        rep = replay(self.ex, explain.fixer(self.used), until=key)
        base, fed = rep.computed[key], rep.fed
        fits, near = _fit_tests(sign, qf, half, allowance - half, r)

        # An earlier wrong print carried on with the right formula is the simplest story: one mistake,
        # upstream; it goes first so a slip that happens to give the same number does not hide it.
        follows = explain.follows_wrong(self.ex, key, index, self.used, self.wrong, sign * qf, allowance)
        if follows:
            names = ", ".join(f"{_element(self.ex, k, idx)} = {self.as_printed(k, t)}" for k, idx, t in follows)
            mistakes.append("carried")
            sources += [(k, idx) for k, idx, _ in follows]
            return f"carried from the wrong printed {names} (an error carried on)"
        local = [replace(c, value=float(c.value[index])) for c in self.local_mistakes(key).values()]
        found = [c for c in local + explain.slips(self.ex, key, index, r * sign, base, fed, self.used, near)
                 if fits(c, r)]
        found += [c for c in explain.factor_slips(self.ex, sign * e, key in ("L", "L_new")) if fits(c, e)
                  and c.name not in {f.name for f in found}]
        found.sort(key=lambda c: abs(qf - sign * c.value))
        mistakes += list(dict.fromkeys(c.name for c in found))
        if found:
            options += list({c.name: c for c in reversed(found)}.values())[::-1]  # the closest of each name
            return _names(found[0], sign)
        slip = explain.rounding_slip(text, r, int(printed(text).as_tuple().exponent))
        if slip:
            mistakes.append(slip[0])
            return f"{slip[1]} [{slip[0]}]"
        throughout = self.throughout(key, index, sign, (qf, e, half, allowance), mistakes)
        if throughout:
            return throughout
        mistakes.append("arithmetic_slip")
        wrong_in = explain.with_wrong_inputs(self.ex, key, index, self.used, self.wrong)
        if wrong_in is None:
            return f"an arithmetic slip: from the printed inputs the formula gives {_fmt(r)}"
        value, culprits = wrong_in
        names = ", ".join(f"{_element(self.ex, k, idx)} = {self.as_printed(k, t)}" for k, idx, t in culprits)
        sources += [(k, idx) for k, idx, _ in culprits]
        return (f"an arithmetic slip on top of the wrong printed {names}: from those as printed the formula "
                f"gives {_fmt(sign * value)}, from what they should be {_fmt(r)}")

    def throughout(self, key: str, index: tuple[int, ...], sign: int, numbers: tuple[float, ...],
                   mistakes: list[str]) -> str:
        """A catalogued mistake made from the start (run on the exact network) that gives the claim."""
        qf, e, half, allowance = numbers
        if self.catalogue is None:
            self.catalogue = explain.catalogue(self.ex)
        whole = [(n, d, float(v[key][index])) for n, d, v in self.catalogue if key in v
                 and v[key].ndim == len(index) and abs(sign * float(v[key][index]) - e) > half
                 and abs(qf - sign * float(v[key][index])) <= allowance]
        if not whole:
            return ""
        mistakes += [n for n, _, _ in whole]
        n, d, v = whole[0]
        return f"matches the classic mistake: {d} [{n}], which gives {_fmt(sign * v)}"


def judge(ex: WorkedExample, with_torch: bool = False) -> Judgement:
    """Judge every printed element of ``ex`` (see the module docstring for the rule);
    ``with_torch`` adds PyTorch autograd's value of each element (and imports torch)."""
    state = _Judge(ex, with_torch)
    rows = [row for key in ex.claim_keys() for row in state.quantity(key)]
    return Judgement(ex, rows + judge_steps(ex), with_torch)


def judge_file(path: str | Path, with_torch: bool = False) -> Judgement:
    """Read a worked-example file and judge it."""
    return judge(load_example(path), with_torch)


def judge_example(name: str, with_torch: bool = False) -> Judgement:
    """Judge a worked example shipped with the package, by name (e.g. 'seed-2-2-1')."""
    return judge(packaged_example(name), with_torch)
