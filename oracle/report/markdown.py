"""report.md: the verdict, the failures, the per-equation summary, the example and the run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from oracle import notation
from oracle.compare.records import PROPERTIES
from oracle.report.example import example_markdown
from oracle.report.tables import TOP_K, _group_rank, failures_frame, frame_markdown, summary_table

MD_FAILURE_ROWS = 50  # failing records listed one by one in report.md (all of them are in the CSVs)


def _fmt_e(v: Any) -> str:
    return "-" if v is None or pd.isna(v) else f"{v:.2e}"


def _fmt_full(v: Any) -> str:
    return "-" if v is None or pd.isna(v) else repr(float(v))


def _layer(v: Any) -> str:
    return "-" if pd.isna(v) else str(int(v))


def summary_markdown(summary: pd.DataFrame) -> str:
    """The per-equation table in Markdown."""
    show = pd.DataFrame({
        "reference": summary["reference"], "dtype": summary["dtype"], "equation": summary["equation"],
        "quantity": summary["symbol"], "layer": summary["layer"].map(_layer), "cases": summary["cases"],
        "worst abs err": summary["worst_abs_err"].map(_fmt_e), "worst rel err": summary["worst_rel_err"].map(_fmt_e),
        "worst err / allowed": summary["worst_err_over_allowed"].map(lambda v: f"{v:.3f}"),
        "tolerance": summary["tolerance"] + " (allowed / S: " + summary["rtol"] + ")",
        "passed": summary["passed"].astype(str) + "/" + summary["total"].astype(str),
    })
    return frame_markdown(show)


def failures_markdown(df: pd.DataFrame, limit: int = MD_FAILURE_ROWS) -> str:
    """Every failing record (up to ``limit``) with its worst element, or 'No failures.'."""
    bad = failures_frame(df)
    if bad.empty:
        return "No failures: every property of every layer of every case is within its tolerance."
    groups = bad.groupby(["equation", "property", "layer", "reference", "dtype"], dropna=False, sort=False)
    by_group = pd.DataFrame([{
        "equation": eq, "quantity": notation.symbol(prop, None if pd.isna(layer) else int(layer)),
        "property": prop, "layer": _layer(layer), "reference": ref, "dtype": dtype, "failed records": len(g),
        "worst case": g.iloc[0]["case"], "worst index": g.iloc[0]["worst_index"],
        "manual": _fmt_full(g.iloc[0]["manual_value"]), "reference value": _fmt_full(g.iloc[0]["reference_value"]),
        "abs err": _fmt_e(g.iloc[0]["max_abs_err"]), "allowed": _fmt_e(g.iloc[0]["allowed_abs_err"]),
        "_key": (notation.EQUATIONS.index(eq) if eq in notation.EQUATIONS else len(notation.EQUATIONS),
                 PROPERTIES.index(prop), 0 if pd.isna(layer) else int(layer), _group_rank(ref, dtype)),
    } for (eq, prop, layer, ref, dtype), g in groups])
    # In the document's order (forward, loss, Eq. 1 .. Eq. 5), so the first row is where to look first.
    by_group = by_group.sort_values("_key", kind="stable").drop(columns="_key")
    failing = [eq for eq in notation.EQUATIONS if eq in set(bad["equation"])]
    head = bad.head(limit)
    each = pd.DataFrame({
        "equation": head["equation"], "quantity": head["symbol"], "property": head["property"],
        "layer": head["layer"].map(_layer), "reference": head["reference"], "case": head["case"],
        "network": head["sizes"] + " " + head["activations"] + " " + head["loss"] + "/" + head["reduction"],
        "dtype": head["dtype"], "worst index": head["worst_index"], "manual": head["manual_value"].map(_fmt_full),
        "reference value": head["reference_value"].map(_fmt_full), "abs err": head["max_abs_err"].map(_fmt_e),
        "allowed": head["allowed_abs_err"].map(_fmt_e), "rel err": head["max_rel_err"].map(_fmt_e),
    })
    more = len(bad) - len(head)
    tail = f"\n\n... and {more} more failing records in checks.csv (passed = False)." if more > 0 else ""
    return (f"**{len(bad)} failing records** in {bad['case'].nunique()} cases. Failing: {', '.join(failing)} "
            f"(the first in the document's order, {failing[0] if failing else '-'}, is where to look first).\n\n"
            "By equation, property and layer, in the document's order, with the worst record of each:\n\n"
            + frame_markdown(by_group)
            + "\n\nEach failing record with its worst element, worst first (the top "
            f"{TOP_K} elements of each are in failures_worst.csv):\n\n"
            + frame_markdown(each) + tail)


def metadata_markdown(metadata: dict[str, Any]) -> str:
    """Key / value pairs as a two-column table."""
    table = pd.DataFrame({"": list(metadata), "value": [str(v) for v in metadata.values()]})
    return frame_markdown(table)


def report_markdown(df: pd.DataFrame, example: pd.DataFrame | None, metadata: dict[str, Any],
                    files: Sequence[str], summary: pd.DataFrame | None = None) -> str:
    """The whole report.md."""
    n_fail = int((~df["passed"]).sum())
    verdict = "All checks passed." if n_fail == 0 else f"**{n_fail} of {len(df)} checks FAILED.**"
    parts = [
        "# manual-bp report",
        f"{verdict} Each check compares one property of one layer of one network computed by manual_bp with "
        "a reference (torch autograd in the same dtype, torch in float64 for float32 networks, or central "
        "finite differences). A check passes when every element satisfies |manual - reference| <= allowed, "
        "allowed = rtol x S (against finite differences plus a term for the difference quotient's rounding), "
        "with S the tensor's comparison scale (the larger of max |reference| and the "
        "magnitude of the terms it is computed from, see oracle/scales.py). Relative errors below are "
        "against max |reference| of the tensor. Layers are 1-based; element indices 0-based.",
        "## Failures",
        failures_markdown(df),
        "## By equation, property and layer",
        summary_markdown(summary_table(df) if summary is None else summary),
    ]
    notes = df[df["note"] != ""] if "note" in df else df.iloc[:0]
    if len(notes):
        parts += ["## Where torch is off the true value",
                  "manual_bp takes a sigmoid with bce and a softmax with cross_entropy at the logit; torch's loss "
                  "on the output a rounds and clamps where the output saturates. The checks above compare with "
                  "torch's exact logit form; these are the cases where its form on a differs (oracle/compare/"
                  "torch_limits.py):",
                  "\n".join(f"- {r.case} ({r.dtype}, against {r.reference}): {r.note}" for r in notes.itertuples())]
    if example is not None:
        parts += ["## The document's 2-2-1 example",
                  "Each number the document prints, next to the exact value. The exact value is rounded to the "
                  "printed digits in decimal arithmetic, half away from zero (decimal.ROUND_HALF_UP on the "
                  "value read to 12 significant digits; manual-bp check's 'correct' also allows the exact value's "
                  "own float64 error, which moves no digit here); "
                  "'matches' says whether that gives the printed value. The document rounds each "
                  "step and carries the rounded value on, so some printed digits differ from the exact ones.",
                  example_markdown(example)]
    parts += ["## Run", metadata_markdown(metadata), "## Files", "\n".join(f"- [{f}]({f})" for f in files)]
    return "\n\n".join(parts) + "\n"
