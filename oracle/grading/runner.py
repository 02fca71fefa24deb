"""Calling a user's function so that nothing it does can take the grader down with it.

Each call runs in a forked child process with a time limit: an exception, ``sys.exit``,
``os._exit``, a ``BaseException``, an exception whose ``str()`` itself raises, a closed stdout,
a hang or a crash of the interpreter all come back as one line naming what happened, and the
grader goes on with the next case. The child's stdout and stderr go to /dev/null (a function
that prints does not flood the report). Where ``fork`` is not available the call runs in this
process, without the time limit.
"""

from __future__ import annotations

import linecache
import multiprocessing
import os
import pickle
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

GRADER_FILES = (__file__,)


def exception_line(exc: BaseException) -> str:
    """An exception as one line: its type and the first line of its message; a message that
    cannot be turned into text is said to be so."""
    try:
        text = str(exc)
    except BaseException as inner:
        return f"{type(exc).__name__} (its message could not be printed: {type(inner).__name__})"
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}{': ' + first if first else ''}"


def where(exc: BaseException) -> str:
    """' at file.py:12 (the line)' for the innermost frame of the user's code that raised."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename not in GRADER_FILES]
    if not frames:
        return ""
    f = frames[-1]
    line = (f.line or linecache.getline(f.filename, f.lineno or 0)).strip()
    return f" at {f.filename}:{f.lineno}" + (f" ({line})" if line else "")


@dataclass(frozen=True)
class Outcome:
    """What a call gave: ``value`` when it returned, else ``problem``, one line."""

    value: Any = None
    problem: str | None = None


def call_here(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Outcome:
    try:
        return Outcome(fn(*args, **kwargs))
    except SystemExit as exc:
        return Outcome(problem=f"called sys.exit({exc.code!r}) instead of returning")
    except BaseException as exc:
        return Outcome(problem=f"raised {exception_line(exc)}{where(exc)}")


def _child(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], conn: Any) -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    outcome = call_here(fn, args, kwargs)
    try:
        message = pickle.dumps(outcome)
    except Exception as exc:
        message = pickle.dumps(Outcome(problem=f"returned a {type(outcome.value).__name__} that cannot be read back "
                                       f"({exception_line(exc)})"))
    conn.send_bytes(message)
    conn.close()
    os._exit(0)  # no atexit handlers, no flushing of buffers the user may have broken


def call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], timeout: float) -> Outcome:
    """``fn(*args, **kwargs)`` in a child process, at most ``timeout`` seconds."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return call_here(fn, args, kwargs)
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    sys.stdout.flush()
    sys.stderr.flush()
    process = ctx.Process(target=_child, args=(fn, args, kwargs, send), daemon=True)
    process.start()
    send.close()
    try:
        if not receive.poll(timeout):
            return Outcome(problem=f"did not return within {timeout:g} s (timed out; stopped)")
        return pickle.loads(receive.recv_bytes())
    except EOFError:  # the child ended without sending anything
        process.join(5)
        code = process.exitcode
        how = f"exit code {code}" if code is not None and code >= 0 else f"signal {-code}" if code else "no exit code"
        return Outcome(problem=f"ended the process ({how}, e.g. os._exit or a crash) instead of returning")
    finally:
        if process.is_alive():
            process.kill()
        process.join(5)
        receive.close()
