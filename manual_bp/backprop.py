"""The forward pass and backpropagation, line for line after the document.

Shape convention, stated once: one example is a column. A single example x has shape
(n_0,) and every z^(l), a^(l), delta^(l) then has shape (n_l,); a batch x has shape (n_0, m)
with the m examples as columns, and every z^(l), a^(l), delta^(l) has shape (n_l, m).
dL/dW^(l) always has the shape of W^(l) and dL/db^(l) the shape of b^(l).
All layer numbers are the document's, 1-based: ``cache.z[1]`` is z^(1), ``grads.dW[2]`` is
dL/dW^(2), and ``cache.a[0]`` is the input x.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from manual_bp.activations import ACTIVATIONS, apply_sigma_prime
from manual_bp.errors import InputError, LayerDict, all_finite, require, require_finite
from manual_bp.losses import check_reduction, expand_class_indices, get_loss, loss_and_grad
from manual_bp.network import Network


@dataclass(frozen=True)
class Cache:
    """What the forward pass keeps for the backward pass: z^(l), a^(l) (a^(0) = x) and
    sigma'(z^(l)) (for softmax, its Jacobian: one more axis of size n_l)."""

    z: LayerDict
    a: LayerDict
    sigma_prime: LayerDict
    single: bool  # True when x was one example of shape (n_0,)

    @property
    def output(self) -> np.ndarray:
        """a^(L), the network's output y_hat."""
        return self.a[len(self.z)]


@dataclass(frozen=True)
class Gradients:
    """What backpropagation returns: the loss L and, for every layer l = 1..L, delta^(l) =
    dL/dz^(l), dL/da^(l), dL/dW^(l) and dL/db^(l) (None for a layer without bias)."""

    loss: float
    delta: LayerDict
    dL_da: LayerDict
    dW: LayerDict
    db: LayerDict


def _as_batch(value: np.ndarray, single: bool) -> np.ndarray:
    """View one example of shape (n,) as a batch of one, shape (n, 1); a batch is left as is."""
    return value[..., None] if single else value


def _as_given(value: np.ndarray, single: bool) -> np.ndarray:
    """Undo :func:`_as_batch`: drop the batch axis of a single example."""
    return value[..., 0] if single else value


def _bias_term(bias: np.ndarray | None) -> np.ndarray | float:
    """b^(l) as a column that broadcasts over the batch; a shared bias is a scalar, no bias is 0."""
    if bias is None:
        return 0.0
    return bias if bias.ndim == 0 else bias[:, None]


def check_input(net: Network, x: object) -> tuple[np.ndarray, bool]:
    """x as an (n_0, m) array of the network's dtype, and whether it was one example."""
    try:
        X = np.asarray(x, dtype=net.dtype)
    except (TypeError, ValueError) as exc:
        raise InputError(f"x: expected an array of numbers, got {type(x).__name__} ({exc})") from None
    n0 = net.sizes[0]
    require(X.ndim in (1, 2), f"x: expected shape ({n0},) or ({n0}, m), got shape {X.shape}")
    require(X.shape[0] == n0, f"x: expected {n0} rows (n_0 = {n0} inputs), got shape {X.shape}")
    require(X.ndim == 1 or X.shape[1] >= 1, f"x: expected at least one example (column), got shape {X.shape}")
    require_finite("x", X)
    return _as_batch(X, X.ndim == 1), X.ndim == 1


def check_targets(net: Network, y: object, loss: str, m: int, single: bool) -> np.ndarray:
    """y as an (n_L, m) array; for cross_entropy, class indices of shape (m,) become one-hot."""
    get_loss(loss)
    nL = net.sizes[-1]
    Y = np.asarray(y)
    want = f"({nL},)" if single else f"({nL}, {m})"
    if loss == "cross_entropy" and Y.dtype.kind in "iu":
        require(Y.shape == (() if single else (m,)),
                f"y: class indices must have shape {'()' if single else f'({m},)'}, got shape {Y.shape}")
        bad = (Y < 0) | (Y >= nL)
        if bad.any():
            raise InputError(f"y: class index out of range 0..{nL - 1}: got {np.atleast_1d(Y)[np.atleast_1d(bad)][0]}")
        return expand_class_indices(Y, loss, nL, net.dtype)
    try:
        Y = Y.astype(net.dtype)
    except (TypeError, ValueError) as exc:
        raise InputError(f"y: expected an array of numbers, got {y!r} ({exc})") from None
    require(Y.shape == ((nL,) if single else (nL, m)), f"y: expected shape {want}, got shape {Y.shape}")
    require_finite("y", Y)
    if loss in ("bce", "cross_entropy"):
        bad = (Y < 0) | (Y > 1)
        if bad.any():
            raise InputError(f"y: {loss} targets must lie in [0, 1], got {Y[bad].flat[0]}")
    return _as_batch(Y, single)


