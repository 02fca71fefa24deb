"""Grading a user's own backpropagation against torch autograd, naming classic mistakes.

The user writes

    def backprop(weights, biases, activations, loss, x, y):
        ...
        return dW, db

with ``weights`` the list W^(1)..W^(L), W^(l) a float64 array of shape (n_l, n_(l-1));
``biases`` the list b^(1)..b^(L), b^(l) of shape (n_l,); ``activations`` one name per layer
(manual_bp's names: sigmoid, tanh, relu, ...); ``loss`` a name (half_sse, sse, mse, bce,
cross_entropy, as in the README); ``x`` of shape (n_0, m), one example per column; ``y`` of
shape (n_L, m) (one-hot columns for cross_entropy). The batch loss is the mean over the m
examples. It returns dL/dW^(l) and dL/db^(l) for l = 1..L (Eq. 3 and Eq. 4), as two lists
of arrays with the shapes of W^(l) and b^(l).

:func:`grade` runs it on the document's 2-2-1 example, on hand-picked square networks (where
a missing transpose can hide) and on seeded random networks using only the activations and
losses the user says the function supports, and compares every dL/dW^(l) and dL/db^(l) with
torch autograd as oracle.compare.Record rows (reference "torch"). A wrong value is then
compared with every mistake of oracle.mistakes.MISTAKES on the same case: when the user's
tensor equals a mistake's, the result says so ("dL/dW^(1) matches: sigma' evaluated at a
instead of z"). An exception, a wrong type, shape or list length, or a NaN from the user's
function is reported as such, with the case that triggered it.
"""

from __future__ import annotations

import linecache
import traceback
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from manual_bp.activations import ACTIVATIONS
from manual_bp.errors import InputError, require
from manual_bp.losses import LOSSES, expand_class_indices
from manual_bp.network import Network
from oracle import notation
from oracle.cases import OUTPUT_FOR_LOSS, Case, SweepSpec, document_case, hand_case, random_case
from oracle.compare.records import Record, compare_properties
from oracle.compare.tolerance import policy_for
from oracle.mistakes.catalogue import MISTAKES, NotApplicableError
from oracle.references.autograd import torch_properties
from oracle.text import markdown_table

UserBackprop = Callable[..., Any]

# A user's tensor "matches" a catalogued mistake when it is that mistake's value up to rounding:
# |yours - mistake's| <= MATCH_RTOL x S, S the larger of the mistake's and torch's max |value|.
# Two implementations of the same formula differ by ~1e-15 x S in float64; two different
# mistakes (or a mistake and the right answer) differ by O(1) x S. 1e-9 leaves six orders of
# magnitude to either side, so a loop-based implementation still matches its mistake.
MATCH_RTOL = 1e-9
RANDOM_SPEC = dict(depth=(1, 3), width=(1, 5), batch=(1, 4))
PROPS = ("dW", "db")


@dataclass(frozen=True)
class Problem:
    """The user's function misbehaved on a case: raised, or returned something unusable."""

    case: str
    about: str  # the case's network, as "sizes 2-2-1, sigmoid,sigmoid, half_sse, batch 1"
    message: str

    def __str__(self) -> str:
        return f"case {self.case} ({self.about}): {self.message}"


@dataclass(frozen=True)
class Match:
    """A wrong tensor of the user's that equals what catalogued mistakes give on that case."""

    case: str
    symbol: str
    mistakes: tuple[str, ...]  # names in MISTAKES

    def __str__(self) -> str:
        said = "; or ".join(MISTAKES[m].description for m in self.mistakes)
        return f"{self.symbol} matches: {said}" if self.mistakes else f"{self.symbol} matches no catalogued mistake"


