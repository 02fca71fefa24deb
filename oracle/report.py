"""Reports: comparison records turned into tables (CSV, Markdown) and a picture.

Every table is built with pandas from oracle.compare.Record rows:

* ``checks.csv``: one row per (case, reference, property, layer), every Record field, floats
  at full precision: as Python's repr, the shortest digits that read back as the same float64.
* ``failures_worst.csv``: for every failing record, its worst elements (top k by absolute
  error) with both values, from the arrays a failing Record keeps in ``extra``.
* ``report.md``: per equation (forward, loss, Eq. 1 .. Eq. 5), property and layer: cases,
  worst errors, the tolerance rule, passed/total; every failure with its worst element; the
  run's metadata. No timestamps and no absolute paths, so the same run writes the same file.
* ``example_2-2-1.csv`` / ``.md``: the document's 2-2-1 example element by element, the
  printed value next to manual_bp's exact value, torch autograd's and finite differences'.
* ``errors.png``: the distribution of errors per property against the tolerance.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from manual_bp import document
from manual_bp.worked import decimals_of
from oracle.autograd import torch_properties
from oracle.cases import SweepSpec, check_case, document_case, random_case
from oracle.compare import PROPERTIES, Case, Record, manual_properties
from oracle.numeric import FD_REFERENCE, fd_check, finite_differences
from oracle.worked import half_up

TOP_K = 5  # worst elements listed per failing record in failures_worst.csv
MD_FAILURE_ROWS = 50  # failing records listed one by one in report.md (all of them are in the CSVs)
COLUMNS = tuple(f.name for f in fields(Record) if f.name != "extra")

EQUATION_ORDER = ("forward", "loss", "Eq. 1", "Eq. 2", "Eq. 3", "Eq. 4", "Eq. 5")

# The document's way of writing each property, with its 1-based layer l.
_SYMBOLS = {"z": "z^({l})", "a": "a^({l})", "sigma_prime": "sigma'(z^({l}))", "dL_da": "dL/da^({l})",
            "delta": "delta^({l})", "dW": "dL/dW^({l})", "db": "dL/db^({l})", "W_new": "W'^({l})",
            "b_new": "b'^({l})"}


def document_symbol(prop: str, layer: int | None) -> str:
    """z^(1), sigma'(z^(2)), dL/dW^(1), W'^(2), L: a property as the document writes it."""
    return "L" if prop == "L" else _SYMBOLS[prop].format(l=layer)


# ---------------------------------------------------------------------------------------------
# Records -> tables


def records_frame(records: Iterable[Record]) -> pd.DataFrame:
    """One row per record, every Record field but ``extra``; layer and seed as nullable ints."""
    # The fields of Record.as_row(), read directly: as_row's dataclasses.asdict deep-copies every
    # record (and its extra arrays), the slowest step of a report with tens of thousands of rows.
    df = pd.DataFrame([[getattr(r, name) for name in COLUMNS] for r in records], columns=list(COLUMNS))
    for col in ("layer", "seed", "batch"):
        df[col] = df[col].astype("Int64")
    df["passed"] = df["passed"].astype(bool)
    return df


def worst_elements(records: Iterable[Record], k: int = TOP_K) -> pd.DataFrame:
    """For each failing record, its k worst elements by |manual - reference| (ties: lower index
    first): index, both values, absolute error and relative error against max |reference|."""
    rows: list[dict[str, Any]] = []
    for r in records:
        if r.passed:
            continue
        base = {"case": r.case, "seed": r.seed, "dtype": r.dtype, "reference": r.reference,
                "equation": r.equation, "property": r.property, "layer": r.layer, "symbol": r.symbol,
                "shape": r.shape, "allowed_abs_err": r.allowed_abs_err}
        m, ref = r.extra.get("manual"), r.extra.get("reference")
        if m is None or ref is None or m.shape != ref.shape:  # nothing to rank: the record's own worst
            rows.append(base | {"rank": 1, "index": r.worst_index, "manual_value": r.manual_value,
                                "reference_value": r.reference_value, "abs_err": r.max_abs_err,
                                "rel_err": r.max_rel_err})
            continue
        diff = np.abs(m - ref).reshape(-1)
        diff = np.where(np.isnan(diff), np.inf, diff)
        own = float(np.max(np.abs(ref))) if ref.size else 0.0
        order = np.argsort(-diff, kind="stable")[:k]
        for rank, flat in enumerate(order, start=1):
            index = [int(i) for i in np.unravel_index(flat, m.shape)] if m.ndim else []
            err = float(diff[flat])
            rows.append(base | {"rank": rank, "index": str(index), "manual_value": float(m.reshape(-1)[flat]),
                                "reference_value": float(ref.reshape(-1)[flat]), "abs_err": err,
                                "rel_err": err / own if own > 0 else (0.0 if err == 0 else float("inf"))})
    columns = ["case", "seed", "dtype", "reference", "equation", "property", "layer", "symbol", "shape", "rank",
               "index", "manual_value", "reference_value", "abs_err", "rel_err", "allowed_abs_err"]
    df = pd.DataFrame(rows, columns=columns)
    for col in ("layer", "seed", "rank"):
        df[col] = df[col].astype("Int64")
    return df


def _rule_words(rule: str) -> str:
    """The rule without its numbers: 'float64: |diff| <= 4 eps x (L+1) x S = ...' -> '|diff| <= 4 eps x (L+1) x S'."""
    head = rule.split(" = ")[0]
    return head.split(": ", 1)[1] if ": " in head else head


def share_of_tolerance(err: pd.Series, allowed: pd.Series) -> pd.Series:
    """err / allowed, with 0/0 = 0 and x/0 = inf: how much of its tolerance a record used."""
    out = err / allowed.where(allowed > 0)
    out[(allowed <= 0) & (err == 0)] = 0.0
    out[(allowed <= 0) & (err > 0)] = np.inf
    return out.fillna(np.inf)


# Panels and tables list the references in this order; others follow in the order met.
REFERENCE_ORDER = (("torch", "float64"), ("torch", "float32"), ("torch float64", "float32"),
                   (FD_REFERENCE, "float64"), (FD_REFERENCE, "float32"))


def _group_rank(reference: str, dtype: str) -> int:
    pair = (reference, dtype)
    return REFERENCE_ORDER.index(pair) if pair in REFERENCE_ORDER else len(REFERENCE_ORDER)


def _order(df: pd.DataFrame) -> pd.DataFrame:
    """Rows in the report's order: REFERENCE_ORDER, then PROPERTIES, layer, equation."""
    props = {p: i for i, p in enumerate(PROPERTIES)}
    key = pd.DataFrame({"g": [_group_rank(r, d) for r, d in zip(df["reference"], df["dtype"], strict=True)],
                        "p": df["property"].map(props), "l": df["layer"].fillna(0), "e": df["equation"]},
                       index=df.index)
    return df.loc[key.sort_values(["g", "p", "l", "e"], kind="stable").index]


