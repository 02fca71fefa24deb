"""A catalogue of classic backpropagation mistakes, each a deliberately wrong copy of Eq. 1-5.

The checks in this project are only worth something if they catch real mistakes. This
module writes the correct algorithm once, as :class:`Backprop`, one method per step of the
document (the forward pass, the loss gradient, Eq. 1, Eq. 2, Eq. 3, Eq. 4, Eq. 5), and then
each mistake as a subclass that rewrites exactly one step the way a person gets it wrong.
Nothing here calls or patches ``manual_bp.backward``; only the activation pairs sigma /
sigma', the per-example losses and the input validation of ``manual_bp`` are shared.

``MISTAKES[name].run(case)`` returns the mistaken properties of a case in the layout of
``oracle.compare.manual_properties(case)``: keys z, a, sigma_prime, L, dL_da, delta, dW, db,
W_new, b_new, each a dict keyed by the document's 1-based layer (``a`` also has layer 0),
except L, a float. Where the buggy code could not even run on a case's shapes (W^(l) used
instead of W^(l+1) needs n_(l-1) = n_l = n_(l+1)), ``run`` raises :class:`NotApplicableError`,
as the buggy code would crash there; :func:`applies` asks without raising.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from manual_bp.activations import ACTIVATIONS
from manual_bp.backprop import check_input, check_targets
from manual_bp.errors import LayerDict
from manual_bp.losses import check_reduction, get_loss
from manual_bp.network import Network
from manual_bp.sgd import check_learning_rate
from oracle.compare import Case


class NotApplicableError(Exception):
    """The mistaken code cannot run on this case's shapes (numpy would refuse the product)."""


def _bias_column(b: np.ndarray | None) -> np.ndarray | float:
    """b^(l) as a column that broadcasts over the batch (a shared bias is a scalar, none is 0)."""
    if b is None:
        return 0.0
    return b if b.ndim == 0 else b[:, None]


def _as_given(value: np.ndarray, single: bool) -> np.ndarray:
    """Drop the batch axis again when the case's x was one example of shape (n_0,)."""
    return value[..., 0] if single else value


def _apply(dL_da: np.ndarray, sigma_prime: np.ndarray) -> np.ndarray:
    """dL/da ⊙ sigma'(z) for an elementwise sigma'; J^T dL/da for a softmax Jacobian (n, n, m)."""
    if sigma_prime.ndim == dL_da.ndim:
        return dL_da * sigma_prime
    return np.einsum("ijk,ik->jk", sigma_prime, dL_da)


def _need_square(case: Case, layers: list[tuple[int, int]], mistake: str) -> None:
    """Raise NotApplicableError unless n_i == n_j for every pair, as the mistaken product needs."""
    n = case.net.sizes
    for i, j in layers:
        if n[i] != n[j]:
            raise NotApplicableError(f"{mistake}: needs n_{i} = n_{j}, got {n[i]} and {n[j]} (sizes {n})")


