"""Where torch, not manual_bp, is off the true value, and why: one note per record.

manual_bp computes a sigmoid output with bce, and a softmax output with cross_entropy, at the
logit (manual_bp.losses.AT_LOGIT): delta^(L) = (1 - y) sigma(z) - y sigma(-z) (over n) and
(sum y) a - y with log a = z - logsumexp(z). torch's binary_cross_entropy and -y log(a) work on
the output a itself, rounded to the dtype: once a is within a few ulps of 1 (a sigmoid logit
past about 16 in float32, 37 in float64) 1 - a keeps few or none of its digits, and
binary_cross_entropy clamps log(a) at -100 and a(1 - a) at 1e-12 (past a logit of 27.6 in
float64 its gradient is a fraction of the true one, 0 where a rounds to 1).

The torch reference therefore takes these losses at the logit too, by torch's own exact forms
(binary_cross_entropy_with_logits, cross_entropy), and keeps what torch's loss on a gives for
delta^(L) beside it ('delta_on_a'); this module compares that with manual_bp's and, where it
is more than 1% off, writes a note on the record saying where and why. manual_bp's value is
the true one there (tests/test_oracle/compare/test_torch_limits.py checks it against 50 digits).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from oracle.cases import Case
from oracle.compare.records import Record

OFF = 0.01  # a relative difference that rounding of a correct computation of delta^(L) never reaches
WHY = {
    ("sigmoid", "bce"): "torch's binary_cross_entropy (nn.BCELoss) works on a = sigmoid(z) rounded to {dtype}, "
                        "where 1 - a has lost its digits, and clamps a(1 - a) at 1e-12; manual_bp computes "
                        "(a - y)/n at the logit, as (1 - y) sigma(z) - y sigma(-z), and so does torch's "
                        "binary_cross_entropy_with_logits (nn.BCEWithLogitsLoss)",
    ("softmax", "cross_entropy"): "torch's -y log(a) (NLL of log(softmax)) works on a = softmax(z) rounded to "
                                  "{dtype}, where a small a has lost its digits or underflowed to 0; manual_bp "
                                  "computes (sum y) a - y with log a = z - logsumexp(z), and so does torch's "
                                  "cross_entropy on the logits (nn.CrossEntropyLoss)",
}


def torch_note(case: Case, manual: dict[str, Any], reference: dict[str, Any], dtype: str) -> str:
    """A one-line note naming the elements of delta^(L) where ``reference`` (torch) is more than
    1% off manual_bp, with the logit and both values; '' where there are none."""
    L = case.net.L
    why = WHY.get((case.net.activations[L], case.loss))
    if why is None:
        return ""
    if "delta_on_a" not in reference:
        return ""
    true = np.asarray(manual["delta"][L], dtype=np.float64)
    torch_value = np.asarray(reference["delta_on_a"][L], dtype=np.float64)
    if true.shape != torch_value.shape:
        return ""
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(torch_value - true) / np.abs(true)  # NaN where torch's is NaN (0 x inf): off too
    off = np.argwhere(~(rel <= OFF))
    if not len(off):
        return ""
    z = np.asarray(manual["z"][L], dtype=np.float64)
    shown = []
    for index in off[:3]:
        i = tuple(int(k) for k in index)
        how = "NaN, from 0 x inf" if np.isnan(torch_value[i]) else f"{torch_value[i]:.6g}, {rel[i]:.0%} off"
        shown.append(f"[{', '.join(map(str, i))}] at z = {z[i]:.4g}: torch {how}, true {true[i]:.6g}")
    more = f" and {len(off) - 3} more" if len(off) > 3 else ""
    return (f"torch's loss on the output a is off the true delta^({L}) in {len(off)} element(s): "
            f"{'; '.join(shown)}{more}. Why: {why.format(dtype=dtype)}; the comparison above uses that exact form")


def annotate(records: Sequence[Record], case: Case, manual: dict[str, Any], reference: dict[str, Any],
             reference_name: str, dtype: str) -> list[Record]:
    """``records`` with the note on the delta^(L) record of ``reference_name``, when there is one."""
    note = torch_note(case, manual, reference, dtype)
    for r in records:
        if note and r.reference == reference_name and r.property == "delta" and r.layer == case.net.L:
            r.note = note
    return list(records)
