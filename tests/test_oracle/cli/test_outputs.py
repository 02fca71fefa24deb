"""Output paths checked before any work, files written whole or not at all, internal errors in one line."""

from __future__ import annotations

import os
import resource
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from oracle.cli import main
from oracle.files import signals_held, write_files

ROOT = Path(__file__).resolve().parents[3]
SEED = str(ROOT / "oracle/worked/examples/seed-2-2-1.toml")


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def place(tmp_path, monkeypatch):
    """A folder holding a file, a sub-folder and a previous report, as the working directory."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("keep me\n")
    (tmp_path / "adir").mkdir()
    (tmp_path / "adir" / "check_seed-2-2-1.csv").write_text("the previous run\n")
    return tmp_path


BAD_PATHS = [
    (["check", SEED, "--out", "afile"], "--out", "expected a directory, got 'afile', which is a file"),
    (["check", SEED, "--out", "/dev/null"], "--out", "which is a device"),
    (["check", SEED, "--out", "afile/sub"], "--out", "is a file, not a directory"),
    (["check", SEED, "--json", "."], "--json", "expected a file name, got the directory '.'"),
    (["check", SEED, "--json", "adir"], "--json", "expected a file name, got the directory 'adir'"),
    (["check", SEED, "--json", "/dev/full"], "--json", "expected a regular file, got '/dev/full', which is a device"),
    (["check", SEED, "--json", "/dev/null"], "--json", "which is a device"),
    (["check", SEED, "--json", "afile/x.json"], "--json", "is a file, not a directory"),
    (["check", SEED, "--out", "/proc/manual-bp-test"], "--out", "is not writable"),  # read-only even for root
    (["solve", SEED, "--out", "/dev/full"], "--out", "which is a device"),
    (["solve", SEED, "--out", "."], "--out", "expected a file name"),
    (["solve", SEED, "--out", "adir/"], "--out", "expected a file name"),
    (["solve", SEED, "--out", "afile/s.md"], "--out", "is a file, not a directory"),
    (["grade", "--json", "/dev/null", "x.py"], "--json", "which is a device"),
    (["report", "--out", "afile"], "--out", "which is a file"),
    (["sweep", "--networks", "1", "--out", "/dev/null"], "--out", "which is a device"),
    (["mutants", "--out", "afile/sub"], "--out", "is a file, not a directory"),
]


@pytest.mark.parametrize(("argv", "option", "message"), BAD_PATHS, ids=[" ".join(a[0:1] + a[-2:]) for a, _, _ in
                                                                        BAD_PATHS])
def test_an_output_path_that_cannot_be_written_fails_before_any_work(place, capsys, argv, option, message):
    before = _snapshot(place)
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""  # no table printed: nothing was computed
    assert err.count("\n") == 1 and f"argument {option}: " in err and message in err, err
    assert _snapshot(place) == before
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode) and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_outputs_are_written_with_normal_permissions_and_nothing_else_left(place, capsys):
    assert main(["check", SEED, "--out", "new/deeper", "--json", "new/j.json"]) == 0
    names = sorted(p.name for p in (place / "new").rglob("*"))
    assert names == ["check_seed-2-2-1.csv", "check_seed-2-2-1.md", "deeper", "j.json"]  # no temporary files
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((place / "new" / "j.json").stat().st_mode) == 0o666 & ~mask


def _limited_run(argv: list[str], cwd: Path, max_bytes: int) -> subprocess.CompletedProcess:
    """The command with files limited to ``max_bytes``: a write past it fails as on a full disk."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG from write() instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))

    return subprocess.run([sys.executable, "-m", "oracle.cli", *argv], cwd=cwd, capture_output=True, text=True,
                          preexec_fn=limit, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.mark.parametrize("option", ["--out", "--json"])
def test_a_full_disk_leaves_the_previous_files_intact(tmp_path, option):
    target = ["--out", "out"] if option == "--out" else ["--json", "out/check.json"]
    (tmp_path / "out").mkdir()
    for name in ("check_seed-2-2-1.csv", "check_seed-2-2-1.md", "check.json"):
        (tmp_path / "out" / name).write_text("the previous run\n")
    before = _snapshot(tmp_path)
    run = _limited_run(["check", SEED, *target], tmp_path, max_bytes=1000)  # the CSV is ~6 kB
    assert run.returncode == 2, run.stderr
    assert run.stderr.count("\n") == 1 and f"manual-bp check: {option}: cannot write" in run.stderr, run.stderr
    assert _snapshot(tmp_path) == before  # not a 0-byte or half file, and no temporary one left


def test_ctrl_c_is_held_back_while_the_files_are_renamed_into_place():
    with pytest.raises(KeyboardInterrupt), signals_held():
        os.kill(os.getpid(), signal.SIGINT)
        reached = True  # the interrupt waits for the block to end
    assert reached


def test_an_interrupted_report_leaves_the_previous_one_as_it_was(tmp_path, monkeypatch):
    from oracle.report import write

    (tmp_path / "report.md").write_text("the previous report\n")
    (tmp_path / "checks.csv").write_text("the previous checks\n")
    before = _snapshot(tmp_path)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C while the picture (the slowest file) is drawn

    monkeypatch.setattr(write, "plot_errors", interrupted)
    from oracle.cases import document_case
    from oracle.compare.cross_check import cross_check

    with pytest.raises(KeyboardInterrupt):
        write.write_report(tmp_path, cross_check(document_case()), None, {})
    assert _snapshot(tmp_path) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # the staging folder is gone


def test_write_files_writes_all_or_none(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text("old a\n")
    calls = []

    def failing_replace(src, dst):
        calls.append(dst)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        write_files(tmp_path, {"a.txt": "new a\n", "b.txt": "new b\n"})
    assert (tmp_path / "a.txt").read_text() == "old a\n" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


@pytest.mark.slow
def test_ctrl_c_at_any_moment_of_report_leaves_one_whole_report(tmp_path):
    """A real SIGINT at 8 moments of `manual-bp report --out`: the folder holds the old report or the
    new one, never a mix (each run's report.md names its seed, checks.csv holds its cases)."""
    import time

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "oracle.cli", "report", "--networks", "3", "--out", "r"]
    subprocess.run([*command, "--seed", "1"], cwd=tmp_path, env=env, check=True, capture_output=True)
    old = _snapshot(tmp_path / "r")
    new_dir = tmp_path / "new"
    new_dir.mkdir()
    subprocess.run([*command[:-1], str(new_dir / "r"), "--seed", "2"], env=env, check=True, capture_output=True)
    new = _snapshot(new_dir / "r")
    for delay in (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0):
        p = subprocess.Popen([*command, "--seed", "2"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
        now = _snapshot(tmp_path / "r")
        assert now in (old, new), f"a mixed folder after SIGINT at {delay} s"
        assert "Traceback" not in err
        if now == new:  # the run finished: start again from the old report
            subprocess.run([*command, "--seed", "1"], cwd=tmp_path, env=env, check=True, capture_output=True)


def test_an_internal_error_is_one_line_with_its_own_exit_code(monkeypatch, capsys):
    from oracle.cli import worked_cmd

    def broken(args):
        return 1 / 0

    monkeypatch.setattr(worked_cmd, "run_check", broken)
    monkeypatch.delenv("MANUAL_BP_TRACEBACK", raising=False)
    assert main(["check", "--list-examples"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error, a bug in manual-bp (ZeroDivisionError: division by zero)" in err
    monkeypatch.setenv("MANUAL_BP_TRACEBACK", "1")
    with pytest.raises(ZeroDivisionError):
        main(["check", "--list-examples"])


def test_no_command_is_one_line_naming_the_commands(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err == ("manual-bp: error: a COMMAND is required, one of report, example, sweep, mutants, grade, check, "
                   "solve, extract (see manual-bp --help)\n")


@pytest.mark.parametrize("json_path", ["new/deeper", "adir", "adir/check_seed-2-2-1.csv"])
def test_json_onto_the_out_folder_is_refused_before_anything_is_written(place, capsys, json_path):
    # Found by the slow fuzz run: check --out D --json D wrote D's reports, then failed on the JSON.
    out = "adir" if json_path.startswith("adir") else "new/deeper"
    before = _snapshot(place)
    assert main(["check", SEED, "--out", out, "--json", json_path]) == 2
    assert "--json" in capsys.readouterr().err
    assert _snapshot(place) == before and not (place / "new").exists()


def test_check_writes_its_reports_and_its_json_together(place, capsys):
    assert main(["check", SEED, "--out", "adir", "--json", "adir/check.json"]) == 0
    assert {"check_seed-2-2-1.csv", "check_seed-2-2-1.md", "check.json"} <= {p.name for p in (place / "adir").iterdir()}
