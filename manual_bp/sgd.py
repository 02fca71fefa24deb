"""Eq. 5, the parameter update, and a plain training loop built on it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from manual_bp.backprop import Gradients, backward, forward
from manual_bp.errors import InputError, LayerDict, require
from manual_bp.network import Network


def check_learning_rate(lr: object) -> float:
    """lr as a float; anything but a positive finite number raises InputError."""
    if isinstance(lr, bool):
        raise InputError(f"lr: expected a positive finite number, got {lr!r}")
    try:
        value = float(lr)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"lr: expected a positive finite number, got {lr!r}") from None
    require(math.isfinite(value) and value > 0, f"lr: expected a positive finite number, got {lr!r}")
    return value


def _minus(param: np.ndarray, step: np.ndarray) -> np.ndarray:
    """param - step, written into step's own array (a new one, made for this): one array per
    layer instead of two, which for large W is most of the update's time."""
    step = np.asarray(step)
    return np.subtract(param, step, out=step)


def sgd_step(net: Network, grads: Gradients, lr: float, update_biases: bool = True) -> Network:
    """Eq. 5: W^(l) <- W^(l) - eta dL/dW^(l) and b^(l) <- b^(l) - eta dL/db^(l), l = 1..L.

    Returns a new Network; ``net`` and ``grads`` are not modified. With update_biases=False
    the biases are kept as they are (some hand examples only update the weights)."""
    eta = net.dtype(check_learning_rate(lr))
    W, b = LayerDict(), LayerDict()
    for l in range(1, net.L + 1):
        require(l in grads.dW and grads.dW[l].shape == net.W[l].shape,
                f"grads.dW[{l}]: expected shape {net.W[l].shape}, got "
                f"{grads.dW[l].shape if l in grads.dW else 'nothing'}")
        W[l] = _minus(net.W[l], eta * grads.dW[l])  # Eq. 5: W^(l) - eta dL/dW^(l)
        if net.b[l] is None or not update_biases:
            b[l] = net.b[l]
        else:
            db = grads.db.get(l)
            require(db is not None and db.shape == net.b[l].shape,
                    f"grads.db[{l}]: expected shape {net.b[l].shape}, got {'nothing' if db is None else db.shape}")
            b[l] = _minus(net.b[l], eta * db)  # Eq. 5, for the bias: b^(l) - eta dL/db^(l)
    return net.replace(W, b, copy=False)  # the new arrays become the new network's own, uncopied


@dataclass(frozen=True)
class TrainResult:
    """``networks[k]`` is the network after k steps (``networks[0]`` is the one passed in) and
    ``losses[k]`` is the loss of ``networks[k]``, for k = 0..steps."""

    losses: list[float]
    networks: list[Network]


def train(net: Network, x: object, y: object, lr: float, steps: int, loss: str = "half_sse",
          reduction: str = "mean", update_biases: bool = True) -> TrainResult:
    """Full-batch gradient descent: ``steps`` rounds of forward, backward and Eq. 5 on (x, y)."""
    require(isinstance(steps, int) and steps >= 0, f"steps: expected a non-negative integer, got {steps!r}")
    check_learning_rate(lr)
    losses, networks = [], [net]
    for _ in range(steps):
        grads = backward(net, forward(net, x), y, loss, reduction)
        losses.append(grads.loss)
        net = sgd_step(net, grads, lr, update_biases)
        networks.append(net)
    losses.append(backward(net, forward(net, x), y, loss, reduction).loss)
    return TrainResult(losses, networks)
