"""The judgement of a worked example as rows, a terminal table, Markdown and CSV."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oracle.files import write_files
from oracle.text import csv_text, markdown_table, plain_table
from oracle.worked.format import WorkedExample

if TYPE_CHECKING:
    import pandas as pd

VERDICTS = ("correct", "rounding carried", "wrong")
SCHEMA = "manual-bp/check/1"
# New columns go at the end, so scripts reading the older ones by position keep working.
COLUMNS = ("quantity", "element", "claimed", "exact", "torch", "difference", "digits", "verdict", "explanation",
           "recomputed", "mistake", "cause", "root_cause", "line")
TOP_CAUSES = 3  # causes listed at the top of a report; the rest are counted


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
    cause: str = ""  # for a wrong value: why, in one line
    sources: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)  # wrong values it is carried from
    root: str = ""  # the cause's name, carried errors traced back to where they were made
    options: list[Any] = field(default_factory=list, repr=False)  # the mistakes that give it (explain.Candidate)
    line: str = ""  # where a document read by oracle.extract printed it ('line 12', 'cell 3, line 2')

    @property
    def name(self) -> str:
        """The element as a user reads it: delta^(1)[0]."""
        return self.quantity + self.element

    def as_row(self) -> dict[str, Any]:
        """The CSV row: the report's columns, in order."""
        return {"quantity": self.quantity, "element": self.element, "claimed": self.claimed, "exact": self.exact,
                "torch": self.torch, "difference": self.difference, "digits": self.digits,
                "verdict": self.verdict, "explanation": self.explanation, "recomputed": self.recomputed,
                "mistake": self.mistakes[0] if self.mistakes else "", "cause": self.cause, "root_cause": self.root,
                "line": self.line}


