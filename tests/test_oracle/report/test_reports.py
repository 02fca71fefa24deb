"""The reports and the report / example / sweep commands: the committed reports/ are what
`manual-bp report` writes, exit codes 0 / 1 / 2, the tables' columns and the 2-2-1 table."""

from __future__ import annotations

import math
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from oracle.cli import main
from oracle.cli.report_cmd import report
from oracle.mistakes import MISTAKES
from oracle.report.example import example_table
from oracle.report.tables import COLUMNS, frame_markdown, records_frame, worst_elements
from oracle.report.write import write_csv
from oracle.worked.rounding import half_up

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "reports"
KEY = ["case", "reference", "property", "layer"]


def _checks(folder: Path) -> pd.DataFrame:
    df = pd.read_csv(folder / "checks.csv", keep_default_na=False, na_values=[""])
    df["layer"] = df["layer"].fillna(0).astype(int)  # the loss L has no layer; 0 keeps the key comparable
    return df.set_index(KEY).sort_index()


# A broken Eq. 1: delta^(L) = dL/da^(L), the ⊙ sigma'(z^(L)) forgotten (manual_bp's own algorithm
# with that one step done wrong, from the catalogue).
BROKEN_EQ1 = MISTAKES["sigma_prime_forgotten_output"].algorithm


# ---------------------------------------------------------------------------------------------
# The committed reports are reproducible


def test_committed_report_is_what_the_command_writes(tmp_path: Path) -> None:
    """Regenerate with the defaults the committed reports were made with and compare.

    The full per-check table (checks.csv, ~5 MB) is written but not committed; the committed
    summary.csv has one row per reference, dtype, equation, property and layer. Counts must be
    the same; the worst errors are rounding differences, which another machine's BLAS (summing
    in another order) changes, so they are only required to stay within the tolerance (every
    check passed) in both."""
    assert (COMMITTED / "summary.csv").exists(), "reports/ is missing; run `manual-bp report`"
    assert "/reports/checks.csv" in (ROOT / ".gitignore").read_text().split(), "checks.csv is not to be committed"
    assert main(["report", "--out", str(tmp_path)]) == 0
    key = ["reference", "dtype", "equation", "property", "layer"]
    old = pd.read_csv(COMMITTED / "summary.csv").fillna({"layer": 0}).set_index(key)
    new = pd.read_csv(tmp_path / "summary.csv").fillna({"layer": 0}).set_index(key)
    assert list(new.index) == list(old.index), "the same references, dtypes, equations, properties and layers"
    for col in ("symbol", "cases", "tolerance", "rtol", "passed", "total"):
        assert (new[col] == old[col]).all(), col
    assert (new["passed"] == new["total"]).all() and (old["passed"] == old["total"]).all()
    assert (new["worst_err_over_allowed"] <= 1).all() and (old["worst_err_over_allowed"] <= 1).all()
    ex_old = pd.read_csv(COMMITTED / "example_2-2-1.csv", dtype={"document": str, "exact_at_printed_digits": str})
    ex_new = pd.read_csv(tmp_path / "example_2-2-1.csv", dtype={"document": str, "exact_at_printed_digits": str})
    assert list(ex_new.columns) == list(ex_old.columns)
    for col in ("quantity", "document", "decimals", "exact_at_printed_digits", "matches_at_printed_digits"):
        assert (ex_new[col] == ex_old[col]).all(), col
    # The example's values are O(1) and come from a handful of float64 operations: 1e-14
    # absolute is ~50 ulps, room for another libm's exp, far below any printed digit.
    for col in ("exact", "torch"):
        assert np.allclose(ex_new[col], ex_old[col], rtol=0, atol=1e-14), col
    md_old, md_new = (COMMITTED / "report.md").read_text(), (tmp_path / "report.md").read_text()
    for text in (md_old, md_new):
        assert "All checks passed." in text and "No failures" in text
    assert md_new.split("## By equation")[0] == md_old.split("## By equation")[0]
    for name in ("failures_worst.csv", "example_2-2-1.md", "errors.png"):
        assert (tmp_path / name).exists() and (COMMITTED / name).exists(), name
    size = sum(p.stat().st_size for p in COMMITTED.iterdir() if p.name != "checks.csv")
    assert size < 1_000_000, f"the committed reports/ is {size} bytes; it stays under 1 MB"


# ---------------------------------------------------------------------------------------------
# Exit codes


