"""A catalogue of classic backpropagation mistakes, each one step of the algorithm done wrong.

The checks in this project are only worth something if they catch real mistakes. Each mistake
here is a subclass of manual_bp's own algorithm, :class:`manual_bp.Backprop`, that overrides
exactly one of its steps the way a person gets it wrong (``# MISTAKE`` marks the line); the
rest of the algorithm is manual_bp's, unchanged.

``MISTAKES[name].run(case)`` returns the mistaken properties of a case in the layout of
``oracle.compare.records.manual_properties(case)``: keys z, a, sigma_prime, L, dL_da, delta,
dW, db, W_new, b_new, each a dict keyed by the document's 1-based layer (``a`` also has layer
0), except L, a float. Where the buggy code could not even run on a case's shapes (W^(l) used
instead of W^(l+1) needs n_(l-1) = n_l = n_(l+1)), ``run`` raises :class:`NotApplicableError`,
as the buggy code would crash there; :func:`applies` asks without raising. A mistake that
overflows gives inf or NaN values, never an error: they simply match nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from manual_bp.activations import ACTIVATIONS
from manual_bp.backprop import Backprop, Quantities
from manual_bp.network import Network
from oracle.cases import Case
from oracle.compare.records import manual_properties


class NotApplicableError(Exception):
    """The mistaken code cannot run on this case's shapes (numpy would refuse the product)."""


def _need_square(net: Network, pairs: list[tuple[int, int]], mistake: str) -> None:
    """Raise NotApplicableError unless n_i == n_j for every pair, as the mistaken product needs."""
    n = net.sizes
    for i, j in pairs:
        if n[i] != n[j]:
            raise NotApplicableError(f"{mistake}: needs n_{i} = n_{j}, got {n[i]} and {n[j]} (sizes {n})")


class Mistaken(Backprop):
    """manual_bp's algorithm with one step overridden; ``applicable`` says where it can run."""

    def applicable(self, net: Network) -> None:
        """Raise NotApplicableError where this version's products cannot run on the network's shapes."""


# ---------------------------------------------------------------------------------------------
# The mistakes, one step each.


class SigmaPrimeForgottenAtOutput(Mistaken):
    """Eq. 1 without its sigma': delta^(L) = dL/da^(L)."""

    def output_error(self, net: Network, L: int, q: Quantities) -> np.ndarray:
        return q.dL_da[L].copy()  # MISTAKE: ⊙ sigma'(z^(L)) left out


class SigmaPrimeForgottenInHidden(Mistaken):
    """Eq. 2 without its sigma': delta^(l) = (W^(l+1))^T delta^(l+1)."""

    def hidden_error(self, net: Network, l: int, q: Quantities) -> np.ndarray:
        return q.dL_da[l].copy()  # MISTAKE: ⊙ sigma'(z^(l)) left out


class SigmaPrimeAtA(Mistaken):
    """sigma' evaluated at the activation a^(l) instead of z^(l): for sigmoid, the formula
    a(1 - a) is applied to a itself, giving sigma(a)(1 - sigma(a)) instead of a(1 - a)."""

    def sigma_prime(self, net: Network, l: int, q: Quantities) -> np.ndarray:
        return ACTIVATIONS[net.activations[l]].sigma_prime(q.a[l])  # MISTAKE: sigma'(a^(l)), not sigma'(z^(l))


class SigmaPrimeFormulaAtZ(Mistaken):
    """The reverse of SigmaPrimeAtA: sigma' written in terms of the output, a(1 - a) or 1 - a^2,
    but fed z^(l): z(1 - z) for sigmoid, 1 - z^2 for tanh (relu and identity are unchanged)."""

    CHANGED = ("sigmoid", "tanh", "softmax")

    def applicable(self, net: Network) -> None:
        if not any(a in self.CHANGED for a in net.activations.values()):
            raise NotApplicableError("sigma_prime_formula_at_z: needs a sigmoid, tanh or softmax layer")

    def sigma_prime(self, net: Network, l: int, q: Quantities) -> np.ndarray:
        act = ACTIVATIONS[net.activations[l]]
        if act.name in self.CHANGED and act.prime_from_a is not None:
            return act.prime_from_a(q.z[l])  # MISTAKE: the formula in a, fed z
        return super().sigma_prime(net, l, q)


class WeightsOfWrongLayer(Mistaken):
    """Eq. 2 with W^(l) where W^(l+1) belongs: dL/da^(l) = (W^(l))^T delta^(l+1)."""

    def applicable(self, net: Network) -> None:
        _need_square(net, [p for l in range(1, net.L) for p in ((l - 1, l), (l, l + 1))], "wrong_layer_weights")

    def backpropagate(self, net: Network, l: int, q: Quantities) -> np.ndarray:
        return net.W[l].T @ q.delta[l + 1]  # MISTAKE: W^(l), should be W^(l+1)


