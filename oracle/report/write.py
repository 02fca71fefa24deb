"""Writing a report: the tables (CSV, JSON, Markdown) and the picture into a folder."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from oracle.compare.records import Record
from oracle.files import commit
from oracle.report.example import example_markdown
from oracle.report.markdown import report_markdown
from oracle.report.picture import plot_errors
from oracle.report.tables import records_frame, summary_table, worst_elements


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    """A table at full precision, no index: pandas writes each float as its repr, the shortest
    string that reads back as the same float64 (no float_format, which would round)."""
    df.to_csv(path, index=False, lineterminator="\n")
    return path


def _json_value(v: Any) -> Any:
    """A JSON-safe value: floats keep repr precision; inf and NaN become the strings 'inf', 'nan'."""
    if isinstance(v, float) and not np.isfinite(v):
        return repr(v)
    return v


def write_json(records: Iterable[Record], path: Path) -> Path:
    """checks.json: a list of records, each as Record.as_row() (floats at repr precision)."""
    rows = [{k: _json_value(v) for k, v in r.as_row().items()} for r in records]
    path.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return path


def _write_all(out: Path, records: Sequence[Record], example: pd.DataFrame | None, metadata: dict[str, Any],
               formats: Sequence[str]) -> list[Path]:
    """Write every file of the report into ``out`` (a fresh folder); returns the paths."""
    df = records_frame(records)
    metadata = {**metadata, "cases": df["case"].nunique(), "checks": len(df),
                "checks failed": int((~df["passed"]).sum())}
    names: list[str] = []
    if "csv" in formats:
        names += ["checks.csv", "summary.csv", "failures_worst.csv"] + (["example_2-2-1.csv"] if example is not None
                                                                        else [])
    if "json" in formats:
        names.append("checks.json")
    if "md" in formats and example is not None:
        names.append("example_2-2-1.md")
    if "png" in formats:
        names.append("errors.png")
    written = []
    summary = summary_table(df)
    if "csv" in formats:
        written.append(write_csv(df, out / "checks.csv"))
        written.append(write_csv(summary, out / "summary.csv"))
        written.append(write_csv(worst_elements(records), out / "failures_worst.csv"))
        if example is not None:
            written.append(write_csv(example, out / "example_2-2-1.csv"))
    if "json" in formats:
        written.append(write_json(records, out / "checks.json"))
    if "md" in formats:
        path = out / "report.md"
        path.write_text(report_markdown(df, example, metadata, names, summary), encoding="utf-8")
        written.append(path)
        if example is not None:
            path = out / "example_2-2-1.md"
            path.write_text("# The document's 2-2-1 example\n\n" + example_markdown(example) + "\n", encoding="utf-8")
            written.append(path)
    if "png" in formats:
        written.append(plot_errors(df, out / "errors.png"))
    return written


def write_report(out: Path, records: Sequence[Record], example: pd.DataFrame | None, metadata: dict[str, Any],
                 formats: Sequence[str] = ("csv", "md", "png")) -> list[Path]:
    """Write the tables (csv: checks.csv, summary.csv, failures_worst.csv, example_2-2-1.csv; md: report.md,
    example_2-2-1.md; json: checks.json; png: errors.png) into ``out``; returns the paths.

    Everything is written into a temporary folder inside ``out`` first and moved into place only
    once it is all there: a run that fails or is interrupted leaves the previous report as it was."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".manual-bp-report-", dir=out))
    try:
        written = _write_all(staging, records, example, metadata, formats)
        commit(written, [out / path.name for path in written])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out / path.name for path in written]
