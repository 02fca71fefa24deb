"""The shortcuts taken for speed compute exactly what the plain definitions compute.

The forward pass writes sigma'(z) in the activation it just computed where it can
(Activation.prime_from_a: sigmoid's a(1 - a), not a second exp), and sgd_step hands its new
arrays to the new Network without copying them. Both must be invisible: bit-for-bit the same
numbers as sigma_prime(z), and networks that share no writable memory."""

from __future__ import annotations

import numpy as np
import pytest

from manual_bp import ACTIVATIONS, Network, backward, forward, sgd_step

# Zero (the kinks), tiny and huge magnitudes (saturation, underflow), and ordinary values.
SPECIAL = [0.0, -0.0, 1e-300, -1e-300, 1e-8, -1e-8, 0.5, -0.5, 3.0, -3.0, 30.0, -30.0, 700.0, -700.0, 1000.0,
           -1000.0]


def _grids(dtype: type[np.floating]) -> list[np.ndarray]:
    rng = np.random.default_rng(11)
    special = np.array(SPECIAL, dtype=np.float64).astype(dtype)  # 1e-300 becomes 0 in float32
    column = np.concatenate([special, rng.normal(scale=5.0, size=40).astype(dtype)])
    batch = rng.normal(scale=4.0, size=(7, 5)).astype(dtype)
    batch[0, :4] = special[:4]
    return [column[:7], column, batch]  # softmax needs (n,) or (n, m); every shape works for the rest


@pytest.mark.parametrize("name", sorted(n for n, a in ACTIVATIONS.items() if a.prime_from_a))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigma_prime_from_a_is_sigma_prime_of_z_bit_for_bit(name, dtype):
    act = ACTIVATIONS[name]
    for z in _grids(dtype):
        with np.errstate(all="ignore"):  # the saturating cases are checked for silence elsewhere
            sp, want = act.prime_from_a(act.sigma(z)), act.sigma_prime(z)
        # Same formulas on the same numbers: no tolerance, dtype and shape included.
        np.testing.assert_array_equal(sp, want, strict=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_is_the_two_branch_formula_bit_for_bit(dtype):
    # sigmoid divides once, with numerator 1 (z >= 0) or e^-|z| (z < 0); written out per branch,
    # the same two roundings (one exp, one division) must give the same bits.
    z = np.concatenate([np.array(SPECIAL, dtype=np.float64).astype(dtype),
                        np.random.default_rng(3).normal(scale=10.0, size=500).astype(dtype)])
    e = np.exp(-np.abs(z))
    want = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    np.testing.assert_array_equal(ACTIVATIONS["sigmoid"].sigma(z), want, strict=True)


def test_sgd_step_result_owns_its_arrays_and_they_are_read_only():
    net = Network.random([3, 4, 2], ["tanh", "sigmoid"], seed=5)
    x = np.random.default_rng(0).normal(size=(3, 6))
    y = np.random.default_rng(1).uniform(size=(2, 6))
    grads = backward(net, forward(net, x), y)
    new = sgd_step(net, grads, lr=0.5)
    for l in new.W:
        for array in (new.W[l], new.b[l]):
            assert not array.flags.writeable
            for other in (net.W[l], net.b[l], grads.dW[l], grads.db[l]):
                assert not np.shares_memory(array, other)
    # Arrays the update does not touch are shared, which is safe: both are read-only.
    kept = sgd_step(net, grads, lr=0.5, update_biases=False)
    assert all(kept.b[l] is net.b[l] for l in net.b)


def test_network_copies_by_default_and_adopts_with_copy_false():
    W = np.ones((2, 3))
    b = np.zeros(2)
    copied = Network([W], [b])
    assert not np.shares_memory(copied.W[1], W) and W.flags.writeable  # the caller's array is untouched
    adopted = Network([W], [b], copy=False)
    assert np.shares_memory(adopted.W[1], W) and not W.flags.writeable  # taken as is, now read-only
    with pytest.raises(ValueError):
        W[0, 0] = 2.0


def test_sgd_step_is_w_minus_eta_dw_bit_for_bit():
    # sgd_step subtracts into the array of eta dL/dW instead of a third array; same operation,
    # same bits as the textbook expression.
    net = Network.random([4, 3, 2], "sigmoid", bias="shared", seed=9, dtype="float32")
    x = np.random.default_rng(2).normal(size=(4, 5))
    y = np.random.default_rng(3).uniform(size=(2, 5))
    grads = backward(net, forward(net, x), y)
    new = sgd_step(net, grads, lr=0.3)
    eta = np.float32(0.3)
    for l in net.W:
        np.testing.assert_array_equal(new.W[l], net.W[l] - eta * grads.dW[l], strict=True)
        np.testing.assert_array_equal(new.b[l], np.asarray(net.b[l] - eta * grads.db[l]), strict=True)


@pytest.mark.parametrize("values", [[1.0, 2.0], [1.0, np.nan], [np.inf, 0.0], [-np.inf], [], [[1.0], [np.nan]], 3.0,
                                    np.nan])
def test_all_finite_agrees_with_isfinite(values):
    # The overflow checks test min and max instead of building an isfinite array.
    from manual_bp.validate import all_finite

    for dtype in (np.float64, np.float32):
        array = np.array(values, dtype=dtype)
        assert all_finite(array) == bool(np.isfinite(array).all())
        # Large arrays take the min/max path: the same values, spread over 2^17 elements.
        large = np.resize(array, 1 << 17) if array.size else np.zeros(0, dtype)
        large[: array.size] = array.ravel()
        assert all_finite(large) == bool(np.isfinite(large).all())
