"""Records turned into tables (pandas): one row per record, the worst elements of failing
records, and the per-equation summary."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from typing import Any

import numpy as np
import pandas as pd

from oracle import notation
from oracle.compare.records import PROPERTIES, Record
from oracle.references.numeric import FD_REFERENCE
from oracle.text import markdown_table

TOP_K = 5  # worst elements listed per failing record in failures_worst.csv
COLUMNS = tuple(f.name for f in fields(Record) if f.name != "extra")


INT64_MAX = 2**63 - 1


def nullable_ints(column: pd.Series) -> pd.Series:
    """A column of ints (or None) as pandas' nullable Int64, or as Python ints (written exactly)
    where one is beyond int64: ``--seed`` takes any non-negative integer, numpy's generator too."""
    if any(v is not None and not pd.isna(v) and abs(int(v)) > INT64_MAX for v in column):
        return column.astype(object)
    return column.astype("Int64")


def records_frame(records: Iterable[Record]) -> pd.DataFrame:
    """One row per record, every Record field but ``extra``; layer and seed as nullable ints."""
    # The fields of Record.as_row(), read directly: as_row's dataclasses.asdict deep-copies every
    # record (and its extra arrays), the slowest step of a report with tens of thousands of rows.
    df = pd.DataFrame([[getattr(r, name) for name in COLUMNS] for r in records], columns=list(COLUMNS))
    for col in ("layer", "seed", "batch"):
        df[col] = nullable_ints(df[col])
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
        df[col] = nullable_ints(df[col])
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
        lo_text, hi_text = ("-", "-") if pd.isna(lo) else (f"{lo:.1e}", f"{hi:.1e}")
        rtol = lo_text if lo_text == hi_text else f"{lo_text} .. {hi_text}"  # equal as printed: one value
        rows.append({"reference": ref, "dtype": dtype, "equation": eq, "property": prop,
                     "layer": None if prop == "L" else int(layer),
                     "symbol": notation.symbol(prop, None if prop == "L" else int(layer)),
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


def frame_markdown(df: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table of its cells as text."""
    return markdown_table([str(c) for c in df.columns], df.astype(str).values.tolist())