def summary_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per (reference, dtype, equation, property, layer): cases checked, worst absolute and relative
    error, the worst share of the tolerance used, the rule and its rtol range, passed/total."""
    work = df.assign(used=share_of_tolerance(df["max_abs_err"], df["allowed_abs_err"]),
                     rtol=df["allowed_abs_err"] / df["scale"].where(df["scale"] > 0),
                     rule=df["tolerance"].map(_rule_words), layer_key=df["layer"].fillna(0))
    keys = ["reference", "dtype", "equation", "property", "layer_key"]
    rows = []
    for (ref, dtype, eq, prop, layer), g in work.groupby(keys, sort=False):
        lo, hi = g["rtol"].min(), g["rtol"].max()
        rtol = "-" if pd.isna(lo) else (f"{lo:.1e}" if lo == hi else f"{lo:.1e} .. {hi:.1e}")
        rows.append({"reference": ref, "dtype": dtype, "equation": eq, "property": prop,
                     "layer": None if prop == "L" else int(layer), "symbol": document_symbol(prop, int(layer)),
                     "cases": g["case"].nunique(), "worst_abs_err": g["max_abs_err"].max(),
                     "worst_rel_err": g["max_rel_err"].max(), "worst_err_over_allowed": g["used"].max(),
                     "tolerance": "; ".join(dict.fromkeys(g["rule"])), "rtol": rtol,
                     "passed": int(g["passed"].sum()), "total": len(g)})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["layer"] = out["layer"].astype("Int64")
    return _order(out).reset_index(drop=True)


def failures_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Every failing record with its worst element, the worst (by share of the tolerance) first."""
    bad = df[~df["passed"]]
    bad = bad.assign(used=share_of_tolerance(bad["max_abs_err"], bad["allowed_abs_err"]))
    # Ties (an infinite share where the allowed error is 0) go to the larger absolute error.
    return bad.sort_values(["used", "max_abs_err"], ascending=False, kind="stable").drop(columns="used")


