"""The Network: shared and absent biases, float32 throughout, random initialisation; Eq. 5 and train."""

from __future__ import annotations

import math

import numpy as np
import pytest
from networks import NETS, _arrays, _assert_sum_close, _data, _mixed_bias_net
from support import LEARNING_RATE, X, Y, document_network

from manual_bp import Network, backward, forward, sgd_step, train

EPS = np.finfo(np.float64).eps


# ---------------------------------------------------------------------------------------------
# Shared and absent biases


def _per_unit_twin(net: Network, zero_for_none: bool) -> Network:
    """The same network with every shared bias spread to one value per unit (and, if asked,
    every missing bias replaced by zeros)."""
    biases = []
    for l in range(1, net.L + 1):
        b, n = net.b[l], net.sizes[l]
        if b is None:
            biases.append(np.zeros(n) if zero_for_none else None)
        elif b.ndim == 0:
            biases.append(np.full(n, float(b)))
        else:
            biases.append(b)
    return Network([net.W[l] for l in range(1, net.L + 1)], biases,
                   [net.activations[l] for l in range(1, net.L + 1)])


@pytest.mark.parametrize("m", [None, 5])
def test_shared_and_absent_biases_against_per_unit_twin(m):
    net = _mixed_bias_net()  # layer 1 shared (0.25), layer 2 none, layer 3 per unit
    assert [net.bias_kind(l) for l in (1, 2, 3)] == ["shared", "none", "per_unit"]
    twin = _per_unit_twin(net, zero_for_none=True)
    x, y = _data(net, m, seed=4)
    c, ct = forward(net, x), forward(twin, x)
    # Adding a scalar or a vector of that scalar, and adding nothing or +0.0, gives the same
    # doubles: exact equality.
    for l in (1, 2, 3):
        np.testing.assert_array_equal(c.z[l], ct.z[l])
        np.testing.assert_array_equal(c.a[l], ct.a[l])
    g, gt = backward(net, c, y), backward(twin, ct, y)
    for l in (1, 2, 3):
        np.testing.assert_array_equal(g.delta[l], gt.delta[l])
        np.testing.assert_array_equal(g.dW[l], gt.dW[l])
    # Shared bias: one parameter feeding every unit, so by the chain rule its gradient is the
    # sum over the units of the per-unit gradients, i.e. delta summed over units and examples.
    assert g.db[1].shape == ()
    _assert_sum_close(g.db[1], list(gt.db[1]), 1.0, "shared db vs sum of per-unit db")
    _assert_sum_close(g.db[1], list(np.ravel(g.delta[1])), 1.0, "shared db vs sum of delta")
    # Absent bias: no gradient at all.
    assert g.db[2] is None
    np.testing.assert_array_equal(g.db[3], gt.db[3])

    new = sgd_step(net, g, lr=0.5)
    assert new.b[1].shape == ()
    # c - eta * db: one subtraction of the same doubles on both sides, exact.
    assert float(new.b[1]) == 0.25 - 0.5 * float(g.db[1])
    assert new.b[2] is None
    np.testing.assert_array_equal(new.b[3], net.b[3] - 0.5 * g.db[3])


def test_absent_bias_is_ignored_by_forward():
    W = np.array([[1.0, -2.0], [0.5, 0.25]])
    net = Network([W], [None], "identity")
    assert net.b[1] is None
    x = np.array([3.0, 4.0])
    # Exactly representable products and sums: W x = [-5, 2.5] with no bias added.
    assert forward(net, x).z[1].tolist() == [-5.0, 2.5]
    assert Network([W], None, "identity").b[1] is None  # biases omitted altogether


def test_one_element_list_is_a_shared_bias_unless_the_layer_has_one_unit():
    assert Network([np.ones((3, 2))], [[0.5]]).bias_kind(1) == "shared"
    assert Network([np.ones((3, 2))], [0.5]).bias_kind(1) == "shared"
    assert Network([np.ones((1, 2))], [[0.5]]).bias_kind(1) == "per_unit"


# ---------------------------------------------------------------------------------------------
# sgd_step and train


def test_network_arrays_are_read_only():
    # The package promises never to write into a Network's arrays; it makes them read-only so
    # a caller cannot either (sgd_step returns a new network instead).
    net = _mixed_bias_net()
    for l in range(1, net.L + 1):
        assert not net.W[l].flags.writeable
        assert net.b[l] is None or not net.b[l].flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        net.W[1][0, 0] = 1.0


