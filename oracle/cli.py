"""The ``manual-bp`` command. Each subcommand lives in its own module, which provides
``register(subparsers)`` and sets ``run`` (a function of the parsed args returning an exit
code) as the parser's default.

Exit codes: 0 everything passed, 1 a discrepancy (or a wrong value) was found, 2 bad usage or
bad input -- always one clear line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from manual_bp.errors import InputError

# Modules that each add one or more subcommands, in the order --help lists them.
COMMAND_MODULES: tuple[str, ...] = ("oracle.commands", "oracle.mutants_cmd", "oracle.grade_cmd", "oracle.check_cmd",
                                   "oracle.bench")


def count_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer >= minimum, else ArgumentTypeError (one line, exit 2)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}")
        return value

    parse.__name__ = "count"
    return parse


def name_list(known: Sequence[str], what: str) -> Callable[[str], tuple[str, ...]]:
    """An argparse type: a comma-separated list of names, each one of ``known``."""

    def parse(text: str) -> tuple[str, ...]:
        names = tuple(n.strip() for n in text.split(",") if n.strip())
        if not names:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {what}s, got {text!r}")
        for n in names:
            if n not in known:
                raise argparse.ArgumentTypeError(f"unknown {what} {n!r}; known: {', '.join(known)}")
        return names

    parse.__name__ = what
    return parse


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the option, then exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    parser = OneLineParser(prog="manual-bp", description="Hand-coded backpropagation, cross-checked against "
                           "PyTorch autograd and finite differences.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


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
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.run(args))
    except InputError as exc:
        print(f"manual-bp {args.command}: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`manual-bp example | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the final flush cannot fail
        return 1
    except KeyboardInterrupt:
        print(f"manual-bp {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
