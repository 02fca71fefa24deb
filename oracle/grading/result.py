"""A grade: every compared tensor, what went wrong and where, as text and as JSON.

The JSON schema ("manual-bp/grade/1", docs/mistakes-and-grading.md) is versioned: fields are
only ever added under the same version."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from oracle import notation
from oracle.compare.records import Record
from oracle.grading.spec import GradeSpec
from oracle.text import markdown_table

SCHEMA = "manual-bp/grade/1"
ORDER = {"dW": 0, "db": 1, "W_new": 0, "b_new": 1, "L": 2}


@dataclass(frozen=True)
class Problem:
    """The function misbehaved on a case: raised, hung, exited, or returned something unusable."""

    case: str
    about: str
    message: str

    def __str__(self) -> str:
        return f"case {self.case} ({self.about}): {self.message}"


@dataclass(frozen=True)
class Match:
    """A wrong tensor and the variants (mistakes, slips) whose value it equals on that case."""

    case: str
    symbol: str
    names: tuple[str, ...]
    descriptions: tuple[str, ...]

    def __str__(self) -> str:
        if not self.names:
            return f"{self.symbol} matches no catalogued mistake"
        return f"{self.symbol} matches: " + "; or ".join(f"{d} [{n}]" for n, d in zip(self.names, self.descriptions,
                                                                                        strict=True))


@dataclass
class GradeResult:
    """Everything ``grade`` found."""

    spec: GradeSpec
    records: list[Record]
    problems: list[Problem]
    matches: list[Match]
    cases: dict[str, str]  # case id -> its description
    findings: list[str] = field(default_factory=list)
    diagnosis: list[tuple[str, str, int]] = field(default_factory=list)  # (name, description, cases)

    @property
    def passed(self) -> bool:
        """Every case ran and every tensor agrees; nothing compared is never a pass."""
        return bool(self.records) and not self.problems and all(r.passed for r in self.records)

    @property
    def failed_records(self) -> list[Record]:
        """The tensors that differ from the reference beyond the tolerance."""
        return [r for r in self.records if not r.passed]

    def table(self) -> list[dict[str, Any]]:
        """Per quantity and layer: the equation, cases, passed, failed, the worst relative error."""
        groups: dict[tuple[str, int | None], list[Record]] = {}
        for r in self.records:
            groups.setdefault((r.property, r.layer), []).append(r)
        rows = []
        for (prop, layer), g in sorted(groups.items(), key=lambda kv: (ORDER.get(kv[0][0], 3), -(kv[0][1] or 0))):
            rows.append({"quantity": notation.symbol(prop, layer), "equation": g[0].equation, "cases": len(g),
                         "passed": sum(r.passed for r in g), "failed": sum(not r.passed for r in g),
                         "worst rel. error": f"{max(r.max_rel_err for r in g):.2e}"})
        return rows

    def problem_groups(self) -> list[tuple[str, list[Problem]]]:
        """The problems grouped by message, most frequent first."""
        groups: dict[str, list[Problem]] = {}
        for p in self.problems:  # messages that differ only in their numbers (sizes, indices) are one problem
            groups.setdefault(re.sub(r"\d+", "#", p.message), []).append(p)
        return sorted(((g[0].message, g) for g in groups.values()), key=lambda kv: -len(kv[1]))

    def report(self, verbose: bool = False, max_lines: int = 10) -> str:
        """The grade as text: the verdict, the table, the problems, the wrong tensors, the findings."""
        limit = math.inf if verbose else max_lines
        ok = sum(r.passed for r in self.records)
        lines = [f"graded on {len(self.cases)} cases: {ok}/{len(self.records)} tensors agree with the reference "
                 f"({'torch autograd' if self.spec.reference == 'torch' else 'manual_bp, cross-checked against torch'})"
                 + (f"; the function failed on {len(self.problems)} cases" if self.problems else ""),
                 f"the function's contract: {self.spec.arguments()}"]
        if self.records:
            table = self.table()
            lines += ["", markdown_table(list(table[0]), [list(r.values()) for r in table], right=(2, 3, 4, 5))]
        if self.problems:
            lines += ["", "The function failed:"]
            for message, group in self.problem_groups()[: int(min(limit, 1e9))]:
                first, n = group[0], len(group)
                lines.append(f"  {n} case{'s' if n > 1 else ''}: {message} (first: case {first.case}, {first.about})")
        wrong = self.failed_records
        if wrong:
            lines += ["", "Wrong tensors (yours vs the reference):"]
            by_key = {(m.case, m.symbol): m for m in self.matches}
            for r in wrong[: int(min(limit, 1e9))]:
                lines.append(f"  case {r.case} ({self.cases.get(r.case, '')}): {r.symbol} ({r.equation}) differs by "
                             f"{r.max_abs_err:.3e} at {r.worst_index} (yours {r.manual_value:.6g}, reference "
                             f"{r.reference_value:.6g})")
                if (r.case, r.symbol) in by_key:
                    lines.append(f"    {by_key[r.case, r.symbol]}")
            if len(wrong) > limit:
                lines.append(f"  ... and {len(wrong) - max_lines} more (--verbose lists them all)")
        for name, description, cases in self.diagnosis:
            lines += ["", f"Diagnosis: your results equal those of '{name}' ({description}) on all {cases} cases."]
        if self.findings:
            lines += [""] + [f"Finding: {f}" for f in self.findings]
        if not self.records and not self.problems:
            lines += ["", "Nothing was compared (no case ran): that is not a pass."]
        lines += ["", "PASS: every returned tensor agrees with the reference." if self.passed else "FAIL"]
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        """The whole grade as plain values (schema manual-bp/grade/1)."""
        def num(v: float) -> float | str:
            return v if math.isfinite(v) else repr(v)

        return {
            "schema": SCHEMA, "passed": self.passed, "spec": self.spec.describe(),
            "cases": [{"case": c, "about": a} for c, a in self.cases.items()],
            "tensors": [{"case": r.case, "quantity": r.symbol, "property": r.property, "layer": r.layer,
                         "equation": r.equation, "passed": r.passed, "max_abs_err": num(r.max_abs_err),
                         "max_rel_err": num(r.max_rel_err), "worst_index": r.worst_index,
                         "yours": num(r.manual_value), "reference": num(r.reference_value),
                         "allowed_abs_err": num(r.allowed_abs_err)} for r in self.records],
            "problems": [{"message": m, "cases": [p.case for p in g]} for m, g in self.problem_groups()],
            "matches": [{"case": m.case, "quantity": m.symbol, "mistakes": list(m.names)} for m in self.matches],
            "diagnosis": [{"mistake": n, "description": d, "cases": c} for n, d, c in self.diagnosis],
            "findings": list(self.findings),
        }

    def json(self) -> str:
        """as_json() as text."""
        return json.dumps(self.as_json(), indent=1) + "\n"


def divergence(failed: list[Record], L: int) -> tuple[frozenset[str], int] | None:
    """Where the error enters, read in backprop's order (the output layer first): the graded
    quantities wrong in the first wrong layer, and that layer counted from the output (0: L)."""
    grads = [r for r in failed if r.property in ("dW", "db", "W_new", "b_new")]
    if not grads:
        return None
    layer = max(r.layer or 0 for r in grads)
    return frozenset(r.property for r in grads if r.layer == layer), L - layer


def divergence_text(key: tuple[frozenset[str], int], step: bool) -> str:
    """The divergence in words: what is right, what is wrong, and which equation it points at."""
    props, k = key
    weight, bias = ("W_new", "b_new") if step else ("dW", "db")
    layer = "the output layer L" if k == 0 else f"layer L-{k}"
    after = "the layer after it" if k == 1 else f"the {k} layers after it"
    right = f"{notation.short(weight)} and {notation.short(bias)} right in {after}; " if k else ""
    names = " and ".join(notation.short(p) for p in sorted(props, key=lambda p: ORDER[p]))
    if props <= {"dW", "W_new"}:
        cause = "Eq. 3 (the a^(l-1) factor, its transpose or its layer)"
    elif props <= {"db", "b_new"}:
        cause = "Eq. 4 or Eq. 5 for the bias (the sum over the batch, or the bias's own update)"
    elif k == 0:
        cause = "Eq. 1 (the loss gradient dL/da^(L), the output's sigma', or the batch reduction)"
    else:
        cause = "Eq. 2 for that layer (the product (W^(l+1))^T delta^(l+1), or sigma'(z^(l)))"
    return f"{right}{names} wrong first in {layer}: the error enters at {cause}"


def only_with(ran: dict[str, dict[str, str]], failing: set[str], layers: dict[str, set[str]] | None = None
              ) -> list[str]:
    """Facets (loss, output activation, hidden activations) that all failing cases share while
    passing cases have others: 'fails only with loss bce (4 of 4 cases); passes with mse, sse';
    then, from ``layers`` (each case's activations), one that every failing case has somewhere
    and no passing case has (see :func:`only_with_layer`), unless a facet already named it."""
    out: list[str] = []
    if not failing or len(failing) == len(ran):
        return out
    said: set[str] = set()
    for facet in ("loss", "output activation", "hidden activations"):
        values = Counter(ran[c][facet] for c in failing)
        if len(values) != 1:
            continue
        (value, n), = values.items()
        total = sum(ran[c][facet] == value for c in ran)
        others = sorted({ran[c][facet] for c in ran if c not in failing and ran[c][facet] != value})
        if n == total and others:
            out.append(f"fails only with {facet} {value} ({n} of {n} cases); passes with {', '.join(others)}")
            said.add(value)
    return out + only_with_layer(layers or {}, failing, said)


def only_with_layer(layers: dict[str, set[str]], failing: set[str], said: set[str]) -> list[str]:
    """An activation that the failing cases, and only they, have in some layer, at whatever depth
    (an activation's derivative written wrong): 'fails only in networks with a tanh layer (4 of 4
    cases with one); passes in the 21 without'."""
    if not layers or not failing or not failing < set(layers):
        return []
    out = []
    for name in sorted(set.intersection(*(layers[c] for c in failing)) - said):
        having = {c for c in layers if name in layers[c]}
        if having == failing:
            out.append(f"fails only in networks with a {name} layer ({len(having)} of {len(having)} cases with one); "
                       f"passes in the {len(layers) - len(having)} without")
    return out
