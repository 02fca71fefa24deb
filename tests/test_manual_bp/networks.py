"""Networks the manual_bp tests share: every activation, every bias kind, depths 1 to 4."""

from __future__ import annotations

import numpy as np
from support import document_network

from manual_bp import Network

# ---------------------------------------------------------------------------------------------
# Networks used across the tests: every activation, every bias kind, depths 1 to 4.


def _mixed_bias_net() -> Network:
    rng = np.random.default_rng(7)
    return Network(
        [rng.normal(size=(4, 3)), rng.normal(size=(3, 4)), rng.normal(size=(2, 3))],
        [0.25, None, rng.normal(size=2)],  # shared, none, per unit
        ["tanh", "softplus", "identity"],
    )


NETS = {
    "document_2-2-1": document_network,
    "tanh-identity": lambda: Network.random([3, 4, 2], ["tanh", "identity"], init="uniform", seed=1),
    "relu-gelu-softmax": lambda: Network.random([4, 5, 3, 3], ["relu", "gelu", "softmax"], init="he", seed=2),
    "leaky-elu-softplus-silu": lambda: Network.random([3, 6, 5, 4, 2], ["leaky_relu", "elu", "softplus", "silu"],
                                                      seed=3),
    "shared-bias": lambda: Network.random([2, 3, 1], "silu", bias="shared", seed=4),
    "no-bias": lambda: Network.random([3, 2, 2], ["elu", "sigmoid"], bias="none", seed=5),
    "one-layer": lambda: Network.random([3, 1], "identity", seed=6),
    "mixed-bias": _mixed_bias_net,
}


def _data(net: Network, m: int | None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """x of shape (n_0,) (m None) or (n_0, m), and half_sse targets of the output's shape."""
    rng = np.random.default_rng(seed)
    n0, nL = net.sizes[0], net.sizes[-1]
    shape_x = (n0,) if m is None else (n0, m)
    shape_y = (nL,) if m is None else (nL, m)
    return rng.normal(size=shape_x), rng.uniform(0.0, 1.0, size=shape_y)


def _sigma_prime_shape(net: Network, l: int, tail: tuple[int, ...]) -> tuple[int, ...]:
    n = net.sizes[l]
    return (n, n, *tail) if net.activations[l] == "softmax" else (n, *tail)

# Batch and per-example results run the same formulas with different matmul shapes and
# summation orders, so they differ by a few ulps. The bound is norm-wise: relative to the
# largest sum of term magnitudes in the array (an element that is itself the difference of
# close numbers, like a - y, only has an error that small in absolute terms). Measured: <= 4
# ulps; 1e-14 (~45 ulps) leaves margin, while a wrong reduction (a missing 1/m, a sum over
# the wrong axis) is off by O(1) relative.
SUM_TOL = 1e-14


def _assert_sum_close(actual: object, terms: list[object], factor: float, what: str) -> None:
    """actual == factor * sum(terms), to SUM_TOL of factor * max(sum |terms|)."""
    stacked = np.stack([np.asarray(t, dtype=np.float64) for t in terms])
    expected = stacked.sum(axis=0) * factor
    magnitude = float((np.abs(stacked).sum(axis=0) * abs(factor)).max())
    err = float(np.abs(np.asarray(actual) - expected).max())
    assert err <= SUM_TOL * magnitude, f"{what}: max err {err}, magnitude {magnitude}"


def _arrays(obj: object) -> list[np.ndarray | None]:
    """All arrays held by a Network, Cache or Gradients, in a fixed order."""
    out: list[np.ndarray | None] = []
    for field in ("W", "b", "z", "a", "sigma_prime", "delta", "dL_da", "dW", "db"):
        if hasattr(obj, field):
            layers = getattr(obj, field)
            out.extend(layers[l] for l in sorted(layers))
    return out
