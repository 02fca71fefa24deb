"""forward and backward: shapes, purity, a batch of one against a single example, and the
batch reductions (mean is the average of per-example gradients, sum is m times the mean)."""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest
from networks import NETS, _arrays, _assert_sum_close, _data, _sigma_prime_shape
from support import X, Y, document_network

from manual_bp import BACKPROP, LOSSES, Backprop, Network, Quantities, backward, forward, sgd_step, train
from manual_bp.errors import LayerDict
from manual_bp.losses import expand_class_indices

EPS = np.finfo(np.float64).eps


# ---------------------------------------------------------------------------------------------
# Shapes


@pytest.mark.parametrize("name", sorted(NETS))
@pytest.mark.parametrize("m", [None, 1, 5])
def test_forward_backward_shapes(name, m):
    net = NETS[name]()
    x, y = _data(net, m)
    tail = () if m is None else (m,)
    cache = forward(net, x)
    grads = backward(net, cache, y)
    assert cache.single == (m is None)
    assert cache.a[0].shape == x.shape
    assert sorted(cache.z) == sorted(cache.sigma_prime) == list(range(1, net.L + 1))
    for l in range(1, net.L + 1):
        n = net.sizes[l]
        assert cache.z[l].shape == (n, *tail)
        assert cache.a[l].shape == (n, *tail)
        assert cache.sigma_prime[l].shape == _sigma_prime_shape(net, l, tail)
        assert grads.delta[l].shape == (n, *tail)
        assert grads.dL_da[l].shape == (n, *tail)
        assert grads.dW[l].shape == net.W[l].shape
        if net.b[l] is None:
            assert grads.db[l] is None
        else:
            assert grads.db[l].shape == net.b[l].shape
    assert cache.output.shape == (net.sizes[-1], *tail)
    assert isinstance(grads.loss, float)
    new = sgd_step(net, grads, lr=0.1)
    assert new.sizes == net.sizes
    for l in range(1, net.L + 1):
        assert new.W[l].shape == net.W[l].shape
        assert (new.b[l] is None) == (net.b[l] is None)
        if net.b[l] is not None:
            assert new.b[l].shape == net.b[l].shape


# ---------------------------------------------------------------------------------------------
# Nothing passed in is modified




def _assert_same(before: list[np.ndarray | None], after: list[np.ndarray | None]) -> None:
    assert len(before) == len(after)
    for b, a in zip(before, after, strict=True):
        if b is None:
            assert a is None
        else:
            # Untouched means bit-for-bit identical, so no tolerance.
            np.testing.assert_array_equal(a, b, strict=True)


@pytest.mark.parametrize("name", sorted(NETS))
@pytest.mark.parametrize("m", [None, 4])
def test_nothing_passed_in_is_mutated(name, m):
    net = NETS[name]()
    x, y = _data(net, m)
    x_copy, y_copy = x.copy(), y.copy()
    net_before = copy.deepcopy(_arrays(net))

    cache = forward(net, x)
    cache_before = copy.deepcopy(_arrays(cache))
    grads = backward(net, cache, y, loss="mse", reduction="sum")
    grads_before = copy.deepcopy(_arrays(grads))
    loss_before = grads.loss
    new = sgd_step(net, grads, lr=0.3)
    sgd_step(net, grads, lr=0.3, update_biases=False)
    train(net, x, y, lr=0.1, steps=2)

    np.testing.assert_array_equal(x, x_copy, strict=True)
    np.testing.assert_array_equal(y, y_copy, strict=True)
    _assert_same(net_before, _arrays(net))
    _assert_same(cache_before, _arrays(cache))
    _assert_same(grads_before, _arrays(grads))
    assert grads.loss == loss_before
    assert new is not net


def test_class_index_targets_are_not_mutated():
    net = Network.random([3, 4, 3], ["tanh", "softmax"], seed=8)
    x = np.random.default_rng(1).normal(size=(3, 4))
    y = np.array([2, 0, 1, 2])
    y_copy = y.copy()
    backward(net, forward(net, x), y, loss="cross_entropy")
    np.testing.assert_array_equal(y, y_copy, strict=True)


# ---------------------------------------------------------------------------------------------
# A batch of one is the single example


