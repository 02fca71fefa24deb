"""Losses L(a^(L), y) and their gradients dL/da^(L), the start of Eq. 1.

Shapes: a is (n, m), examples as columns; y is (n, m) too, except that ``cross_entropy``
also takes class indices of shape (m,). Each loss is first a per-example value l_k; the batch
loss is ``mean`` (default: L = (1/m) sum_k l_k) or ``sum`` (L = sum_k l_k) over the m examples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from manual_bp.activations import sigmoid
from manual_bp.errors import InputError, describe

REDUCTIONS = ("mean", "sum")
BCE_LOG_FLOOR = -100.0  # torch's binary_cross_entropy clamps log(a) and log(1 - a) at -100
BCE_EPS = 1e-12  # torch's binary_cross_entropy backward divides by max(a (1 - a), 1e-12)


def _half_sse(a: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """l_k = 1/2 sum_i (a_ik - y_ik)^2, the document's L = 1/2 (y - y_hat)^2; dl/da = a - y."""
    r = a - y
    return 0.5 * (r * r).sum(axis=0), r


def _sse(a: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """l_k = sum_i (a_ik - y_ik)^2 (no 1/2); dl/da = 2 (a - y)."""
    r = a - y
    return (r * r).sum(axis=0), 2.0 * r


def _mse(a: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """l_k = (1/n) sum_i (a_ik - y_ik)^2, the mean over the n outputs; dl/da = 2 (a - y) / n.

    With reduction ``mean`` this is torch's ``MSELoss()`` (mean over all n m elements)."""
    r = a - y
    n = a.shape[0]
    return (r * r).sum(axis=0) / n, 2.0 * r / n


def _bce(a: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """l_k = -(1/n) sum_i [y log a + (1 - y) log(1 - a)], the mean over the n outputs, on
    probabilities a; dl/da = (a - y) / (a (1 - a)) / n.

    As torch's ``binary_cross_entropy``: each log is clamped at -100 and the denominator
    a (1 - a) at 1e-12, so a saturated sigmoid gives a large finite loss, not inf."""
    n = a.shape[0]
    with np.errstate(divide="ignore"):
        log_a = np.maximum(np.log(a), BCE_LOG_FLOOR)
        log_1ma = np.maximum(np.log(1.0 - a), BCE_LOG_FLOOR)
    value = -(y * log_a + (1.0 - y) * log_1ma).sum(axis=0) / n
    grad = (a - y) / np.maximum(a * (1.0 - a), BCE_EPS) / n
    return value, grad


def _cross_entropy(a: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """l_k = -sum_i y_ik log a_ik on probabilities a (softmax outputs), y one-hot or soft
    labels; dl/da = -y / a. With a softmax output, Eq. 1 then gives delta = a - y."""
    with np.errstate(divide="ignore", invalid="ignore"):
        value = -np.where(y != 0, y * np.log(a), 0.0).sum(axis=0)
        grad = np.where(y != 0, -y / a, 0.0)
    return value, grad.astype(a.dtype)


def _bce_terms(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        log_a = np.maximum(np.log(a), BCE_LOG_FLOOR)
        log_1ma = np.maximum(np.log(1.0 - a), BCE_LOG_FLOOR)
    return -(y * log_a + (1.0 - y) * log_1ma) / a.shape[0]


def _cross_entropy_terms(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(y != 0, y * np.log(a), 0.0)


# Each output unit's share of an example's loss (l_k = the sum of the column), as hand
# calculations print them (E_o1 = 1/2 (t_1 - o_1)^2): the same formulas as above, term by term.
_TERMS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "half_sse": lambda a, y: 0.5 * (a - y) ** 2,
    "sse": lambda a, y: (a - y) ** 2,
    "mse": lambda a, y: (a - y) ** 2 / a.shape[0],
    "bce": _bce_terms,
    "cross_entropy": _cross_entropy_terms,
}


@dataclass(frozen=True)
class Loss:
    """A named loss: ``per_example(a, y)`` gives (l_k for each example, dl_k/da); ``terms(a, y)``
    each output unit's share of l_k, shape (n, m)."""

    name: str
    per_example: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
    terms: Callable[[np.ndarray, np.ndarray], np.ndarray]


LOSSES: dict[str, Loss] = {
    f.__name__[1:]: Loss(f.__name__[1:], f, _TERMS[f.__name__[1:]])
    for f in (_half_sse, _sse, _mse, _bce, _cross_entropy)
}


# ---------------------------------------------------------------------------------------------
# Two output layers and losses whose Eq. 1 cancels on paper: dL/da^(L) ⊙ sigma'(z^(L)) is
# (a^(L) - y) / n for a sigmoid with bce and (sum_i y_i) a^(L) - y for a softmax with
# cross_entropy. Written at the logit z^(L), the loss and that delta need no a^(L) at all, so
# they stay exact where a^(L) rounds to 0 or 1 (sigmoid: |z| > 17 in float32, 37 in float64;
# softmax: logits more than ~745 below the largest): there the product form is 0 x inf, its
# log(a) is -inf, and a - y from a rounded a loses every digit (1 - a is 0 or one ulp).


def _sigmoid_bce_loss(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """l_k = (1/n) sum_i [(1 - y_i) softplus(z_i) + y_i softplus(-z_i)] (= bce(sigmoid(z), y), as
    -log sigma(z) = softplus(-z)): no log of a rounded a, no cancelling softplus(z) - z."""
    return ((1.0 - y) * np.logaddexp(0.0, z) + y * np.logaddexp(0.0, -z)).sum(axis=0) / z.shape[0]


def _sigmoid_bce_delta(z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dl/dz = (a - y) / n, as (1 - y) sigma(z) - y sigma(-z): a = sigma(z) as the forward pass
    computed it, sigma(-z) = 1 - a computed directly rather than from a."""
    return (((1.0 - y) * a - y * sigmoid(-z)) / z.shape[0]).astype(z.dtype)


def _softmax_cross_entropy_loss(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """l_k = sum_i y_i (logsumexp(z) - z_i) (= cross_entropy(softmax(z), y)), with log a_i =
    z_i - logsumexp(z) finite for every finite logit (each column shifted by its own largest)."""
    shift = z - z.max(axis=0, keepdims=True)
    log_a = shift - np.log(np.exp(shift).sum(axis=0, keepdims=True))
    return -np.where(y != 0, y * log_a, 0.0).sum(axis=0)


def _softmax_cross_entropy_delta(z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dl/dz = (sum_i y_i) a - y, from the forward pass's a: an a that underflowed to 0 is right here."""
    return (a * y.sum(axis=0, keepdims=True) - y).astype(z.dtype)


@dataclass(frozen=True)
class AtLogit:
    """A loss after its output activation, written at the logit: ``loss(z, y)`` gives l_k for each
    example (the loss step), ``delta(z, a, y)`` dl_k/dz^(L) (Eq. 1), each computing only its own."""

    loss: Callable[[np.ndarray, np.ndarray], np.ndarray]
    delta: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


AT_LOGIT: dict[tuple[str, str], AtLogit] = {
    ("sigmoid", "bce"): AtLogit(_sigmoid_bce_loss, _sigmoid_bce_delta),
    ("softmax", "cross_entropy"): AtLogit(_softmax_cross_entropy_loss, _softmax_cross_entropy_delta),
}


def at_logit(activation: str, loss: str) -> AtLogit | None:
    """The loss and delta at the logit for an output activation and loss whose Eq. 1 cancels on
    paper (sigmoid with bce, softmax with cross_entropy), else None."""
    return AT_LOGIT.get((activation, loss))


def get_loss(name: str) -> Loss:
    """Look a loss up by name; an unknown name raises InputError listing the known ones."""
    if not isinstance(name, str) or name not in LOSSES:
        raise InputError(f"loss: unknown loss {describe(name)}; known: {', '.join(LOSSES)}")
    return LOSSES[name]


def expand_class_indices(y: object, loss: str, n: int, dtype: type[np.floating] = np.float64) -> np.ndarray:
    """y as an array; for cross_entropy, integer class indices (shape (m,) or ()) become one-hot
    columns of shape (n, m), the layout of every other target. Nothing is checked here
    (manual_bp.validate.targets checks first)."""
    Y = np.asarray(y)
    if loss == "cross_entropy" and Y.dtype.kind in "iu":
        return np.eye(n, dtype=dtype)[:, Y.reshape(-1)]
    return Y


def check_reduction(reduction: str) -> None:
    """Raise InputError unless ``reduction`` is 'mean' or 'sum'."""
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise InputError(f"reduction: expected one of {', '.join(REDUCTIONS)}, got {describe(reduction)}")
