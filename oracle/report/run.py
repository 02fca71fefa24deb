"""Running the report's checks: the example and seeded sweeps against torch autograd and
finite differences."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from manual_bp import Backprop
from oracle.cases import Case, SweepSpec, document_case, random_case
from oracle.compare.cross_check import cross_check
from oracle.compare.records import Record, manual_properties
from oracle.references.numeric import fd_check
from oracle.report.example import example_table


def fd_records(case: Case, algorithm: Backprop | None = None) -> tuple[list[Record], int]:
    """The loss L, delta, dL/dW and dL/db of manual_bp (or ``algorithm``) against central finite
    differences, and how many elements crossed a relu/leaky_relu/elu kink (those are NaN and fail)."""
    return fd_check(case, manual_properties(case, algorithm), properties=("L", "delta", "dW", "db"))


def _fd_sweep(cases: list[Case], fd_networks: int, algorithm: Backprop | None) -> tuple[list[Record], int, int]:
    """Finite differences on the first ``fd_networks`` cases whose steps cross no kink: the
    records, how many cases were checked and how many were skipped."""
    records: list[Record] = []
    done = skipped = 0
    for c in cases:
        if done >= fd_networks:
            break
        found, crossings = fd_records(c, algorithm)
        if crossings:
            skipped += 1
            continue
        records += found
        done += 1
    return records, done, skipped


@dataclass
class Run:
    """Everything one report run produced."""

    records: list[Record]
    example: pd.DataFrame
    metadata: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)


def run_checks(networks: int, seed: int, dtypes: Sequence[str] = ("float64", "float32"), fd_networks: int = 100,
               spec: SweepSpec | None = None, progress: Callable[[int, int], None] | None = None,
               algorithm: Backprop | None = None) -> Run:
    """The example (against torch and finite differences) and ``networks`` random networks per
    dtype with seeds seed .. seed + networks - 1; finite differences on the first ``fd_networks``
    networks of each dtype whose perturbations cross no kink (the others are counted as skipped).
    ``algorithm`` checks a Backprop subclass instead of manual_bp's public functions."""
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    case = document_case()
    records = cross_check(case, algorithm) + fd_records(case, algorithm)[0]
    example = example_table()
    seconds["example"] = time.perf_counter() - t0
    total, done = networks * len(dtypes), 0
    fd_done: dict[str, int] = {}
    skipped = 0
    for dtype in dtypes:
        t0 = time.perf_counter()
        sweep = replace(spec or SweepSpec(), dtype=dtype)
        sweep.validate()
        cases = [random_case(seed + i, sweep) for i in range(networks)]
        for c in cases:
            records += cross_check(c, algorithm)
            done += 1
            if progress is not None:
                progress(done, total)
        seconds[f"sweep {dtype}"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        found, fd_done[dtype], missed = _fd_sweep(cases, fd_networks, algorithm)
        records += found
        skipped += missed
        seconds[f"finite differences {dtype}"] = time.perf_counter() - t0
    on = ", ".join(f"the first {fd_done[d]} {d} networks" for d in dtypes)
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