def test_sgd_step_is_eq5_and_update_biases_false_keeps_biases():
    net = NETS["leaky-elu-softplus-silu"]()
    x, y = _data(net, 3)
    g = backward(net, forward(net, x), y)
    both = sgd_step(net, g, lr=0.25)
    weights_only = sgd_step(net, g, lr=0.25, update_biases=False)
    for l in range(1, net.L + 1):
        # W - 0.25 dW: the same single operation in the test and the package, exact.
        expected_W = net.W[l] - 0.25 * g.dW[l]
        np.testing.assert_array_equal(both.W[l], expected_W)
        np.testing.assert_array_equal(weights_only.W[l], expected_W)
        np.testing.assert_array_equal(both.b[l], net.b[l] - 0.25 * g.db[l])
        np.testing.assert_array_equal(weights_only.b[l], net.b[l])
        assert np.any(both.b[l] != net.b[l])  # the bias gradient is not zero here
        assert weights_only.activations[l] == net.activations[l]


def test_train_returns_steps_plus_one_and_decreases_the_document_loss():
    net = document_network()
    steps = 20
    result = train(net, X, Y, lr=LEARNING_RATE, steps=steps)
    assert len(result.networks) == steps + 1
    assert len(result.losses) == steps + 1
    assert result.networks[0] is net
    # losses[0] is the document's exact loss, 1/2 (sigma(z2) - 1)^2 = 0.020920 (6 decimals).
    assert f"{result.losses[0]:.6f}" == "0.020920"
    assert all(b < a for a, b in zip(result.losses, result.losses[1:], strict=False))
    # losses[k] is the loss of networks[k], and each network is one SGD step from the last:
    # the same computations repeated, so exact equality.
    for k in range(steps + 1):
        g = backward(result.networks[k], forward(result.networks[k], X), Y)
        assert result.losses[k] == g.loss
        if k < steps:
            nxt = sgd_step(result.networks[k], g, LEARNING_RATE)
            for l in (1, 2):
                np.testing.assert_array_equal(result.networks[k + 1].W[l], nxt.W[l])
                np.testing.assert_array_equal(result.networks[k + 1].b[l], nxt.b[l])


def test_train_zero_steps():
    net = document_network()
    result = train(net, X, Y, lr=0.5, steps=0)
    assert result.networks == [net]
    assert len(result.losses) == 1


# ---------------------------------------------------------------------------------------------
# float32 stays float32


@pytest.mark.parametrize("init", ["uniform", "glorot", "he"])
@pytest.mark.parametrize(
    ("acts", "loss", "bias"),
    [(["sigmoid", "sigmoid"], "bce", "per_unit"),
     (["gelu", "softmax"], "cross_entropy", "shared"),
     (["elu", "leaky_relu"], "mse", "none"),
     (["silu", "softplus"], "half_sse", "per_unit"),
     (["relu", "tanh"], "sse", "shared")],
)
def test_float32_everywhere(init, acts, loss, bias):
    net = Network.random([3, 4, 3], acts, init=init, seed=9, dtype=np.float32, bias=bias)
    assert net.dtype == np.float32
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 5))  # float64 input: converted to the network's dtype
    y = np.array([0, 2, 1, 1, 0]) if loss == "cross_entropy" else rng.uniform(0, 1, size=(3, 5))
    cache = forward(net, x)
    grads = backward(net, cache, y, loss=loss)
    new = sgd_step(net, grads, lr=0.1)
    arrays = [*_arrays(net), *_arrays(cache), *_arrays(grads), *_arrays(new)]
    arrays.append(cache.a[0])
    for arr in arrays:
        if arr is not None:
            assert arr.dtype == np.float32
    assert new.dtype == np.float32
    assert math.isfinite(grads.loss)


@pytest.mark.parametrize("dtype", ["float64", "float32", np.float32])
def test_dtype_names(dtype):
    assert Network.random([2, 2], dtype=dtype).dtype == np.dtype(dtype).type


def test_random_init_ranges():
    n_in, n_out = 100, 400
    for init, bound in (("uniform", 1.0 / math.sqrt(n_in)), ("glorot", math.sqrt(6.0 / (n_in + n_out)))):
        net = Network.random([n_in, n_out], init=init, seed=1)
        W = net.W[1]
        assert np.abs(W).max() <= bound
        # 40000 uniform draws: the largest is within 0.1% of the bound with overwhelming odds.
        assert np.abs(W).max() >= 0.999 * bound
        assert np.abs(net.b[1]).max() <= 1.0 / math.sqrt(n_in)
    # he: N(0, 2/n_in); the sample std of 40000 draws has relative standard error ~0.35%,
    # so 3% is > 8 standard errors.
    W = Network.random([n_in, n_out], init="he", seed=1).W[1]
    assert W.std() == pytest.approx(math.sqrt(2.0 / n_in), rel=0.03)
    # Same seed, same network; different seed, different network.
    a, b = Network.random([3, 2], seed=5), Network.random([3, 2], seed=5)
    np.testing.assert_array_equal(a.W[1], b.W[1])
    assert np.any(Network.random([3, 2], seed=6).W[1] != a.W[1])


