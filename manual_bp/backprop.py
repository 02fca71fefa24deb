"""The forward pass, backpropagation and the update, line for line after the document.

:class:`Backprop` is the algorithm, written once: one method per step of the document
(z, a, sigma', the loss, Eq. 1, Eq. 2, Eq. 3, Eq. 4, Eq. 5) and three loops that call them
in the pseudocode's order. Each step reads the quantities computed before it from a
:class:`Quantities` and returns its own; nothing is validated here (manual_bp.validate does
that, in :func:`forward`, :func:`backward` and ``sgd_step``), so the same steps also serve
the mistake catalogue (a subclass overrides one step) and the worked-example recomputation
(the steps fed printed values).

Shapes: inside the algorithm every per-example quantity is a batch, (n_l, m) with the m
examples as columns (a softmax layer's sigma' is its Jacobian, (n_l, n_l, m)). The public
functions accept one example x of shape (n_0,) as well, and then return z^(l), a^(l),
delta^(l) of shape (n_l,). dL/dW^(l) has the shape of W^(l), dL/db^(l) that of b^(l).
Layer numbers are the document's, 1-based: ``cache.z[1]`` is z^(1), ``cache.a[0]`` is x.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from manual_bp import validate
from manual_bp.activations import ACTIVATIONS, apply_sigma_prime
from manual_bp.errors import InputError, LayerDict
from manual_bp.losses import AtLogit, at_logit, check_reduction, get_loss
from manual_bp.network import Network


@dataclass
class Quantities:
    """Every quantity of one pass through the document, batch layout, keyed by 1-based layer:
    what the steps of :class:`Backprop` read and write. ``lr`` is the learning rate of the
    update that follows, when there is one."""

    z: LayerDict = field(default_factory=LayerDict)
    a: LayerDict = field(default_factory=LayerDict)
    sigma_prime: LayerDict = field(default_factory=LayerDict)
    loss: float = float("nan")
    dL_da: LayerDict = field(default_factory=LayerDict)
    delta: LayerDict = field(default_factory=LayerDict)
    dW: LayerDict = field(default_factory=LayerDict)
    db: LayerDict = field(default_factory=LayerDict)
    lr: float | None = None
    y: np.ndarray | None = None  # the targets and the loss, once backward_pass has them
    loss_name: str | None = None
    reduction: str = "mean"


def batch_factor(reduction: str, m: int) -> float:
    """The batch loss is the mean (1/m) or the sum (1) of the m examples' losses."""
    return 1.0 / m if reduction == "mean" else 1.0


def bias_column(b: np.ndarray | None) -> np.ndarray | float:
    """b^(l) as a column that broadcasts over the batch; a shared bias is a scalar, no bias is 0."""
    if b is None:
        return 0.0
    return b if b.ndim == 0 else b[:, None]


