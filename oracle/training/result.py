"""What a training check returns: one StepResult per optimizer.step(), with its Records (the
same as every other comparison of the project), the loop bugs it explains and what could not
be checked; and the report, a verdict line and a table per step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from oracle.compare.records import Record
from oracle.text import markdown_table


@dataclass
class StepResult:
    """One optimizer.step() against manual_bp: ``records`` (loss, dL/dW^(l), dL/db^(l), W'^(l),
    b'^(l)), ``explanations`` (one line per loop bug recognised), ``problems`` (what could not
    be checked, and why), ``notes`` (what the check did that is worth knowing), ``optimizer``
    (manual_bp's optimizer as it stands after the step: ``optimizer.state.step``,
    ``optimizer.state["exp_avg"].W[1]``, started from torch's state before the step)."""

    index: int
    records: list[Record]
    explanations: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    about: str = ""
    notes: list[str] = field(default_factory=list)  # what the check did that the reader should know
    optimizer: Any = None  # manual_bp's optimizer after its step: .state is its state after this step

    @property
    def passed(self) -> bool:
        """Every quantity was compared and agrees with manual_bp."""
        clean = not self.problems and not self.explanations
        return bool(self.records) and clean and all(r.passed for r in self.records)

    @property
    def failures(self) -> list[Record]:
        return [r for r in self.records if not r.passed]

    def table(self) -> str:
        """One row per quantity: symbol, equation, greatest errors, what the rule allows, passed."""
        return markdown_table(["symbol", "equation", "max abs err", "max rel err", "allowed", "passed"],
                              [[r.symbol, r.equation, f"{r.max_abs_err:.2e}", f"{r.max_rel_err:.2e}",
                                f"{r.allowed_abs_err:.2e}", r.passed] for r in self.records])

    def verdict(self) -> str:
        agree = sum(r.passed for r in self.records)
        head = f"step {self.index}: {agree}/{len(self.records)} quantities agree with manual_bp"
        return head + ("" if self.passed else " (FAILED)")

    def report(self, detail: bool = True) -> str:
        """The verdict, the problems and explanations (one line each), and with ``detail`` the
        table and each failure's message."""
        lines = [self.verdict() if not self.about else f"{self.about}\n{self.verdict()}"]
        lines += [f"  cannot check: {p.removeprefix('cannot check this step: ')}" for p in self.problems]
        lines += [f"  explained: {e}" for e in self.explanations]
        lines += [f"  note: {n}" for n in self.notes]
        if self.records and detail:
            lines += ["", self.table()]
            lines += ["", *(r.message() for r in self.failures)] if self.failures else []
        return "\n".join(lines)


def report(steps: list[StepResult], about: str) -> str:
    """A whole watch: a verdict over the steps, then one line per step (with its explanations);
    the first failing step also with its table and failure messages."""
    if not steps:
        return f"{about}\nno optimizer.step() ran inside the with block: nothing was checked"
    agree = sum(s.passed for s in steps)
    first = next((s for s in steps if not s.passed), None)
    head = f"{about}\n{agree} of {len(steps)} optimizer step(s) agree with manual_bp"
    return "\n\n".join([head, *(s.report(detail=s is first) for s in steps)])
