"""Comparison scales: how large a rounding error each property can carry, to first order.

Rounding errors are relative to the magnitude of the terms a value is computed from, and
they travel with the computation: an error in delta^(3) reaches delta^(1) through |W|.
This module runs that bookkeeping (a first-order running error bound) on the reference's
values: each property gets an elementwise magnitude M with the same shape, built from the
absolute values of its inputs and of the inputs' own magnitudes,

    M(z^l)       = |W^l| M(a^(l-1)) + |b^l|                 M(a^0) = |x|
    M(a^l)       = |sigma'(z^l)| M(z^l) + |a^l|             (|J| M(z) + |a| for softmax)
    M(sigma'^l)  = |sigma'| + T + |sigma''(z^l)| M(z^l)      T: the terms sigma' is formed from
                                                            (1 and tanh^2 for 1 - tanh^2, ...)
    M(dL/da^L)   = |dL/da^L| + |d^2 L / da^2| M(a^L)
    M(delta^l)   = |sigma'| M(dL/da^l) + M(sigma'^l) |dL/da^l|   (with |J|^T for softmax)
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

from manual_bp.losses import expand_class_indices


def _col(v: np.ndarray) -> np.ndarray:
    return v[:, None] if v.ndim == 1 else v


def _jac(sp: np.ndarray) -> np.ndarray:
    """A softmax Jacobian as (n, n, m)."""
    return sp[..., None] if sp.ndim == 2 else sp


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # the oracle's own, overflow-free form


def _sigma_prime_magnitude(name: str, z: np.ndarray, a: np.ndarray, sp: np.ndarray, Mz: np.ndarray) -> np.ndarray:
    """M(sigma'(z)): |sigma'| + the terms its formula adds or subtracts (where cancellation can
    make the result small: 1 - tanh^2 near |z| = 3, s (1 + z (1 - s)) for silu) + the rounding
    error of z carried through sigma'' to first order. z, a, sp (|J| for softmax), Mz: (n, m)."""
    if name == "softmax":  # J_ij = a_i (delta_ij - a_j); each entry moves by at most ~2 a_i per unit of z
        terms = a[:, None, :] * (np.eye(a.shape[0])[:, :, None] + a[None, :, :])
        return sp + terms + 2.0 * a[:, None, :] * Mz.max(axis=0)[None, None, :]
    zero = np.zeros_like(sp)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # inf x 0 past |z| ~ 1e154: no term
        s = _sigmoid(z)
        phi = np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
        terms, curvature = {
            "sigmoid": (a, sp * np.abs(1.0 - 2.0 * a)),  # s (1 - s); sigma'' = s (1 - s)(1 - 2 s)
            "tanh": (np.ones_like(sp), 2.0 * a * sp),  # 1 - t^2; sigma'' = -2 t (1 - t^2)
            "softplus": (zero, sp * (1.0 - sp)),  # sigma' = s; sigma'' = s (1 - s)
            "elu": (zero, np.where(z < 0, sp, 0.0)),  # sigma' = sigma'' = e^z for z < 0
            "silu": (s + np.abs(z) * s * (1.0 - s), s * (1.0 - s) * np.abs(2.0 + z * (1.0 - 2.0 * s))),
            "gelu": (sp + np.abs(z) * phi, phi * np.abs(2.0 - z * z)),  # Phi + z phi; sigma'' = phi (2 - z^2)
        }.get(name, (zero, zero))  # relu, leaky_relu, identity: constant pieces, exact
    return sp + terms + curvature * Mz


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


def _closed_delta(activation: str, loss: str, a: np.ndarray, Y: np.ndarray, sp: np.ndarray, Mz: np.ndarray,
                  per_batch: float) -> np.ndarray | None:
    """M(delta^(L)) for the two pairs whose Eq. 1 cancels (manual_bp.losses.AT_LOGIT), from the
    terms of the cancelled form and the error of z^(L) carried through its slope, rather than
    from dL/da^(L) ⊙ sigma', which is 0 x inf once a^(L) rounds to 0 or 1:
    sigmoid + bce (a - y)/n: (|a| + |y| + sigma' M(z)) / n; softmax + cross_entropy
    (sum y) a - y: (|a| + 2 a max M(z)) sum |y| + |y|."""
    if (activation, loss) == ("sigmoid", "bce"):
        return (a + np.abs(Y) + np.abs(sp if sp.ndim == 2 else sp[:, None]) * Mz) / a.shape[0] * per_batch
    if (activation, loss) == ("softmax", "cross_entropy"):
        total = np.abs(Y).sum(axis=0, keepdims=True)
        return ((a + 2.0 * a * Mz.max(axis=0, keepdims=True)) * total + np.abs(Y)) * per_batch
    return None


def magnitudes(net: Any, x: np.ndarray, y: np.ndarray, loss: str, reduction: str,
               ref: dict[str, Any]) -> dict[str, dict[int, np.ndarray]]:
    """:func:`_magnitudes`, silent where a magnitude overflows (inputs near 1e308): an inf or NaN
    magnitude is only a wider scale, never a warning line on the user's terminal."""
    with np.errstate(over="ignore", invalid="ignore"):
        return _magnitudes(net, x, y, loss, reduction, ref)


def _magnitudes(net: Any, x: np.ndarray, y: np.ndarray, loss: str, reduction: str,
                ref: dict[str, Any]) -> dict[str, dict[int, np.ndarray]]:
    """The elementwise magnitudes M of the forward and backward properties (z, a, sigma',
    dL/da, delta, dL/dW, dL/db), each with its property's shape in the batch layout, from
    reference values ``ref``. An optimizer's bound (oracle.compare.updates) starts from M(dL/dW)."""
    L = net.L
    a = {l: _col(np.abs(np.asarray(ref["a"][l], dtype=np.float64))) for l in range(L + 1)}
    sp = {l: np.abs(np.asarray(ref["sigma_prime"][l], dtype=np.float64)) for l in range(1, L + 1)}
    soft = {l: sp[l].ndim == np.ndim(ref["z"][l]) + 1 for l in sp}
    M: dict[str, dict[int, np.ndarray]] = {p: {} for p in ("z", "a", "sigma_prime", "dL_da", "delta", "dW", "db")}

    M["a"][0] = a[0]
    for l in range(1, L + 1):
        b = 0.0 if net.b[l] is None else (np.abs(net.b[l])[:, None] if net.b[l].ndim else abs(float(net.b[l])))
        M["z"][l] = np.abs(net.W[l]) @ M["a"][l - 1] + b
        spl = _jac(sp[l]) if soft[l] else _col(sp[l])
        prop = np.einsum("ijk,jk->ik", spl, M["z"][l]) if soft[l] else spl * M["z"][l]
        M["a"][l] = prop + a[l]
        z = _col(np.asarray(ref["z"][l], dtype=np.float64))
        M["sigma_prime"][l] = _sigma_prime_magnitude(net.activations[l], z, a[l], spl, M["z"][l])

    per_batch = 1.0 / a[0].shape[1] if reduction == "mean" else 1.0
    aL = _col(np.asarray(ref["a"][L], dtype=np.float64))
    Y = _col(expand_class_indices(y, loss, aL.shape[0]).astype(np.float64))
    curvature = _loss_curvature(loss, aL, Y, per_batch)
    with np.errstate(invalid="ignore"):  # inf x 0 where a softmax output underflowed: see _closed_delta
        M["dL_da"][L] = _col(np.abs(np.asarray(ref["dL_da"][L], dtype=np.float64))) + curvature * M["a"][L]
    closed = _closed_delta(net.activations[L], loss, aL, Y, sp[L], M["z"][L], per_batch)
    for l in range(L, 0, -1):
        if l < L:
            M["dL_da"][l] = np.abs(net.W[l + 1]).T @ M["delta"][l + 1]
        spl, Msp, g = _jac(sp[l]) if soft[l] else _col(sp[l]), M["sigma_prime"][l], M["dL_da"][l]
        gabs = _col(np.abs(np.asarray(ref["dL_da"][l], dtype=np.float64)))
        if l == L and closed is not None:
            M["delta"][l] = closed
        elif soft[l]:
            M["delta"][l] = np.einsum("ijk,ik->jk", spl, g) + np.einsum("ijk,ik->jk", Msp, gabs)
        else:
            M["delta"][l] = spl * g + Msp * gabs
        delta = _col(np.abs(np.asarray(ref["delta"][l], dtype=np.float64)))
        M["dW"][l] = M["delta"][l] @ a[l - 1].T + delta @ M["a"][l - 1].T
        if net.b[l] is not None:
            M["db"][l] = M["delta"][l].sum() if net.b[l].ndim == 0 else M["delta"][l].sum(axis=1)

    return M


def comparison_scales(net: Any, x: np.ndarray, y: np.ndarray, loss: str, reduction: str, lr: float,
                      ref: dict[str, Any], M: dict[str, dict[int, np.ndarray]] | None = None) -> dict[str, Any]:
    """S for every property and layer: {'z': {l: S}, ..., 'L': S}, from reference values ``ref``
    (and their magnitudes M, when already computed)."""
    L = net.L
    M = magnitudes(net, x, y, loss, reduction, ref) if M is None else M
    with np.errstate(over="ignore", invalid="ignore"):  # as in magnitudes
        return _scales(net, lr, ref, M, L)


def _scales(net: Any, lr: float, ref: dict[str, Any], M: dict[str, dict[int, np.ndarray]], L: int) -> dict[str, Any]:
    S: dict[str, Any] = {p: {l: float(np.max(v)) for l, v in M[p].items()} for p in M}
    dL_daL = _col(np.abs(np.asarray(ref["dL_da"][L], dtype=np.float64)))
    if np.isfinite(dL_daL).all():
        S["L"] = abs(float(ref["L"])) + float(np.sum(dL_daL * M["a"][L]))  # |L| + sum |dL/da| M(a^L)
    else:  # a softmax output underflowed (dL/da = -y/a = -inf): the loss's error through z, |L| + sum |delta| M(z)
        delta = _col(np.abs(np.asarray(ref["delta"][L], dtype=np.float64)))
        S["L"] = abs(float(ref["L"])) + float(np.sum(delta * M["z"][L]))
    S["W_new"] = {l: float(np.max(np.abs(net.W[l]) + lr * M["dW"][l])) for l in range(1, L + 1)}
    S["b_new"] = {l: float(np.max(np.abs(net.b[l]) + lr * M["db"][l])) for l in M["db"]}
    return S
