"""``manual-bp report``, ``manual-bp example`` and ``manual-bp sweep``: run the checks, print a
summary, write the tables of oracle.report.

Exit codes (as every manual-bp command): 0 every check passed, 1 a discrepancy between
manual_bp and a reference, 2 bad usage or bad input (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from manual_bp import Backprop
from manual_bp.activations import ACTIVATIONS
from manual_bp.errors import InputError
from manual_bp.losses import LOSSES
from oracle.cli.args import count_at_least, name_list, out_dir, parse_range, writing

if TYPE_CHECKING:  # torch and pandas load only when a command runs, so --help and usage errors are quick
    import pandas as pd

    from oracle.compare.records import Record

DEFAULT_NETWORKS = 100  # per dtype; with finite differences on all of them the report takes ~10 s on 2 cores
DEFAULT_FD_NETWORKS = 100  # per dtype: finite differences on the first 100 networks of each sweep
DEFAULT_OUT = "reports"
FORMATS = ("csv", "md", "json", "png")
PLAIN_PROGRESS_FROM = 1000  # without a terminal, a plain progress line every 10% from this many networks


# ---------------------------------------------------------------------------------------------
# Argument types: each raises ArgumentTypeError, which OneLineParser prints as one line.


def _span(lo_hi: tuple[int, int]) -> str:
    return f"{lo_hi[0]}-{lo_hi[1]}"


# ---------------------------------------------------------------------------------------------
# Progress and summaries


class Progress:
    """A hand-written progress bar on stderr: redrawn with \\r on a terminal; without one, a
    plain line every 10% for long runs (at least PLAIN_PROGRESS_FROM networks), else silent."""

    def __init__(self, total: int, stream: IO[str] | None = None) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.plain = not self.tty and total >= PLAIN_PROGRESS_FROM
        self.start = time.perf_counter()
        self.first: float | None = None  # seconds when the first network was done
        self.last_tenth = 0

    def __call__(self, done: int, total: int) -> None:
        if self.first is None:
            self.first = time.perf_counter() - self.start
        rate = done / max(time.perf_counter() - self.start, 1e-9)
        if self.tty:
            width = 30
            filled = width * done // max(total, 1)
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} networks, {rate:.0f}/s")
            if done == total:
                self.stream.write("\n")
            self.stream.flush()
        elif self.plain and (10 * done // max(total, 1) > self.last_tenth):
            self.last_tenth = 10 * done // max(total, 1)
            self.stream.write(f"{done}/{total} networks checked ({rate:.0f}/s)\n")
            self.stream.flush()


def _group_lines(df: pd.DataFrame) -> list[str]:
    """One line per reference and dtype: checks, failures, worst share of the tolerance."""
    from oracle.references.numeric import FD_REFERENCE
    from oracle.report.tables import REFERENCE_ORDER, share_of_tolerance

    lines = []
    groups = sorted(df.groupby(["reference", "dtype"], sort=False),
                    key=lambda item: REFERENCE_ORDER.index(item[0]) if item[0] in REFERENCE_ORDER else 99)
    for (reference, dtype), g in groups:
        used = share_of_tolerance(g["max_abs_err"], g["allowed_abs_err"]).max()
        fails = int((~g["passed"]).sum())
        what = "finite differences" if reference == FD_REFERENCE else f"torch autograd ({reference})"
        worst = f"worst error {used:.3g} of its tolerance" if np.isfinite(used) else \
            "worst error above a tolerance of 0"
        lines.append(f"  {dtype} manual_bp vs {what}: {g['case'].nunique()} cases, {len(g)} checks, "
                     f"{fails} failed; {worst}")
    return lines


def throughput_line(total: int, seconds: float, first: float | None) -> str:
    """'throughput: N networks in T s, R networks/s', and the rate after the first network,
    which also pays torch's one-off start-up (its first optimizer imports torch._dynamo)."""
    line = f"throughput: {total} networks in {seconds:.2f} s, {total / max(seconds, 1e-9):.1f} networks/s"
    if first is not None and total > 1 and seconds > first:
        line += (f" ({first:.2f} s for the first, with torch's one-off start-up; "
                 f"{(total - 1) / (seconds - first):.1f} networks/s after it)")
    return line


def print_summary(records: Sequence[Record], written: Sequence[Path], out: IO[str] | None = None) -> int:
    """The terminal summary; returns the exit code (0 all passed, 1 a discrepancy)."""
    from oracle.report.tables import records_frame

    out = out if out is not None else sys.stdout
    df = records_frame(records)
    failed = [r for r in records if not r.passed]
    for line in _group_lines(df):
        print(line, file=out)
    if written:
        print("wrote " + ", ".join(str(p) for p in written), file=out)
    if not failed:
        print(f"All {len(records)} checks passed.", file=out)
        return 0
    print(f"{len(failed)} of {len(records)} checks FAILED in {len({r.case for r in failed})} cases; the worst:",
          file=out)
    worst = sorted(failed, key=lambda r: -(r.max_abs_err / r.allowed_abs_err if r.allowed_abs_err > 0
                                           else float("inf")))
    for r in worst[:3]:
        print("  " + r.message(), file=out)
    return 1