@pytest.mark.parametrize("name", sorted(NETS))
def test_batch_of_one_equals_single_example(name):
    net = NETS[name]()
    x, y = _data(net, None, seed=3)
    single = forward(net, x)
    batch = forward(net, x[:, None])
    g_single = backward(net, single, y)
    g_batch = backward(net, batch, y[:, None])
    # The single path views x as an (n_0, 1) batch internally, so both run the very same
    # floating-point operations on the same shapes: bit-for-bit equality, no tolerance.
    for l in range(0, net.L + 1):
        np.testing.assert_array_equal(batch.a[l][..., 0], single.a[l], strict=True)
    for l in range(1, net.L + 1):
        np.testing.assert_array_equal(batch.z[l][..., 0], single.z[l], strict=True)
        np.testing.assert_array_equal(batch.sigma_prime[l][..., 0], single.sigma_prime[l], strict=True)
        np.testing.assert_array_equal(g_batch.delta[l][..., 0], g_single.delta[l], strict=True)
        np.testing.assert_array_equal(g_batch.dL_da[l][..., 0], g_single.dL_da[l], strict=True)
        np.testing.assert_array_equal(g_batch.dW[l], g_single.dW[l], strict=True)
        if net.b[l] is None:
            assert g_batch.db[l] is None and g_single.db[l] is None
        else:
            np.testing.assert_array_equal(g_batch.db[l], g_single.db[l], strict=True)
    assert g_batch.loss == g_single.loss


# ---------------------------------------------------------------------------------------------
# Reductions: 'mean' is the average of per-example gradients, 'sum' is m times 'mean'





def _reduction_case(case: str) -> tuple[Network, np.ndarray, np.ndarray, str, list[object]]:
    """A network, a batch x (n_0, m), batch targets, the loss name, and per-example targets."""
    rng = np.random.default_rng(11)
    m = 6
    if case in ("half_sse", "sse", "mse"):
        net = Network.random([3, 4, 3], ["tanh", "identity"], seed=12)
        y = rng.normal(size=(3, m))
        return net, rng.normal(size=(3, m)), y, case, [y[:, k] for k in range(m)]
    if case == "half_sse-shared-bias":
        net = Network.random([3, 4, 2], ["silu", "tanh"], bias="shared", seed=13)
        y = rng.normal(size=(2, m))
        return net, rng.normal(size=(3, m)), y, "half_sse", [y[:, k] for k in range(m)]
    if case == "bce":
        net = Network.random([3, 5, 2], ["elu", "sigmoid"], seed=14)
        y = rng.uniform(0.0, 1.0, size=(2, m))
        y[0, 0], y[1, 1] = 0.0, 1.0  # the end points of [0, 1] are valid targets
        return net, rng.normal(size=(3, m)), y, "bce", [y[:, k] for k in range(m)]
    net = Network.random([3, 5, 4], ["gelu", "softmax"], seed=15)
    classes = np.array([0, 3, 1, 1, 2, 3])
    if case == "cross_entropy-onehot":
        y = np.eye(4)[:, classes]
        return net, rng.normal(size=(3, m)), y, "cross_entropy", [y[:, k] for k in range(m)]
    assert case == "cross_entropy-index"
    return net, rng.normal(size=(3, m)), classes, "cross_entropy", [classes[k] for k in range(m)]


REDUCTION_CASES = ["half_sse", "sse", "mse", "half_sse-shared-bias", "bce", "cross_entropy-onehot",
                   "cross_entropy-index"]


@pytest.mark.parametrize("case", REDUCTION_CASES)
def test_mean_is_average_of_per_example_and_sum_is_m_times_mean(case):
    net, x, y, loss, ys = _reduction_case(case)
    m = x.shape[1]
    per = [backward(net, forward(net, x[:, k]), ys[k], loss=loss) for k in range(m)]
    mean = backward(net, forward(net, x), y, loss=loss, reduction="mean")
    total = backward(net, forward(net, x), y, loss=loss, reduction="sum")

    _assert_sum_close(mean.loss, [g.loss for g in per], 1.0 / m, "mean loss")
    _assert_sum_close(total.loss, [mean.loss], m, "sum loss vs m * mean")
    _assert_sum_close(total.loss, [g.loss for g in per], 1.0, "sum loss")
    for l in range(1, net.L + 1):
        _assert_sum_close(mean.dW[l], [g.dW[l] for g in per], 1.0 / m, f"mean dW[{l}]")
        _assert_sum_close(total.dW[l], [mean.dW[l]], m, f"sum dW[{l}] vs m * mean")
        if net.b[l] is not None:
            _assert_sum_close(mean.db[l], [g.db[l] for g in per], 1.0 / m, f"mean db[{l}]")
            _assert_sum_close(total.db[l], [mean.db[l]], m, f"sum db[{l}] vs m * mean")
        for k in range(m):
            # Column k of the batch delta is example k's delta, scaled by 1/m under 'mean'.
            _assert_sum_close(mean.delta[l][:, k], [per[k].delta[l]], 1.0 / m, f"mean delta[{l}][:, {k}]")
            _assert_sum_close(total.delta[l][:, k], [per[k].delta[l]], 1.0, f"sum delta[{l}][:, {k}]")