@dataclass
class GradeResult:
    """Everything :func:`grade` found: one Record per (case, dL/dW^(l) or dL/db^(l)), the
    problems, and for every failing record the catalogued mistakes it matches."""

    records: list[Record]
    problems: list[Problem]
    matches: list[Match]
    cases: list[str]
    agreement: dict[str, tuple[int, int]] = field(default_factory=dict)  # mistake -> (cases matched, cases run)

    @property
    def passed(self) -> bool:
        """True when the function ran on every case and every tensor agrees with torch."""
        return not self.problems and all(r.passed for r in self.records)

    @property
    def failed_records(self) -> list[Record]:
        """The records whose tensor differs from torch autograd beyond the tolerance."""
        return [r for r in self.records if not r.passed]

    def diagnosis(self) -> list[str]:
        """Catalogued mistakes whose dL/dW and dL/db equal the user's on every case where they run
        (and which are wrong somewhere): the most likely explanations, best first."""
        if self.passed:
            return []
        explained = {m for match in self.matches for m in match.mistakes}
        return [m for m, (hit, ran) in self.agreement.items() if ran and hit == ran and m in explained]

    def table(self) -> list[dict[str, Any]]:
        """Per property and layer, in backprop's order of W then b: the equation, cases checked,
        passed, failed, the worst error relative to the tensor's scale, and the mistakes its
        failures match."""
        groups: dict[tuple[str, int], list[Record]] = {}
        for r in self.records:
            groups.setdefault((r.property, r.layer), []).append(r)
        rows = []
        for (prop, layer), g in sorted(groups.items(), key=lambda item: (PROPS.index(item[0][0]), item[0][1])):
            symbol = notation.symbol(prop, layer)
            hits = [m for m in self.matches if m.symbol == symbol]
            common = set.intersection(*(set(m.mistakes) for m in hits)) if hits else set()
            rows.append({"symbol": symbol, "equation": g[0].equation, "cases": len(g),
                         "passed": sum(r.passed for r in g), "failed": sum(not r.passed for r in g),
                         "worst rel. error": f"{max(r.max_rel_err for r in g):.2e}",
                         "failures match": ", ".join(m for m in MISTAKES if m in common)})
        return rows

    def report(self, max_lines: int = 10) -> str:
        """The grade as text: a verdict, the per-property table, problems, wrong tensors with the
        mistakes they match, and the diagnosis."""
        ok = sum(r.passed for r in self.records)
        lines = [f"graded on {len(self.cases)} cases: {ok}/{len(self.records)} tensors agree with torch autograd"
                 + (f", {len(self.problems)} cases where the function failed" if self.problems else "")]
        if self.records:
            table = self.table()
            lines += ["", markdown_table(list(table[0]), [list(row.values()) for row in table])]
        if self.problems:
            lines += ["", "The function failed:"] + [f"  {p}" for p in self.problems[:max_lines]]
            if len(self.problems) > max_lines:
                lines.append(f"  ... and {len(self.problems) - max_lines} more")
        wrong = self.failed_records
        if wrong:
            lines += ["", "Wrong tensors (yours vs torch autograd):"]
            by_key = {(m.case, m.symbol): m for m in self.matches}
            for r in wrong[:max_lines]:
                lines.append(f"  case {r.case}: {r.symbol} ({r.equation}) differs by {r.max_abs_err:.3e} at "
                             f"{r.worst_index} (yours {r.manual_value:.6g}, torch {r.reference_value:.6g}, "
                             f"relative {r.max_rel_err:.2e})")
                if (r.case, r.symbol) in by_key:
                    lines.append(f"    {by_key[r.case, r.symbol]}")
            if len(wrong) > max_lines:
                lines.append(f"  ... and {len(wrong) - max_lines} more")
        for name in self.diagnosis():
            ran = self.agreement[name][1]
            m = MISTAKES[name]
            lines += ["", f"Diagnosis: your dL/dW and dL/db equal those of the catalogued mistake '{name}' "
                      f"({m.equation}: {m.description}) on all {ran} cases where it can occur."]
        lines += ["", "PASS: every dL/dW^(l) and dL/db^(l) agrees with torch autograd." if self.passed
                  else "FAIL"]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The cases


def _names(given: Sequence[str] | None, known: Sequence[str], what: str) -> list[str]:
    if given is None:
        return list(known)
    names = [str(n).strip() for n in given]
    require(len(names) > 0, f"{what}: expected at least one name, got none")
    for n in names:
        require(n in known, f"{what}: unknown name {n!r}; known: {', '.join(known)}")
    return list(dict.fromkeys(names))


