"""Fuzz `manual-bp check FILE [--out DIR] [--json FILE]` with generated worked-example files, in-process."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pytest
from fuzzing import HANG_LIMIT_S, RUN, assert_clean_cli, assert_counted, run_cli_known, snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from worked_files import Example, examples, valid_examples

CHECK_FILES = 250  # default tier: worked-example files through `check`, half valid, half broken by one edit
CHECK_VALID_FILES = 50  # default tier: valid files only, whose exit code is known (0 exact, 1 one claim far off)
QUICK_CLAIMS = 3  # default tier: at most this many claimed quantities a file (check takes ~30 ms for each)
SLOW_CHECK_FILES = 5000  # slow tier, any number of claims
SLOW_CHECK_VALID_FILES = 1000

VERDICTS = re.compile(r"(?P<correct>\d+) correct, (?P<carried>\d+) rounding carried, (?P<wrong>\d+) wrong")
SENTINEL = b"a file that was here before the run\n"
QUICK = settings(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
SLOW = settings(deadline=None, suppress_health_check=list(HealthCheck))


def check_file(example: Example, options: str, where: Path, limit: float = HANG_LIMIT_S) -> tuple[int, str]:
    """Write the file, run check on it, assert the outcome is clean; returns the exit code and stdout."""
    path = where / "fuzzed.toml"
    path.write_bytes(example.data)
    out = where / "out"
    out.mkdir(exist_ok=True)
    (out / "sentinel.txt").write_bytes(SENTINEL)
    argv = ["check", str(path)]
    if "o" in options:
        argv += ["--out", str(out)]
    if "j" in options:
        argv += ["--json", str(out / "check.json")]
    before = snapshot(out)
    run = run_cli_known(argv, limit)
    context = f"{example.edit or 'valid'} {example.note}\n{example.data[:3000]!r}"
    assert_clean_cli(run)
    after = snapshot(out)
    if run.code == 2:
        assert after == before, f"exit 2 but the output folder changed: {sorted(set(after) ^ set(before))}\n{context}"
    else:
        assert after[("sentinel.txt")] == SENTINEL
        if "o" in options:
            assert {"check_fuzzed.csv", "check_fuzzed.md"} <= set(after), context
        if "j" in options:
            assert "check.json" in after, context
    return run.code, run.out


def _run_files(name: str, strategy: st.SearchStrategy[Example], count: int, config: settings, limit: float,
               expect: bool) -> None:
    where = Path(tempfile.mkdtemp(prefix="fuzz-check-"))
    try:
        @settings(config, max_examples=count)
        @given(example=strategy, options=st.sampled_from(("", "", "o", "j", "oj")))
        def run(example: Example, options: str) -> None:
            RUN[name] += 1
            code, out = check_file(example, options, where, limit)
            if expect and example.plain:
                assert code == 0, f"exact claims judged wrong:\n{example.data.decode()}"
            if expect and example.wrong:
                # wrong (exit 1), or, where the printed values before it are ill-conditioned (few digits, a
                # saturated sigmoid under bce), "rounding carried" by check's rule; never all correct.
                counts = VERDICTS.search(out)
                carried = int(counts["carried"]) if counts else 0
                assert code == 1 or carried >= 1, f"a claim 0.5 + 10 % off judged correct:\n{example.data.decode()}"
            for p in where.iterdir():
                shutil.rmtree(p) if p.is_dir() else p.unlink()

        run()
    finally:
        shutil.rmtree(where, ignore_errors=True)


def test_check_fuzzed_files() -> None:
    _run_files("check files", examples(QUICK_CLAIMS), CHECK_FILES, QUICK, HANG_LIMIT_S, expect=True)
    assert_counted("check files", CHECK_FILES)


def test_check_valid_files_known_exit() -> None:
    _run_files("check valid files", valid_examples(QUICK_CLAIMS), CHECK_VALID_FILES, QUICK, HANG_LIMIT_S, expect=True)
    assert_counted("check valid files", CHECK_VALID_FILES)


@pytest.mark.slow
def test_check_fuzzed_files_slow() -> None:
    _run_files("check files slow", examples(), SLOW_CHECK_FILES, SLOW, HANG_LIMIT_S, expect=True)
    assert_counted("check files slow", SLOW_CHECK_FILES)


@pytest.mark.slow
def test_check_valid_files_known_exit_slow() -> None:
    _run_files("check valid files slow", valid_examples(), SLOW_CHECK_VALID_FILES, SLOW, HANG_LIMIT_S, expect=True)
    assert_counted("check valid files slow", SLOW_CHECK_VALID_FILES)
