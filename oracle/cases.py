"""Cases to check: the document's 2-2-1 example and seeded random networks, and the check
that runs one case against its references."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from manual_bp import document
from manual_bp.activations import ACTIVATIONS
from manual_bp.errors import require
from manual_bp.losses import LOSSES, REDUCTIONS
from manual_bp.network import Network
from oracle.autograd import torch_properties
from oracle.compare import Case, Record, case_scales, compare_properties, manual_properties
from oracle.tolerance import FLOAT32, policy_for

ALL_ACTIVATIONS = tuple(ACTIVATIONS)
ALL_LOSSES = tuple(LOSSES)
OUTPUT_FOR_LOSS = {"bce": "sigmoid", "cross_entropy": "softmax"}  # losses on probabilities
BIAS_KINDS = ("per_unit", "shared", "none")


def document_case() -> Case:
    """The document's 2-2-1 sigmoid example: x = [0.5, 1.0], y = 1.0, half_sse, eta = 0.5."""
    return Case("document-2-2-1", document.document_network(), np.array(document.X), np.array(document.Y),
                document.LOSS, "mean", document.LEARNING_RATE)


@dataclass(frozen=True)
class SweepSpec:
    """What random networks a sweep draws from (each range inclusive)."""

    depth: tuple[int, int] = (1, 6)
    width: tuple[int, int] = (1, 16)
    batch: tuple[int, int] = (1, 8)
    activations: Sequence[str] = ALL_ACTIVATIONS
    losses: Sequence[str] = ALL_LOSSES
    reductions: Sequence[str] = REDUCTIONS
    dtype: str = "float64"
    lr: float = 0.1

    def validate(self) -> None:
        """Raise InputError naming the first bad field."""
        for name in ("depth", "width", "batch"):
            lo, hi = getattr(self, name)
            require(1 <= lo <= hi, f"{name}: expected a range 1 <= lo <= hi, got {lo}..{hi}")
        for a in self.activations:
            require(a in ACTIVATIONS, f"activations: unknown activation {a!r}; known: {', '.join(ACTIVATIONS)}")
        for loss in self.losses:
            require(loss in LOSSES, f"losses: unknown loss {loss!r}; known: {', '.join(LOSSES)}")
        for r in self.reductions:
            require(r in REDUCTIONS, f"reductions: expected mean or sum, got {r!r}")
        require(self.dtype in ("float64", "float32"), f"dtype: expected float64 or float32, got {self.dtype!r}")
        require(len(self.activations) > 0 and len(self.losses) > 0, "activations and losses must not be empty")


def random_case(seed: int, spec: SweepSpec = SweepSpec()) -> Case:
    """One random network and data set, fully determined by ``seed`` and ``spec``.

    bce gets a sigmoid output and targets in [0, 1]; cross_entropy a softmax output and class
    indices (or, for odd seeds, one-hot columns); the other losses any output and N(0, 1)
    targets. A batch of one is given as a single vector (n_0,) half of the time."""
    rng = np.random.default_rng(seed)
    L = int(rng.integers(spec.depth[0], spec.depth[1] + 1))
    sizes = [int(rng.integers(spec.width[0], spec.width[1] + 1)) for _ in range(L + 1)]
    loss = str(rng.choice(list(spec.losses)))
    acts = [str(rng.choice(list(spec.activations))) for _ in range(L)]
    if loss in OUTPUT_FOR_LOSS:
        acts[-1] = OUTPUT_FOR_LOSS[loss]
    if loss == "cross_entropy" and sizes[-1] == 1:
        sizes[-1] = 2  # a one-unit softmax is constant 1: no gradient to check
    m = int(rng.integers(spec.batch[0], spec.batch[1] + 1))
    single = m == 1 and bool(rng.integers(0, 2))
    bias = str(rng.choice(BIAS_KINDS))
    net = Network.random(sizes, acts, init=str(rng.choice(["uniform", "glorot", "he"])), seed=seed,
                         dtype=spec.dtype, bias=bias)
    x = rng.normal(size=(sizes[0],) if single else (sizes[0], m))
    out_shape = (sizes[-1],) if single else (sizes[-1], m)
    if loss == "cross_entropy":
        labels = rng.integers(0, sizes[-1], size=() if single else (m,))
        y = labels if seed % 2 == 0 else np.eye(sizes[-1])[:, labels]
    elif loss == "bce":
        y = rng.uniform(0.0, 1.0, size=out_shape)
    else:
        y = rng.normal(size=out_shape)
    reduction = str(rng.choice(list(spec.reductions)))
    return Case(f"{spec.dtype}-{seed}", net, x, y, loss, reduction, spec.lr, seed=seed)


def check_case(case: Case) -> list[Record]:
    """manual_bp against torch autograd in the network's own dtype; a float32 network also
    against torch in float64 (the truth for the same numbers), so reports show what float32
    itself costs."""
    manual = manual_properties(case)
    args = (case.net, case.x, case.y, case.loss, case.reduction, case.lr, case.update_biases)
    if case.net.dtype == np.float64:
        return compare_properties(case, manual, torch_properties(*args), "torch", policy_for(case.net.dtype))
    truth = torch_properties(*args, dtype=torch.float64)
    scales = case_scales(case, truth)  # the magnitudes, once, from the float64 values
    return (compare_properties(case, manual, torch_properties(*args), "torch", FLOAT32, scales=scales)
            + compare_properties(case, manual, truth, "torch float64", FLOAT32, scales=scales))


def run_sweep(n: int, seed: int = 0, spec: SweepSpec = SweepSpec(),
              progress: Callable[[int, int], None] | None = None) -> list[Record]:
    """Check n random networks with seeds seed, seed + 1, ...; ``progress(done, n)`` after each."""
    spec.validate()
    require(n >= 0, f"networks: expected a non-negative count, got {n}")
    records: list[Record] = []
    for i in range(n):
        records += check_case(random_case(seed + i, spec))
        if progress is not None:
            progress(i + 1, n)
    return records