def _prepare_out(out: Path) -> None:
    """Create --out before any work, so an unwritable directory fails at once, with exit code 2."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out: cannot create the directory {str(out)!r}: {exc.strerror or exc}") from None


def _write(out: Path, *args: Any, **kwargs: Any) -> list[Path]:
    from oracle.report.write import write_report

    return writing("--out", out, lambda: write_report(out, *args, **kwargs))


# ---------------------------------------------------------------------------------------------
# The subcommands


def run_report(args: argparse.Namespace) -> int:
    """The 2-2-1 example and a seeded sweep in float64 and float32, with finite differences."""
    return report(args.out, args.networks, args.seed)


def report(out: Path, n: int = DEFAULT_NETWORKS, seed: int = 0, algorithm: Backprop | None = None) -> int:
    """``manual-bp report`` from Python; ``algorithm`` (a Backprop subclass) is checked instead of
    manual_bp's public functions. Returns the exit code."""
    from oracle.report.run import run_checks, versions

    _prepare_out(out)
    t0 = time.perf_counter()
    fd = min(n, DEFAULT_FD_NETWORKS)
    print(f"manual-bp report: the document's 2-2-1 example and {n} random networks per dtype (float64, float32), "
          f"seeds {seed}..{seed + n - 1}; finite differences on the example and {fd} networks per dtype")
    run = run_checks(n, seed, ("float64", "float32"), fd, progress=Progress(2 * n), algorithm=algorithm)
    metadata = {"command": f"manual-bp report --networks {n} --seed {seed}", **run.metadata,
                "sweep": "oracle.cases.SweepSpec() defaults: depth 1-6, width 1-16, batch 1-8, every activation, "
                         "loss and reduction", **versions()}
    t_write = time.perf_counter()
    written = _write(out, run.records, run.example, metadata)
    t_write = time.perf_counter() - t_write
    example = run.example
    code = print_summary(run.records, written)
    matches = int(example["matches_at_printed_digits"].sum())
    print(f"2-2-1 example: {matches} of {len(example)} printed numbers equal the exact value rounded to their "
          "printed digits (see example_2-2-1.md)")
    sweep_s = sum(v for k, v in run.seconds.items() if k.startswith("sweep"))
    fd_s = sum(v for k, v in run.seconds.items() if k.startswith("finite"))
    print(f"time: {time.perf_counter() - t0:.1f} s: the example {run.seconds['example']:.1f} s (with torch's "
          f"one-off start-up), {2 * n} networks against torch {sweep_s:.1f} s ({2 * n / max(sweep_s, 1e-9):.0f} "
          f"networks/s), finite differences {fd_s:.1f} s, tables and picture {t_write:.1f} s")
    return code


def run_example(args: argparse.Namespace) -> int:
    """The document's 2-2-1 example, element by element, on the terminal."""
    from oracle.cases import document_case
    from oracle.compare.cross_check import cross_check
    from oracle.report.example import example_markdown, example_table
    from oracle.report.run import fd_records

    example = example_table()
    if args.csv:
        example.to_csv(sys.stdout, index=False, lineterminator="\n")
    else:
        print(example_markdown(example))
    case = document_case()
    records = cross_check(case) + fd_records(case)[0]
    failed = [r for r in records if not r.passed]
    matches = int(example["matches_at_printed_digits"].sum())
    out = sys.stderr if args.csv else sys.stdout
    print(f"\n{matches} of {len(example)} printed numbers equal the exact value rounded half-up to their printed "
          "digits.", file=out)
    if failed:
        print(f"{len(failed)} of {len(records)} checks against torch and finite differences FAILED:", file=out)
        for r in failed[:3]:
            print("  " + r.message(), file=out)
        return 1
    print(f"manual_bp agrees with torch autograd and finite differences on all {len(records)} checks.", file=out)
    return 0


