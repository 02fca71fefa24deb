"""Eq. 1 for a sigmoid with bce and a softmax with cross_entropy, computed at the logit: the true
loss and delta^(L) where the output saturates, checked against 50-digit arithmetic."""

from __future__ import annotations

import warnings
from decimal import Decimal, localcontext

import numpy as np
import pytest

from manual_bp import Backprop, Network, backward, forward
from manual_bp.backprop import Quantities

LOGITS = [-60.0, -40.0, -17.0, -5.0, -0.5, 0.0, 0.5, 5.0, 16.2, 17.0, 20.0, 30.0, 40.0, 60.0]


def _true_bce(z: float, y: float) -> tuple[float, float]:
    """(loss, dL/dz) of bce(sigmoid(z), y) for one output, to 50 digits: (1 - y) softplus(z) +
    y softplus(-z) and sigmoid(z) - y."""
    with localcontext() as ctx:
        ctx.prec = 50
        Z, Y = Decimal(z), Decimal(y)
        s = 1 / (1 + (-Z).exp())
        loss = (1 - Y) * (1 + Z.exp()).ln() + Y * (1 + (-Z).exp()).ln()
        return float(loss), float(s - Y)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("y", [0.0, 1.0, 0.3])
def test_sigmoid_bce_gives_the_true_loss_and_delta_at_any_logit(dtype, y):
    net = Network([[[1.0]]], None, "sigmoid", dtype=dtype)
    eps = float(np.finfo(dtype).eps)
    for z in LOGITS:
        zd = float(np.asarray(z, dtype=dtype))  # the logit the network holds
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            g = backward(net, forward(net, [zd]), [y], loss="bce")
        # sigma(z) and softplus are each within ~2 ulps, the products and sum add ~2 more:
        # 8 eps relative. The truth is taken at the target the network holds (0.3 rounded in float32).
        yd = float(np.asarray(y, dtype=dtype))
        loss, delta = _true_bce(zd, yd)
        assert abs(g.delta[1][0] - delta) <= 8 * eps * abs(delta) + 1e-300, (z, g.delta[1][0], delta)
        assert abs(g.loss - loss) <= 8 * eps * abs(loss) + 1e-300, (z, g.loss, loss)


def test_the_product_form_is_what_a_plain_backprop_computes():
    # At z = 40 in float64 a = sigmoid(z) rounds to 1: the document's product dL/da x a(1 - a) is 0,
    # the true dL/dz is -e^-40. manual_bp's functions give the true one; Backprop() follows the
    # document literally (the mistakes and the recomputation from printed values build on it).
    net = Network([[[1.0]]], None, "sigmoid")
    X, Y = np.array([[40.0]]), np.array([[1.0]])
    q = Backprop().forward_pass(net, X)
    with np.errstate(all="ignore"):
        Backprop().backward_pass(net, q, Y, "bce", "mean")
    assert q.delta[1][0, 0] == 0.0
    assert backward(net, forward(net, [40.0]), [1.0], loss="bce").delta[1][0] == pytest.approx(-np.exp(-40.0),
                                                                                               rel=1e-15)


def test_cross_entropy_on_logits_2000_apart():
    net = Network([[[-1000.0], [1000.0]]], None, "softmax")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = backward(net, forward(net, [1.0]), 0, loss="cross_entropy")
    # -log softmax(z)_0 = logsumexp(z) - z_0 = 1000 + log(1 + e^-2000) + 1000: 2000 in float64.
    assert g.loss == 2000.0
    assert g.delta[1].tolist() == [-1.0, 1.0]  # a - y with a = (e^-2000, 1) = (0, 1) to the last bit
    assert g.dW[1].tolist() == [[-1.0], [1.0]]


def test_soft_labels_and_a_batch_at_the_logit_agree_with_the_product_where_nothing_saturates():
    rng = np.random.default_rng(3)
    for act, loss in (("sigmoid", "bce"), ("softmax", "cross_entropy")):
        net = Network([rng.normal(size=(3, 2))], [rng.normal(size=3)], act)
        X = rng.normal(size=(2, 4))
        Y = rng.uniform(size=(3, 4)) if act == "sigmoid" else rng.dirichlet(np.ones(3), size=4).T
        g = backward(net, forward(net, X), Y, loss, "sum")
        q = Backprop().forward_pass(net, X)
        Backprop().backward_pass(net, q, Y, loss, "sum")
        # Two roundings of the same function, values of order 1: 1e-15 is a few ulps.
        np.testing.assert_allclose(g.delta[1], q.delta[1], rtol=0, atol=1e-15)
        assert g.loss == pytest.approx(q.loss, rel=1e-15)


def test_quantities_hold_the_targets_only_inside_backward_pass():
    assert Quantities().y is None  # a recomputation from printed values takes L from its printed a


def test_each_example_is_shifted_by_its_own_largest_logit():
    # Column 2's logits, (-1000, -500), sit 1500 below column 1's largest: shifted by the batch's
    # largest logit, its exponentials would all underflow to 0 and its loss and delta be NaN.
    net = Network([[[1.0], [0.5]]], None, "softmax")
    X = np.array([[1000.0, -1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = backward(net, forward(net, X), np.array([1, 1]), "cross_entropy", "sum")
    # Class 1 in both: column 1 z = (1000, 500), -log a_1 = 500 + log(1 + e^-500) = 500; column 2
    # z = (-1000, -500), -log a_1 = log(1 + e^-500) = 0 in float64. delta = a - y, a = (1, e^-500)
    # and (e^-500, 1): e^-500 = 7e-218 is below anything 1e-200 can see.
    assert g.loss == 500.0
    np.testing.assert_allclose(g.delta[1], [[1.0, 0.0], [-1.0, 0.0]], rtol=0, atol=1e-200)


def test_targets_that_do_not_sum_to_one_scale_the_softmax_term():
    # delta = J^T (-y / a) = (sum_i y_i) a - y: with y = (0.3, 0, 0.2), (0.5 a - y), not a / 0.5 - y.
    net = Network([[[0.2], [-0.1], [0.4]]], None, "softmax")
    y = np.array([0.3, 0.0, 0.2])
    g = backward(net, forward(net, [1.0]), y, "cross_entropy")
    a = np.exp([0.2, -0.1, 0.4]) / np.exp([0.2, -0.1, 0.4]).sum()
    np.testing.assert_allclose(g.delta[1], 0.5 * a - y, rtol=0, atol=4e-16)  # values of order 1: a few ulps


def test_closed_forms_is_a_switch_of_the_algorithm():
    net, X, Y = Network([[[1.0]]], None, "sigmoid"), np.array([[40.0]]), np.array([[1.0]])
    for closed, expected in ((True, -np.exp(-40.0)), (False, 0.0)):  # the true value; the product's 0
        alg = Backprop(closed_forms=closed)
        q = alg.forward_pass(net, X)
        with np.errstate(all="ignore"):
            alg.backward_pass(net, q, Y, "bce", "mean")
        assert q.delta[1][0, 0] == pytest.approx(expected, rel=1e-15, abs=0.0)
