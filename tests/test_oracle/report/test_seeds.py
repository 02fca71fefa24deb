"""--seed takes any non-negative integer, as numpy's generator does: a seed beyond int64 runs and is
written exactly, not lost in pandas' int64 after all the work."""

from __future__ import annotations

import csv

from oracle.cli import main
from oracle.report.tables import nullable_ints


def test_a_seed_of_10_to_the_30_runs_and_is_written_exactly(tmp_path, capsys):
    seed = 10**30
    assert main(["sweep", "--networks", "2", "--seed", str(seed), "--out", str(tmp_path), "--format", "csv"]) == 0
    with open(tmp_path / "checks.csv", newline="") as f:
        seeds = {row["seed"] for row in csv.DictReader(f)}
    assert seeds == {str(seed), str(seed + 1)}
    assert capsys.readouterr().err.count("Traceback") == 0


def test_seeds_stay_nullable_int64_where_they_fit():
    import pandas as pd

    assert str(nullable_ints(pd.Series([1, None, 2**63 - 1], dtype=object)).dtype) == "Int64"
    assert list(nullable_ints(pd.Series([2**63, None], dtype=object))) == [2**63, None]
