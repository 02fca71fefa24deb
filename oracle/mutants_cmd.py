"""``manual-bp mutants``: run the catalogue of classic mistakes through the project's own check
and write the mutation score to reports/mutation_score.md and reports/mutation_score.csv."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from manual_bp.errors import require
from oracle.cli import count_at_least

if TYPE_CHECKING:  # torch and pandas load only when the command runs, so --help is quick
    import pandas as pd

    from oracle.battery import MutationScore

DEFAULT_RANDOM_CASES = 20  # as oracle.battery.RANDOM_CASES (a test keeps the two equal)

MD_NAME = "mutation_score.md"
CSV_NAME = "mutation_score.csv"


def score_frame(score: MutationScore) -> pd.DataFrame:
    """One row per catalogued mistake."""
    import pandas as pd

    return pd.DataFrame([r.as_row() for r in score.results])


def score_markdown(score: MutationScore, random_cases: int) -> str:
    """The report: the score, how the battery is made, one row per mistake. No timestamps, no
    paths: the same battery writes the same file."""
    df = score_frame(score)
    table = df.assign(**{"cases caught / run": [f"{c} / {r}" for c, r in zip(df["cases caught"], df["cases run"],
                                                                              strict=True)]})
    table = table[["mistake", "equation", "description", "caught", "cases caught / run", "first caught by",
                   "properties that fail"]]
    lines = [
        "# Mutation score: does the check catch classic backprop mistakes?",
        "",
        f"**{score.summary()}.**",
        "",
        "Each mistake of `oracle.mistakes.MISTAKES` is a deliberately wrong copy of the document's algorithm "
        "(one step of Eq. 1-5 done the wrong way). It is run on every case of the battery and its properties "
        "(z, a, sigma', L, dL/da, delta, dL/dW, dL/db, W', b') are compared with torch autograd under the "
        "project's tolerance policy, exactly as `manual-bp` checks manual_bp itself. A mistake is caught when "
        "at least one record fails. Shape-dependent mistakes (W^(l) for W^(l+1), the missing transpose, "
        "a^(l) for a^(l-1), dL/dW transposed) only run on cases whose layers are square.",
        "",
        f"Battery: the document's 2-2-1 example, {len(score.cases) - 1 - random_cases} hand-picked cases "
        f"(square layers, batch of one and m >= 2, mean and sum, softmax with half_sse and mse, bce, "
        f"cross-entropy, shared and absent biases) and {random_cases} seeded random networks "
        "(oracle.battery.RANDOM_SPEC).",
        "",
        "Regenerate with `manual-bp mutants`.",
        "",
        table.to_markdown(index=False),
        "",
        "## Cases",
        "",
        ", ".join(f"`{c}`" for c in score.cases),
        "",
    ]
    return "\n".join(lines)


def write_reports(out: Path, random_cases: int = DEFAULT_RANDOM_CASES) -> MutationScore:
    """Compute the score and write mutation_score.md and .csv into ``out``."""
    from oracle.battery import battery_cases, mutation_score

    score = mutation_score(battery_cases(random_cases))
    out.mkdir(parents=True, exist_ok=True)
    score_frame(score).to_csv(out / CSV_NAME, index=False, lineterminator="\n")
    (out / MD_NAME).write_text(score_markdown(score, random_cases), encoding="utf-8")
    return score


def run(args: argparse.Namespace) -> int:
    """Exit 0 when every mistake is caught and the correct implementation passes, else 1."""
    out = Path(args.out)
    require(not out.exists() or out.is_dir(), f"--out: expected a directory, got the file {out}")
    score = write_reports(out, args.random_cases)
    print(score.summary())
    for r in score.results:
        if not r.caught:
            print(f"NOT CAUGHT: {r.name} ({r.equation}): {r.description}", file=sys.stderr)
    for rec in score.baseline_failures[:5]:
        print(f"correct implementation fails: {rec.message()}", file=sys.stderr)
    print(f"wrote {out / MD_NAME} and {out / CSV_NAME}")
    ok = score.caught == score.total and not score.baseline_failures
    return 0 if ok else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``manual-bp mutants``."""
    p = subparsers.add_parser("mutants", help="run the catalogue of classic backprop mistakes through the check "
                              "and write the mutation score",
                              description="Run every catalogued backprop mistake (oracle.mistakes) through the "
                              "project's own check against torch autograd and write reports/mutation_score.md "
                              "and .csv. Exit 0 when every mistake is caught and the correct implementation "
                              "passes, 1 otherwise.")
    p.add_argument("--out", default="reports", help="output directory (default: reports)")
    p.add_argument("--random-cases", type=count_at_least(0), default=DEFAULT_RANDOM_CASES,
                   help=f"seeded random networks in the battery (default: {DEFAULT_RANDOM_CASES})")
    p.set_defaults(run=run)