def _per_unit(case: Case, seed: int) -> Case:
    """The case with a bias vector (n_l,) in every layer, x as (n_0, m) and y as (n_L, m)."""
    net = case.net
    rng = np.random.default_rng(seed)
    biases = []
    for l in range(1, net.L + 1):
        n = net.sizes[l]
        b = net.b[l]
        if b is None:
            bound = 1.0 / np.sqrt(net.sizes[l - 1])
            biases.append(rng.uniform(-bound, bound, n))
        else:
            biases.append(np.full(n, float(b)) if b.ndim == 0 else np.array(b))
    new = Network([net.W[l] for l in range(1, net.L + 1)], biases,
                  [net.activations[l] for l in range(1, net.L + 1)])
    x = np.asarray(case.x, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    nL = net.sizes[-1]
    y = np.asarray(expand_class_indices(case.y, case.loss, nL), dtype=np.float64).reshape(nL, x.shape[1])
    return Case(case.case_id, new, x, y, case.loss, "mean", case.lr, seed=case.seed)


def _square_case(case_id: str, acts: list[str], loss: str, sizes: list[int], m: int, seed: int) -> Case:
    """A network with equal widths, so that transposes and swapped layers give wrong numbers, not crashes."""
    L = len(sizes) - 1
    names = [acts[i % len(acts)] for i in range(L)]
    if loss in OUTPUT_FOR_LOSS:
        names[-1] = OUTPUT_FOR_LOSS[loss]
    return hand_case(case_id, sizes, names, loss, "mean", m, seed, labels="one_hot")


def grading_cases(activations: Sequence[str] | None = None, losses: Sequence[str] | None = None,
                  networks: int = 20, seed: int = 0) -> list[Case]:
    """The document's 2-2-1 example (when sigmoid and half_sse are supported), two square
    networks per supported loss, and ``networks`` random networks, all with per-unit biases,
    mean reduction, x of shape (n_0, m) and y of shape (n_L, m)."""
    acts = _names(activations, list(ACTIVATIONS), "activations")
    explicit = losses is not None
    loss_names = _names(losses, list(LOSSES), "losses")
    usable = []
    for loss in loss_names:
        need = OUTPUT_FOR_LOSS.get(loss)
        if need is not None and need not in acts:
            require(not explicit, f"losses: {loss} needs a {need} output layer, but activations "
                    f"({', '.join(acts)}) does not include {need}")
            continue
        usable.append(loss)
    require(len(usable) > 0, "losses: none of the losses can be used with these activations")
    require(isinstance(networks, int) and networks >= 0, f"networks: expected a non-negative integer, got {networks!r}")
    require(isinstance(seed, int), f"seed: expected an integer, got {seed!r}")

    cases: list[Case] = []
    if "sigmoid" in acts and "half_sse" in usable:
        cases.append(_per_unit(document_case(), 0))
    hidden = [a for a in acts if a != "softmax"] or acts
    for i, loss in enumerate(usable):
        cases.append(_square_case(f"square-3-3-3-3-{loss}-batch3", hidden, loss, [3, 3, 3, 3], 3, seed + 100 + i))
        cases.append(_square_case(f"square-2-2-2-{loss}-batch1", hidden[::-1], loss, [2, 2, 2], 1, seed + 200 + i))
    spec = SweepSpec(activations=tuple(acts), losses=tuple(usable), reductions=("mean",), **RANDOM_SPEC)
    for k in range(networks):
        case = random_case(seed + k, spec)
        cases.append(_per_unit(case, seed + k))
    return cases


# ---------------------------------------------------------------------------------------------
# Calling the user's function


def _describe(case: Case) -> str:
    net = case.net
    return (f"sizes {'-'.join(map(str, net.sizes))}, {','.join(net.activations.values())}, {case.loss}, "
            f"batch {case.batch}")


def _where(exc: BaseException) -> str:
    """' at file.py:12 (the line)' for the innermost frame of the user's code that raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = __file__
    user = [f for f in frames if f.filename != ours] or frames
    if not user:
        return ""
    f = user[-1]
    line = (f.line or linecache.getline(f.filename, f.lineno or 0)).strip()
    return f" at {f.filename}:{f.lineno}" + (f" ({line})" if line else "")


def _arrays(value: Any, what: str, symbol: str, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """The user's list of L arrays, checked: a list or tuple, the right length, numbers, shapes, finite."""
    L = len(shapes)
    if not isinstance(value, list | tuple):
        raise InputError(f"{what}: expected a list of {L} arrays ({symbol.format(l=1)}..{symbol.format(l=L)}), "
                         f"got {type(value).__name__}")
    if len(value) != L:
        raise InputError(f"{what}: expected a list of L = {L} arrays ({symbol.format(l=1)}..{symbol.format(l=L)}), "
                         f"got {len(value)}")
    out = []
    for l, (item, shape) in enumerate(zip(value, shapes, strict=True), start=1):
        name = symbol.format(l=l)
        try:
            arr = np.array(item, dtype=np.float64)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise InputError(f"{name}: expected an array of numbers, got {type(item).__name__} ({exc})") from None
        if arr.shape != shape:
            raise InputError(f"{name}: expected shape {shape}, got shape {arr.shape}")
        bad = ~np.isfinite(arr)
        if bad.any():
            index = [int(i) for i in np.argwhere(bad)[0]]
            raise InputError(f"{name}: {arr[bad].flat[0]} at index {index} (expected finite numbers)")
        out.append(arr)
    return out


def exception_line(exc: BaseException) -> str:
    """An exception as one line: its type and the first line of its message ('ValueError: bad')."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}{': ' + text if text else ''}"


def call_user(backprop: UserBackprop, case: Case) -> dict[str, Any]:
    """Call the user's function on a case: {'dW': {l: array}, 'db': {l: array}}, or InputError
    with one line saying what went wrong."""
    net = case.net
    L = net.L
    args = ([np.array(net.W[l]) for l in range(1, L + 1)], [np.array(net.b[l]) for l in range(1, L + 1)],
            [net.activations[l] for l in range(1, L + 1)], case.loss, np.array(case.x), np.array(case.y))
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            out = backprop(*args)
    except (Exception, SystemExit) as exc:  # the user's bug, reported as such
        raise InputError(f"raised {exception_line(exc)}{_where(exc)}") from None
    if not isinstance(out, list | tuple) or len(out) != 2:
        got = f"a {type(out).__name__} of length {len(out)}" if isinstance(out, list | tuple) else type(out).__name__
        raise InputError(f"returned {got}; expected a pair (dW, db)")
    dW = _arrays(out[0], "dW", "dL/dW^({l})", [net.W[l].shape for l in range(1, L + 1)])
    db = _arrays(out[1], "db", "dL/db^({l})", [net.b[l].shape for l in range(1, L + 1)])
    return {"dW": dict(enumerate(dW, start=1)), "db": dict(enumerate(db, start=1))}


def _same(mine: np.ndarray, theirs: Any, ref: Any) -> bool:
    """True when ``mine`` equals ``theirs`` up to rounding (see MATCH_RTOL)."""
    if theirs is None:
        return False
    t = np.asarray(theirs, dtype=np.float64)
    if t.shape != mine.shape or not np.isfinite(t).all():
        return False
    scale = max(float(np.max(np.abs(t), initial=0.0)), float(np.max(np.abs(np.asarray(ref)), initial=0.0)))
    return bool(np.max(np.abs(mine - t), initial=0.0) <= MATCH_RTOL * scale)


def grade(backprop: UserBackprop, activations: Sequence[str] | None = None, losses: Sequence[str] | None = None,
          networks: int = 20, seed: int = 0) -> GradeResult:
    """Grade ``backprop(weights, biases, activations, loss, x, y) -> (dW, db)`` against torch
    autograd on the document's example, square networks and ``networks`` random networks built
    from the given activations and losses (default: all). Bad names raise InputError."""
    require(callable(backprop), f"backprop: expected a function, got {type(backprop).__name__}")
    cases = grading_cases(activations, losses, networks, seed)
    records: list[Record] = []
    problems: list[Problem] = []
    matches: list[Match] = []
    agreement = {name: [0, 0] for name in MISTAKES}
    for case in cases:
        try:
            user = call_user(backprop, case)
        except InputError as exc:
            problems.append(Problem(case.case_id, _describe(case), str(exc)))
            continue
        ref = torch_properties(case.net, case.x, case.y, case.loss, case.reduction)
        recs = compare_properties(case, user, ref, "torch", policy_for(np.float64), properties=PROPS)
        records += recs
        variants = {}
        for name, mistake in MISTAKES.items():
            try:
                variants[name] = mistake.run(case)
            except NotApplicableError:
                continue
            same = all(_same(user[p][l], variants[name][p][l], ref[p][l]) for p in PROPS for l in user[p])
            agreement[name][0] += same
            agreement[name][1] += 1
        for r in recs:
            if r.passed:
                continue
            mine = user[r.property][r.layer]
            hit = tuple(n for n, v in variants.items() if _same(mine, v[r.property][r.layer], ref[r.property][r.layer]))
            matches.append(Match(case.case_id, r.symbol, hit))
    return GradeResult(records, problems, matches, [c.case_id for c in cases],
                       {k: (v[0], v[1]) for k, v in agreement.items()})
