"""``manual-bp mutants``: run the catalogue of classic mistakes through the project's own check
and write the mutation score to reports/mutation_score.md and reports/mutation_score.csv."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from oracle.cli.args import count_at_least, out_dir, writing

DEFAULT_RANDOM_CASES = 20  # as oracle.mistakes.score.RANDOM_CASES (a test keeps the two equal)


def run(args: argparse.Namespace) -> int:
    """Exit 0 when every mistake is caught and the correct implementation passes, else 1."""
    from oracle.mistakes.score import CSV_NAME, MD_NAME, write_score

    out = Path(args.out)
    score = writing("--out", out, lambda: write_score(out, args.random_cases))
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
    p.add_argument("--out", type=out_dir(), default=Path("reports"), metavar="DIR",
                   help="output directory (default: reports)")
    p.add_argument("--random-cases", type=count_at_least(0), default=DEFAULT_RANDOM_CASES,
                   help=f"seeded random networks in the battery (default: {DEFAULT_RANDOM_CASES})")
    p.set_defaults(run=run)