def test_random_draws_spread_over_the_whole_range():
    # A range test alone passes for constant draws: both ends of each range must be reached.
    # 40000 (weights) and 400 (biases) uniform draws: each end within 10% with odds 1 - 0.95^400.
    n_in, n_out = 100, 400
    for init, bound in (("uniform", 1.0 / math.sqrt(n_in)), ("glorot", math.sqrt(6.0 / (n_in + n_out)))):
        net = Network.random([n_in, n_out], init=init, seed=1)
        assert net.W[1].min() <= -0.9 * bound and net.W[1].max() >= 0.9 * bound
        assert net.b[1].min() <= -0.9 / math.sqrt(n_in) and net.b[1].max() >= 0.9 / math.sqrt(n_in)
    # he is centred: the mean of 40000 N(0, 0.02) draws has standard error 7e-4; 0.01 is 14 of them.
    assert abs(Network.random([n_in, n_out], init="he", seed=1).W[1].mean()) < 0.01


def test_random_seed_defaults_to_0_and_none_draws_afresh():
    np.testing.assert_array_equal(Network.random([3, 2]).W[1], Network.random([3, 2], seed=0).W[1])
    assert Network.random([3, 2], seed=None).sizes == (3, 2)


def test_network_copies_the_callers_arrays_and_leaves_them_writable():
    W, b = np.ones((2, 2)), np.zeros(2)
    net = Network([W], [b])
    assert net.W[1] is not W and net.b[1] is not b and W.flags.writeable and b.flags.writeable


def test_replace_copies_unless_told_not_to():
    net, W, b = document_network(), {1: np.ones((2, 2)), 2: np.ones((1, 2))}, {1: np.zeros(2), 2: np.zeros(1)}
    new = net.replace(W, b)
    assert new.W[1] is not W[1] and new.b[2] is not b[2] and W[1].flags.writeable
    assert net.replace(W, b, copy=False).W[1] is W[1]


def test_copy_false_still_converts_to_the_dtype():
    net = Network([np.ones((2, 2))], [np.zeros(2)], dtype="float32", copy=False)
    assert net.dtype is np.float32 and net.W[1].dtype == np.float32 and net.b[1].dtype == np.float32


def test_repr_names_sizes_activations_bias_kinds_and_dtype():
    assert repr(_mixed_bias_net()) == ("Network(sizes=3-4-3-2, activations=tanh,softplus,identity, "
                                       "bias=none/per_unit/shared, dtype=float64)")
    assert repr(Network.random([2, 1], dtype="float32")) == ("Network(sizes=2-1, activations=sigmoid, bias=per_unit, "
                                                             "dtype=float32)")


def test_train_with_sum_reduction_steps_and_reports_the_sum():
    # The sum over m = 4 examples is 4 times the mean: each loss, and (one step of SGD) the
    # change of each parameter. The loss a few ulps apart (1/4 applied at another place); the
    # change W - W' is a difference of O(1) numbers, exact only to ~eps |W| = 2e-16 absolute.
    net = NETS["tanh-identity"]()
    x, y = _data(net, 4)
    mean, total = train(net, x, y, 0.1, 1), train(net, x, y, 0.1, 1, reduction="sum")
    assert total.losses[0] == pytest.approx(4 * mean.losses[0], rel=8 * EPS)
    assert total.losses[1] == pytest.approx(4 * train(total.networks[1], x, y, 0.1, 0).losses[0], rel=8 * EPS)
    for l in (1, 2):
        np.testing.assert_allclose(net.W[l] - total.networks[1].W[l], 4 * (net.W[l] - mean.networks[1].W[l]),
                                   rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(net.b[l] - total.networks[1].b[l], 4 * (net.b[l] - mean.networks[1].b[l]),
                                   rtol=1e-12, atol=1e-15)


def test_train_update_biases_false_keeps_every_bias():
    result = train(document_network(), X, Y, LEARNING_RATE, 2, update_biases=False)
    assert all(np.array_equal(n.b[l], result.networks[0].b[l]) for n in result.networks for l in (1, 2))
    assert not np.array_equal(result.networks[2].W[1], result.networks[0].W[1])
