"""Output files: their paths checked before any work, their contents written whole or not at all.

Every command that writes (``--out``, ``--json``) checks its path when the arguments are parsed,
so a path it cannot write fails at once with one line and exit code 2, not after the work.
What it writes goes to temporary files beside the targets first and is renamed into place
only when every file of the run is complete, with Ctrl-C held back during the renames: a run
that fails, fills the disk or is interrupted leaves the previous files as they were.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from manual_bp.errors import InputError


def _file_mode() -> int:
    """The permissions a new file gets here (0o666 less the umask), as open() would give it."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_HELD = tuple(s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s is not None)


def _kind(path: Path) -> str:
    """What is at ``path``, in words, for a message."""
    mode = path.stat().st_mode
    for test, word in ((stat.S_ISDIR, "a directory"), (stat.S_ISREG, "a file"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device"), (stat.S_ISFIFO, "a pipe (FIFO)"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return word
    return "not a file"


def _nearest_existing(path: Path) -> Path:
    """The deepest folder of ``path`` (or ``path`` itself) that exists."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _writable_folder(option: str, text: str, folder: Path) -> None:
    """The folder that would hold the output exists as a directory and takes a new file (tried,
    since permissions alone do not tell: root ignores them, a read-only mount does not)."""
    base = _nearest_existing(folder)
    if not base.is_dir():
        raise InputError(f"{option}: cannot write {text!r}: {str(base)!r} is {_kind(base)}, not a directory")
    try:
        with tempfile.TemporaryFile(dir=base):
            pass
    except OSError as exc:
        raise InputError(f"{option}: cannot write {text!r}: {str(base)!r} is not writable "
                         f"({exc.strerror or exc})") from None


def out_dir(option: str, text: str) -> Path:
    """``text`` as an output folder: an existing directory, or one that can be created there."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise InputError(f"{option}: expected a directory, got {text!r}, which is {_kind(path)}")
    _writable_folder(option, text, path)
    return path


def out_file(option: str, text: str) -> Path:
    """``text`` as an output file: absent or a regular file (replaced), in a folder that takes it.
    A directory, a device such as /dev/null or a pipe is refused: the file is written beside
    its target and renamed over it, which would replace the device itself."""
    path = Path(text)
    if not text or text.endswith(("/", os.sep)) or path.name in ("", ".", "..") or path.is_dir():
        raise InputError(f"{option}: expected a file name, got the directory {text!r}")
    if path.exists() and not path.is_file():
        raise InputError(f"{option}: expected a regular file, got {text!r}, which is {_kind(path)}")
    _writable_folder(option, text, path.parent)
    return path


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) and SIGTERM back until the block is done; they arrive afterwards."""
    if not _HELD or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def commit(staged: Sequence[Path], targets: Sequence[Path]) -> None:
    """Rename every staged file onto its target, with Ctrl-C held back. A target that is not a
    regular file stops it before the first rename; renames within one file system do not fail
    for lack of space, so once begun they all happen."""
    for target in targets:
        if target.exists() and not target.is_file():
            raise InputError(f"cannot write {str(target)!r}: it is {_kind(target)}, not a file")
    with signals_held():
        for src, dst in zip(staged, targets, strict=True):
            os.replace(src, dst)


def write_files(folder: Path, texts: Mapping[str, str]) -> list[Path]:
    """Write each text to ``folder / name``, all complete or none changed; creates the folder."""
    return write_paths({Path(folder) / name: text for name, text in texts.items()})


def write_paths(texts: Mapping[Path, str]) -> list[Path]:
    """Write each text to its path (folders created as needed), all complete or none changed.
    Two outputs of one run that would overwrite each other (a --json FILE that is the --out
    folder) raise IsADirectoryError before anything is written."""
    targets = [Path(p) for p in texts]
    for t in targets:
        if t.is_dir() or any(t.resolve() in o.resolve().parents for o in targets):
            raise IsADirectoryError(errno.EISDIR, "it is a directory (or another output's folder), not a file",
                                    str(t))
    for folder in dict.fromkeys(t.parent for t in targets):
        folder.mkdir(parents=True, exist_ok=True)
    staged: list[Path] = []
    try:
        for target, text in zip(targets, texts.values(), strict=True):
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            staged.append(Path(tmp))
            os.fchmod(fd, _file_mode())  # mkstemp makes it private (0o600); the output is a normal file
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                f.write(text)
        commit(staged, targets)
    finally:
        for tmp in staged:
            tmp.unlink(missing_ok=True)
    return targets


def write_atomically(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file beside it, renamed into place only once
    it is complete: a run that fails half-way leaves the previous file as it was."""
    path = Path(path)
    return write_files(path.parent, {path.name: text})[0]
