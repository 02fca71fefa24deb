"""The ``manual-bp`` command: one module per group of subcommands, each with
``register(subparsers)``, which sets ``run`` (a function of the parsed args returning an exit
code) as its parser's default.

Exit codes: 0 everything passed, 1 a discrepancy (or a wrong value) was found, 2 bad usage or
bad input -- always one clear line on stderr, never a traceback; 3 an internal error (a bug in
manual-bp: one line too, the traceback only with MANUAL_BP_TRACEBACK=1); 130 interrupted.
Only what a command needs is imported when it runs: --help and usage errors never load torch,
pandas or matplotlib.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from manual_bp.errors import InputError
from oracle.cli import extract_cmd, grade_cmd, mutants_cmd, report_cmd, worked_cmd

COMMANDS = (report_cmd, mutants_cmd, grade_cmd, worked_cmd, extract_cmd)  # in the order --help lists them
TRACEBACK_VARIABLE = "MANUAL_BP_TRACEBACK"  # set to see the traceback of an internal error
EXTRAS = ("torch", "pandas", "matplotlib")  # the [oracle] extra: what a command may need beyond numpy


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the option, then exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand."""
    parser = OneLineParser(prog="manual-bp", description="Hand-coded backpropagation, cross-checked against "
                           "PyTorch autograd and finite differences.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for module in COMMANDS:
        module.register(sub)
    return parser


def sub_names(parser: argparse.ArgumentParser) -> list[str]:
    """The subcommands' names, in the order --help lists them."""
    return [name for action in parser._actions if isinstance(action, argparse._SubParsersAction)
            for name in action.choices]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 pass, 1 discrepancy, 2 bad input)."""
    parser = build_parser()
    try:
        args, unknown = parser.parse_known_args(argv)
    except SystemExit as exc:  # argparse exits on --help (0) and usage errors (2)
        return int(exc.code or 0)
    if unknown:  # name the subcommand the stray option was given to, not just "manual-bp"
        prog = f"manual-bp {args.command}" if args.command else "manual-bp"
        print(f"{prog}: error: unrecognized arguments: {' '.join(unknown)} (see {prog} --help)", file=sys.stderr)
        return 2
    if getattr(args, "run", None) is None:
        names = ", ".join(sub_names(parser))
        print(f"manual-bp: error: a COMMAND is required, one of {names} (see manual-bp --help)", file=sys.stderr)
        return 2
    try:
        return int(args.run(args))
    except InputError as exc:
        print(f"manual-bp {args.command}: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        if exc.name not in EXTRAS:
            raise
        print(f"manual-bp {args.command}: needs {exc.name}, which is not installed; install the oracle's "
              f"dependencies with: pip install 'manual-bp[oracle]'", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`manual-bp example | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the final flush cannot fail
        return 1
    except KeyboardInterrupt:
        print(f"manual-bp {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug in manual-bp, not in the input: still one line, and its own code
        if os.environ.get(TRACEBACK_VARIABLE):
            raise
        detail = str(exc).splitlines()[0] if str(exc) else ""
        print(f"manual-bp {args.command}: internal error, a bug in manual-bp ({type(exc).__name__}"
              f"{': ' + detail[:200] if detail else ''}); please report it with the command line "
              f"({TRACEBACK_VARIABLE}=1 shows where it happened)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
