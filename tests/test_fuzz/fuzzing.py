"""What the fuzz tests share: strict warnings, a time limit, the CLI run in-process, folder snapshots, counters."""

from __future__ import annotations

import contextlib
import io
import re
import signal
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

HANG_LIMIT_S = 10.0  # no single generated input may run longer than this (SIGALRM, on the main thread)
SLOW_HANG_LIMIT_S = 60.0  # the slow tier's limit: it also runs the grade, report and mutants commands

# How many inputs each tier ran, by test: every fuzz test adds its own count here and checks it.
RUN = Counter()


class Hang(BaseException):
    """Raised by SIGALRM when an input runs past its limit (a BaseException, so no `except Exception` eats it)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` in the main thread once ``seconds`` have passed; it leaves the block as
    an AssertionError (hypothesis lets a BaseException through without reporting the input)."""

    def alarm(signum: int, frame: object) -> None:
        raise Hang(f"ran past the {seconds:g} s limit")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except Hang as exc:  # as a test failure, so that hypothesis reports (and shrinks) the input
        raise AssertionError(f"a hang: {exc}") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def strict() -> Iterator[None]:
    """Every warning (numpy's RuntimeWarning too) becomes an exception; numpy's error state is
    its default (warn on divide, overflow, invalid; underflow is no problem)."""
    import numpy as np

    with warnings.catch_warnings(), np.errstate(divide="warn", over="warn", invalid="warn", under="ignore"):
        warnings.simplefilter("error")
        yield


@dataclass(frozen=True)
class CliRun:
    argv: tuple[str, ...]
    code: int
    out: str
    err: str


def run_cli(argv: Sequence[str], limit: float = HANG_LIMIT_S) -> CliRun:
    """``oracle.cli.main(argv)`` in this process, warnings as errors, stdout and stderr captured.
    Any exception it raises (a traceback for a user) propagates to the test."""
    from oracle.cli import main

    out, err = io.StringIO(), io.StringIO()
    with strict(), time_limit(limit), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return CliRun(tuple(argv), code, out.getvalue(), err.getvalue())


ONE_LINE_ERROR = re.compile(r"^manual-bp [^\n]+\n?$")


def assert_clean_cli(run: CliRun, stderr_allowed: Sequence[re.Pattern[str]] = ()) -> None:
    """Exit 0/1 with no stderr (but the expected progress lines), or exit 2 with one line
    starting "manual-bp "; never a traceback."""
    assert run.code in (0, 1, 2), f"{run.argv}: exit code {run.code}"
    assert "Traceback" not in run.out + run.err, f"{run.argv}: a traceback:\n{run.err}"
    if run.code == 2:
        assert ONE_LINE_ERROR.match(run.err), f"{run.argv}: exit 2 wants one line on stderr, got {run.err!r}"
    else:
        for line in run.err.splitlines():
            assert any(p.match(line) for p in stderr_allowed), f"{run.argv}: exit {run.code}, stderr {line!r}"


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file's bytes (None for a folder) under ``folder``, by relative path."""
    if not folder.is_dir():
        return {".": folder.read_bytes()} if folder.is_file() else {}
    return {p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


def assert_counted(name: str, minimum: int) -> None:
    """The test ``name`` really ran at least ``minimum`` inputs (hypothesis may stop early on a
    small search space; none of these spaces is small)."""
    assert RUN[name] >= minimum, f"{name}: ran {RUN[name]} inputs, expected at least {minimum}"


# Failures the fuzzers find and that are not fixed yet: each is (finding number, exception type,
# the file and function of the innermost frame). A test that meets one calls
# hypothesis.assume(False) so the run goes on to other classes; remove an entry once its finding
# is fixed. The 20 found while the harness was written are fixed and pinned by tests elsewhere.
KNOWN_FINDINGS: tuple[tuple[int, str, str, str], ...] = ()  # all 20 found so far are fixed


def known_finding(exc: BaseException) -> int | None:
    """The number of the recorded finding ``exc`` is an instance of, or None."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/manual_bp/" in f.filename
              or "/oracle/" in f.filename]
    last = frames[-1] if frames else None
    for number, kind, file, function in KNOWN_FINDINGS:
        if type(exc).__name__ != kind:
            continue
        if not file or (last is not None and last.filename.endswith(file) and function in ("", last.name)):
            return number
    return None


def skip_known(exc: BaseException) -> None:
    """Inside a hypothesis test: drop the input if ``exc`` is a recorded finding, else re-raise it."""
    from hypothesis import assume

    if known_finding(exc) is None:
        raise exc
    assume(False)  # a recorded FINDING (see KNOWN_FINDINGS)


def run_cli_known(argv: Sequence[str], limit: float = HANG_LIMIT_S) -> CliRun:
    """:func:`run_cli`, with the recorded findings filtered out (see :func:`skip_known`)."""
    try:
        return run_cli(argv, limit)
    except Exception as exc:  # not Hang: a hang is never filtered
        skip_known(exc)
        raise
