"""Eq. 5, the parameter update, and a training loop built on it (Eq. 5, or any optimizer of
manual_bp.optimizers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from manual_bp import validate
from manual_bp.backprop import BACKPROP, Gradients, Quantities, backward, forward
from manual_bp.errors import InputError, require
from manual_bp.losses import check_reduction
from manual_bp.network import Network

if TYPE_CHECKING:
    from manual_bp.optimizers import Optimizer, OptimizerState


def check_gradients(net: Network, grads: Gradients, update_biases: bool) -> None:
    """grads must hold dL/dW^(l) (and dL/db^(l) where a bias is updated) with the parameters' shapes."""
    if not isinstance(grads, Gradients):
        raise InputError(f"grads: expected the Gradients that backward() returns, got {type(grads).__name__}")
    for l in range(1, net.L + 1):
        dW = grads.dW.get(l)
        require(isinstance(dW, np.ndarray) and dW.shape == net.W[l].shape,
                f"grads.dW[{l}]: expected shape {net.W[l].shape}, got {'nothing' if dW is None else np.shape(dW)}")
        if net.b[l] is not None and update_biases:
            db = grads.db.get(l)
            require(isinstance(db, np.ndarray) and db.shape == net.b[l].shape,
                    f"grads.db[{l}]: expected shape {net.b[l].shape}, got {'nothing' if db is None else np.shape(db)}")


def sgd_step(net: Network, grads: Gradients, lr: float, update_biases: bool = True) -> Network:
    """Eq. 5: W^(l) <- W^(l) - eta dL/dW^(l) and b^(l) <- b^(l) - eta dL/db^(l), l = 1..L.

    Returns a new Network; ``net`` and ``grads`` are not modified. With update_biases=False
    the biases are kept as they are (some hand examples only update the weights)."""
    validate.network(net)
    eta = net.dtype(validate.learning_rate(lr, net.dtype))
    update_biases = validate.flag("update_biases", update_biases)
    check_gradients(net, grads, update_biases)
    q = Quantities(dW=grads.dW, db=grads.db)
    with np.errstate(over="ignore", invalid="ignore"):  # a non-finite result is refused by Network
        W, b = BACKPROP.update_pass(net, q, eta, update_biases)
    return net.replace(W, b, copy=False)  # the new arrays become the new network's own, uncopied


@dataclass(frozen=True)
class TrainResult:
    """``networks[k]`` is the network after k steps (``networks[0]`` is the one passed in),
    ``losses[k]`` the loss of ``networks[k]`` and ``states[k]`` the optimizer's state after k
    steps (its step count, buffers and moments), for k = 0..steps."""

    losses: list[float]
    networks: list[Network]
    states: list[OptimizerState] = field(default_factory=list)


def train(net: Network, x: object, y: object, lr: float | None, steps: int, loss: str = "half_sse",
          reduction: str = "mean", update_biases: bool = True, optimizer: Optimizer | None = None) -> TrainResult:
    """Full-batch training: ``steps`` rounds of forward, backward and an update on (x, y).

    The update is Eq. 5 with learning rate ``lr`` (``sgd_step``), or, given an ``optimizer``
    of manual_bp.optimizers, that optimizer's step, from its current state (pass lr=None, or
    the optimizer's own lr)."""
    from manual_bp.optimizers import SGD, Optimizer

    steps = validate.count("steps", steps)
    if optimizer is None:
        optimizer = SGD(validate.learning_rate(lr))
    elif not isinstance(optimizer, Optimizer):
        raise InputError(f"optimizer: expected an optimizer of manual_bp.optimizers (SGD, Adam, AdamW, RMSprop), "
                         f"got {type(optimizer).__name__}")
    elif lr is not None and validate.learning_rate(lr) != optimizer.lr:
        raise InputError(f"lr: {lr!r} differs from the optimizer's lr={optimizer.lr!r}; pass lr=None with an optimizer")
    validate.flag("update_biases", update_biases)
    check_reduction(reduction)
    losses, networks, states = [], [net], [optimizer.state]
    for _ in range(steps):
        grads = backward(net, forward(net, x), y, loss, reduction)
        losses.append(grads.loss)
        net = optimizer.step(net, grads, update_biases)
        networks.append(net)
        states.append(optimizer.state)
    losses.append(backward(net, forward(net, x), y, loss, reduction).loss)
    return TrainResult(losses, networks, states)
