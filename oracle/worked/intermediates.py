"""What worked examples print inside a step, from the quantities the step is made of: the terms
of a weighted sum, the softmax's exponentials and their sum, each output's share of the loss,
the terms of dL/da^(l) = sum_k W^(l+1)_ki delta^(l+1)_k, and the outputs after the update.

Every function works on batches (the examples as the last axis), as manual_bp's steps do; the
step itself is then the sum of its printed terms (z^(l) = the row's sum, a^(l) = e^z / sum e^z),
so a sum printed from rounded terms carries their rounding, not a mistake."""

from __future__ import annotations

import numpy as np

from manual_bp.backprop import batch_factor
from manual_bp.losses import LOSSES


def z_terms(W: np.ndarray, b: np.ndarray | None, a_prev: np.ndarray) -> np.ndarray:
    """Unit i's terms W_ij a_j for j = 1..n_(l-1), then b_i: shape (n_l, n_(l-1) [+ 1], m)."""
    products = W[:, :, None] * a_prev[None, :, :]
    if b is None:
        return products
    bias = np.broadcast_to(np.reshape(b, (-1, 1, 1)) if np.ndim(b) else b, (W.shape[0], 1, a_prev.shape[1]))
    return np.concatenate([products, bias], axis=1)


def exp_z(z: np.ndarray, shift: str) -> np.ndarray:
    """e^(z_i), or e^(z_i - max_j z_j) when the example shifts by the maximum."""
    return np.exp(z - z.max(axis=0, keepdims=True) if shift == "max" else z)


def sum_exp(exps: np.ndarray) -> np.ndarray:
    """The softmax's denominator: the sum of the exponentials over the units, shape (m,)."""
    return exps.sum(axis=0)


def softmax_from(exps: np.ndarray, total: np.ndarray) -> np.ndarray:
    """a_i = e^(z_i) / sum_j e^(z_j), from the (printed) exponentials and their (printed) sum."""
    return exps / total[None, :]


def loss_terms(loss: str, aL: np.ndarray, Y: np.ndarray, factor: float = 1.0) -> np.ndarray:
    """Each output unit's share of each example's loss, (n_L, m); ``factor`` is the example's
    output-reduction factor (n_L for bce summed over the outputs)."""
    return factor * LOSSES[loss].terms(aL, Y)


def loss_from_terms(terms: np.ndarray, reduction: str) -> float:
    """L from the (printed) terms: their sum, reduced over the batch."""
    return float(terms.sum() * batch_factor(reduction, terms.shape[-1]))


def dL_da_terms(W_next: np.ndarray, delta_next: np.ndarray) -> np.ndarray:
    """Unit i's terms W^(l+1)_ki delta^(l+1)_k for k = 1..n_(l+1): shape (n_l, n_(l+1), m)."""
    return W_next.T[:, :, None] * delta_next[None, :, :]
