"""The argument types every subcommand shares: each rejects a bad value with one line
(argparse's ArgumentTypeError), which the parser prints with exit code 2."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


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


def parse_range(text: str) -> tuple[int, int]:
    """'2-5' -> (2, 5), '3' -> (3, 3); both ends integers with 1 <= LO <= HI."""
    lo_text, sep, hi_text = text.partition("-")
    try:
        lo = int(lo_text)
        hi = int(hi_text) if sep else lo
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LO-HI (two integers, e.g. 1-6), got {text!r}") from None
    if not 1 <= lo <= hi:
        raise argparse.ArgumentTypeError(f"expected LO-HI with 1 <= LO <= HI, got {text!r}")
    return lo, hi


def _path_type(check: Callable[[str, str], Path], option: str) -> Callable[[str], Path]:
    """An argparse type running one of oracle.files' path checks when the arguments are parsed."""

    def parse(text: str) -> Path:
        from manual_bp.errors import InputError

        try:
            return check(option, text)
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix(f"{option}: ")) from None

    parse.__name__ = "path"
    return parse


def out_dir(option: str = "--out") -> Callable[[str], Path]:
    """An argparse type: a directory to write into (it may not exist yet), checked before any work."""
    from oracle.files import out_dir as check

    return _path_type(check, option)


def out_file(option: str) -> Callable[[str], Path]:
    """An argparse type: a file to write (absent or a regular file), checked before any work."""
    from oracle.files import out_file as check

    return _path_type(check, option)


def writing(option: str, path: str | Path, write: Callable[[], T]) -> T:
    """Run ``write`` (which writes the output of ``option`` at ``path``); a path that cannot be
    written after all (a full disk) is one line naming the option (InputError), not a traceback."""
    from manual_bp.errors import InputError

    try:
        return write()
    except OSError as exc:
        raise InputError(f"{option}: cannot write {str(path)!r}: {exc.strerror or exc}") from None


def write_output(option: str, path: str | Path, text: str) -> Path:
    """Write a command's output file whole or not at all (oracle.files.write_atomically)."""
    from oracle.files import write_atomically

    return writing(option, path, lambda: write_atomically(Path(path), text))