class TransposeMissing(Mistaken):
    """Eq. 2 without the transpose: dL/da^(l) = W^(l+1) delta^(l+1)."""

    def applicable(self, net: Network) -> None:
        _need_square(net, [(l, l + 1) for l in range(1, net.L)], "transpose_missing")

    def backpropagate(self, net: Network, l: int, q: Quantities) -> np.ndarray:
        return net.W[l + 1] @ q.delta[l + 1]  # MISTAKE: (W^(l+1))^T written as W^(l+1)


class SignFlipped(Mistaken):
    """dL/da^(L) with the wrong sign, (y - a) for half_sse: every gradient points uphill."""

    def loss_gradient(self, net: Network, q: Quantities, Y: np.ndarray, loss: str, reduction: str
                      ) -> tuple[float, np.ndarray]:
        L_value, grad = super().loss_gradient(net, q, Y, loss, reduction)
        return L_value, -grad  # MISTAKE: d/da of (y - a)^2 taken as 2 (y - a)


class OutputGradientsNeverComputed(Mistaken):
    """The document's own pseudocode: Eq. 3 and Eq. 4 only inside ``for l = L-1 to 1``, so
    dL/dW^(L) and dL/db^(L) stay zero and the update leaves W^(L) and b^(L) unchanged."""

    def output_gradients(self, net: Network, L: int, q: Quantities) -> tuple[np.ndarray, np.ndarray | None]:
        b = net.b[L]  # MISTAKE: dW[L], db[L] are only "initialised" to zero, never computed
        return np.zeros_like(net.W[L]), None if b is None else np.zeros_like(b)


class OwnActivationInEq3(Mistaken):
    """Eq. 3 with the layer's own output: dL/dW^(l) = delta^(l) (a^(l))^T instead of (a^(l-1))^T."""

    def applicable(self, net: Network) -> None:
        _need_square(net, [(l - 1, l) for l in range(1, net.L + 1)], "own_activation_in_eq3")

    def weight_gradient(self, net: Network, l: int, q: Quantities) -> np.ndarray:
        return q.delta[l] @ q.a[l].T  # MISTAKE: a^(l), should be a^(l-1)


class WeightGradientTransposed(Mistaken):
    """Eq. 3 transposed: dL/dW^(l) = a^(l-1) (delta^(l))^T, the outer product the wrong way round."""

    def applicable(self, net: Network) -> None:
        _need_square(net, [(l - 1, l) for l in range(1, net.L + 1)], "weight_gradient_transposed")

    def weight_gradient(self, net: Network, l: int, q: Quantities) -> np.ndarray:
        return q.a[l - 1] @ q.delta[l].T  # MISTAKE: (delta (a^(l-1))^T)^T


class BiasGradientNotSummed(Mistaken):
    """Eq. 4 on a batch without the sum over examples: only the first example's delta^(l)."""

    def bias_gradient(self, net: Network, l: int, q: Quantities) -> np.ndarray | None:
        b = net.b[l]
        if b is None:
            return None
        first = q.delta[l][:, 0]  # MISTAKE: delta^(l) of example 1 only, the other columns dropped
        return np.asarray(first.sum() if b.ndim == 0 else first)


class MeanAppliedTwice(Mistaken):
    """The batch mean divided in twice: dL/da^(L) scaled by 1/m^2 instead of 1/m."""

    def batch_scale(self, reduction: str, m: int) -> float:
        return 1.0 / (m * m) if reduction == "mean" else 1.0  # MISTAKE: 1/m once more


class MeanForgotten(Mistaken):
    """The batch mean never divided in: dL/da^(L) of the summed loss under a mean reduction."""

    def batch_scale(self, reduction: str, m: int) -> float:
        return 1.0  # MISTAKE: mean treated as sum


class SumAveraged(Mistaken):
    """A sum reduction averaged anyway: dL/da^(L) scaled by 1/m although L sums over the batch."""

    def batch_scale(self, reduction: str, m: int) -> float:
        return 1.0 / m  # MISTAKE: sum treated as mean


class PowerRuleTwoDropped(Mistaken):
    """The 2 of the power rule dropped: d/da 1/2 (a - y)^2 taken as 1/2 (a - y), so the 1/2
    of half_sse is never cancelled (sse and mse likewise lose their factor 2)."""

    def loss_gradient(self, net: Network, q: Quantities, Y: np.ndarray, loss: str, reduction: str
                      ) -> tuple[float, np.ndarray]:
        L_value, grad = super().loss_gradient(net, q, Y, loss, reduction)
        if loss in ("half_sse", "sse", "mse"):
            grad = grad / 2  # MISTAKE: d/da r^2 taken as r
        return L_value, grad