@dataclass
class Judgement:
    """Every printed element of a worked example with its verdict, in the document's order."""

    example: WorkedExample
    rows: list[Row]
    with_torch: bool = False
    not_placed: list[tuple[str, str, str]] = field(default_factory=list)  # read from a document: (where, formula, why)

    def __post_init__(self) -> None:
        self._trace_roots()

    def _trace_roots(self) -> None:
        """Give every wrong row its root cause: its own, or for a carried error that of the wrong
        value(s) it was carried from, followed back to where the mistake was made."""
        wrong = {(r.key, r.index): r for r in self.wrong}

        def roots(row: Row, seen: frozenset) -> list[str]:
            own = row.mistakes[0] if row.mistakes else "arithmetic_slip"
            if not row.sources:
                return [own]
            found = [name for s in row.sources if s in wrong and s not in seen
                     for name in roots(wrong[s], seen | {s})]
            if own != "carried":  # a slip of its own on top of what it carries
                found.append(own)
            return list(dict.fromkeys(found)) or ["carried"]

        for row in self.wrong:
            row.root = ", ".join(roots(row, frozenset({(row.key, row.index)})))

    def causes(self) -> list[tuple[str, list[Row]]]:
        """The root causes of the wrong values, most wrong values first, with the rows each explains
        (a row carried from two wrong values counts for both)."""
        groups: dict[str, list[Row]] = {}
        for row in self.wrong:
            for name in row.root.split(", "):
                groups.setdefault(name, []).append(row)
        return sorted(groups.items(), key=lambda kv: -len(kv[1]))

    def cause_lines(self) -> list[str]:
        """The few causes that explain most of the wrong values, one line each."""
        from oracle.worked.explain import label

        n, causes = len(self.wrong), self.causes()
        lines = []
        for name, rows in causes[:TOP_CAUSES]:
            first = next((r for r in rows if r.mistakes and r.mistakes[0] == name), rows[0])
            carried = sum(bool(r.mistakes) and r.mistakes[0] == "carried" for r in rows)
            lines.append(f"{len(rows)} of {n} wrong value{'s' if n > 1 else ''} "
                         f"follow{'s' if len(rows) == 1 else ''} from {label(name)} "
                         f"[{name}], first at {first.name}" + (f" ({carried} carried on from there)" if carried
                                                               else ""))
        if len(causes) > TOP_CAUSES:
            lines.append(f"{len(causes) - TOP_CAUSES} more cause{'s' if len(causes) - TOP_CAUSES > 1 else ''}: "
                         + ", ".join(name for name, _ in causes[TOP_CAUSES:]))
        return lines

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
        """One row per printed element, the report's columns, as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame([r.as_row() for r in self.rows], columns=list(COLUMNS))

    def summary(self) -> str:
        """One line: how many printed values got which verdict."""
        c = self.counts()
        return (f"{len(self.rows)} printed values: {c['correct']} correct, {c['rounding carried']} rounding carried, "
                f"{c['wrong']} wrong")

    def terminal(self) -> str:
        """A table for the terminal, then the explanation of every value that is not correct."""
        cited = any(r.line for r in self.rows)
        table = [[r.name, r.claimed, _fmt(r.exact), f"{r.difference:+.2g}", r.digits, r.verdict,
                  *([r.line] if cited else [])] for r in self.rows]
        lines = [self.example.title, "",
                 plain_table(["quantity", "claimed", "exact", "difference", "digits", "verdict",
                              *(["printed at"] if cited else [])], table, right=(1, 2, 3, 4)),
                 "", self.summary() + "."]
        lines += [f"  {line}" for line in self.cause_lines()]
        notes = [r for r in self.rows if r.verdict != "correct"]
        if notes:
            lines += [""] + [f"{r.name} = {r.claimed}{f' ({r.line})' if r.line else ''}: "
                             f"{r.verdict.upper() if r.verdict == 'wrong' else r.verdict}: "
                             f"{r.explanation}" for r in notes]
        return "\n".join(lines + self._unplaced())

    def _unplaced(self) -> list[str]:
        """The numbers a document printed that were not judged, as lines to read."""
        if not self.not_placed:
            return []
        return ["", f"Not placed, so not judged ({len(self.not_placed)}; manual-bp extract lists them too):"] + [
            f"  {where}: {' '.join(formula.split())[:100]}: {why}" for where, formula, why in self.not_placed]

    def markdown(self) -> str:
        """The report in Markdown: the verdict counts, the rule, and every row."""
        ex, net = self.example, self.example.net
        cited = any(r.line for r in self.rows)
        headers = ["quantity", "element", "claimed", "exact", *(["torch"] if self.with_torch else []), "difference",
                   "digits", "verdict", "cause", "explanation", *(["printed at"] if cited else [])]
        rows = [[r.quantity, r.element, r.claimed, f"{r.exact:.10g}", *([f"{r.torch:.10g}"] if self.with_torch else []),
                 f"{r.difference:+.3g}", str(r.digits), f"**{r.verdict}**" if r.verdict == "wrong" else r.verdict,
                 r.root, r.explanation, *([r.line] if cited else [])] for r in self.rows]
        setting = (f"sizes {'-'.join(map(str, net.sizes))}, activations {', '.join(net.activations.values())}, "
                   f"loss {ex.loss} ({ex.reduction} over {ex.batch} example{'s' if ex.batch > 1 else ''}), "
                   f"learning rate {ex.lr if ex.lr is not None else '-'}, biases "
                   f"{', '.join(net.bias_kind(l) for l in net.W)}"
                   f"{'' if ex.update_biases else ' (not updated)'}")
        torch_note = " `torch` is PyTorch autograd's value." if self.with_torch else ""
        parts = [f"# Check of a worked example: {ex.title}",
                 f"`{ex.name}`: {setting}." + (f" Source: {ex.source}." if ex.source else ""),
                 f"**{self.summary()}.**" + "".join(f"\n- {line}" for line in self.cause_lines()),
                 "Each printed number is judged at its own printed digits. *correct*: the exact value (manual_bp, "
                 "float64) rounded half away from zero to those digits is the printed number. *rounding carried*: "
                 "not correct, but the formula fed the example's own earlier printed values gives the printed "
                 "number, allowing for the rounding of those inputs (first order). *wrong*: neither; the "
                 "explanation names the classic mistake it matches, where one does." + torch_note
                 + " `difference` is claimed - exact. Layers are 1-based, element indices 0-based.",
                 markdown_table(headers, rows)]
        if self.not_placed:
            parts.append("**Not placed, so not judged:** numbers the document prints that the reader could not name "
                         "(docs/extract.md)\n\n" + markdown_table(["printed at", "formula", "why"], [
                             [w, " ".join(f.split())[:100], why] for w, f, why in self.not_placed]))
        return "\n\n".join(parts) + "\n"

    def as_json(self) -> dict[str, Any]:
        """The whole judgement as plain values (schema manual-bp/check/1): the example, the counts,
        the top causes and one object per printed number (floats as numbers, NaN and inf as text)."""
        def num(v: float) -> float | str | None:
            return None if math.isnan(v) else (v if math.isfinite(v) else repr(v))

        return {
            "schema": SCHEMA, "example": self.example.name, "title": self.example.title,
            "source": self.example.source, "exit_code": self.exit_code, "counts": self.counts(),
            "causes": [{"root_cause": name, "wrong_values": len(rows), "first_at": next(
                (r.name for r in rows if r.mistakes and r.mistakes[0] == name), rows[0].name)}
                for name, rows in self.causes()],
            "values": [{"key": r.key, "quantity": r.quantity, "element": r.element, "claimed": r.claimed,
                        "digits": r.digits, "exact": num(r.exact), "torch": num(r.torch),
                        "difference": num(r.difference), "recomputed": num(r.recomputed), "verdict": r.verdict,
                        "explanation": r.explanation, "mistakes": list(r.mistakes), "cause": r.cause,
                        "root_cause": r.root, "line": r.line} for r in self.rows],
        }

    def json(self) -> str:
        """as_json() as text."""
        return json.dumps(self.as_json(), indent=1) + "\n"

    def csv(self) -> str:
        """The CSV: one row per printed element, floats at full precision (empty: not computed)."""
        rows = [[None if isinstance(v, float) and math.isnan(v) else v for v in r.as_row().values()]
                for r in self.rows]
        return csv_text(COLUMNS, rows)

    def files(self, stem: str | None = None) -> dict[str, str]:
        """The report files by name: check_<name>.csv and check_<name>.md."""
        stem = stem or f"check_{self.example.name}"
        return {f"{stem}.csv": self.csv(), f"{stem}.md": self.markdown()}

    def write(self, out: str | Path, stem: str | None = None) -> list[Path]:
        """Write check_<name>.csv and check_<name>.md into ``out``, each complete or not at all."""
        return write_files(Path(out), self.files(stem))
