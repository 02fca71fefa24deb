"""The mutation score: does the project's own check catch every catalogued mistake?

The battery is the check the project runs on itself (oracle.compare.compare_properties of a
case's properties against torch autograd, oracle.references.autograd.torch_properties, under the
tolerance policy oracle.compare.tolerance.policy_for) applied to a fixed set of cases:

* the document's 2-2-1 example (oracle.cases.document_case);
* hand-picked shapes that give every shape-dependent mistake a chance to run and show:
  square layers (W^(l) instead of W^(l+1), the missing transpose, a^(l) instead of
  a^(l-1) and a transposed dL/dW^(l) only run where n_(l-1) = n_l = n_(l+1)), a batch of
  one and batches of m >= 2 (the bias gradient's sum over the batch), mean and sum
  reductions, a softmax output with half_sse and mse (softmax treated as elementwise),
  bce and cross-entropy, shared and absent biases;
* seeded random networks (oracle.cases.random_case with a small SweepSpec).

Each mistake of oracle.mistakes.MISTAKES is *caught* when at least one record of at least one
case fails; a mistake whose code cannot run on a case's shapes is simply not run there.
The correct algorithm must pass the same battery, or "caught" would mean nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oracle import notation
from oracle.cases import Case, SweepSpec, document_case, hand_case, random_case
from oracle.compare.records import Record, compare_properties, manual_properties
from oracle.compare.tolerance import policy_for
from oracle.files import write_files
from oracle.mistakes.catalogue import CORRECT, MISTAKES, Mistake, NotApplicableError
from oracle.references.autograd import torch_properties
from oracle.text import csv_text, markdown_table

RANDOM_SPEC = SweepSpec(depth=(1, 4), width=(1, 6), batch=(1, 4))
RANDOM_CASES = 20


def hand_picked_cases() -> list[Case]:
    """Shapes chosen so that every catalogued mistake can run and show somewhere."""
    return [
        hand_case("square-3-3-3-3-batch3-mean", [3, 3, 3, 3], ["sigmoid", "tanh", "sigmoid"], "half_sse", "mean",
                   3, 11),
        hand_case("square-3-3-3-3-single-sum", [3, 3, 3, 3], ["tanh", "sigmoid", "tanh"], "sse", "sum", None, 12),
        hand_case("square-4-4-4-batch1-mean", [4, 4, 4], ["elu", "sigmoid"], "mse", "mean", 1, 13),
        hand_case("square-3-3-3-batch2-shared-bias", [3, 3, 3], ["gelu", "silu"], "half_sse", "sum", 2, 14,
                   bias="shared"),
        hand_case("square-3-3-3-batch4-no-bias", [3, 3, 3], ["softplus", "leaky_relu"], "half_sse", "mean", 4, 15,
                   bias="none"),
        hand_case("softmax-half_sse-3-4-3-batch2", [3, 4, 3], ["tanh", "softmax"], "half_sse", "mean", 2, 16),
        hand_case("softmax-mse-4-4-4-batch3-sum", [4, 4, 4], ["sigmoid", "softmax"], "mse", "sum", 3, 17),
        hand_case("bce-3-3-2-batch4", [3, 3, 2], ["tanh", "sigmoid"], "bce", "mean", 4, 18),
        hand_case("cross_entropy-4-5-3-batch4", [4, 5, 3], ["relu", "softmax"], "cross_entropy", "mean", 4, 19),
    ]


def battery_cases(random_cases: int = RANDOM_CASES) -> list[Case]:
    """The document's example, the hand-picked shapes and ``random_cases`` seeded random networks."""
    return [document_case(), *hand_picked_cases(), *(random_case(seed, RANDOM_SPEC) for seed in range(random_cases))]


def check_properties(case: Case, properties: dict[str, Any], reference: dict[str, Any]) -> list[Record]:
    """The project's own check: every property against torch autograd under the tolerance policy."""
    return compare_properties(case, properties, reference, "torch", policy_for(case.net.dtype))


def _reference(case: Case) -> dict[str, Any]:
    return torch_properties(case.net, case.x, case.y, case.loss, case.reduction, case.lr, case.update_biases)


@dataclass
class MutantResult:
    """How the battery fared against one mistake."""

    name: str
    description: str
    equation: str
    cases_run: int = 0
    cases_not_applicable: int = 0
    cases_caught: int = 0
    records_failed: int = 0
    first_catch: str = ""  # "case: symbol" of the first failing record
    caught_in: list[str] = field(default_factory=list)  # the properties that failed, in report order

    @property
    def caught(self) -> bool:
        """At least one record of at least one case failed."""
        return self.cases_caught > 0

    def as_row(self) -> dict[str, Any]:
        """One table row."""
        return {
            "mistake": self.name,
            "equation": self.equation,
            "description": self.description,
            "caught": "yes" if self.caught else "NO",
            "cases run": self.cases_run,
            "cases caught": self.cases_caught,
            "not applicable": self.cases_not_applicable,
            "failed records": self.records_failed,
            "first caught by": self.first_catch,
            "properties that fail": ", ".join(self.caught_in),
        }


