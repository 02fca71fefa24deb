"""``python3 benchmarks/bench.py`` runs and prints its tables (a smoke test: benchmarks are not
tests), and the floor it compares with is the step's own matrix products."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

from manual_bp import backward, forward

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))  # the benchmark is a script beside the package, not part of it

import bench  # noqa: E402
from bench import DTYPES, STEP_SIZES, bench_memory, bench_step, floor_products, step_data, step_table  # noqa: E402


def main(argv: list[str]) -> int:
    """The benchmark's command line, as ``python3 benchmarks/bench.py ARGS`` runs it."""
    try:
        return bench.run(bench.build_parser().parse_args(argv))
    except SystemExit as exc:  # argparse: usage errors exit 2
        return int(exc.code or 0)


def test_floor_is_the_steps_matrix_products():
    # The floor multiplies what the step multiplies: 3L - 1 products, forward z^(l) = W^(l) a^(l-1),
    # Eq. 2 (W^(l+1))^T delta^(l+1), Eq. 3 delta^(l) (a^(l-1))^T, with the step's own shapes.
    sizes, m = (5, 4, 3, 2), 6
    products = floor_products(sizes, m, "float64")
    net, x, y = step_data(sizes, m, "float64")
    cache = forward(net, x)
    grads = backward(net, cache, y)
    want = ([cache.z[l].shape for l in (1, 2, 3)] + [grads.dL_da[l].shape for l in (2, 1)]
            + [grads.dW[l].shape for l in (3, 2, 1)])
    assert [(left.shape[0], right.shape[1]) for left, right in products] == want
    assert all(left.shape[1] == right.shape[0] for left, right in products)
    assert all(left.dtype == right.dtype == np.float64 for left, right in products)


def test_one_step_row_and_memory_row():
    result = bench_step((2, 2, 1), 1, "float64", rounds=1, settle=0.0)
    assert result.manual > 0 and result.torch > 0 and result.floor > 0
    assert "| 2-2-1 | 1 | float64 |" in step_table([result])
    memory = bench_memory((3, 5, 2), 4, "float64")
    # The Cache holds z, a and sigma' of every layer: 3 x (5 + 2) x 4 float64 numbers; forward()
    # allocates at least those (tracemalloc sees numpy's arrays), and a few small temporaries.
    assert memory.held == 3 * (5 + 2) * 4 * 8
    assert memory.activations == (5 + 2) * 4 * 8
    assert memory.peak >= memory.held


@pytest.mark.slow  # ~5-10 s: one round of each step size, a sweep, a report and 5 fresh interpreters
def test_bench_quick_prints_every_table(tmp_path, capsys):
    out = tmp_path / "benchmarks.md"
    code = main(["--quick", "--repeats", "1", "--networks", "3", "--settle", "0", "--dtype", "float64",
                 "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert out.read_text(encoding="utf-8") == printed
    for heading in ("## Targets", "## One training step", "## The sweep", "## Memory of a forward pass", "## Machine"):
        assert heading in printed
    # One step row per size that --quick keeps, each with both ratios as numbers.
    step_section = printed.split("## One training step")[1].split("## The sweep")[0]
    rows = [[c.strip() for c in line.split("|")[1:-1]] for line in step_section.splitlines()
            if re.match(r"^\| [\d-]+ \| \d+ \| float64 \| [\d.]+ \|", line)]
    assert [(r[0], r[1]) for r in rows] == [("2-2-1", "1"), ("784-128-10", "32"), ("784-512-512-10", "256")]
    for r in rows:
        manual_vs_torch, manual_vs_floor = float(r[6].rstrip("x")), float(r[7].split("x")[0])
        assert manual_vs_torch > 0 and manual_vs_floor > 0
    assert "2048-2048-2048-2048" not in printed.split("## Machine")[0]
    assert "OPENBLAS_CORETYPE" in printed and "torch threads" in printed


def test_bench_rejects_bad_options(capsys):
    assert main(["--repeats", "0"]) == 2
    assert "--repeats" in capsys.readouterr().err


def test_committed_benchmarks_md_is_a_full_bench_run():
    # Timings cannot be reproduced, so this checks what can: reports/benchmarks.md was written by
    # the benchmark (its header), with every section and one step row per size and dtype, none
    # left out by --quick. Regenerate with `python3 benchmarks/bench.py --with-report`.
    text = (ROOT / "reports" / "benchmarks.md").read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\nWritten by `python3 benchmarks/bench.py --with-report`")
    for heading in ("## Targets", "## One training step", "## The sweep", "## Memory of a forward pass", "## Machine"):
        assert heading in text
    step_section = text.split("## One training step")[1].split("## The sweep")[0]
    for sizes, m, _ in STEP_SIZES:
        for dtype in DTYPES:
            assert f"| {'-'.join(map(str, sizes))} | {m} | {dtype} |" in step_section, (sizes, dtype)
    assert "default manual-bp report < 30 s" in text
