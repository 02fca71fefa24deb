"""The command line loads only what a command needs: --help, check and solve never import torch,
pandas or matplotlib, and a command that needs a missing extra says so in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
HEAVY = ("torch", "pandas", "matplotlib")


def _run(code: str) -> subprocess.CompletedProcess[str]:
    """Run Python code in a fresh interpreter from the checkout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def _loaded_after(argv: list[str]) -> tuple[int, list[str]]:
    """The exit code of ``manual-bp ARGV`` in a fresh interpreter, and which heavy modules it loaded."""
    code = ("import sys, contextlib, io\nfrom oracle.cli import main\n"
            f"with contextlib.redirect_stdout(io.StringIO()):\n    rc = main({argv!r})\n"
            f"print(rc, sorted(set({HEAVY!r}) & set(m.split('.')[0] for m in sys.modules)))")
    out = _run(code)
    assert out.returncode == 0, out.stderr
    rc, loaded = out.stdout.strip().split(" ", 1)
    return int(rc), eval(loaded)  # a printed list of names


@pytest.mark.parametrize("argv", [["--help"], ["check", "--help"], ["check", "--example", "seed-2-2-1"],
                                  ["solve", "--example", "seed-2-2-1"], ["check", "--list-examples"],
                                  ["sweep", "--depth", "0-1"]])
def test_commands_that_need_no_torch_do_not_load_it(argv: list[str]) -> None:
    rc, loaded = _loaded_after(argv)
    assert rc in (0, 2)  # --help and the usage error exit 0 / 2; the rest pass
    assert loaded == [], f"manual-bp {' '.join(argv)} loaded {loaded}"


def test_check_with_torch_loads_it_on_request() -> None:
    rc, loaded = _loaded_after(["check", "--example", "seed-2-2-1", "--torch"])
    assert rc == 0 and "torch" in loaded


@pytest.mark.parametrize("missing", HEAVY)
def test_a_missing_extra_is_one_line_with_the_install_command(missing: str, tmp_path: Path) -> None:
    # None in sys.modules makes `import missing` fail as if it were not installed.
    code = (f"import sys; sys.modules[{missing!r}] = None\nfrom oracle.cli import main\n"
            f"sys.exit(main(['report', '--out', {str(tmp_path)!r}, '--networks', '1']))")
    out = _run(code)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert lines == [f"manual-bp report: needs {missing}, which is not installed; install the oracle's "
                     "dependencies with: pip install 'manual-bp[oracle]'"], out.stderr
    assert "Traceback" not in out.stderr


def test_check_works_without_torch_pandas_and_matplotlib() -> None:
    code = ("import sys\nfor m in ('torch', 'pandas', 'matplotlib'): sys.modules[m] = None\n"
            "from oracle.cli import main\nsys.exit(main(['check', '--example', 'seed-2-2-1']))")
    out = _run(code)
    assert out.returncode == 0, out.stderr
    assert "31 printed values: 16 correct, 15 rounding carried, 0 wrong" in out.stdout