@dataclass
class MutationScore:
    """Every mistake's result, and the correct algorithms' failures on the same battery (none expected)."""

    results: list[MutantResult]
    cases: list[str]
    baseline_failures: list[Record]

    @property
    def caught(self) -> int:
        """How many mistakes the battery catches."""
        return sum(r.caught for r in self.results)

    @property
    def total(self) -> int:
        """How many mistakes the catalogue holds."""
        return len(self.results)

    def summary(self) -> str:
        """One line: the score, and whether the correct implementations pass."""
        base = "passes" if not self.baseline_failures else f"FAILS ({len(self.baseline_failures)} records)"
        return (f"mutation score: {self.caught}/{self.total} catalogued mistakes caught "
                f"({100.0 * self.caught / max(self.total, 1):.0f}%) on {len(self.cases)} cases; "
                f"the correct implementation {base}")


def _score_one(mistake: Mistake, cases: list[Case], references: list[dict[str, Any]]) -> MutantResult:
    result = MutantResult(mistake.name, mistake.description, mistake.equation)
    failed_props: set[str] = set()
    for case, ref in zip(cases, references, strict=True):
        try:
            props = mistake.run(case)
        except NotApplicableError:
            result.cases_not_applicable += 1
            continue
        result.cases_run += 1
        failed = [r for r in check_properties(case, props, ref) if not r.passed]
        if failed:
            result.cases_caught += 1
            result.records_failed += len(failed)
            failed_props.update(r.property for r in failed)
            if not result.first_catch:
                first = min(failed, key=lambda r: notation.computation_order(r.property, r.layer))
                result.first_catch = f"{case.case_id}: {first.symbol}"
    result.caught_in = [notation.short(p) for p in notation.PROPERTIES if p in failed_props]
    return result


def mutation_score(cases: list[Case] | None = None, mistakes: dict[str, Mistake] | None = None) -> MutationScore:
    """Run every catalogued mistake through the battery; also the correct implementations
    (manual_bp itself and the catalogue's own correct baseline), which must pass it."""
    cases = battery_cases() if cases is None else cases
    mistakes = MISTAKES if mistakes is None else mistakes
    references = [_reference(case) for case in cases]
    baseline: list[Record] = []
    for case, ref in zip(cases, references, strict=True):
        for props in (manual_properties(case), CORRECT.run(case)):
            baseline += [r for r in check_properties(case, props, ref) if not r.passed]
    results = [_score_one(m, cases, references) for m in mistakes.values()]
    return MutationScore(results, [c.case_id for c in cases], baseline)


# ---------------------------------------------------------------------------------------------
# The written score

MD_NAME = "mutation_score.md"
CSV_NAME = "mutation_score.csv"


def score_markdown(score: MutationScore, random_cases: int) -> str:
    """The report: the score, how the battery is made, one row per mistake. No timestamps, no
    paths: the same battery writes the same file."""
    headers = ["mistake", "equation", "description", "caught", "cases caught / run", "first caught by",
               "properties that fail"]
    rows = [[r.name, r.equation, r.description, "yes" if r.caught else "NO", f"{r.cases_caught} / {r.cases_run}",
             r.first_catch, ", ".join(r.caught_in)] for r in score.results]
    lines = [
        "# Mutation score: does the check catch classic backprop mistakes?",
        "",
        f"**{score.summary()}.**",
        "",
        "Each mistake of `oracle.mistakes.MISTAKES` is manual_bp's own algorithm with one step of Eq. 1-5 "
        "done the wrong way. It is run on every case of the battery and its properties "
        "(z, a, sigma', L, dL/da, delta, dL/dW, dL/db, W', b') are compared with torch autograd under the "
        "project's tolerance policy, exactly as `manual-bp` checks manual_bp itself. A mistake is caught when "
        "at least one record fails. Shape-dependent mistakes (W^(l) for W^(l+1), the missing transpose, "
        "a^(l) for a^(l-1), dL/dW transposed) only run on cases whose layers are square.",
        "",
        f"Battery: the document's 2-2-1 example, {len(score.cases) - 1 - random_cases} hand-picked cases "
        f"(square layers, batch of one and m >= 2, mean and sum, softmax with half_sse and mse, bce, "
        f"cross-entropy, shared and absent biases) and {random_cases} seeded random networks "
        "(oracle.mistakes.score.RANDOM_SPEC).",
        "",
        "Regenerate with `manual-bp mutants`.",
        "",
        markdown_table(headers, rows),
        "",
        "## Cases",
        "",
        ", ".join(f"`{c}`" for c in score.cases),
        "",
    ]
    return "\n".join(lines)


def score_csv(score: MutationScore) -> str:
    """mutation_score.csv: one row per mistake, every field of MutantResult.as_row."""
    rows = [r.as_row() for r in score.results]
    return csv_text(list(rows[0]), [list(r.values()) for r in rows])


def write_score(out: Path, random_cases: int = RANDOM_CASES) -> MutationScore:
    """Compute the score and write mutation_score.md and .csv into ``out``."""
    score = mutation_score(battery_cases(random_cases))
    write_files(out, {CSV_NAME: score_csv(score), MD_NAME: score_markdown(score, random_cases)})
    return score
