"""Activation functions sigma and their derivatives sigma', written out by hand.

Every function takes z of shape (n,) or (n, m) (examples as columns) and never warns on
overflow: sigmoid(+-1000) is exactly 1 / 0. At a kink the derivative follows PyTorch's
autograd convention: relu'(0) = 0, leaky_relu'(0) = 0.01, elu'(0) = 1.

Elementwise activations return sigma'(z) with the shape of z, used as ``dL/da * sigma'(z)``
(the document's ``⊙ sigma'(z)``). softmax is not elementwise: its sigma' is the Jacobian
d a_i / d z_j, shape (n, n) for one example and (n, n, m) for a batch, and it is applied as
the Jacobian-transpose product (see :func:`apply_sigma_prime`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from manual_bp.errors import InputError, describe

LEAKY_SLOPE = 0.01  # torch.nn.functional.leaky_relu's default negative_slope
ELU_ALPHA = 1.0  # torch.nn.functional.elu's default alpha
_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_erf = np.vectorize(math.erf, otypes=[np.float64])  # numpy has no erf; math.erf is exact to ~1 ulp


def sigmoid(z: np.ndarray) -> np.ndarray:
    """sigma(z) = 1 / (1 + e^-z), computed from e^-|z| so nothing overflows:
    1 / (1 + e^-|z|) for z >= 0 and e^-|z| / (1 + e^-|z|) for z < 0.

    Each step writes into an array of the step before: two new arrays per call, not six (for
    large z, getting new memory costs more than the arithmetic)."""
    e = np.asarray(np.abs(z), dtype=np.result_type(z, 1.0))  # |z|, becoming e^-|z| in place:
    np.exp(np.negative(e, out=e), out=e)
    a = np.maximum(e, z >= 0)  # the numerator: 1 where z >= 0 (as e^-|z| <= 1), e^-|z| where z < 0
    e += 1.0  # the denominator 1 + e^-|z|
    a /= e
    return a


def sigmoid_prime_from_a(a: np.ndarray) -> np.ndarray:
    """sigma'(z) written in a = sigma(z): a (1 - a), the document's ``0.796(1 - 0.796)``."""
    sigma_prime = 1.0 - a
    sigma_prime *= a  # a (1 - a), in the array of 1 - a
    return sigma_prime


def sigmoid_prime(z: np.ndarray) -> np.ndarray:
    """sigma'(z) = sigma(z) (1 - sigma(z))."""
    return sigmoid_prime_from_a(sigmoid(z))


def tanh(z: np.ndarray) -> np.ndarray:
    """tanh(z)."""
    return np.tanh(z)


def tanh_prime_from_a(a: np.ndarray) -> np.ndarray:
    """tanh'(z) written in a = tanh(z): 1 - a^2."""
    return 1.0 - a * a


def tanh_prime(z: np.ndarray) -> np.ndarray:
    """tanh'(z) = 1 - tanh(z)^2."""
    return tanh_prime_from_a(np.tanh(z))


def relu(z: np.ndarray) -> np.ndarray:
    """relu(z) = max(z, 0)."""
    return np.maximum(z, 0)


def relu_prime(z: np.ndarray) -> np.ndarray:
    """relu'(z) = 1 for z > 0, else 0 (relu'(0) = 0, as torch). Also right when given a = relu(z):
    a > 0 exactly where z > 0."""
    return (z > 0).astype(z.dtype)


def leaky_relu(z: np.ndarray) -> np.ndarray:
    """leaky_relu(z) = z for z > 0, else 0.01 z."""
    return np.where(z > 0, z, LEAKY_SLOPE * z)


def leaky_relu_prime(z: np.ndarray) -> np.ndarray:
    """1 for z > 0, else 0.01 (the slope at 0 is 0.01, as torch); a > 0 exactly where z > 0."""
    return np.where(z > 0, 1.0, LEAKY_SLOPE).astype(z.dtype)


def identity(z: np.ndarray) -> np.ndarray:
    """identity(z) = z (a linear layer)."""
    return z.copy()


def identity_prime(z: np.ndarray) -> np.ndarray:
    """identity'(z) = 1."""
    return np.ones_like(z)


def softplus(z: np.ndarray) -> np.ndarray:
    """softplus(z) = log(1 + e^z) = max(z, 0) + log1p(e^-|z|), exact for any z (no threshold)."""
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def softplus_prime(z: np.ndarray) -> np.ndarray:
    """softplus'(z) = sigma(z)."""
    return sigmoid(z)


def elu(z: np.ndarray) -> np.ndarray:
    """elu(z) = z for z > 0, else alpha (e^z - 1), alpha = 1."""
    return np.where(z > 0, z, ELU_ALPHA * np.expm1(np.minimum(z, 0)))