class InPlaceUpdate(Mistaken):
    """Each layer updated as soon as its gradient is known, so Eq. 2 for layer l reads the
    already-updated W^(l+1) - eta dL/dW^(l+1) (the classic in-place update bug)."""

    def backpropagate(self, net: Network, l: int, q: Quantities) -> np.ndarray:
        if q.lr is None:  # an example without a learning rate has no update to make too early
            raise NotApplicableError("in_place_update: needs a learning rate")
        W_next = self.update(net.W[l + 1], q.dW[l + 1], q.lr)  # MISTAKE: W^(l+1) already updated
        return W_next.T @ q.delta[l + 1]


class UpdateAdded(Mistaken):
    """Eq. 5 with a plus: W^(l) <- W^(l) + eta dL/dW^(l), gradient ascent."""

    def update(self, param: np.ndarray, grad: np.ndarray, eta: np.floating) -> np.ndarray:
        return param + eta * grad  # MISTAKE: + instead of -


class BiasNotUpdated(Mistaken):
    """Eq. 5 for the weights only: b^(l) is never updated although dL/db^(l) is computed."""

    def update_bias(self, b: np.ndarray, grad: np.ndarray, eta: np.floating) -> np.ndarray:
        return b.copy()  # MISTAKE: the bias update left out


class SoftmaxElementwise(Mistaken):
    """softmax treated as elementwise: sigma' taken as the Jacobian's diagonal a(1 - a) and
    applied as dL/da ⊙ a(1 - a), which drops the cross terms -a_i a_j (wrong unless the
    loss is cross-entropy and, even then, only for the true class)."""

    def sigma_prime(self, net: Network, l: int, q: Quantities) -> np.ndarray:
        if net.activations[l] == "softmax":
            return q.a[l] * (1.0 - q.a[l])  # MISTAKE: diag(J) only
        return super().sigma_prime(net, l, q)


class SoftmaxAsRatio(Mistaken):
    """softmax without its exponentials: a_i = z_i / sum_j z_j."""

    def activation(self, net: Network, l: int, q: Quantities) -> np.ndarray:
        if net.activations[l] == "softmax":
            return q.z[l] / q.z[l].sum(axis=0, keepdims=True)  # MISTAKE: no e^z
        return super().activation(net, l, q)


class LogTenInLoss(Mistaken):
    """The logarithm of bce or cross-entropy taken to base 10: L and dL/da divided by ln 10."""

    def loss_gradient(self, net: Network, q: Quantities, Y: np.ndarray, loss: str, reduction: str
                      ) -> tuple[float, np.ndarray]:
        L_value, grad = super().loss_gradient(net, q, Y, loss, reduction)
        if loss in ("bce", "cross_entropy"):
            return L_value / np.log(10.0), grad / np.log(10.0)  # MISTAKE: log10 for ln
        return L_value, grad


class OutputDeltaAMinusY(Mistaken):
    """delta^(L) = a^(L) - y whatever the loss and the output: right only for softmax with
    cross-entropy (and sigmoid with bce); with another pair the sigma' or the softmax is skipped."""

    def loss_gradient(self, net: Network, q: Quantities, Y: np.ndarray, loss: str, reduction: str
                      ) -> tuple[float, np.ndarray]:
        L_value, _ = super().loss_gradient(net, q, Y, loss, reduction)
        aL = q.a[net.L]
        return L_value, (aL - Y) * aL.dtype.type(self.batch_scale(reduction, aL.shape[1]))  # MISTAKE: a - y

    def output_error(self, net: Network, L: int, q: Quantities) -> np.ndarray:
        return q.dL_da[L].copy()  # MISTAKE (the same one): delta^(L) is that a - y, no sigma' applied


class Eq2WithoutSum(Mistaken):
    """Eq. 2 with one term of its sum: dL/da^(l)_i = W^(l+1)_1i delta^(l+1)_1, the next layer's
    first unit only."""

    def backpropagate(self, net: Network, l: int, q: Quantities) -> np.ndarray:
        return net.W[l + 1][:1].T @ q.delta[l + 1][:1]  # MISTAKE: the sum over k reduced to k = 1


@dataclass(frozen=True)
class Mistake:
    """One catalogued mistake: a short id, one line saying what is wrong, the equation it
    breaks, and the algorithm with that step done wrong."""

    name: str
    description: str
    equation: str
    algorithm: Mistaken

    def run(self, case: Case) -> dict[str, Any]:
        """The mistaken properties of ``case`` (NotApplicableError where it cannot run)."""
        self.algorithm.applicable(case.net)
        return manual_properties(case, self.algorithm)


