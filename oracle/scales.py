"""Comparison scales: how large a rounding error each property can carry, to first order.

Rounding errors are relative to the magnitude of the terms a value is computed from, and
they travel with the computation: an error in delta^(3) reaches delta^(1) through |W|.
This module runs that bookkeeping (a first-order running error bound) on the reference's
values: each property gets an elementwise magnitude M with the same shape, built from the
absolute values of its inputs and of the inputs' own magnitudes,

    M(z^l)       = |W^l| M(a^(l-1)) + |b^l|                 M(a^0) = |x|
    M(a^l)       = |sigma'(z^l)| M(z^l) + |a^l|             (|J| M(z) + |a| for softmax)
    M(dL/da^L)   = |dL/da^L| + |d^2 L / da^2| M(a^L)
    M(delta^l)   = |sigma'(z^l)| M(dL/da^l)                 (|J|^T M(dL/da) for softmax)
    M(dL/da^l)   = |W^(l+1)|^T M(delta^(l+1))               (l < L)
    M(dW^l)      = M(delta^l) |a^(l-1)|^T + |delta^l| M(a^(l-1))^T
    M(db^l)      = M(delta^l) summed like db^l
    M(W'^l)      = |W^l| + eta M(dW^l),  M(b'^l) likewise
    M(L)         = |L| + sum |dL/da^L| M(a^L)

and the comparison scale S of the tensor is max M. A rounding difference of a few eps x S is
then what two correct implementations can differ by, even where the value itself cancels to
near zero (a bias shared by a softmax layer has gradient exactly 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _col(v: np.ndarray) -> np.ndarray:
    return v[:, None] if v.ndim == 1 else v


def _jac(sp: np.ndarray) -> np.ndarray:
    """A softmax Jacobian as (n, n, m)."""
    return sp[..., None] if sp.ndim == 2 else sp


def _loss_curvature(loss: str, a: np.ndarray, y: np.ndarray, per_batch: float) -> np.ndarray:
    """|d^2 l / da^2| elementwise (each loss's Hessian is diagonal in a), scaled like dL/da."""
    n = a.shape[0]
    if loss == "half_sse":
        h = np.ones_like(a)
    elif loss == "sse":
        h = 2.0 * np.ones_like(a)
    elif loss == "mse":
        h = 2.0 / n * np.ones_like(a)
    elif loss == "bce":
        v = np.maximum(a * (1.0 - a), 1e-12)
        h = np.abs(v - (a - y) * (1.0 - 2.0 * a)) / (v * v) / n
    else:  # cross_entropy: d/da (-y / a) = y / a^2
        with np.errstate(divide="ignore", invalid="ignore"):
            h = np.where(y != 0, np.abs(y) / (a * a), 0.0)
    return h * per_batch


def _targets(y: np.ndarray, a: np.ndarray, loss: str) -> np.ndarray:
    Y = np.asarray(y)
    if loss == "cross_entropy" and Y.dtype.kind in "iu":
        return np.eye(a.shape[0])[:, Y.reshape(-1)]
    return _col(Y.astype(np.float64))


def comparison_scales(net: Any, x: np.ndarray, y: np.ndarray, loss: str, reduction: str, lr: float,
                      ref: dict[str, Any]) -> dict[str, Any]:
    """S for every property and layer: {'z': {l: S}, ..., 'L': S}, from reference values ``ref``."""
    L = net.L
    a = {l: _col(np.abs(np.asarray(ref["a"][l], dtype=np.float64))) for l in range(L + 1)}
    sp = {l: np.abs(np.asarray(ref["sigma_prime"][l], dtype=np.float64)) for l in range(1, L + 1)}
    soft = {l: sp[l].ndim == np.ndim(ref["z"][l]) + 1 for l in sp}
    M: dict[str, dict[int, np.ndarray]] = {p: {} for p in ("z", "a", "dL_da", "delta", "dW", "db")}

    M["a"][0] = a[0]
    for l in range(1, L + 1):
        b = 0.0 if net.b[l] is None else (np.abs(net.b[l])[:, None] if net.b[l].ndim else abs(float(net.b[l])))
        M["z"][l] = np.abs(net.W[l]) @ M["a"][l - 1] + b
        spl = _jac(sp[l]) if soft[l] else _col(sp[l])
        prop = np.einsum("ijk,jk->ik", spl, M["z"][l]) if soft[l] else spl * M["z"][l]
        M["a"][l] = prop + a[l]

    per_batch = 1.0 / a[0].shape[1] if reduction == "mean" else 1.0
    aL = _col(np.asarray(ref["a"][L], dtype=np.float64))
    curvature = _loss_curvature(loss, aL, _targets(y, aL, loss), per_batch)
    M["dL_da"][L] = _col(np.abs(np.asarray(ref["dL_da"][L], dtype=np.float64))) + curvature * M["a"][L]
    for l in range(L, 0, -1):
        if l < L:
            M["dL_da"][l] = np.abs(net.W[l + 1]).T @ M["delta"][l + 1]
        spl = _jac(sp[l]) if soft[l] else _col(sp[l])
        M["delta"][l] = np.einsum("ijk,ik->jk", spl, M["dL_da"][l]) if soft[l] else spl * M["dL_da"][l]
        delta = _col(np.abs(np.asarray(ref["delta"][l], dtype=np.float64)))
        M["dW"][l] = M["delta"][l] @ a[l - 1].T + delta @ M["a"][l - 1].T
        if net.b[l] is not None:
            M["db"][l] = M["delta"][l].sum() if net.b[l].ndim == 0 else M["delta"][l].sum(axis=1)

    S: dict[str, Any] = {p: {l: float(np.max(v)) for l, v in M[p].items()} for p in M}
    S["sigma_prime"] = {l: float(np.max(sp[l])) for l in sp}
    dL_daL = _col(np.abs(np.asarray(ref["dL_da"][L], dtype=np.float64)))
    S["L"] = abs(float(ref["L"])) + float(np.sum(dL_daL * M["a"][L]))  # |L| + sum |dL/da| M(a^L)
    S["W_new"] = {l: float(np.max(np.abs(net.W[l]) + lr * M["dW"][l])) for l in range(1, L + 1)}
    S["b_new"] = {l: float(np.max(np.abs(net.b[l]) + lr * M["db"][l])) for l in M["db"]}
    return S