def elu_prime(z: np.ndarray) -> np.ndarray:
    """elu'(z) = 1 for z > 0, else alpha e^z (elu'(0) = 1, as torch)."""
    return np.where(z > 0, 1.0, ELU_ALPHA * np.exp(np.minimum(z, 0))).astype(z.dtype)


def silu(z: np.ndarray) -> np.ndarray:
    """silu(z) = z sigma(z)."""
    return z * sigmoid(z)


def silu_prime(z: np.ndarray) -> np.ndarray:
    """silu'(z) = sigma(z) (1 + z (1 - sigma(z)))."""
    s = sigmoid(z)
    return s * (1.0 + z * (1.0 - s))


def gelu(z: np.ndarray) -> np.ndarray:
    """gelu(z) = z Phi(z) = z (1 + erf(z / sqrt 2)) / 2, the exact erf form."""
    return (0.5 * z * (1.0 + _erf(z / _SQRT2))).astype(z.dtype)


def gelu_prime(z: np.ndarray) -> np.ndarray:
    """gelu'(z) = Phi(z) + z phi(z), phi the standard normal density."""
    e = _erf(z / _SQRT2)
    with np.errstate(over="ignore"):  # z * z = inf for |z| > 1e154 only makes phi = 0
        phi = _INV_SQRT_2PI * np.exp(-0.5 * z * z)
    return (0.5 * (1.0 + e) + z * phi).astype(z.dtype)


def softmax(z: np.ndarray) -> np.ndarray:
    """softmax(z)_i = e^{z_i} / sum_j e^{z_j} over the units (axis 0), shifted by max z."""
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def softmax_prime_from_a(a: np.ndarray) -> np.ndarray:
    """The Jacobian written in a = softmax(z): J_ij = d a_i / d z_j = a_i (delta_ij - a_j),
    (n, n) for one example, (n, n, m) for a batch."""
    eye = np.eye(a.shape[0], dtype=a.dtype)
    if a.ndim == 1:
        return a[:, None] * eye - a[:, None] * a[None, :]
    return a[:, None, :] * eye[:, :, None] - a[:, None, :] * a[None, :, :]


def softmax_prime(z: np.ndarray) -> np.ndarray:
    """The Jacobian J_ij = d a_i / d z_j = a_i (delta_ij - a_j): (n, n), or (n, n, m) for a batch."""
    return softmax_prime_from_a(softmax(z))


@dataclass(frozen=True)
class Activation:
    """A named pair sigma / sigma'; ``elementwise`` is False only for softmax. ``prime_from_a``,
    where the derivative can be written in the activation a = sigma(z) itself (sigmoid's
    a (1 - a), tanh's 1 - a^2), computes sigma' from a, as hand calculations and the document do."""

    name: str
    sigma: Callable[[np.ndarray], np.ndarray]
    sigma_prime: Callable[[np.ndarray], np.ndarray]
    elementwise: bool = True
    prime_from_a: Callable[[np.ndarray], np.ndarray] | None = None


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sigmoid", sigmoid, sigmoid_prime, prime_from_a=sigmoid_prime_from_a),
        Activation("tanh", tanh, tanh_prime, prime_from_a=tanh_prime_from_a),
        Activation("relu", relu, relu_prime, prime_from_a=relu_prime),
        Activation("leaky_relu", leaky_relu, leaky_relu_prime, prime_from_a=leaky_relu_prime),
        Activation("identity", identity, identity_prime, prime_from_a=identity_prime),
        Activation("softplus", softplus, softplus_prime),
        Activation("elu", elu, elu_prime),
        Activation("silu", silu, silu_prime),
        Activation("gelu", gelu, gelu_prime),
        Activation("softmax", softmax, softmax_prime, elementwise=False, prime_from_a=softmax_prime_from_a),
    )
}


def get_activation(name: str, what: str = "activation") -> Activation:
    """Look an activation up by name; an unknown name raises InputError listing the known ones."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise InputError(f"{what}: unknown activation {describe(name)}; known: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def apply_sigma_prime(dL_da: np.ndarray, sigma_prime: np.ndarray) -> np.ndarray:
    """dL/dz from dL/da: ``dL/da ⊙ sigma'(z)`` for elementwise sigma (Eq. 1 and Eq. 2), or
    ``J^T dL/da`` when sigma' is a softmax Jacobian J (one more axis than dL/da)."""
    if sigma_prime.ndim == dL_da.ndim:
        return dL_da * sigma_prime
    if dL_da.ndim == 1:
        return sigma_prime.T @ dL_da
    return np.einsum("ijk,ik->jk", sigma_prime, dL_da)