class Backprop:
    """The document's algorithm, one method per step; every step is ``step(net, l, q)``.

    A subclass that overrides one step is that step done another way (oracle.mistakes).

    closed_forms: for a sigmoid output with bce and a softmax output with cross_entropy, compute
    the loss and Eq. 1 in the form the product cancels to on paper, at the logit z^(L)
    (manual_bp.losses.AT_LOGIT), exact where the product of rounded factors is not. manual_bp's
    functions run it so (BACKPROP); a plain Backprop() follows the document literally, which is
    what a version with one step done another way and the recomputation from printed values
    build on."""

    closed_forms = False

    def __init__(self, closed_forms: bool = False) -> None:
        self.closed_forms = closed_forms

    # --- forward pass -----------------------------------------------------------------------
    def weighted_input(self, net: Network, l: int, q: Quantities) -> np.ndarray:
        """z^(l) = W^(l) a^(l-1) + b^(l)."""
        z = net.W[l] @ q.a[l - 1]
        z += bias_column(net.b[l])  # into the product's own array: one new array, not two
        return z

    def activation(self, net: Network, l: int, q: Quantities) -> np.ndarray:
        """a^(l) = sigma(z^(l))."""
        return ACTIVATIONS[net.activations[l]].sigma(q.z[l])

    def sigma_prime(self, net: Network, l: int, q: Quantities) -> np.ndarray:
        """sigma'(z^(l)), written in a^(l) where the activation allows (the document's a(1 - a)),
        else computed from z^(l); softmax's is its Jacobian."""
        act = ACTIVATIONS[net.activations[l]]
        return act.prime_from_a(q.a[l]) if act.prime_from_a else act.sigma_prime(q.z[l])

    # --- the loss -----------------------------------------------------------------------------
    def batch_scale(self, reduction: str, m: int) -> float:
        """The batch reduction's factor in dL/da^(L): 1/m for mean, 1 for sum."""
        return batch_factor(reduction, m)

    def loss_gradient(self, net: Network, q: Quantities, Y: np.ndarray, loss: str, reduction: str
                      ) -> tuple[float, np.ndarray]:
        """L = loss_function(a^(L), y) and dL/da^(L): each example's term, reduced over the batch."""
        aL = q.a[net.L]
        values, grad = get_loss(loss).per_example(aL, Y)
        closed = self.closed_form(net, q)
        if closed is not None:
            values = closed.loss(q.z[net.L], Y)  # the same loss, without the log of a rounded a^(L)
        grad *= aL.dtype.type(self.batch_scale(reduction, aL.shape[1]))  # a new array, made for this call
        return float(values.sum() * batch_factor(reduction, aL.shape[1])), grad

    def closed_form(self, net: Network, q: Quantities) -> AtLogit | None:
        """The output layer's loss and delta at the logit, when closed_forms is on, backward_pass
        has put the targets in q (a recomputation from printed values does not: a hand
        calculation takes L from its printed a^(L)) and the output activation and loss cancel
        in Eq. 1 (manual_bp.losses.at_logit); else None."""
        if not self.closed_forms or q.y is None or q.loss_name is None:
            return None
        return at_logit(net.activations[net.L], q.loss_name)

    # --- Eq. 1 to Eq. 4 -----------------------------------------------------------------------
    def output_error(self, net: Network, L: int, q: Quantities) -> np.ndarray:
        """Eq. 1: delta^(L) = dL/da^(L) ⊙ sigma'(z^(L)) (J^T dL/da^(L) for a softmax output).

        With closed_forms, a sigmoid with bce gives (a - y)/n and a softmax with cross_entropy
        (sum y) a - y, computed at z^(L) (times the batch factor): once a^(L) rounds to 0 or 1
        the product is 0 x inf, and a - y from the rounded a has lost its digits."""
        closed = self.closed_form(net, q)
        if closed is None:
            return apply_sigma_prime(q.dL_da[L], q.sigma_prime[L])
        delta = closed.delta(q.z[L], q.a[L], q.y)
        delta *= delta.dtype.type(self.batch_scale(q.reduction, delta.shape[1]))
        return delta

    def output_gradients(self, net: Network, L: int, q: Quantities) -> tuple[np.ndarray, np.ndarray | None]:
        """Eq. 3 and Eq. 4 for the output layer, which the pseudocode's loop never reaches."""
        return self.weight_gradient(net, L, q), self.bias_gradient(net, L, q)

    def backpropagate(self, net: Network, l: int, q: Quantities) -> np.ndarray:
        """Eq. 2, first half: dL/da^(l) = (W^(l+1))^T delta^(l+1)."""
        return net.W[l + 1].T @ q.delta[l + 1]

    def hidden_error(self, net: Network, l: int, q: Quantities) -> np.ndarray:
        """Eq. 2, second half: delta^(l) = dL/da^(l) ⊙ sigma'(z^(l))."""
        return apply_sigma_prime(q.dL_da[l], q.sigma_prime[l])

    def weight_gradient(self, net: Network, l: int, q: Quantities) -> np.ndarray:
        """Eq. 3: dL/dW^(l) = delta^(l) (a^(l-1))^T, summed over the batch by the product."""
        return q.delta[l] @ q.a[l - 1].T

    def bias_gradient(self, net: Network, l: int, q: Quantities) -> np.ndarray | None:
        """Eq. 4: dL/db^(l) = delta^(l), summed over the batch (a shared bias also over the units)."""
        b = net.b[l]
        return None if b is None else np.asarray(q.delta[l].sum(axis=None if b.ndim == 0 else 1))

    # --- Eq. 5 -------------------------------------------------------------------------------
    def update(self, param: np.ndarray, grad: np.ndarray, eta: np.floating) -> np.ndarray:
        """Eq. 5: W^(l) - eta dL/dW^(l), written into the new array of eta dL/dW^(l)."""
        step = np.asarray(eta * grad)
        return np.subtract(param, step, out=step)

    def update_bias(self, b: np.ndarray, grad: np.ndarray, eta: np.floating) -> np.ndarray:
        """Eq. 5 for the bias: b^(l) - eta dL/db^(l)."""
        return self.update(b, grad, eta)

    # --- the pseudocode's three loops ---------------------------------------------------------
    def forward_pass(self, net: Network, X: np.ndarray, q: Quantities | None = None) -> Quantities:
        """# Forward Pass, with a^(0) = x of shape (n_0, m)."""
        q = Quantities(a=LayerDict({0: X})) if q is None else q
        for l in range(1, net.L + 1):                           # for l = 1 to L:
            q.z[l] = self.weighted_input(net, l, q)             #     z[l] = W[l] * a[l-1] + b[l]
            q.a[l] = self.activation(net, l, q)                 #     a[l] = activation(z[l])
            q.sigma_prime[l] = self.sigma_prime(net, l, q)      #     (kept: activation_derivative(z[l]))
        return q

    def backward_pass(self, net: Network, q: Quantities, Y: np.ndarray, loss: str, reduction: str) -> Quantities:
        """# Compute Loss, # Backward Pass: fills q.loss, dL_da, delta, dW, db for l = L..1."""
        L = net.L
        q.y, q.loss_name, q.reduction = Y, loss, reduction
        q.loss, q.dL_da[L] = self.loss_gradient(net, q, Y, loss, reduction)  # L = loss_function(a[L], y)
        q.delta[L] = self.output_error(net, L, q)               # delta[L] = dL/da[L] * activation_derivative(z[L])
        q.dW[L], q.db[L] = self.output_gradients(net, L, q)     # (not in the pseudocode: see the errata)
        for l in range(L - 1, 0, -1):                           # for l = L-1 to 1:
            q.dL_da[l] = self.backpropagate(net, l, q)          #     delta[l] = (W[l+1].T * delta[l+1])
            q.delta[l] = self.hidden_error(net, l, q)           #                * activation_derivative(z[l])
            q.dW[l] = self.weight_gradient(net, l, q)           #     dW[l] = delta[l] * a[l-1].T
            q.db[l] = self.bias_gradient(net, l, q)             #     db[l] = delta[l]
        return q

    def update_pass(self, net: Network, q: Quantities, eta: np.floating, update_biases: bool = True
                    ) -> tuple[LayerDict, LayerDict]:
        """# Update Parameters: W'^(l) and b'^(l) for l = 1..L (a bias left out stays as it is)."""
        W, b = LayerDict(), LayerDict()
        for l in range(1, net.L + 1):                           # for l = 1 to L:
            W[l] = self.update(net.W[l], q.dW[l], eta)          #     W[l] -= learning_rate * dW[l]
            keep = net.b[l] is None or not update_biases
            b[l] = net.b[l] if keep else self.update_bias(net.b[l], q.db[l], eta)  # b[l] -= learning_rate * db[l]
        return W, b