def _scalar_loss(loss: str, a: list[float], y: list[float]) -> tuple[float, list[float]]:
    """One example's loss l and dl/da from the textbook definitions, in plain Python floats."""
    n = len(a)
    pairs = list(zip(a, y, strict=True))
    if loss == "half_sse":
        return 0.5 * sum((ai - yi) ** 2 for ai, yi in pairs), [ai - yi for ai, yi in pairs]
    if loss == "sse":
        return sum((ai - yi) ** 2 for ai, yi in pairs), [2 * (ai - yi) for ai, yi in pairs]
    if loss == "mse":
        return sum((ai - yi) ** 2 for ai, yi in pairs) / n, [2 * (ai - yi) / n for ai, yi in pairs]
    if loss == "bce":
        value = -sum(yi * math.log(ai) + (1 - yi) * math.log(1 - ai) for ai, yi in pairs) / n
        return value, [(ai - yi) / (ai * (1 - ai)) / n for ai, yi in pairs]
    assert loss == "cross_entropy"
    value = -sum(yi * math.log(ai) for ai, yi in pairs if yi != 0)
    return value, [0.0 if yi == 0 else -yi / ai for ai, yi in pairs]


@pytest.mark.parametrize(
    ("loss", "output", "y"),
    [("half_sse", "identity", [0.3, -1.2, 2.0]),
     ("sse", "identity", [0.3, -1.2, 2.0]),
     ("mse", "identity", [0.3, -1.2, 2.0]),
     ("bce", "sigmoid", [0.0, 0.25, 1.0]),
     ("cross_entropy", "softmax", [0.0, 1.0, 0.0]),
     ("cross_entropy", "softmax", [0.2, 0.5, 0.3])],  # soft labels
)
def test_loss_and_dL_da_match_scalar_definitions(loss, output, y):
    net = Network.random([2, 4, 3], ["tanh", output], seed=16)
    x = np.array([0.7, -1.1])
    cache = forward(net, x)
    g = backward(net, cache, y, loss=loss)
    a = cache.a[2].tolist()
    value, grad = _scalar_loss(loss, a, y)
    # Same formula on the same a, in a different order (vector vs scalar, sum of n = 3 terms):
    # a few ulps apart; 1e-14 relative (~45 ulps) still catches a missing 1/n, 1/2 or 2.
    assert g.loss == pytest.approx(value, rel=1e-14, abs=0)
    assert g.dL_da[2].tolist() == pytest.approx(grad, rel=1e-14, abs=0)


def test_cross_entropy_class_indices_equal_one_hot():
    net, x, y_idx, _, _ = _reduction_case("cross_entropy-index")
    y_hot = np.eye(4)[:, y_idx]
    cache = forward(net, x)
    g_idx = backward(net, cache, y_idx, loss="cross_entropy")
    g_hot = backward(net, cache, y_hot, loss="cross_entropy")
    # Indices are turned into the same one-hot matrix, so the arithmetic is identical.
    assert g_idx.loss == g_hot.loss
    for l in range(1, net.L + 1):
        np.testing.assert_array_equal(g_idx.dW[l], g_hot.dW[l], strict=True)
        np.testing.assert_array_equal(g_idx.db[l], g_hot.db[l], strict=True)
    # Single example: a 0-d class index.
    g1 = backward(net, forward(net, x[:, 1]), 3, loss="cross_entropy")
    g2 = backward(net, forward(net, x[:, 1]), np.eye(4)[:, 3], loss="cross_entropy")
    assert g1.loss == g2.loss
    np.testing.assert_array_equal(g1.dW[1], g2.dW[1], strict=True)


def test_softmax_cross_entropy_output_delta_is_a_minus_y():
    # With a softmax output and cross-entropy, Eq. 1 collapses to delta^(L) = (a - y) / m.
    net, x, y_idx, _, _ = _reduction_case("cross_entropy-index")
    y = np.eye(4)[:, y_idx]
    cache = forward(net, x)
    g = backward(net, cache, y, loss="cross_entropy", reduction="mean")
    expected = (cache.a[2] - y) / x.shape[1]
    # J^T (-y / a) and a - y are algebraically equal; the Jacobian route sums n = 4 products of
    # O(1) terms, so a few ulps of O(1): 1e-15 absolute would be tight, 1e-14 leaves margin.
    np.testing.assert_allclose(g.delta[2], expected, rtol=0, atol=1e-14)


# ---------------------------------------------------------------------------------------------
# The steps of Backprop, as a subclass sees them


class _Recording(Backprop):
    """Records the network each step is given."""

    def __init__(self):
        self.nets = []

    def output_error(self, net, L, q):
        self.nets.append(net)
        return super().output_error(net, L, q)

    def hidden_error(self, net, l, q):
        self.nets.append(net)
        return super().hidden_error(net, l, q)

    def weight_gradient(self, net, l, q):
        self.nets.append(net)
        return super().weight_gradient(net, l, q)