def forward(net: Network, x: object) -> Cache:
    """The forward pass: for l = 1..L, z^(l) = W^(l) a^(l-1) + b^(l) and a^(l) = sigma(z^(l)),
    with a^(0) = x; also keeps sigma'(z^(l)) for Eq. 1 and Eq. 2."""
    A0, single = check_input(net, x)
    z, a, sigma_prime = LayerDict(), LayerDict({0: A0}), LayerDict()
    for l in range(1, net.L + 1):
        act = ACTIVATIONS[net.activations[l]]
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported just below
            z[l] = net.W[l] @ a[l - 1]  # forward: z = W a + b ...
            z[l] += _bias_term(net.b[l])  # ... adding b in place, into the product's own array
        if not all_finite(z[l]):
            raise InputError(f"forward: z^({l}) overflowed to inf; inputs or weights are too large")
        a[l], sigma_prime[l] = act.sigma_and_prime(z[l])  # activation: a = sigma(z); and sigma'(z)
    for cached in (z, a, sigma_prime):
        for l in cached:
            cached[l] = _as_given(cached[l], single)
    return Cache(z, a, sigma_prime, single)


def _check_overflow(loss_value: float, dL_da: LayerDict, delta: LayerDict, dW: LayerDict, db: LayerDict) -> None:
    """Raise InputError naming the first quantity that overflowed to inf or NaN (huge |z| or targets)."""
    if not np.isfinite(loss_value):
        raise InputError(f"backward: the loss L overflowed to {loss_value}; outputs or targets are too large")
    for symbol, values in (("dL/da", dL_da), ("delta", delta), ("dL/dW", dW), ("dL/db", db)):
        for l in sorted(values, reverse=True):
            if values[l] is not None and not all_finite(values[l]):
                raise InputError(f"backward: {symbol}^({l}) overflowed to inf or NaN; inputs, weights or targets "
                                 "are too large")


def backward(net: Network, cache: Cache, y: object, loss: str = "half_sse", reduction: str = "mean") -> Gradients:
    """Backpropagation: delta^(l), dL/da^(l), dL/dW^(l) and dL/db^(l) for every l = 1..L.

    Eq. 1  delta^(L) = dL/da^(L) ⊙ sigma'(z^(L))            (J^T dL/da^(L) for a softmax output)
    Eq. 2  delta^(l) = (W^(l+1))^T delta^(l+1) ⊙ sigma'(z^(l)), l = L-1..1
    Eq. 3  dL/dW^(l) = delta^(l) (a^(l-1))^T                (summed over a batch's columns)
    Eq. 4  dL/db^(l) = delta^(l)                            (summed over the batch; a shared
                                                            bias also sums over its units)
    The document's pseudocode computes Eq. 3 and Eq. 4 inside its loop ``for l = L-1 to 1``, so
    it never sets dW[L] and db[L]; its worked example does compute them, and so does this
    function, for every layer including the output layer L.

    loss: half_sse, sse, mse, bce or cross_entropy; reduction over the batch: mean or sum."""
    check_reduction(reduction)
    L, single = net.L, cache.single
    cache_sizes = tuple(cache.a[l].shape[0] for l in sorted(cache.a))
    require(cache_sizes == net.sizes,
            f"cache: expected a forward pass of this network (sizes {net.sizes}), got one of sizes {cache_sizes}")
    a = LayerDict({l: _as_batch(cache.a[l], single) for l in cache.a})
    sigma_prime = LayerDict({l: _as_batch(cache.sigma_prime[l], single) for l in cache.sigma_prime})
    Y = check_targets(net, y, loss, a[0].shape[1], single)
    delta, dL_da, dW, db = LayerDict(), LayerDict(), LayerDict(), LayerDict()

    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported by _check_overflow
        loss_value, dL_da[L] = loss_and_grad(loss, a[L], Y, reduction)
        delta[L] = apply_sigma_prime(dL_da[L], sigma_prime[L])  # Eq. 1
        for l in range(L - 1, 0, -1):  # the pseudocode's "for l = L-1 to 1"
            dL_da[l] = net.W[l + 1].T @ delta[l + 1]  # Eq. 2: (W^(l+1))^T delta^(l+1) ...
            delta[l] = apply_sigma_prime(dL_da[l], sigma_prime[l])  # Eq. 2: ... ⊙ sigma'(z^(l))
        for l in range(L, 0, -1):  # every layer, the output layer L included
            dW[l] = delta[l] @ a[l - 1].T  # Eq. 3
            if net.b[l] is not None:
                db[l] = np.asarray(delta[l].sum(axis=None if net.b[l].ndim == 0 else 1))  # Eq. 4
            else:
                db[l] = None
    _check_overflow(loss_value, dL_da, delta, dW, db)

    for per_layer in (delta, dL_da):
        for l in per_layer:
            per_layer[l] = _as_given(per_layer[l], single)
    return Gradients(loss_value, delta, dL_da, dW, db)