BACKPROP = Backprop(closed_forms=True)  # the algorithm manual_bp's functions run


# ---------------------------------------------------------------------------------------------
# The public functions: validate, run the algorithm, report what overflowed


@dataclass(frozen=True)
class Cache:
    """What the forward pass keeps for the backward pass: z^(l), a^(l) (a^(0) = x) and
    sigma'(z^(l)) (for softmax, its Jacobian: one more axis of size n_l), and the network
    they were computed with."""

    z: LayerDict
    a: LayerDict
    sigma_prime: LayerDict
    single: bool  # True when x was one example of shape (n_0,)
    net: Network | None = field(default=None, repr=False, compare=False)

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


def as_given(values: LayerDict, single: bool) -> LayerDict:
    """Per-example quantities in the caller's layout: one example loses its batch axis again."""
    return LayerDict({l: v[..., 0] for l, v in values.items()}) if single else values


def as_batch(values: LayerDict, single: bool) -> LayerDict:
    """The caller's per-example quantities as batches: one example (n,) becomes (n, 1)."""
    return LayerDict({l: v[..., None] for l, v in values.items()}) if single else values


def first_overflow(where: str, **quantities: LayerDict) -> None:
    """Raise InputError naming the first quantity (in the order given, layers L..1) that is not finite."""
    for symbol, values in quantities.items():
        for l in sorted(values, reverse=True):
            if values[l] is not None and not validate.all_finite(values[l]):
                name = symbol.replace("_", "/")
                raise InputError(f"{where}: {name}^({l}) overflowed to inf or NaN; inputs, weights or targets "
                                 "are too large")