def test_every_step_is_given_the_network():
    net, algo = document_network(), _Recording()
    algo.backward_pass(net, algo.forward_pass(net, np.array([X]).T), np.array([Y]).T, "half_sse", "mean")
    assert len(algo.nets) == 4 and all(n is net for n in algo.nets)  # Eq. 1, Eq. 2, Eq. 3 twice


def test_forward_pass_fills_the_quantities_it_is_given():
    q = Quantities(a=LayerDict({0: np.array([X]).T}))
    assert BACKPROP.forward_pass(document_network(), q.a[0], q) is q and q.z[2].shape == (1, 1)


def test_sigma_prime_is_written_in_a_where_the_activation_allows():
    # The document's sigma'(z^(2)) = 0.796 (1 - 0.796) from its printed a^(2), whatever z says.
    q = Quantities(z=LayerDict({2: np.array([[0.0]])}), a=LayerDict({2: np.array([[0.796]])}))
    assert BACKPROP.sigma_prime(document_network(), 2, q)[0, 0] == 0.796 * (1 - 0.796)


def test_update_pass_updates_the_biases_by_default():
    net = document_network()
    g = backward(net, forward(net, X), Y)
    _, b = BACKPROP.update_pass(net, Quantities(dW=g.dW, db=g.db), 0.5)
    assert b[2][0] == net.b[2][0] - 0.5 * g.db[2][0]  # one subtraction of the same doubles: exact


# ---------------------------------------------------------------------------------------------
# The losses' per-example values and per-unit terms (manual_bp.LOSSES)

A3 = np.array([[0.2, 0.7], [0.5, 0.1], [0.3, 0.2]])  # n = 3 outputs, m = 2 examples: probabilities
Y3 = np.array([[0.0, 1.0], [0.25, 0.0], [0.75, 0.0]])


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_per_example_values_are_the_column_sums_of_the_terms(loss):
    values, _ = LOSSES[loss].per_example(A3, Y3)
    assert values.shape == (2,)  # one per example (column), n = 3 != m = 2
    # The same formulas, the column summed in another order: 3 terms, a few ulps (8 eps relative).
    np.testing.assert_allclose(values, LOSSES[loss].terms(A3, Y3).sum(axis=0), rtol=8 * EPS, atol=0)


def test_bce_terms_are_the_definition_with_torchs_clamp_and_silent():
    a, y = np.array([[0.25], [0.5], [0.0], [1.0]]), np.array([[1.0], [0.25], [1.0], [0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        terms = LOSSES["bce"].terms(a, y)
        value = LOSSES["bce"].per_example(a, y)[0]
    # -(y log a + (1 - y) log(1 - a)) / n, n = 4, each log at least -100: log 4 / 4, (0.25 + 0.75) log 2 / 4,
    # 100 / 4 twice. Correctly rounded logs, one or two roundings more: 4 eps relative.
    expected = [math.log(4) / 4, math.log(2) / 4, 25.0, 25.0]
    np.testing.assert_allclose(terms[:, 0], expected, rtol=4 * EPS, atol=0)
    assert value[0] == pytest.approx(sum(expected), rel=4 * EPS)


def test_cross_entropy_terms_are_the_definition_with_0_log_0_and_silent():
    a, y = np.array([[0.25], [0.0], [0.75]]), np.array([[0.5], [0.0], [0.5]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        terms = LOSSES["cross_entropy"].terms(a, y)
        value = LOSSES["cross_entropy"].per_example(a, y)[0]
    expected = [0.5 * math.log(4), 0.0, -0.5 * math.log(0.75)]  # -y log a, 0 where y = 0: 4 eps relative
    np.testing.assert_allclose(terms[:, 0], expected, rtol=4 * EPS, atol=0)
    assert value[0] == pytest.approx(sum(expected), rel=4 * EPS)


def test_expand_class_indices_only_for_cross_entropy_and_in_the_dtype():
    labels = np.array([1, 0])
    np.testing.assert_array_equal(expand_class_indices(labels, "half_sse", 2), labels)
    hot = expand_class_indices(labels, "cross_entropy", 2, np.float32)
    assert hot.dtype == np.float32 and hot.tolist() == [[0.0, 1.0], [1.0, 0.0]]


def test_backward_and_train_default_to_half_sse_and_the_mean():
    net, x, y = document_network(), np.array([[0.5, 1.0], [1.0, -1.0]]), np.array([[1.0, 0.0]])
    a = forward(net, x).a[2]
    # L = (1/m) sum_k 1/2 (a_k - y_k)^2, m = 2: a handful of roundings, 4 eps relative.
    expected = float(((a - y) ** 2).sum() / 2 / 2)
    assert backward(net, forward(net, x), y).loss == pytest.approx(expected, rel=4 * EPS)
    assert train(net, x, y, 0.5, 0).losses[0] == pytest.approx(expected, rel=4 * EPS)
