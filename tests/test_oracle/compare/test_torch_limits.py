"""Where torch's loss on the output a is off the true gradient: the check passes (manual_bp is
right), and the record and the report say where and why torch differs."""

from __future__ import annotations

from decimal import Decimal, localcontext

import numpy as np
import torch
import torch.nn.functional as F

from manual_bp import Network
from oracle.cases import Case
from oracle.compare.cross_check import cross_check
from oracle.report.markdown import report_markdown
from oracle.report.tables import records_frame


def _saturated(dtype: str, w: float, y0: float) -> Case:
    net = Network([[[w, -w]]], [[0.0]], "sigmoid", dtype=dtype)
    return Case("saturated", net, np.array([[1.0, 0.3], [0.0, 0.6]]), np.array([[y0, 1.0]]), "bce")


def _true_delta(z: float, y: float, n_batch: int) -> float:
    with localcontext() as ctx:
        ctx.prec = 50
        return float((1 / (1 + (-Decimal(z)).exp()) - Decimal(y)) / n_batch)


def _torch_bceloss_delta(z: float, y: float, n_batch: int, dtype: torch.dtype) -> float:
    zt = torch.tensor([z], dtype=dtype, requires_grad=True)
    (F.binary_cross_entropy(torch.sigmoid(zt), torch.tensor([y], dtype=dtype)) / n_batch).backward()
    return float(zt.grad[0])


def test_a_sigmoid_saturated_in_float32_true_gradient_and_torchs_named():
    case = _saturated("float32", 16.2, 1.0)  # the first example's logit is 16.2: a rounds to 1 - 6e-8
    records = cross_check(case)
    assert all(r.passed for r in records), [r.message() for r in records if not r.passed]
    z = float(np.float32(16.2))
    true, clamped = _true_delta(z, 1.0, 2), _torch_bceloss_delta(z, 1.0, 2, torch.float32)
    assert abs(clamped - true) > 0.2 * abs(true)  # torch's BCELoss: 20-60% off here
    manual = next(r for r in records if r.property == "delta" and r.reference == "torch")
    assert "[0, 0] at z = 16.2" in manual.note and "rounded to float32" in manual.note
    assert f"true {true:.6g}" in manual.note and f"torch {clamped:.6g}" in manual.note


def test_past_the_clamp_in_float64_torchs_gradient_is_a_fraction_of_the_true_one():
    case = _saturated("float64", 30.0, 0.0)  # a(1 - a) = 9e-14 < 1e-12: binary_cross_entropy clamps
    records = cross_check(case)
    assert all(r.passed for r in records)
    notes = [r.note for r in records if r.note]
    assert len(notes) == 1 and "[0, 0] at z = 30" in notes[0] and "clamps a(1 - a) at 1e-12" in notes[0]
    md = report_markdown(records_frame(records), None, {}, [])
    assert "## Where torch is off the true value" in md and notes[0] in md


def test_no_note_where_nothing_saturates():
    assert not any(r.note for r in cross_check(_saturated("float64", 3.0, 1.0)))
    assert "## Where torch" not in report_markdown(records_frame(cross_check(_saturated("float64", 3.0, 1.0))),
                                                   None, {}, [])
