"""The document's 2-2-1 example, element by element: every printed number next to manual_bp's
exact value, torch autograd's and finite differences'."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from oracle import notation
from oracle.cases import document_case
from oracle.compare.records import manual_properties
from oracle.references.autograd import torch_properties
from oracle.references.numeric import finite_differences
from oracle.report.tables import frame_markdown
from oracle.worked.format import packaged_example, parse_key
from oracle.worked.rounding import decimals_of, half_up


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
    claims = packaged_example("seed-2-2-1")
    for key in claims.claim_keys():
        prop, layer = parse_key(key)
        exact = np.asarray(manual[prop] if layer is None else manual[prop][layer], dtype=np.float64)
        torch_value = np.asarray(ref[prop] if layer is None else ref[prop][layer], dtype=np.float64)
        fd_value = fd.get(prop, {}).get(layer) if prop in ("dW", "db", "delta") else None
        shown = claims.claimed[key]
        for index in np.ndindex(exact.shape):
            text = str(shown[index])
            digits = decimals_of(text)
            at_digits = half_up(float(exact[index]), -digits)  # a hand calculation's rounding
            suffix = f"[{','.join(map(str, index))}]" if exact.size > 1 else ""
            rows.append({
                "quantity": notation.symbol(prop, layer) + suffix,
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
    return frame_markdown(show)
