"""Judging a worked example: every printed number correct, rounding carried, or wrong.

The rule (also in the README):

* **correct**: the exact value (manual_bp, float64, taken to 12 significant digits so that
  float64's own rounding noise never decides a printed tie) rounded half away from zero
  (``decimal.ROUND_HALF_UP``) to the claim's printed digits equals the claim.
* **rounding carried**: not correct, but the claim agrees, at its printed digits, with the
  formula fed the example's *own earlier printed values* (z^(2) from the printed a^(1), the loss
  from the printed a^(L), delta^(1) from the printed delta^(2) and sigma'(z^(1)), ...; see
  manual_bp.worked.replay), allowing for the rounding of those inputs: the interval
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
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tabulate import tabulate

from manual_bp import backward, forward, sgd_step
from manual_bp.errors import InputError
from manual_bp.network import Network
from manual_bp.worked import (
    WorkedExample,
    element_name,
    load_example,
    packaged_example,
    parse_key,
    replay,
    symbol,
)
from oracle.autograd import torch_properties
from oracle.compare import Case, manual_properties

VERDICTS = ("correct", "rounding carried", "wrong")
EXACT_SIGNIFICANT = 12  # float64 noise (~1e-16 relative) sits far below the 12th digit
COLUMNS = ("quantity", "element", "claimed", "exact", "torch", "difference", "digits", "verdict", "explanation",
           "recomputed", "mistake")
FLOAT_FORMAT = "%.17g"  # every float64 reads back bit for bit
MAX_INPUTS_SHOWN = 6


def half_up(value: float, exponent: int) -> Decimal:
    """``value`` (to 12 significant digits) rounded half away from zero to the decimal place
    10^exponent: half_up(-0.0047875, -4) == Decimal('-0.0048')."""
    return Decimal(f"{float(value):.{EXACT_SIGNIFICANT}g}").quantize(Decimal((0, (1,), exponent)),
                                                                     rounding=ROUND_HALF_UP)


def _fmt(value: float) -> str:
    return f"{value:.6g}"


@dataclass
class Row:
    """The judgement of one printed element."""

    key: str
    index: tuple[int, ...]
    quantity: str
    element: str
    claimed: str
    digits: int
    exact: float
    torch: float
    difference: float
    verdict: str
    explanation: str
    recomputed: float
    recomputed_range: tuple[float, float]
    inputs: list[str] = field(default_factory=list)
    mistakes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The element as a user reads it: delta^(1)[0]."""
        return self.quantity + self.element

    def as_row(self) -> dict[str, Any]:
        """The CSV row: the report's columns, in order."""
        return {"quantity": self.quantity, "element": self.element, "claimed": self.claimed, "exact": self.exact,
                "torch": self.torch, "difference": self.difference, "digits": self.digits,
                "verdict": self.verdict, "explanation": self.explanation, "recomputed": self.recomputed,
                "mistake": self.mistakes[0] if self.mistakes else ""}


