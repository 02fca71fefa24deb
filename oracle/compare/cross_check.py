"""manual_bp against torch autograd: one case, or a seeded sweep of random networks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from manual_bp import Backprop
from manual_bp.errors import require
from oracle.cases import Case, SweepSpec, random_case
from oracle.compare.records import Record, case_scales, compare_properties, manual_properties
from oracle.compare.tolerance import FLOAT32, policy_for
from oracle.compare.torch_limits import annotate
from oracle.references.autograd import torch_properties


def cross_check(case: Case, algorithm: Backprop | None = None) -> list[Record]:
    """manual_bp (or ``algorithm``, a Backprop subclass) against torch autograd in the network's
    own dtype; a float32 network also against torch in float64 (the truth for the same numbers),
    so reports show what float32 itself costs."""
    manual = manual_properties(case, algorithm)
    args = (case.net, case.x, case.y, case.loss, case.reduction, case.lr, case.update_biases)
    own = torch_properties(*args)
    if case.net.dtype == np.float64:
        records = compare_properties(case, manual, own, "torch", policy_for(case.net.dtype))
        return annotate(records, case, manual, own, "torch", "float64") if algorithm is None else records
    truth = torch_properties(*args, dtype=torch.float64)
    scales = case_scales(case, truth)  # the magnitudes, once, from the float64 values
    records = (compare_properties(case, manual, own, "torch", FLOAT32, scales=scales)
               + compare_properties(case, manual, truth, "torch float64", FLOAT32, scales=scales))
    if algorithm is not None:  # a mistaken algorithm is off the true value itself: nothing to say about torch
        return records
    return annotate(annotate(records, case, manual, own, "torch", "float32"), case, manual, truth, "torch float64",
                    "float64")


def run_sweep(n: int, seed: int = 0, spec: SweepSpec | None = None,
              progress: Callable[[int, int], None] | None = None, algorithm: Backprop | None = None) -> list[Record]:
    """Cross-check n random networks with seeds seed, seed + 1, ...; ``progress(done, n)`` after each."""
    spec = SweepSpec() if spec is None else spec
    spec.validate()
    require(n >= 0, f"networks: expected a non-negative count, got {n}")
    records: list[Record] = []
    for i in range(n):
        records += cross_check(random_case(seed + i, spec), algorithm)
        if progress is not None:
            progress(i + 1, n)
    return records