def test_report_exits_0_and_writes_every_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--out", str(tmp_path), "--networks", "2", "--seed", "5"]) == 0
    names = {"report.md", "checks.csv", "summary.csv", "failures_worst.csv", "example_2-2-1.csv", "example_2-2-1.md",
             "errors.png"}
    assert names <= {p.name for p in tmp_path.iterdir()}
    out = capsys.readouterr()
    assert "All" in out.out and "checks passed." in out.out
    assert out.err == ""  # no progress bar without a terminal for a short run
    md = (tmp_path / "report.md").read_text()
    assert "manual-bp report --networks 2 --seed 5" in md
    assert str(tmp_path) not in md  # no absolute paths in the report
    df = pd.read_csv(tmp_path / "checks.csv")
    assert list(df.columns) == list(COLUMNS)
    assert set(df["reference"]) == {"torch", "torch float64", "finite differences"}
    assert set(df["case"]) == {"document-2-2-1", "float64-5", "float64-6", "float32-5", "float32-6"}


def test_report_exits_1_and_names_the_broken_equation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert report(tmp_path, 2, algorithm=BROKEN_EQ1) == 1
    assert "FAILED" in capsys.readouterr().out
    md = (tmp_path / "report.md").read_text()
    failures = md.split("## Failures")[1].split("## By equation")[0]
    # The 2-2-1 example's output is a sigmoid, so Eq. 1 itself (delta^(2) = dL/da ⊙ sigma') fails.
    assert "Failing: Eq. 1, Eq. 2, Eq. 3, Eq. 4, Eq. 5" in failures
    assert "| Eq. 1    | delta^(2)" in failures
    worst = pd.read_csv(tmp_path / "failures_worst.csv")
    row = worst[(worst["case"] == "document-2-2-1") & (worst["reference"] == "torch")
                & (worst["property"] == "delta") & (worst["layer"] == 2)].iloc[0]
    # The broken delta^(2) is dL/da^(2) = a^(2) - y; the right one is that times sigma'(z^(2)).
    a2 = 1 / (1 + math.exp(-(0.7 / (1 + math.exp(-0.9)) + 0.8 / (1 + math.exp(-0.85)) + 0.3)))
    # Both sides are a few float64 operations on O(1) numbers: 1e-14 is ~50 ulps of room.
    assert row["manual_value"] == pytest.approx(a2 - 1.0, abs=1e-14)
    assert row["reference_value"] == pytest.approx((a2 - 1.0) * a2 * (1 - a2), abs=1e-14)
    assert row["rank"] == 1 and row["abs_err"] > 0.01