@dataclass
class CheckResult:
    """Every printed element of a worked example with its verdict, in the document's order."""

    example: WorkedExample
    rows: list[Row]

    @property
    def wrong(self) -> list[Row]:
        """The rows judged wrong."""
        return [r for r in self.rows if r.verdict == "wrong"]

    @property
    def exit_code(self) -> int:
        """0 when nothing is wrong, 1 when something is (the command's exit code)."""
        return 1 if self.wrong else 0

    def counts(self) -> dict[str, int]:
        """How many rows got each verdict."""
        return {v: sum(r.verdict == v for r in self.rows) for v in VERDICTS}

    def frame(self) -> pd.DataFrame:
        """One row per printed element, the report's columns."""
        return pd.DataFrame([r.as_row() for r in self.rows], columns=list(COLUMNS))

    def summary(self) -> str:
        """One line: how many printed values got which verdict."""
        c = self.counts()
        return (f"{len(self.rows)} printed values: {c['correct']} correct, {c['rounding carried']} rounding carried, "
                f"{c['wrong']} wrong")

    def terminal(self) -> str:
        """A table for the terminal, then the explanation of every value that is not correct."""
        table = [[r.name, r.claimed, _fmt(r.exact), f"{r.difference:+.2g}", r.digits, r.verdict] for r in self.rows]
        lines = [f"{self.example.title}", "",
                 tabulate(table, headers=["quantity", "claimed", "exact", "difference", "digits", "verdict"],
                          disable_numparse=True, colalign=("left", "right", "right", "right", "right", "left")),
                 "", self.summary() + "."]
        notes = [r for r in self.rows if r.verdict != "correct"]
        if notes:
            lines += [""] + [f"{r.name} = {r.claimed}: {r.verdict.upper() if r.verdict == 'wrong' else r.verdict}: "
                             f"{r.explanation}" for r in notes]
        return "\n".join(lines)

    def markdown(self) -> str:
        """The report in Markdown: the verdict counts, the rule, and every row."""
        ex = self.example
        df = self.frame()
        show = pd.DataFrame({
            "quantity": df["quantity"], "element": df["element"], "claimed": df["claimed"],
            "exact": df["exact"].map(lambda v: f"{v:.10g}"), "torch": df["torch"].map(lambda v: f"{v:.10g}"),
            "difference": df["difference"].map(lambda v: f"{v:+.3g}"), "digits": df["digits"].astype(str),
            "verdict": df["verdict"].map(lambda v: f"**{v}**" if v == "wrong" else v),
            "explanation": df["explanation"].map(lambda s: s.replace("|", "\\|")),
        })
        net = ex.net
        setting = (f"sizes {'-'.join(map(str, net.sizes))}, activations {', '.join(net.activations.values())}, "
                   f"loss {ex.loss} ({ex.reduction} over {ex.batch} example{'s' if ex.batch > 1 else ''}), "
                   f"learning rate {ex.lr if ex.lr is not None else '-'}, biases "
                   f"{', '.join(net.bias_kind(l) for l in net.W)}"
                   f"{'' if ex.update_biases else ' (not updated)'}")
        parts = [f"# Check of a worked example: {ex.title}",
                 f"`{ex.name}`: {setting}." + (f" Source: {ex.source}." if ex.source else ""),
                 f"**{self.summary()}.**",
                 "Each printed number is judged at its own printed digits. *correct*: the exact value (manual_bp, "
                 "float64) rounded half away from zero to those digits is the printed number. *rounding carried*: "
                 "not correct, but the formula fed the example's own earlier printed values gives the printed "
                 "number, allowing for the rounding of those inputs (first order). *wrong*: neither; the "
                 "explanation names the classic mistake it matches, where one does. `torch` is PyTorch autograd's "
                 "value; `difference` is claimed - exact. Layers are 1-based, element indices 0-based.",
                 show.to_markdown(index=False, disable_numparse=True)]
        return "\n\n".join(parts) + "\n"

    def write(self, out: str | Path, stem: str | None = None) -> list[Path]:
        """Write check_<name>.csv (floats at full precision) and check_<name>.md into ``out``."""
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        stem = stem or f"check_{self.example.name}"
        csv_path, md_path = folder / f"{stem}.csv", folder / f"{stem}.md"
        self.frame().to_csv(csv_path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
        md_path.write_text(self.markdown(), encoding="utf-8")
        return [csv_path, md_path]


# ---------------------------------------------------------------------------------------------
# Exact and torch values


def case_of(ex: WorkedExample) -> Case:
    """The worked example as an oracle Case (the learning rate defaults to 1 when none is given)."""
    return Case(ex.name, ex.net, ex.x, ex.y, ex.loss, ex.reduction, ex.lr if ex.lr is not None else 1.0,
                ex.update_biases)


def _lookup(props: dict[str, Any], key: str) -> np.ndarray | None:
    prop, layer = parse_key(key)
    if prop not in props:
        return None
    value = props[prop] if layer is None else props[prop].get(layer)
    return None if value is None else np.asarray(value, dtype=np.float64)


def _loss_after(ex: WorkedExample, props: dict[str, Any]) -> float:
    """L' by manual_bp: the loss of the network with the given W_new, b_new on the same data."""
    net = Network([props["W_new"][l] for l in ex.net.W], [props["b_new"][l] for l in ex.net.W],
                  list(ex.net.activations.values()))
    return backward(net, forward(net, ex.x), ex.y, ex.loss, ex.reduction).loss


def exact_values(ex: WorkedExample) -> dict[str, np.ndarray]:
    """Every claimable quantity by manual_bp in float64, keyed like the file: z1, dW2, L_new."""
    props = manual_properties(case_of(ex))
    out = {k: v for k in ex.quantities() if (v := _lookup(props, k)) is not None}
    if ex.lr is not None:
        cache = forward(ex.net, ex.x)
        new = sgd_step(ex.net, backward(ex.net, cache, ex.y, ex.loss, ex.reduction), ex.lr, ex.update_biases)
        out["L_new"] = np.asarray(backward(new, forward(new, ex.x), ex.y, ex.loss, ex.reduction).loss)
    return out


def torch_values(ex: WorkedExample) -> dict[str, np.ndarray]:
    """The same quantities by PyTorch autograd (and torch.optim.SGD for the update)."""
    props = torch_properties(ex.net, ex.x, ex.y, ex.loss, ex.reduction, ex.lr, ex.update_biases)
    out = {k: v for k in ex.quantities() if (v := _lookup(props, k)) is not None}
    if ex.lr is not None:
        net = Network([props["W_new"][l] for l in ex.net.W], [props["b_new"][l] for l in ex.net.W],
                      list(ex.net.activations.values()))
        out["L_new"] = np.asarray(torch_properties(net, ex.x, ex.y, ex.loss, ex.reduction)["L"])
    return out


# ---------------------------------------------------------------------------------------------
# Mistakes a wrong value can match


@dataclass(frozen=True)
class Candidate:
    """A value a classic mistake gives for one element."""

    name: str
    description: str
    value: float


def _catalogue(ex: WorkedExample) -> list[tuple[str, str, dict[str, np.ndarray]]]:
    """Every catalogued mistake that runs on this example, as (name, description, values by key)."""
    from oracle.mistakes import MISTAKES, NotApplicableError

    case = case_of(ex)
    out = []
    for name, mistake in MISTAKES.items():
        try:
            props = mistake.run(case)
        except (NotApplicableError, InputError, ValueError, IndexError):
            continue
        values = {k: v for k in ex.quantities() if (v := _lookup(props, k)) is not None}
        if ex.lr is not None and "W_new" in props:
            values["L_new"] = np.asarray(_loss_after(ex, props))
        out.append((name, f"{mistake.description} ({mistake.equation})", values))
    return out


def _transforms(ex: WorkedExample, key: str, exact: float) -> list[Candidate]:
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


# ---------------------------------------------------------------------------------------------
# The judging


def _fixer(used: dict[str, np.ndarray]) -> Callable[[str, np.ndarray], np.ndarray]:
    """A replay fix that feeds the printed value where one is used, the formula's value elsewhere."""

    def fix(key: str, value: np.ndarray) -> np.ndarray:
        printed = used.get(key)
        return value if printed is None else np.where(np.isnan(printed), value, printed)

    return fix


def _with(used: dict[str, np.ndarray], key: str, index: tuple[int, ...], value: float) -> dict[str, np.ndarray]:
    changed = dict(used)
    changed[key] = used[key].copy()
    changed[key][index] = value
    return changed


def _input_text(ex: WorkedExample, key: str, index: tuple[int, ...], text: str) -> str:
    return f"{element_name(key, index, int(np.prod(ex.shape_of(key))))} = {text}"


def _inputs_phrase(names: list[str]) -> str:
    if not names:
        return "the network's given numbers only"
    shown = names[:MAX_INPUTS_SHOWN]
    more = len(names) - len(shown)
    return "the printed " + ", ".join(shown) + (f" and {more} more" if more else "")


def check(ex: WorkedExample) -> CheckResult:
    """Judge every printed element of ``ex`` (see the module docstring for the rule)."""
    exact = exact_values(ex)
    torch_v = torch_values(ex)
    used = {k: np.full(ex.shape_of(k), np.nan) for k in ex.claimed}
    # printed elements fed forward: (key, index) -> (text, value, lower and upper end of its rounding
    # interval, half a unit of its last digit)
    leaves: dict[tuple[str, tuple[int, ...]], tuple[str, float, float, float, float]] = {}
    wrong: dict[tuple[str, tuple[int, ...]], str] = {}
    catalogue: list[tuple[str, str, dict[str, np.ndarray]]] | None = None
    rows: list[Row] = []

    for key in ex.claim_keys():
        claim = ex.claimed[key]
        base = replay(ex, _fixer(used), until=key).computed[key]
        low = np.zeros(base.shape)
        high = np.zeros(base.shape)
        inputs: dict[tuple[int, ...], list[str]] = {i: [] for i in np.ndindex(base.shape)}
        for (k, idx), (text, fed, lo, hi, half) in leaves.items():
            ends = [lo, hi] if hi > lo else [fed + half]  # a zero-width input: only find out whether it feeds
            moved = [replay(ex, _fixer(_with(used, k, idx, end)), until=key).computed[key] - base for end in ends]
            if hi > lo:
                low += np.minimum(0.0, np.minimum(*moved))
                high += np.maximum(0.0, np.maximum(*moved))
            feeds = np.any([d != 0 for d in moved], axis=0)
            for i in np.ndindex(base.shape):
                if feeds[i]:
                    inputs[i].append(_input_text(ex, k, idx, text))

        for index in np.ndindex(claim.shape):
            text = claim[index]
            if text is None:
                continue
            q = Decimal(text.replace("\u2212", "-"))
            exponent = int(q.as_tuple().exponent)
            half = float(Decimal(5).scaleb(exponent - 1))
            qf = float(q)
            e = float(exact[key][index])
            r = float(base[index])
            band = (r + float(low[index]), r + float(high[index]))
            slack = 1e-6 * half + 8 * np.finfo(np.float64).eps * max(abs(r), abs(qf), 1.0)
            is_correct = half_up(e, exponent) == q
            is_carried = _overlaps(qf, half, band, slack)
            verdict = "correct" if is_correct else ("rounding carried" if is_carried else "wrong")
            at = f"{-exponent} decimal{'s' if exponent != -1 else ''}" if exponent <= 0 else f"10^{exponent}"
            recomputation = (f"{_fmt(r)}" + (f" ({_fmt(band[0])} .. {_fmt(band[1])} with their rounding)"
                                             if band[1] > band[0] else ""))
            used_inputs = inputs[index]
            mistakes: list[str] = []
            if verdict == "correct":
                explanation = f"the exact value {_fmt(e)} is {half_up(e, exponent)} at {at}"
            elif verdict == "rounding carried":
                explanation = (f"the exact value {_fmt(e)} is {half_up(e, exponent)} at {at}; from "
                               f"{_inputs_phrase(used_inputs)}: {recomputation}, which is {text} at {at}")
            else:
                if catalogue is None:
                    catalogue = _catalogue(ex)
                allowance = half + max(abs(band[0] - r), abs(band[1] - r)) + slack
                matches = _matches(ex, key, index, qf, e, half, allowance, catalogue)
                mistakes = [c.name for c in matches]
                explanation = (f"the exact value is {_fmt(e)} ({half_up(e, exponent)} at {at}), the claim differs by "
                               f"{qf - e:+.3g}; from {_inputs_phrase(used_inputs)}: {recomputation}, "
                               f"{half_up(r, exponent)} at {at}")
                follows = _follows_wrong(ex, key, index, used, wrong, qf, allowance)
                if follows:
                    explanation += f"; it follows from the wrong printed {', '.join(follows)} (an error carried on)"
                if matches:
                    explanation += f"; matches the classic mistake: {matches[0].description} [{matches[0].name}], " \
                                   f"which gives {_fmt(matches[0].value)}"
                    if len(matches) > 1:
                        explanation += "; also consistent with " + "; ".join(
                            f"{c.description} [{c.name}]" for c in matches[1:])
            rows.append(Row(key, index, symbol(key), _element(index, claim.size), text, -exponent, e,
                            float(torch_v[key][index]) if key in torch_v else float("nan"), qf - e, verdict,
                            explanation, r, band, used_inputs, mistakes))

            fed_text = text
            if verdict == "wrong":
                # Fed forward in its place: what the example should have printed at its own digits.
                wrong[(key, index)] = text
                should = half_up(r, exponent)
                fed_text = f"{should} (in place of the wrong {text})"
                qf, is_correct, is_carried = float(should), half_up(e, exponent) == should, True
            used[key][index] = qf
            lo, hi = _rounding_interval(qf, half, e if is_correct else None, band if is_carried else None)
            leaves[(key, index)] = (fed_text, qf, lo, hi, half)
    return CheckResult(ex, rows)


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


def _element(index: tuple[int, ...], size: int) -> str:
    return f"[{','.join(map(str, index))}]" if size > 1 else ""


def _matches(ex: WorkedExample, key: str, index: tuple[int, ...], claimed: float, exact: float, half: float,
             allowance: float, catalogue: list[tuple[str, str, dict[str, np.ndarray]]]) -> list[Candidate]:
    """The mistakes whose value for this element agrees with the claim (within half a unit of its
    last digit plus the carried-rounding allowance), closest first; the catalogue before the
    simple slips. A mistake that does not move this element by more than half a unit is skipped."""
    found: list[tuple[int, float, Candidate]] = []
    candidates = [Candidate(name, description, float(values[key][index]))
                  for name, description, values in catalogue
                  if key in values and values[key].ndim == len(index)]  # a sigma' without the Jacobian axis: skip
    candidates += _transforms(ex, key, exact)
    for order, c in enumerate(candidates):
        if abs(c.value - exact) <= half or not np.isfinite(c.value):
            continue
        if abs(claimed - c.value) <= allowance:
            found.append((0 if order < len(candidates) - len(_transforms(ex, key, exact)) else 1,
                          abs(claimed - c.value), c))
    return [c for _, _, c in sorted(found, key=lambda t: (t[0], t[1]))]


def _follows_wrong(ex: WorkedExample, key: str, index: tuple[int, ...], used: dict[str, np.ndarray],
                   wrong: dict[tuple[str, tuple[int, ...]], str], claimed: float, allowance: float) -> list[str]:
    """The earlier wrong printed values that, fed forward as printed, give this claim."""
    if not wrong:
        return []
    with_wrong = dict(used)
    culprits = []
    base = replay(ex, _fixer(used), until=key).computed[key][index]
    for (k, idx), text in wrong.items():
        one = replay(ex, _fixer(_with(used, k, idx, float(Decimal(text.replace("\u2212", "-"))))), until=key)
        if one.computed[key][index] != base:
            culprits.append((k, idx, text))
            with_wrong = _with(with_wrong, k, idx, float(Decimal(text.replace("\u2212", "-"))))
    if not culprits:
        return []
    value = float(replay(ex, _fixer(with_wrong), until=key).computed[key][index])
    if abs(claimed - value) > allowance:
        return []
    return [_input_text(ex, k, idx, text) for k, idx, text in culprits]


def check_file(path: str | Path) -> CheckResult:
    """Read a worked-example file and judge it."""
    return check(load_example(path))


def check_example(name: str) -> CheckResult:
    """Judge a worked example shipped inside the package, by name (e.g. 'seed-2-2-1')."""
    return check(packaged_example(name))