# ---------------------------------------------------------------------------------------------
# The document's 2-2-1 example


_KEY = re.compile(r"^(?P<prop>z|a|sigma_prime|delta|dW|db|W|b)(?P<layer>\d+)(?P<new>_new)?$")


def _printed_key(key: str) -> tuple[str, int | None]:
    """manual_bp.document.PRINTED's key -> (property, layer): 'dW1' -> ('dW', 1), 'W2_new' -> ('W_new', 2)."""
    if key == "L":
        return "L", None
    match = _KEY.match(key)
    if match is None:
        raise ValueError(f"document.PRINTED: unknown key {key!r}")
    prop = match["prop"] + ("_new" if match["new"] else "")
    return prop, int(match["layer"])


def example_table(with_fd: bool = True) -> pd.DataFrame:
    """The document's 2-2-1 example, one row per printed element, in the document's order.

    Columns: quantity (z^(1)[0], dL/dW^(1)[0,1], L; element indices 0-based), property, layer,
    index, document (the value as printed, a string), decimals (its printed digits), exact
    (manual_bp in float64), torch (autograd), finite_difference (dW, db, delta only),
    abs_diff_document_exact, exact_at_printed_digits (the exact value rounded half-up to the
    printed digits) and matches_at_printed_digits."""
    case = document_case()
    manual = manual_properties(case)
    ref = torch_properties(case.net, case.x, case.y, case.loss, case.reduction, case.lr, case.update_biases)
    fd = finite_differences(case) if with_fd else {}
    rows = []
    for key, printed in document.PRINTED.items():
        prop, layer = _printed_key(key)
        exact = np.asarray(manual[prop] if layer is None else manual[prop][layer], dtype=np.float64)
        torch_value = np.asarray(ref[prop] if layer is None else ref[prop][layer], dtype=np.float64)
        fd_value = fd.get(prop, {}).get(layer) if prop in ("dW", "db", "delta") else None
        shown = np.asarray(printed, dtype=object)
        if shown.shape != exact.shape:
            raise ValueError(f"document.PRINTED[{key!r}]: shape {shown.shape}, manual_bp's {exact.shape}")
        for index in np.ndindex(exact.shape):
            text = str(shown[index])
            digits = decimals_of(text)
            at_digits = half_up(float(exact[index]), -digits)  # the rule manual-bp check uses
            suffix = f"[{','.join(map(str, index))}]" if exact.size > 1 else ""
            rows.append({
                "quantity": document_symbol(prop, layer) + suffix,
                "property": prop, "layer": layer, "index": str(list(index)),
                "document": text, "decimals": digits,
                "exact": float(exact[index]), "torch": float(torch_value[index]),
                "finite_difference": float(np.asarray(fd_value)[index]) if fd_value is not None else float("nan"),
                "abs_diff_document_exact": float(abs(Decimal(text) - Decimal(repr(float(exact[index]))))),
                "exact_at_printed_digits": str(at_digits),
                "matches_at_printed_digits": bool(at_digits == Decimal(text)),
            })
    df = pd.DataFrame(rows)
    df["layer"] = df["layer"].astype("Int64")
    return df