def run_sweep_command(args: argparse.Namespace) -> int:
    """A seeded sweep of random networks with the given ranges; tables when --out is given."""
    from oracle.cases import SweepSpec
    from oracle.compare.cross_check import run_sweep
    from oracle.report.run import versions

    if args.out is not None:
        _prepare_out(args.out)
    dtypes = ("float64", "float32") if args.dtype == "both" else (args.dtype,)
    spec = SweepSpec(depth=args.depth, width=args.width, batch=args.batch, activations=args.activations,
                     losses=args.losses)
    n = args.networks
    print(f"manual-bp sweep: {n} random networks per dtype ({', '.join(dtypes)}), "
          f"seeds {args.seed}..{args.seed + n - 1}", flush=True)
    t0 = time.perf_counter()
    records: list[Record] = []
    progress = Progress(n * len(dtypes))
    for k, dtype in enumerate(dtypes):
        records += run_sweep(n, args.seed, replace(spec, dtype=dtype),
                             progress=lambda done, _n, offset=k * n: progress(offset + done, n * len(dtypes)))
    seconds = time.perf_counter() - t0
    command = (f"manual-bp sweep --networks {n} --seed {args.seed} --dtype {args.dtype} --depth {_span(args.depth)} "
               f"--width {_span(args.width)} --batch {_span(args.batch)} --activations {','.join(args.activations)} "
               f"--losses {','.join(args.losses)}")
    written: list[Path] = []
    if args.out is not None:
        metadata = {"command": command, "seed": args.seed, "networks per dtype": n, "dtypes": ", ".join(dtypes),
                    **versions()}
        written = _write(args.out, records, None, metadata, formats=args.format)
    code = print_summary(records, written)
    print(throughput_line(n * len(dtypes), seconds, progress.first))
    return code


def register(subparsers: Any) -> None:
    """Add the report, example and sweep subcommands."""
    _register_report(subparsers)
    _register_example(subparsers)
    _register_sweep(subparsers)


def _register_report(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "report", help="the main job: the 2-2-1 example and a seeded sweep, every table and the picture",
        description="Check the document's 2-2-1 example and N seeded random networks in float64 and N in float32 "
                    "against PyTorch autograd (and, for the example and the first networks of each sweep, against "
                    "finite differences); write report.md, checks.csv, failures_worst.csv, example_2-2-1.csv/.md "
                    "and errors.png into --out. Exit 0 when every check passes, 1 on any discrepancy, 2 on bad "
                    "usage.")
    p.add_argument("--out", type=out_dir(), default=Path(DEFAULT_OUT), metavar="DIR",
                   help=f"directory for the tables and the picture (default: {DEFAULT_OUT})")
    p.add_argument("--networks", type=count_at_least(0), default=DEFAULT_NETWORKS, metavar="N",
                   help=f"random networks per dtype (default: {DEFAULT_NETWORKS})")
    p.add_argument("--seed", type=count_at_least(0), default=0, metavar="S",
                   help="seed of the first random network; network i has seed S + i (default: 0)")
    p.set_defaults(run=run_report)


def _register_example(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "example", help="the document's 2-2-1 example as a table on the terminal",
        description="Print every number the document's 2-2-1 example prints, next to manual_bp's exact value, "
                    "torch autograd's, the finite-difference value (for dL/dW, dL/db, delta) and whether the "
                    "printed digits are the exact value's. Exit 1 when manual_bp disagrees with torch or finite "
                    "differences.")
    p.add_argument("--csv", action="store_true", help="print the full-precision CSV instead of the Markdown table")
    p.set_defaults(run=run_example)


def _register_sweep(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "sweep", help="check many seeded random networks against torch autograd",
        description="Check N seeded random networks (network i has seed S + i) against PyTorch autograd; print a "
                    "summary with the throughput, and write tables with --out. Ranges are LO-HI, inclusive. Exit "
                    "0 when every check passes, 1 on any discrepancy, 2 on bad usage.")
    p.add_argument("--networks", type=count_at_least(1), default=100, metavar="N",
                   help="networks per dtype (default: 100)")
    p.add_argument("--seed", type=count_at_least(0), default=0, metavar="S",
                   help="seed of the first network (default: 0)")
    p.add_argument("--dtype", choices=("float64", "float32", "both"), default="float64",
                   help="float64, float32 or both (default: float64)")
    p.add_argument("--depth", type=parse_range, default=(1, 6), metavar="LO-HI",
                   help="number of layers L (default: 1-6)")
    p.add_argument("--width", type=parse_range, default=(1, 16), metavar="LO-HI",
                   help="units per layer, input and output included (default: 1-16)")
    p.add_argument("--batch", type=parse_range, default=(1, 8), metavar="LO-HI",
                   help="examples per batch m (default: 1-8)")
    p.add_argument("--activations", type=name_list(tuple(ACTIVATIONS), "activation"), default=tuple(ACTIVATIONS),
                   metavar="a,b", help=f"activations to draw from (default: all: {','.join(ACTIVATIONS)})")
    p.add_argument("--losses", type=name_list(tuple(LOSSES), "loss"), default=tuple(LOSSES), metavar="a,b",
                   help=f"losses to draw from (default: all: {','.join(LOSSES)})")
    p.add_argument("--out", type=out_dir(), default=None, metavar="DIR",
                   help="write the tables into DIR (default: only the summary on the terminal)")
    p.add_argument("--format", type=name_list(FORMATS, "format"), default=("csv", "md"), metavar="csv,md,json,png",
                   help="what to write into --out: csv (checks.csv, failures_worst.csv), md (report.md), json "
                        "(checks.json), png (errors.png) (default: csv,md)")
    p.set_defaults(run=run_sweep_command)