MISTAKES: dict[str, Mistake] = {
    m.name: m
    for m in (
        Mistake("sigma_prime_forgotten_output", "sigma' forgotten at the output: delta^(L) = dL/da^(L)", "Eq. 1",
                SigmaPrimeForgottenAtOutput()),
        Mistake("sigma_prime_forgotten_hidden",
                "sigma' forgotten in the hidden layers: delta^(l) = (W^(l+1))^T delta^(l+1)", "Eq. 2",
                SigmaPrimeForgottenInHidden()),
        Mistake("sigma_prime_at_a", "sigma' evaluated at a instead of z: sigma'(a^(l)), e.g. a(1-a) applied to a",
                "Eq. 1", SigmaPrimeAtA()),
        Mistake("sigma_prime_formula_at_z", "sigma' written in a but fed z: z(1 - z) for sigmoid, 1 - z^2 for "
                "tanh", "Eq. 1", SigmaPrimeFormulaAtZ()),
        Mistake("wrong_layer_weights", "W^(l) used instead of W^(l+1) in Eq. 2: dL/da^(l) = (W^(l))^T delta^(l+1)",
                "Eq. 2", WeightsOfWrongLayer()),
        Mistake("transpose_missing", "the transpose missing in Eq. 2: dL/da^(l) = W^(l+1) delta^(l+1)", "Eq. 2",
                TransposeMissing()),
        Mistake("sign_flipped", "the sign of dL/da^(L) flipped: (y - a) instead of (a - y)", "Eq. 1", SignFlipped()),
        Mistake("output_gradients_never_computed",
                "dL/dW^(L), dL/db^(L) never computed (the pseudocode's loop l = L-1..1): they stay 0", "Eq. 3",
                OutputGradientsNeverComputed()),
        Mistake("own_activation_in_eq3", "a^(l) used instead of a^(l-1) in Eq. 3: dL/dW^(l) = delta^(l) (a^(l))^T",
                "Eq. 3", OwnActivationInEq3()),
        Mistake("weight_gradient_transposed", "dL/dW^(l) transposed: a^(l-1) (delta^(l))^T", "Eq. 3",
                WeightGradientTransposed()),
        Mistake("bias_gradient_not_summed", "dL/db^(l) not summed over the batch: only the first example's delta^(l)",
                "Eq. 4", BiasGradientNotSummed()),
        Mistake("mean_applied_twice", "the batch mean applied twice: dL/da^(L) divided by m^2", "Eq. 1",
                MeanAppliedTwice()),
        Mistake("mean_forgotten", "the batch mean not applied: dL/da^(L) of a mean loss not divided by m", "Eq. 1",
                MeanForgotten()),
        Mistake("sum_averaged", "a sum reduction averaged: dL/da^(L) of a summed loss divided by m", "Eq. 1",
                SumAveraged()),
        Mistake("power_rule_two_dropped",
                "the 1/2 of half_sse not cancelled: dL/da = (a - y)/2 (the power rule's 2 dropped)", "Eq. 1",
                PowerRuleTwoDropped()),
        Mistake("in_place_update",
                "hidden deltas through already-updated weights: W^(l+1) updated before Eq. 2 uses it", "Eq. 2",
                InPlaceUpdate()),
        Mistake("update_added", "the update added instead of subtracted: W^(l) + eta dL/dW^(l)", "Eq. 5",
                UpdateAdded()),
        Mistake("bias_not_updated", "the biases never updated: b'^(l) = b^(l)", "Eq. 5", BiasNotUpdated()),
        Mistake("softmax_elementwise",
                "softmax treated as elementwise: sigma' = a(1 - a), the Jacobian's diagonal only", "Eq. 1",
                SoftmaxElementwise()),
        Mistake("softmax_as_ratio", "softmax without its exponentials: a_i = z_i / sum_j z_j", "forward pass",
                SoftmaxAsRatio()),
        Mistake("log10_in_loss", "log10 instead of ln in bce or cross-entropy: L and dL/da divided by ln 10",
                "loss", LogTenInLoss()),
        Mistake("output_delta_a_minus_y", "delta^(L) = a - y with a loss and output for which it is not "
                "(the sigma' or the softmax skipped)", "Eq. 1", OutputDeltaAMinusY()),
        Mistake("eq2_without_sum", "Eq. 2 without its sum over the next layer's units: only k = 1's term",
                "Eq. 2", Eq2WithoutSum()),
    )
}

CORRECT = Mistake("correct", "the correct algorithm (no mistake): the catalogue's baseline", "-", Mistaken())


def applies(mistake: Mistake, case: Case) -> bool:
    """Whether the mistaken code can run on this case's shapes at all."""
    try:
        mistake.algorithm.applicable(case.net)
    except NotApplicableError:
        return False
    return True
