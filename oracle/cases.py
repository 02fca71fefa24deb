"""Cases to check, built in one place: the document's 2-2-1 example, seeded random networks,
and hand-picked shapes. A case is a network, its data and the settings of one training step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from manual_bp.activations import ACTIVATIONS
from manual_bp.errors import require
from manual_bp.losses import LOSSES, REDUCTIONS
from manual_bp.network import BIAS_KINDS, INITS, Network

ALL_ACTIVATIONS = tuple(ACTIVATIONS)
ALL_LOSSES = tuple(LOSSES)
OUTPUT_FOR_LOSS = {"bce": "sigmoid", "cross_entropy": "softmax"}  # losses on probabilities


@dataclass(frozen=True)
class Case:
    """One network and the data to run it on: everything a check needs."""

    case_id: str
    net: Network
    x: np.ndarray
    y: np.ndarray
    loss: str = "half_sse"
    reduction: str = "mean"
    lr: float = 0.1
    update_biases: bool = True
    seed: int | None = None

    @property
    def batch(self) -> int:
        """The number of examples m (1 for a single example of shape (n_0,))."""
        return 1 if np.ndim(self.x) == 1 else np.shape(self.x)[1]

    def describe(self) -> dict[str, Any]:
        """The network and settings as plain fields, for a record or a table row."""
        net = self.net
        return {
            "case": self.case_id,
            "seed": self.seed,
            "sizes": "-".join(map(str, net.sizes)),
            "activations": ",".join(net.activations.values()),
            "bias": ",".join(net.bias_kind(l) for l in net.W),
            "loss": self.loss,
            "reduction": self.reduction,
            "batch": self.batch,
            "dtype": np.dtype(net.dtype).name,
        }

    def about(self) -> str:
        """The case in a few words: 'sizes 2-2-1, sigmoid,sigmoid, half_sse/mean, batch 1'."""
        d = self.describe()
        return f"sizes {d['sizes']}, {d['activations']}, {d['loss']}/{d['reduction']}, batch {d['batch']}"


def document_case() -> Case:
    """The document's 2-2-1 sigmoid example: x = [0.5, 1.0], y = 1.0, half_sse, eta = 0.5 (read
    from the shipped worked example seed-2-2-1, the one place it is stored)."""
    from oracle.worked.format import packaged_example

    ex = packaged_example("seed-2-2-1")
    return Case("document-2-2-1", ex.net, ex.x, ex.y, ex.loss, ex.reduction, ex.lr, ex.update_biases)


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


def draw_targets(rng: np.random.Generator, loss: str, n_out: int, m: int | None, labels: str = "indices"
                 ) -> np.ndarray:
    """Targets a loss accepts, for m examples (None: one example given as a vector): class
    labels for cross_entropy ('indices' of shape (m,), or 'one_hot' columns), U(0, 1) for bce,
    N(0, 1) for the others."""
    shape = (n_out,) if m is None else (n_out, m)
    if loss == "cross_entropy":
        drawn = rng.integers(0, n_out, size=() if m is None else (m,))
        return drawn if labels == "indices" else np.eye(n_out)[:, drawn]
    if loss == "bce":
        return rng.uniform(0.0, 1.0, size=shape)
    return rng.normal(size=shape)


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
    net = Network.random(sizes, acts, init=str(rng.choice(list(INITS))), seed=seed, dtype=spec.dtype, bias=bias)
    x = rng.normal(size=(sizes[0],) if single else (sizes[0], m))
    y = draw_targets(rng, loss, sizes[-1], None if single else m, "indices" if seed % 2 == 0 else "one_hot")
    reduction = str(rng.choice(list(spec.reductions)))
    return Case(f"{spec.dtype}-{seed}", net, x, y, loss, reduction, spec.lr, seed=seed)


def hand_case(case_id: str, sizes: Sequence[int], activations: Sequence[str], loss: str, reduction: str,
              batch: int | None, seed: int, bias: str = "per_unit", labels: str = "indices", lr: float = 0.1,
              dtype: str = "float64") -> Case:
    """A seeded glorot network of the given shape; ``batch=None`` means one example given as a
    vector (n_0,); targets as :func:`draw_targets`."""
    rng = np.random.default_rng(seed)
    net = Network.random(list(sizes), list(activations), init="glorot", seed=seed, bias=bias, dtype=dtype)
    x = rng.normal(size=(sizes[0],) if batch is None else (sizes[0], batch))
    y = draw_targets(rng, loss, sizes[-1], batch, labels)
    return Case(case_id, net, x, y, loss, reduction, lr=lr, seed=seed)