def forward(net: Network, x: object) -> Cache:
    """The forward pass: for l = 1..L, z^(l) = W^(l) a^(l-1) + b^(l) and a^(l) = sigma(z^(l)),
    with a^(0) = x; also keeps sigma'(z^(l)) for Eq. 1 and Eq. 2."""
    X, single = validate.inputs(net, x)
    with np.errstate(over="ignore", invalid="ignore"):  # what overflowed is reported just below
        q = BACKPROP.forward_pass(net, X)
    for l in range(1, net.L + 1):
        if not validate.all_finite(q.z[l]):
            raise InputError(f"forward: z^({l}) overflowed to inf; inputs or weights are too large")
    return Cache(as_given(q.z, single), as_given(q.a, single), as_given(q.sigma_prime, single), single, net)


def backward(net: Network, cache: Cache, y: object, loss: str = "half_sse", reduction: str = "mean") -> Gradients:
    """Backpropagation: delta^(l), dL/da^(l), dL/dW^(l) and dL/db^(l) for every l = 1..L.

    Eq. 1  delta^(L) = dL/da^(L) ⊙ sigma'(z^(L))            (J^T dL/da^(L) for a softmax output)
    Eq. 2  delta^(l) = (W^(l+1))^T delta^(l+1) ⊙ sigma'(z^(l)), l = L-1..1
    Eq. 3  dL/dW^(l) = delta^(l) (a^(l-1))^T                (summed over a batch's columns)
    Eq. 4  dL/db^(l) = delta^(l)                            (summed over the batch; a shared
                                                            bias also sums over its units)
    The document's pseudocode computes Eq. 3 and Eq. 4 inside its loop ``for l = L-1 to 1``, so
    it never sets dW[L] and db[L]; its worked example does compute them, and so does this
    function, for every layer including the output layer L (Backprop.output_gradients).

    loss: half_sse, sse, mse, bce or cross_entropy; reduction over the batch: mean or sum."""
    validate.network(net)
    check_reduction(reduction)
    get_loss(loss)
    if not isinstance(cache, Cache):
        raise InputError(f"cache: expected the Cache that forward(net, x) returns, got {type(cache).__name__}")
    cache_sizes = tuple(cache.a[l].shape[0] for l in sorted(cache.a))
    if cache_sizes != net.sizes:
        raise InputError(f"cache: expected a forward pass of this network (sizes {net.sizes}), got one of sizes "
                         f"{cache_sizes}")
    if cache.net is not None:
        validate.same_network(net, cache.net)
    single = cache.single
    q = Quantities(as_batch(cache.z, single), as_batch(cache.a, single), as_batch(cache.sigma_prime, single))
    Y = validate.targets(net, y, loss, q.a[0].shape[1], single)
    validate.probabilities(loss, q.a[net.L], net.L)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # reported by first_overflow
        BACKPROP.backward_pass(net, q, Y, loss, reduction)
    if not np.isfinite(q.loss):
        raise InputError(f"backward: the loss L overflowed to {q.loss}; outputs or targets are too large")
    # dL/da^(l) need not be looked at: inf or NaN there makes delta^(l) = dL/da^(l) ⊙ sigma' inf or NaN too.
    first_overflow("backward", delta=q.delta, dL_dW=q.dW, dL_db=q.db)
    return Gradients(q.loss, as_given(q.delta, single), as_given(q.dL_da, single), q.dW, q.db)