def markdown_table(df: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table of strings, with every '|' in a header or cell escaped
    (the rule '|diff| <= ...' would otherwise split its cell)."""
    def esc(v: object) -> str:
        return str(v).replace("|", "\\|")

    table = df.astype(str).map(esc)
    table.columns = [esc(c) for c in df.columns]
    return table.to_markdown(index=False, disable_numparse=True)


def example_markdown(df: pd.DataFrame) -> str:
    """The example table in Markdown, exact values at 10 significant digits (the CSV has all 17)."""
    show = pd.DataFrame({
        "quantity": df["quantity"], "document": df["document"],
        "exact": df["exact"].map(lambda v: f"{v:.10g}"), "torch": df["torch"].map(lambda v: f"{v:.10g}"),
        "finite difference": df["finite_difference"].map(lambda v: "" if np.isnan(v) else f"{v:.10g}"),
        "abs(document - exact)": df["abs_diff_document_exact"].map(lambda v: f"{v:.2e}"),
        "digits": df["decimals"], "exact at those digits": df["exact_at_printed_digits"],
        "matches": df["matches_at_printed_digits"].map({True: "yes", False: "NO"}),
    })
    return markdown_table(show)


# ---------------------------------------------------------------------------------------------
# Running the checks


def fd_records(case: Case) -> tuple[list[Record], int]:
    """The loss L, delta, dL/dW and dL/db against oracle.numeric's central differences, and how
    many elements crossed a relu/leaky_relu/elu kink (those are NaN and fail)."""
    return fd_check(case, properties=("L", "delta", "dW", "db"))


@dataclass
class Run:
    """Everything one report run produced."""

    records: list[Record]
    example: pd.DataFrame
    metadata: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)


def run_checks(networks: int, seed: int, dtypes: Sequence[str] = ("float64", "float32"), fd_networks: int = 100,
               spec: SweepSpec | None = None, progress: Callable[[int, int], None] | None = None) -> Run:
    """The example (against torch and finite differences) and ``networks`` random networks per
    dtype with seeds seed .. seed + networks - 1; finite differences on the first ``fd_networks``
    networks of each dtype whose perturbations cross no kink (the others are counted as skipped)."""
    import time

    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    case = document_case()
    records = check_case(case) + fd_records(case)[0]
    example = example_table()
    seconds["example"] = time.perf_counter() - t0
    total, done = networks * len(dtypes), 0
    fd_done: dict[str, int] = {}
    fd_skipped: dict[str, int] = {}
    for dtype in dtypes:
        t0 = time.perf_counter()
        sweep = replace(spec or SweepSpec(), dtype=dtype)
        sweep.validate()
        cases = [random_case(seed + i, sweep) for i in range(networks)]
        for c in cases:
            records += check_case(c)
            done += 1
            if progress is not None:
                progress(done, total)
        seconds[f"sweep {dtype}"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        done_here = 0
        for c in cases:
            if done_here >= fd_networks:
                break
            found, crossings = fd_records(c)
            if crossings:
                fd_skipped[dtype] = fd_skipped.get(dtype, 0) + 1
                continue
            records += found
            done_here += 1
        fd_done[dtype] = done_here
        seconds[f"finite differences {dtype}"] = time.perf_counter() - t0
    on = ", ".join(f"the first {fd_done[d]} {d} networks" for d in dtypes)
    skipped = sum(fd_skipped.values())
    metadata = {"seed": seed, "networks per dtype": networks, "dtypes": ", ".join(dtypes),
                "finite differences on": f"the 2-2-1 example, {on} ({skipped} skipped: a step of h crossed a "
                                         "relu/leaky_relu/elu kink)"}
    return Run(records, example, metadata, seconds)


def versions() -> dict[str, str]:
    """Versions of what computed the numbers."""
    import platform

    import torch

    return {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
            "pandas": pd.__version__}


# ---------------------------------------------------------------------------------------------
# Writing


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
    return markdown_table(show)


def failures_markdown(df: pd.DataFrame, limit: int = MD_FAILURE_ROWS) -> str:
    """Every failing record (up to ``limit``) with its worst element, or 'No failures.'."""
    bad = failures_frame(df)
    if bad.empty:
        return "No failures: every property of every layer of every case is within its tolerance."
    groups = bad.groupby(["equation", "property", "layer", "reference", "dtype"], dropna=False, sort=False)
    by_group = pd.DataFrame([{
        "equation": eq, "quantity": document_symbol(prop, None if pd.isna(layer) else int(layer)),
        "property": prop, "layer": _layer(layer), "reference": ref, "dtype": dtype, "failed records": len(g),
        "worst case": g.iloc[0]["case"], "worst index": g.iloc[0]["worst_index"],
        "manual": _fmt_full(g.iloc[0]["manual_value"]), "reference value": _fmt_full(g.iloc[0]["reference_value"]),
        "abs err": _fmt_e(g.iloc[0]["max_abs_err"]), "allowed": _fmt_e(g.iloc[0]["allowed_abs_err"]),
        "_key": (EQUATION_ORDER.index(eq) if eq in EQUATION_ORDER else len(EQUATION_ORDER),
                 PROPERTIES.index(prop), 0 if pd.isna(layer) else int(layer), _group_rank(ref, dtype)),
    } for (eq, prop, layer, ref, dtype), g in groups])
    # In the document's order (forward, loss, Eq. 1 .. Eq. 5), so the first row is where to look first.
    by_group = by_group.sort_values("_key", kind="stable").drop(columns="_key")
    failing = [eq for eq in EQUATION_ORDER if eq in set(bad["equation"])]
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
            + markdown_table(by_group)
            + "\n\nEach failing record with its worst element, worst first (the top "
            f"{TOP_K} elements of each are in failures_worst.csv):\n\n"
            + markdown_table(each) + tail)


def metadata_markdown(metadata: dict[str, Any]) -> str:
    """Key / value pairs as a two-column table."""
    table = pd.DataFrame({"": list(metadata), "value": [str(v) for v in metadata.values()]})
    return markdown_table(table)


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


def report_markdown(df: pd.DataFrame, example: pd.DataFrame | None, metadata: dict[str, Any],
                    files: Sequence[str]) -> str:
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
        summary_markdown(summary_table(df)),
    ]
    if example is not None:
        parts += ["## The document's 2-2-1 example",
                  "Each number the document prints, next to the exact value. The exact value is rounded to the "
                  "printed digits in decimal arithmetic, half away from zero (decimal.ROUND_HALF_UP on the "
                  "value read to 12 significant digits, as manual-bp check judges 'correct'); "
                  "'matches' says whether that gives the printed value. The document rounds each "
                  "step and carries the rounded value on, so some printed digits differ from the exact ones.",
                  example_markdown(example)]
    parts += ["## Run", metadata_markdown(metadata), "## Files", "\n".join(f"- [{f}]({f})" for f in files)]
    return "\n\n".join(parts) + "\n"


def write_report(out: Path, records: Sequence[Record], example: pd.DataFrame | None, metadata: dict[str, Any],
                 formats: Sequence[str] = ("csv", "md", "png")) -> list[Path]:
    """Write the tables (csv: checks.csv, failures_worst.csv, example_2-2-1.csv; md: report.md,
    example_2-2-1.md; json: checks.json; png: errors.png) into ``out``; returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    df = records_frame(records)
    metadata = {**metadata, "cases": df["case"].nunique(), "checks": len(df),
                "checks failed": int((~df["passed"]).sum())}
    names: list[str] = []
    if "csv" in formats:
        names += ["checks.csv", "failures_worst.csv"] + (["example_2-2-1.csv"] if example is not None else [])
    if "json" in formats:
        names.append("checks.json")
    if "md" in formats and example is not None:
        names.append("example_2-2-1.md")
    if "png" in formats:
        names.append("errors.png")
    written = []
    if "csv" in formats:
        written.append(write_csv(df, out / "checks.csv"))
        written.append(write_csv(worst_elements(records), out / "failures_worst.csv"))
        if example is not None:
            written.append(write_csv(example, out / "example_2-2-1.csv"))
    if "json" in formats:
        written.append(write_json(records, out / "checks.json"))
    if "md" in formats:
        path = out / "report.md"
        path.write_text(report_markdown(df, example, metadata, names), encoding="utf-8")
        written.append(path)
        if example is not None:
            path = out / "example_2-2-1.md"
            path.write_text("# The document's 2-2-1 example\n\n" + example_markdown(example) + "\n", encoding="utf-8")
            written.append(path)
    if "png" in formats:
        written.append(plot_errors(df, out / "errors.png"))
    return written


# ---------------------------------------------------------------------------------------------
# The picture

_AXIS_LABELS = {"z": "z", "a": "a", "sigma_prime": "σ'(z)", "L": "L", "dL_da": "dL/da", "delta": "δ",
                "dW": "dL/dW", "db": "dL/db", "W_new": "W'", "b_new": "b'"}
_AXIS_EQUATIONS = {"z": "forward", "a": "forward", "sigma_prime": "forward", "L": "loss", "dL_da": "Eq. 1, 2",
                   "delta": "Eq. 1, 2", "dW": "Eq. 3", "db": "Eq. 4", "W_new": "Eq. 5", "b_new": "Eq. 5"}


def _panel_title(reference: str, dtype: str) -> str:
    if reference == FD_REFERENCE:
        return f"{dtype} networks: manual_bp vs central finite differences (in float64)"
    if reference == "torch":
        return f"{dtype} networks: manual_bp vs PyTorch autograd, both in {dtype}"
    if reference == "torch float64" and dtype == "float32":
        return "float32 networks: manual_bp in float32 vs PyTorch autograd in float64 (what float32 rounding costs)"
    return f"{dtype} networks: manual_bp vs {reference}"


def plot_errors(df: pd.DataFrame, path: Path) -> Path:
    """errors.png: for each (reference, dtype) one panel; per property, every record's greatest error
    relative to its comparison scale S (log10), the tolerance band, failures in red, exact zeros
    drawn at a floor below the data."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    groups = list(df.groupby(["reference", "dtype"], sort=False))
    groups.sort(key=lambda item: _group_rank(*item[0]))
    n = max(len(groups), 1)
    fig, axes = plt.subplots(n, 1, figsize=(12, 3.6 * n + 1.2), squeeze=False)
    rng = np.random.default_rng(0)  # jitter only; fixed so the picture is reproducible
    for ax, ((reference, dtype), g) in zip(axes[:, 0], groups, strict=False):
        present = set(g["property"])
        props = [p for p in PROPERTIES if p in present]
        scale = g["scale"].where(g["scale"] > 0)
        err = g["max_abs_err"].to_numpy(dtype=float)
        # error / S; an error of exactly 0 stays 0 even where S is 0 (an all-zero tensor computed exactly)
        rel = np.where(err == 0, 0.0, (g["max_abs_err"] / scale).fillna(np.inf).to_numpy(dtype=float))
        rtol = (g["allowed_abs_err"] / scale).to_numpy(dtype=float)
        finite = rel[np.isfinite(rel) & (rel > 0)]
        lows = [np.log10(finite.min())] if finite.size else []
        lows += [np.log10(np.nanmin(rtol[rtol > 0]))] if np.any(rtol > 0) else []
        floor = np.floor(min(lows)) - 1.0 if lows else -18.0
        top = np.log10(finite.max()) if finite.size else floor
        ceiling = max(top, np.nanmax(np.log10(rtol[rtol > 0])) if np.any(rtol > 0) else floor) + 1.0
        for i, prop in enumerate(props):
            sel = (g["property"] == prop).to_numpy()
            r, t, ok = rel[sel], rtol[sel], g["passed"].to_numpy()[sel]
            x = i + rng.uniform(-0.3, 0.3, size=r.size)
            zero = r == 0
            y = np.where(zero, floor, np.log10(np.where(zero | ~np.isfinite(r), 1.0, r)))
            y = np.where(np.isfinite(r), y, ceiling)  # an infinite error (NaN, no reference) at the top
            # Line2D markers (plot) draw far faster than a scatter's PathCollection for 10^4 points.
            ax.plot(x[ok & ~zero], y[ok & ~zero], "o", ms=2.6, mew=0, color="tab:blue", alpha=0.35)
            ax.plot(x[zero & ok], y[zero & ok], "v", ms=3, mew=0, color="0.55", alpha=0.35)
            ax.plot(x[~ok], y[~ok], "x", ms=5, mew=1.0, color="tab:red")
            good = t[t > 0]
            if good.size:
                lo, hi = np.log10(good.min()), np.log10(good.max())
                ax.fill_between([i - 0.42, i + 0.42], lo, max(hi, lo + 0.03), color="tab:orange", alpha=0.35,
                                linewidth=0)
                ax.plot([i - 0.42, i + 0.42], [hi, hi], color="tab:orange", linewidth=1.6)
        ax.set_xticks(range(len(props)))
        ax.set_xticklabels([f"{_AXIS_LABELS[p]}\n({_AXIS_EQUATIONS[p]})" for p in props])
        ax.set_xlim(-0.6, len(props) - 0.4)
        ax.set_ylim(floor - 0.6, ceiling + 0.4)
        ax.set_ylabel("relative error, log10\nmax |manual - ref| / S")
        ax.axhline(floor + 0.5, color="0.6", linewidth=0.8, linestyle=":")  # zeros below, logarithms above
        fails = int((~g["passed"]).sum())
        ax.set_title(f"{_panel_title(reference, dtype)}: {g['case'].nunique()} cases, {len(g)} checks, "
                     f"{fails} failed", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        ticks = [t for t in range(int(floor) + 2, int(np.ceil(ceiling)) + 1) if t % 2 == 0]
        ax.set_yticks([floor, *ticks])
        ax.set_yticklabels(["exact 0", *map(str, ticks)])
    handles = [
        Line2D([], [], marker="o", linestyle="", color="tab:blue", alpha=0.6, label="one check (one layer of one "
               "network), passed"),
        Line2D([], [], marker="x", linestyle="", color="tab:red", label="failed: above its own check's "
               "tolerance (where S = 0: at the top)"),
        Line2D([], [], marker="v", linestyle="", color="0.55", label="error exactly 0 (no logarithm: drawn at the "
               "bottom, 'exact 0')"),
        Patch(color="tab:orange", alpha=0.5, label="tolerance allowed / S: its range over the checks (it depends on "
              "the depth L,\nand against finite differences on h and the loss); top line: the loosest"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=8.5, frameon=False)
    fig.suptitle("manual_bp's errors per quantity, against its references and tolerance\n"
                 "S = comparison scale: the larger of max |reference| and the size of the terms the value is "
                 "computed from", fontsize=11)
    fig.tight_layout(rect=(0, 0.05, 1, 0.975))
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path