def test_bad_option_exits_2_with_one_line_and_no_traceback() -> None:
    proc = subprocess.run([sys.executable, "-m", "oracle.cli", "sweep", "--depth", "0-3"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--depth" in lines[0] and "0-3" in lines[0]
    assert "Traceback" not in proc.stderr and proc.stdout == ""


@pytest.mark.parametrize("argv, named", [
    (["sweep", "--width", "5-2"], "--width"),
    (["sweep", "--batch", "x"], "--batch"),
    (["sweep", "--networks", "0"], "--networks"),
    (["sweep", "--activations", "relu,swish"], "swish"),
    (["sweep", "--losses", "hinge"], "hinge"),
    (["sweep", "--dtype", "float16"], "--dtype"),
    (["sweep", "--format", "csv,xml"], "xml"),
    (["report", "--seed", "-1"], "--seed"),
    (["report", "--networks", "many"], "--networks"),
])
def test_bad_values_exit_2_naming_them(argv: list[str], named: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and named in err[0]


def test_out_that_is_a_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "a-file"
    target.write_text("")
    assert main(["report", "--out", str(target), "--networks", "1"]) == 2
    assert "--out" in capsys.readouterr().err


def test_sweep_prints_throughput_and_writes_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["sweep", "--networks", "3", "--seed", "11", "--dtype", "both", "--depth", "1-2", "--width", "2-4",
            "--activations", "tanh,relu", "--losses", "mse,bce", "--out", str(tmp_path), "--format", "csv,json,md"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "throughput: 6 networks in" in out and "networks/s" in out
    assert {"checks.csv", "summary.csv", "checks.json", "report.md", "failures_worst.csv"} == \
        {p.name for p in tmp_path.iterdir()}
    df = pd.read_csv(tmp_path / "checks.csv")
    assert set(df["dtype"]) == {"float64", "float32"}
    assert set(df["loss"]) <= {"mse", "bce"}
    assert df["sizes"].map(lambda s: len(s.split("-")) - 1).between(1, 2).all()


# ---------------------------------------------------------------------------------------------
# Tables


def test_checks_csv_keeps_full_precision(tmp_path: Path) -> None:
    from oracle.cases import random_case
    from oracle.compare.cross_check import cross_check

    records = cross_check(random_case(3))
    write_csv(records_frame(records), tmp_path / "c.csv")
    back = pd.read_csv(tmp_path / "c.csv")
    for col in ("max_abs_err", "manual_value", "reference_value", "scale", "allowed_abs_err"):
        assert back[col].tolist() == [getattr(r, col) for r in records], col  # bit for bit


def test_worst_elements_lists_the_top_elements_of_a_failing_record() -> None:
    from oracle.cases import document_case
    from oracle.compare.cross_check import cross_check

    records = [r for r in cross_check(document_case(), BROKEN_EQ1) if r.property == "dW" and r.layer == 1]
    worst = worst_elements(records, k=3)
    assert len(worst) == 3 and worst["rank"].tolist() == [1, 2, 3]
    assert worst["abs_err"].is_monotonic_decreasing
    assert worst["abs_err"].iloc[0] == records[0].max_abs_err
    assert (worst["abs_err"] == (worst["manual_value"] - worst["reference_value"]).abs()).all()
    assert worst_elements([r for r in records if r.passed]).empty


def test_markdown_escapes_pipes() -> None:
    text = frame_markdown(pd.DataFrame({"|x|": ["|diff| <= 1"]}))
    assert "\\|diff\\| <= 1" in text and "\\|x\\|" in text


def test_printed_digits_round_in_decimal_not_binary() -> None:
    # The example table rounds with oracle.worked.half_up, the rule manual-bp check uses.
    # 2.675 is stored as 2.67499999999999982236431605997495353221893310546875, so binary
    # rounding (round()) gives 2.67; a hand calculation on the printed digits 2.675 gives 2.68,
    # as does ROUND_HALF_UP on the repr. And 0.0125 is a tie that half-even would send to 0.012.
    assert round(2.675, 2) == 2.67
    assert half_up(2.675, -2) == Decimal("2.68")
    assert half_up(-2.675, -2) == Decimal("-2.68")  # half away from zero
    assert half_up(0.0125, -3) == Decimal("0.013")
    assert half_up(0.20972, -3) == Decimal("0.210")


def test_example_table() -> None:
    df = example_table()
    assert list(df.columns) == ["quantity", "property", "layer", "index", "document", "decimals", "exact", "torch",
                                "finite_difference", "abs_diff_document_exact", "exact_at_printed_digits",
                                "matches_at_printed_digits"]
    assert len(df) == 31  # the document prints 31 numbers for named quantities (2 + 2 + 1 + 1 + 1 + ... + 2)
    rows = df.set_index("quantity")
    # The exact values below are a hand computation with math.exp, independent of the package.
    s = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    a1 = [s(0.9), s(0.85)]
    a2 = s(0.7 * a1[0] + 0.8 * a1[1] + 0.3)
    loss = 0.5 * (1 - a2) ** 2
    delta2 = (a2 - 1) * a2 * (1 - a2)
    # Every value is a few float64 operations on O(1) numbers: 1e-15 absolute is a few ulps.
    assert rows.loc["L", "exact"] == pytest.approx(loss, abs=1e-15)
    assert rows.loc["a^(1)[1]", "exact"] == pytest.approx(a1[1], abs=1e-15)
    assert rows.loc["dL/dW^(2)[0,0]", "exact"] == pytest.approx(delta2 * a1[0], abs=1e-15)
    # The document prints L = 0.0208; the exact 0.020920 rounds to 0.0209.
    assert rows.loc["L", "document"] == "0.0208" and rows.loc["L", "decimals"] == 4
    assert rows.loc["L", "exact_at_printed_digits"] == "0.0209" and not rows.loc["L", "matches_at_printed_digits"]
    assert rows.loc["L", "abs_diff_document_exact"] == pytest.approx(loss - 0.0208, abs=1e-15)
    # Printed strings keep their digits: "0.210" has three decimals and matches 0.20977.
    assert rows.loc["sigma'(z^(1))[1]", "document"] == "0.210"
    assert rows.loc["sigma'(z^(1))[1]", "decimals"] == 3 and rows.loc["sigma'(z^(1))[1]", "matches_at_printed_digits"]
    # Finite differences exist for dW, db and delta only; they agree to their truncation and
    # rounding error, ~1e-10 on these O(0.01) values (oracle.tolerance's FD rule).
    fd_rows = df[df["property"].isin(["dW", "db", "delta"])]
    assert fd_rows["finite_difference"].notna().all() and len(fd_rows) == 12
    assert df[~df.index.isin(fd_rows.index)]["finite_difference"].isna().all()
    assert np.allclose(fd_rows["finite_difference"], fd_rows["exact"], rtol=0, atol=1e-9)
    # torch autograd in float64 against the exact value: both a few ulps from the truth.
    assert np.allclose(df["torch"], df["exact"], rtol=0, atol=1e-15)


def test_example_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["example"]) == 0
    out = capsys.readouterr().out
    assert "| quantity" in out and "dL/dW^(1)[0,1]" in out and "0.0208" in out
    assert "16 of 31 printed numbers" in out