class Backprop:
    """The correct algorithm, one method per step; a mistake overrides exactly one of them.

    All arrays are batches with the examples as columns, (n_l, m)."""

    name = "correct"

    # --- forward pass -------------------------------------------------------------------
    def sigma_prime(self, act_name: str, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        """sigma'(z^(l)), the Jacobian for softmax."""
        return ACTIVATIONS[act_name].sigma_prime(z)

    def forward(self, net: Network, A0: np.ndarray) -> tuple[LayerDict, LayerDict, LayerDict]:
        """z^(l) = W^(l) a^(l-1) + b^(l), a^(l) = sigma(z^(l)), and sigma'(z^(l)), l = 1..L."""
        z, a, sp = LayerDict(), LayerDict({0: A0}), LayerDict()
        for l in range(1, net.L + 1):
            z[l] = net.W[l] @ a[l - 1] + _bias_column(net.b[l])
            a[l] = ACTIVATIONS[net.activations[l]].sigma(z[l])
            sp[l] = self.sigma_prime(net.activations[l], z[l], a[l])
        return z, a, sp

    # --- loss and Eq. 1 -------------------------------------------------------------------
    def batch_scale(self, reduction: str, m: int) -> float:
        """The factor of the batch reduction: 1/m for mean, 1 for sum."""
        return 1.0 / m if reduction == "mean" else 1.0

    def loss_gradient(self, loss: str, aL: np.ndarray, Y: np.ndarray, reduction: str) -> tuple[float, np.ndarray]:
        """The batch loss L and dL/da^(L): each loss's per-example gradient times the reduction factor."""
        values, grad = get_loss(loss).per_example(aL, Y)
        m = aL.shape[1]
        L_value = float(values.sum() / m if reduction == "mean" else values.sum())
        return L_value, grad * aL.dtype.type(self.batch_scale(reduction, m))

    def output_error(self, dL_daL: np.ndarray, spL: np.ndarray) -> np.ndarray:
        """Eq. 1: delta^(L) = dL/da^(L) ⊙ sigma'(z^(L))."""
        return _apply(dL_daL, spL)

    # --- Eq. 2 ---------------------------------------------------------------------------
    def backpropagate(self, net: Network, l: int, delta_next: np.ndarray) -> np.ndarray:
        """Eq. 2, first half: dL/da^(l) = (W^(l+1))^T delta^(l+1)."""
        return net.W[l + 1].T @ delta_next

    def hidden_error(self, dL_da: np.ndarray, sp: np.ndarray) -> np.ndarray:
        """Eq. 2, second half: delta^(l) = dL/da^(l) ⊙ sigma'(z^(l))."""
        return _apply(dL_da, sp)

    # --- Eq. 3, Eq. 4 --------------------------------------------------------------------
    def weight_gradient(self, net: Network, l: int, delta: np.ndarray, a: LayerDict) -> np.ndarray:
        """Eq. 3: dL/dW^(l) = delta^(l) (a^(l-1))^T, summed over the batch by the product."""
        return delta @ a[l - 1].T

    def bias_gradient(self, b: np.ndarray | None, delta: np.ndarray) -> np.ndarray | None:
        """Eq. 4: dL/db^(l) = delta^(l), summed over the batch (and over the units for a shared bias)."""
        if b is None:
            return None
        return np.asarray(delta.sum(axis=None if b.ndim == 0 else 1))

    # --- Eq. 5 ---------------------------------------------------------------------------
    def update(self, param: np.ndarray, grad: np.ndarray, eta: np.floating) -> np.ndarray:
        """Eq. 5: W^(l) <- W^(l) - eta dL/dW^(l) (and the same for b^(l))."""
        return param - eta * grad

    def update_bias(self, b: np.ndarray, grad: np.ndarray, eta: np.floating) -> np.ndarray:
        """Eq. 5 for the bias: b^(l) <- b^(l) - eta dL/db^(l)."""
        return self.update(b, grad, eta)

    # --- the whole algorithm -------------------------------------------------------------
    def check(self, case: Case) -> None:
        """Raise NotApplicableError where this version's products cannot run on the case's shapes."""

    def prepare(self, case: Case) -> tuple[Network, np.ndarray, np.ndarray, bool, np.floating]:
        """The case's network, x and y as (n, m) batches, whether x was one example, and eta."""
        self.check(case)
        net = case.net
        check_reduction(case.reduction)
        A0, single = check_input(net, case.x)
        Y = check_targets(net, case.y, case.loss, A0.shape[1], single)
        return net, A0, Y, single, net.dtype(check_learning_rate(case.lr))

    def backward(self, net: Network, a: LayerDict, sp: LayerDict, Y: np.ndarray, case: Case
                 ) -> tuple[float, LayerDict, LayerDict, LayerDict, LayerDict]:
        """L, dL/da^(l), delta^(l), dL/dW^(l), dL/db^(l) for l = L..1 (Eq. 1 - Eq. 4)."""
        L = net.L
        dL_da, delta, dW, db = LayerDict(), LayerDict(), LayerDict(), LayerDict()
        L_value, dL_da[L] = self.loss_gradient(case.loss, a[L], Y, case.reduction)
        delta[L] = self.output_error(dL_da[L], sp[L])  # Eq. 1
        for l in range(L - 1, 0, -1):
            dL_da[l] = self.backpropagate(net, l, delta[l + 1])  # Eq. 2
            delta[l] = self.hidden_error(dL_da[l], sp[l])
        for l in range(L, 0, -1):
            dW[l] = self.weight_gradient(net, l, delta[l], a)  # Eq. 3
            db[l] = self.bias_gradient(net.b[l], delta[l])  # Eq. 4
        return L_value, dL_da, delta, dW, db

    def sgd(self, net: Network, dW: LayerDict, db: LayerDict, eta: np.floating, update_biases: bool
            ) -> tuple[LayerDict, LayerDict]:
        """Eq. 5 for every layer l = 1..L."""
        W_new, b_new = LayerDict(), LayerDict()
        for l in range(1, net.L + 1):
            W_new[l] = self.update(net.W[l], dW[l], eta)
            keep = net.b[l] is None or not update_biases
            b_new[l] = net.b[l] if keep else self.update_bias(net.b[l], db[l], eta)
        return W_new, b_new

    def run(self, case: Case) -> dict[str, Any]:
        """Every property of the case, in the layout of oracle.compare.manual_properties."""
        net, A0, Y, single, eta = self.prepare(case)
        z, a, sp = self.forward(net, A0)
        L_value, dL_da, delta, dW, db = self.backward(net, a, sp, Y, case)
        W_new, b_new = self.sgd(net, dW, db, eta, case.update_biases)
        return _layout(z, a, sp, L_value, dL_da, delta, dW, db, W_new, b_new, single)


def _layout(z: LayerDict, a: LayerDict, sp: LayerDict, L_value: float, dL_da: LayerDict, delta: LayerDict,
            dW: LayerDict, db: LayerDict, W_new: LayerDict, b_new: LayerDict, single: bool) -> dict[str, Any]:
    """The properties as manual_properties returns them (one example keeps no batch axis)."""
    given = {name: LayerDict({l: _as_given(v, single) for l, v in d.items()})
             for name, d in (("z", z), ("a", a), ("sigma_prime", sp), ("dL_da", dL_da), ("delta", delta))}
    return {**given, "L": L_value, "dW": dW, "db": db, "W_new": W_new, "b_new": b_new}


# ---------------------------------------------------------------------------------------
# The mistakes, one step each.


class SigmaPrimeForgottenAtOutput(Backprop):
    """Eq. 1 without its sigma': delta^(L) = dL/da^(L)."""

    def output_error(self, dL_daL: np.ndarray, spL: np.ndarray) -> np.ndarray:
        return dL_daL.copy()  # MISTAKE: ⊙ sigma'(z^(L)) left out


class SigmaPrimeForgottenInHidden(Backprop):
    """Eq. 2 without its sigma': delta^(l) = (W^(l+1))^T delta^(l+1)."""

    def hidden_error(self, dL_da: np.ndarray, sp: np.ndarray) -> np.ndarray:
        return dL_da.copy()  # MISTAKE: ⊙ sigma'(z^(l)) left out


class SigmaPrimeAtA(Backprop):
    """sigma' evaluated at the activation a^(l) instead of z^(l): for sigmoid, the formula
    a(1 - a) is applied to a itself, giving sigma(a)(1 - sigma(a)) instead of a(1 - a)."""

    def sigma_prime(self, act_name: str, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        return ACTIVATIONS[act_name].sigma_prime(a)  # MISTAKE: sigma'(a^(l)), should be sigma'(z^(l))


class WeightsOfWrongLayer(Backprop):
    """Eq. 2 with W^(l) where W^(l+1) belongs: dL/da^(l) = (W^(l))^T delta^(l+1)."""

    def check(self, case: Case) -> None:
        _need_square(case, [p for l in range(1, case.net.L) for p in ((l - 1, l), (l, l + 1))], self.name)

    def backpropagate(self, net: Network, l: int, delta_next: np.ndarray) -> np.ndarray:
        return net.W[l].T @ delta_next  # MISTAKE: W^(l), should be W^(l+1)


class TransposeMissing(Backprop):
    """Eq. 2 without the transpose: dL/da^(l) = W^(l+1) delta^(l+1)."""

    def check(self, case: Case) -> None:
        _need_square(case, [(l, l + 1) for l in range(1, case.net.L)], self.name)

    def backpropagate(self, net: Network, l: int, delta_next: np.ndarray) -> np.ndarray:
        return net.W[l + 1] @ delta_next  # MISTAKE: (W^(l+1))^T written as W^(l+1)


class SignFlipped(Backprop):
    """dL/da^(L) with the wrong sign, (y - a) for half_sse: every gradient points uphill."""

    def loss_gradient(self, loss: str, aL: np.ndarray, Y: np.ndarray, reduction: str) -> tuple[float, np.ndarray]:
        L_value, grad = super().loss_gradient(loss, aL, Y, reduction)
        return L_value, -grad  # MISTAKE: d/da of (y - a)^2 taken as 2 (y - a)


class OutputGradientsNeverComputed(Backprop):
    """The document's own pseudocode: Eq. 3 and Eq. 4 only inside ``for l = L-1 to 1``, so
    dL/dW^(L) and dL/db^(L) stay zero and the update leaves W^(L) and b^(L) unchanged."""

    def backward(self, net: Network, a: LayerDict, sp: LayerDict, Y: np.ndarray, case: Case
                 ) -> tuple[float, LayerDict, LayerDict, LayerDict, LayerDict]:
        L = net.L
        dL_da, delta, dW, db = LayerDict(), LayerDict(), LayerDict(), LayerDict()
        L_value, dL_da[L] = self.loss_gradient(case.loss, a[L], Y, case.reduction)
        delta[L] = self.output_error(dL_da[L], sp[L])  # Eq. 1
        # MISTAKE: dW[L], db[L] are only "initialised" to zero, never computed.
        dW[L] = np.zeros_like(net.W[L])
        db[L] = None if net.b[L] is None else np.zeros_like(net.b[L])
        for l in range(L - 1, 0, -1):  # the pseudocode's loop, with Eq. 3 and Eq. 4 inside it
            dL_da[l] = self.backpropagate(net, l, delta[l + 1])
            delta[l] = self.hidden_error(dL_da[l], sp[l])
            dW[l] = self.weight_gradient(net, l, delta[l], a)
            db[l] = self.bias_gradient(net.b[l], delta[l])
        return L_value, dL_da, delta, dW, db


class OwnActivationInEq3(Backprop):
    """Eq. 3 with the layer's own output: dL/dW^(l) = delta^(l) (a^(l))^T instead of (a^(l-1))^T."""

    def check(self, case: Case) -> None:
        _need_square(case, [(l - 1, l) for l in range(1, case.net.L + 1)], self.name)

    def weight_gradient(self, net: Network, l: int, delta: np.ndarray, a: LayerDict) -> np.ndarray:
        return delta @ a[l].T  # MISTAKE: a^(l), should be a^(l-1)


class WeightGradientTransposed(Backprop):
    """Eq. 3 transposed: dL/dW^(l) = a^(l-1) (delta^(l))^T, the outer product the wrong way round."""

    def check(self, case: Case) -> None:
        _need_square(case, [(l - 1, l) for l in range(1, case.net.L + 1)], self.name)

    def weight_gradient(self, net: Network, l: int, delta: np.ndarray, a: LayerDict) -> np.ndarray:
        return a[l - 1] @ delta.T  # MISTAKE: (delta (a^(l-1))^T)^T


class BiasGradientNotSummed(Backprop):
    """Eq. 4 on a batch without the sum over examples: only the first example's delta^(l)."""

    def bias_gradient(self, b: np.ndarray | None, delta: np.ndarray) -> np.ndarray | None:
        if b is None:
            return None
        first = delta[:, 0]  # MISTAKE: delta^(l) of example 1 only, the other columns dropped
        return np.asarray(first.sum() if b.ndim == 0 else first)


class MeanAppliedTwice(Backprop):
    """The batch mean divided in twice: dL/da^(L) scaled by 1/m^2 instead of 1/m."""

    def batch_scale(self, reduction: str, m: int) -> float:
        return 1.0 / (m * m) if reduction == "mean" else 1.0  # MISTAKE: 1/m once more


class MeanForgotten(Backprop):
    """The batch mean never divided in: dL/da^(L) of the summed loss under a mean reduction."""

    def batch_scale(self, reduction: str, m: int) -> float:
        return 1.0  # MISTAKE: mean treated as sum


class SumAveraged(Backprop):
    """A sum reduction averaged anyway: dL/da^(L) scaled by 1/m although L sums over the batch."""

    def batch_scale(self, reduction: str, m: int) -> float:
        return 1.0 / m  # MISTAKE: sum treated as mean


class PowerRuleTwoDropped(Backprop):
    """The 2 of the power rule dropped: d/da 1/2 (a - y)^2 taken as 1/2 (a - y), so the 1/2
    of half_sse is never cancelled (sse and mse likewise lose their factor 2)."""

    def loss_gradient(self, loss: str, aL: np.ndarray, Y: np.ndarray, reduction: str) -> tuple[float, np.ndarray]:
        L_value, grad = super().loss_gradient(loss, aL, Y, reduction)
        if loss in ("half_sse", "sse", "mse"):
            grad = grad / 2  # MISTAKE: d/da r^2 taken as r
        return L_value, grad


class InPlaceUpdate(Backprop):
    """Each layer updated as soon as its gradient is known, so Eq. 2 for layer l then reads the
    already-updated W^(l+1) - eta dL/dW^(l+1) (the classic in-place update bug)."""

    def run(self, case: Case) -> dict[str, Any]:
        net, A0, Y, single, eta = self.prepare(case)
        z, a, sp = self.forward(net, A0)
        L = net.L
        W = LayerDict(net.W)  # MISTAKE: one set of weights, overwritten while still needed
        b = LayerDict(net.b)
        dL_da, delta, dW, db = LayerDict(), LayerDict(), LayerDict(), LayerDict()
        L_value, dL_da[L] = self.loss_gradient(case.loss, a[L], Y, case.reduction)
        for l in range(L, 0, -1):
            if l == L:
                delta[l] = self.output_error(dL_da[l], sp[l])  # Eq. 1
            else:
                dL_da[l] = W[l + 1].T @ delta[l + 1]  # Eq. 2, but W^(l+1) is already the new one
                delta[l] = self.hidden_error(dL_da[l], sp[l])
            dW[l] = self.weight_gradient(net, l, delta[l], a)  # Eq. 3
            db[l] = self.bias_gradient(net.b[l], delta[l])  # Eq. 4
            W[l] = self.update(W[l], dW[l], eta)  # Eq. 5, too early
            if b[l] is not None and case.update_biases:
                b[l] = self.update_bias(b[l], db[l], eta)
        return _layout(z, a, sp, L_value, dL_da, delta, dW, db, W, b, single)


class UpdateAdded(Backprop):
    """Eq. 5 with a plus: W^(l) <- W^(l) + eta dL/dW^(l), gradient ascent."""

    def update(self, param: np.ndarray, grad: np.ndarray, eta: np.floating) -> np.ndarray:
        return param + eta * grad  # MISTAKE: + instead of -


class BiasNotUpdated(Backprop):
    """Eq. 5 for the weights only: b^(l) is never updated although dL/db^(l) is computed."""

    def update_bias(self, b: np.ndarray, grad: np.ndarray, eta: np.floating) -> np.ndarray:
        return b.copy()  # MISTAKE: the bias update left out


class SoftmaxElementwise(Backprop):
    """softmax treated as elementwise: sigma' taken as the Jacobian's diagonal a(1 - a) and
    applied as dL/da ⊙ a(1 - a), which drops the cross terms -a_i a_j (wrong unless the
    loss is cross-entropy and, even then, only for the true class)."""

    def sigma_prime(self, act_name: str, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        if act_name == "softmax":
            return a * (1.0 - a)  # MISTAKE: diag(J) only
        return super().sigma_prime(act_name, z, a)


@dataclass(frozen=True)
class Mistake:
    """One catalogued mistake: a short id, one line saying what is wrong, the equation it
    breaks, and ``run(case)``, the mistaken properties of a case (layout of manual_properties)."""

    name: str
    description: str
    equation: str
    run: Callable[[Case], dict[str, Any]]


def _mistake(name: str, equation: str, description: str, cls: type[Backprop]) -> Mistake:
    impl = cls()
    impl.name = name
    return Mistake(name, description, equation, impl.run)


MISTAKES: dict[str, Mistake] = {
    m.name: m
    for m in (
        _mistake("sigma_prime_forgotten_output", "Eq. 1",
                 "sigma' forgotten at the output: delta^(L) = dL/da^(L)", SigmaPrimeForgottenAtOutput),
        _mistake("sigma_prime_forgotten_hidden", "Eq. 2",
                 "sigma' forgotten in the hidden layers: delta^(l) = (W^(l+1))^T delta^(l+1)",
                 SigmaPrimeForgottenInHidden),
        _mistake("sigma_prime_at_a", "Eq. 1",
                 "sigma' evaluated at a instead of z: sigma'(a^(l)), e.g. a(1-a) applied to a", SigmaPrimeAtA),
        _mistake("wrong_layer_weights", "Eq. 2",
                 "W^(l) used instead of W^(l+1) in Eq. 2: dL/da^(l) = (W^(l))^T delta^(l+1)", WeightsOfWrongLayer),
        _mistake("transpose_missing", "Eq. 2",
                 "the transpose missing in Eq. 2: dL/da^(l) = W^(l+1) delta^(l+1)", TransposeMissing),
        _mistake("sign_flipped", "Eq. 1",
                 "the sign of dL/da^(L) flipped: (y - a) instead of (a - y)", SignFlipped),
        _mistake("output_gradients_never_computed", "Eq. 3",
                 "dL/dW^(L), dL/db^(L) never computed (the pseudocode's loop l = L-1..1): they stay 0",
                 OutputGradientsNeverComputed),
        _mistake("own_activation_in_eq3", "Eq. 3",
                 "a^(l) used instead of a^(l-1) in Eq. 3: dL/dW^(l) = delta^(l) (a^(l))^T", OwnActivationInEq3),
        _mistake("weight_gradient_transposed", "Eq. 3",
                 "dL/dW^(l) transposed: a^(l-1) (delta^(l))^T", WeightGradientTransposed),
        _mistake("bias_gradient_not_summed", "Eq. 4",
                 "dL/db^(l) not summed over the batch: only the first example's delta^(l)", BiasGradientNotSummed),
        _mistake("mean_applied_twice", "Eq. 1",
                 "the batch mean applied twice: dL/da^(L) divided by m^2", MeanAppliedTwice),
        _mistake("mean_forgotten", "Eq. 1",
                 "the batch mean not applied: dL/da^(L) of a mean loss not divided by m", MeanForgotten),
        _mistake("sum_averaged", "Eq. 1",
                 "a sum reduction averaged: dL/da^(L) of a summed loss divided by m", SumAveraged),
        _mistake("power_rule_two_dropped", "Eq. 1",
                 "the 1/2 of half_sse not cancelled: dL/da = (a - y)/2 (the power rule's 2 dropped)",
                 PowerRuleTwoDropped),
        _mistake("in_place_update", "Eq. 2",
                 "hidden deltas through already-updated weights: W^(l+1) updated before Eq. 2 uses it",
                 InPlaceUpdate),
        _mistake("update_added", "Eq. 5",
                 "the update added instead of subtracted: W^(l) + eta dL/dW^(l)", UpdateAdded),
        _mistake("bias_not_updated", "Eq. 5",
                 "the biases never updated: b'^(l) = b^(l)", BiasNotUpdated),
        _mistake("softmax_elementwise", "Eq. 1",
                 "softmax treated as elementwise: sigma' = a(1 - a), the Jacobian's diagonal only",
                 SoftmaxElementwise),
    )
}

CORRECT = Mistake("correct", "the correct algorithm (no mistake): the catalogue's baseline", "-", Backprop().run)


def applies(mistake: Mistake, case: Case) -> bool:
    """Whether the mistaken code can run on this case's shapes at all."""
    try:
        mistake.run(case)
    except NotApplicableError:
        return False
    return True
