"""Properties of manual_bp that need no oracle: shapes, purity, batch/single consistency,
reductions, activation derivatives, biases, SGD, training, dtypes and input validation."""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest

from manual_bp import ACTIVATIONS, InputError, Network, backward, forward, sgd_step, train
from manual_bp.activations import softmax, softmax_prime
from manual_bp.document import LEARNING_RATE, X, Y, document_network

EPS = np.finfo(np.float64).eps

# ---------------------------------------------------------------------------------------------
# Networks used across the tests: every activation, every bias kind, depths 1 to 4.


def _mixed_bias_net() -> Network:
    rng = np.random.default_rng(7)
    return Network(
        [rng.normal(size=(4, 3)), rng.normal(size=(3, 4)), rng.normal(size=(2, 3))],
        [0.25, None, rng.normal(size=2)],  # shared, none, per unit
        ["tanh", "softplus", "identity"],
    )


NETS = {
    "document_2-2-1": document_network,
    "tanh-identity": lambda: Network.random([3, 4, 2], ["tanh", "identity"], init="uniform", seed=1),
    "relu-gelu-softmax": lambda: Network.random([4, 5, 3, 3], ["relu", "gelu", "softmax"], init="he", seed=2),
    "leaky-elu-softplus-silu": lambda: Network.random([3, 6, 5, 4, 2], ["leaky_relu", "elu", "softplus", "silu"],
                                                      seed=3),
    "shared-bias": lambda: Network.random([2, 3, 1], "silu", bias="shared", seed=4),
    "no-bias": lambda: Network.random([3, 2, 2], ["elu", "sigmoid"], bias="none", seed=5),
    "one-layer": lambda: Network.random([3, 1], "identity", seed=6),
    "mixed-bias": _mixed_bias_net,
}


def _data(net: Network, m: int | None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """x of shape (n_0,) (m None) or (n_0, m), and half_sse targets of the output's shape."""
    rng = np.random.default_rng(seed)
    n0, nL = net.sizes[0], net.sizes[-1]
    shape_x = (n0,) if m is None else (n0, m)
    shape_y = (nL,) if m is None else (nL, m)
    return rng.normal(size=shape_x), rng.uniform(0.0, 1.0, size=shape_y)


def _sigma_prime_shape(net: Network, l: int, tail: tuple[int, ...]) -> tuple[int, ...]:
    n = net.sizes[l]
    return (n, n, *tail) if net.activations[l] == "softmax" else (n, *tail)


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


def _arrays(obj: object) -> list[np.ndarray | None]:
    """All arrays held by a Network, Cache or Gradients, in a fixed order."""
    out: list[np.ndarray | None] = []
    for field in ("W", "b", "z", "a", "sigma_prime", "delta", "dL_da", "dW", "db"):
        if hasattr(obj, field):
            layers = getattr(obj, field)
            out.extend(layers[l] for l in sorted(layers))
    return out


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

# Batch and per-example results run the same formulas with different matmul shapes and
# summation orders, so they differ by a few ulps. The bound is norm-wise: relative to the
# largest sum of term magnitudes in the array (an element that is itself the difference of
# close numbers, like a - y, only has an error that small in absolute terms). Measured: <= 4
# ulps; 1e-14 (~45 ulps) leaves margin, while a wrong reduction (a missing 1/m, a sum over
# the wrong axis) is off by O(1) relative.
SUM_TOL = 1e-14


def _assert_sum_close(actual: object, terms: list[object], factor: float, what: str) -> None:
    """actual == factor * sum(terms), to SUM_TOL of factor * max(sum |terms|)."""
    stacked = np.stack([np.asarray(t, dtype=np.float64) for t in terms])
    expected = stacked.sum(axis=0) * factor
    magnitude = float((np.abs(stacked).sum(axis=0) * abs(factor)).max())
    err = float(np.abs(np.asarray(actual) - expected).max())
    assert err <= SUM_TOL * magnitude, f"{what}: max err {err}, magnitude {magnitude}"


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
# Activations: sigma' against a central difference of sigma

ELEMENTWISE = sorted(name for name, act in ACTIVATIONS.items() if act.elementwise)
# 600 points in [-30, 30] (none at 0 or within 0.05 of it: the kinks of relu, leaky_relu and
# elu stay outside every [z - h, z + h]) and |z| = 1e3, where sigma' is 0 or 1 (or 0.01).
GRID = np.concatenate([np.linspace(-30.0, 30.0, 600), [-1e3, -500.0, 500.0, 1e3]])
H = 1e-5
# Central-difference error bound, from the step h:
#   truncation  h^2 / 6 * max|sigma'''|,  with max|sigma'''| <= 2 for all of these (tanh's is 2
#               at 0; sigmoid's 1/8, gelu's < 1, silu's < 1, elu's <= 1, softplus's < 1/8);
#   rounding    each sigma(z +- h) is off by a few ulps of max(|sigma|, |z|, 1) (|z| because
#               gelu and silu lose that much in 1 + erf and z sigma(z)), so the difference
#               quotient is off by ~4 eps max(|sigma|, |z|, 1) / h (a factor 2 of margin).
# With h = 1e-5: 3.3e-11 + 8.9e-11 * max(|sigma|, |z|, 1), i.e. ~1e-10 near 0, ~1e-7 at 1e3.
M3 = 2.0


def _fd_tolerance(f_plus: np.ndarray, f_minus: np.ndarray, z: np.ndarray, h: float) -> np.ndarray:
    scale = np.maximum.reduce([np.abs(f_plus), np.abs(f_minus), np.abs(z), np.ones_like(z)])
    return M3 * h * h / 6.0 + 4.0 * EPS * scale / h


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_sigma_prime_matches_central_difference(name):
    act = ACTIVATIONS[name]
    zp, zm = GRID + H, GRID - H
    fp, fm = act.sigma(zp), act.sigma(zm)
    fd = (fp - fm) / (zp - zm)  # divide by the step actually taken, not by 2h
    got = act.sigma_prime(GRID)
    assert got.shape == GRID.shape
    err = np.abs(got - fd)
    tol = _fd_tolerance(fp, fm, GRID, H)
    worst = int(np.argmax(err / tol))
    assert np.all(err <= tol), f"{name}: z={GRID[worst]}, sigma'={got[worst]!r}, fd={fd[worst]!r}"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("relu", 0.0), ("leaky_relu", 0.01), ("elu", 1.0),  # kinks: torch's convention
     ("sigmoid", 0.25), ("tanh", 1.0), ("identity", 1.0), ("softplus", 0.5), ("silu", 0.5), ("gelu", 0.5)],
)
def test_sigma_prime_at_zero(name, expected):
    # All of these are exact in float64 (0.25 = 0.5 * 0.5, 1 - 0^2, sigma(0) = 1/2, ...),
    # except 0.01, which is the same double on both sides: exact equality.
    got = ACTIVATIONS[name].sigma_prime(np.array([0.0, 0.0]))
    assert got.tolist() == [expected, expected]


def _scalar_sigma(name: str, z: float) -> float:
    if name == "sigmoid":
        return 1.0 / (1.0 + math.exp(-z))
    if name == "tanh":
        return math.tanh(z)
    if name == "relu":
        return max(z, 0.0)
    if name == "leaky_relu":
        return z if z > 0 else 0.01 * z
    if name == "identity":
        return z
    if name == "softplus":
        return math.log1p(math.exp(z))
    if name == "elu":
        return z if z > 0 else math.expm1(z)
    if name == "silu":
        return z / (1.0 + math.exp(-z))
    assert name == "gelu"
    return 0.5 * z * (1.0 + math.erf(z / math.sqrt(2.0)))


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_sigma_matches_scalar_definition(name):
    # The central-difference test only ties sigma' to sigma; this ties sigma to its textbook
    # formula, evaluated with the math module. Equivalent formulas (e.g. the stable sigmoid
    # against 1 / (1 + e^-z)) round differently by a few ulps: 1e-14 relative (~45 ulps).
    z = np.linspace(-30.0, 30.0, 601)  # includes 0
    got = ACTIVATIONS[name].sigma(z)
    want = [_scalar_sigma(name, float(v)) for v in z]
    assert got.tolist() == pytest.approx(want, rel=1e-14, abs=0)


def test_sigmoid_saturates_exactly_without_warnings():
    z = np.array([1000.0, -1000.0, 1e308, -1e308])
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        for dtype in (np.float64, np.float32):
            zz = z.astype(dtype) if dtype == np.float64 else np.array([1000.0, -1000.0, 3e38, -3e38], dtype)
            s = ACTIVATIONS["sigmoid"].sigma(zz)
            assert s.tolist() == [1.0, 0.0, 1.0, 0.0]
            assert ACTIVATIONS["sigmoid"].sigma_prime(zz).tolist() == [0.0, 0.0, 0.0, 0.0]
            assert s.dtype == dtype


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_activations_finite_and_silent_at_large_z(name, dtype):
    # Underflow (e^-1000 -> 0) is the intended way to saturate and numpy ignores it by
    # default; overflow, division by zero and invalid operations must not happen.
    z = np.array([1000.0, -1000.0, 3.0, -3.0], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        a = ACTIVATIONS[name].sigma(z)
        sp = ACTIVATIONS[name].sigma_prime(z)
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(sp))
    assert a.dtype == dtype and sp.dtype == dtype


# Softmax: its Jacobian against a central difference, column by column.
# Truncation h^2/6 * max|third derivative|: a third derivative of softmax is a polynomial in
# the a_i (each in [0, 1]) whose coefficients sum to at most 1 * 2 * 4 * 6 = 48 in absolute
# value (each derivative of a degree-d monomial gives at most 2d monomials); rounding
# 4 eps / h (|a_i| <= 1). With h = 1e-5: 8e-10 + 9e-11.
SOFTMAX_TOL = 48 * H * H / 6.0 + 4.0 * EPS / H


def _softmax_fd_jacobian(z: np.ndarray) -> np.ndarray:
    n = z.shape[0]
    J = np.empty((n, n))
    for j in range(n):
        zp, zm = z.copy(), z.copy()
        zp[j] += H
        zm[j] -= H
        J[:, j] = (softmax(zp) - softmax(zm)) / (zp[j] - zm[j])
    return J


@pytest.mark.parametrize("shift", [0.0, 700.0, -700.0])
def test_softmax_jacobian_matches_central_difference(shift):
    rng = np.random.default_rng(21)
    z = rng.normal(scale=2.0, size=5) + shift  # +-700: e^z alone would overflow/underflow
    J = softmax_prime(z)
    assert J.shape == (5, 5)
    # At |z| ~ 700 the step h = 1e-5 is still represented to ~1e-13 relative (ulp(700) ~ 1e-13)
    # and divided out exactly by using the step actually taken, so the same bound holds.
    np.testing.assert_allclose(J, _softmax_fd_jacobian(z), rtol=0, atol=SOFTMAX_TOL)
    # Columns of the Jacobian sum to 0 since sum_i a_i = 1: sums of 5 terms <= 1, a few ulps.
    np.testing.assert_allclose(J.sum(axis=0), 0.0, rtol=0, atol=8 * EPS)


def test_softmax_batch_jacobian_is_per_column():
    rng = np.random.default_rng(22)
    Z = rng.normal(scale=3.0, size=(4, 3))
    Jb = softmax_prime(Z)
    assert Jb.shape == (4, 4, 3)
    for k in range(3):
        np.testing.assert_allclose(Jb[:, :, k], _softmax_fd_jacobian(Z[:, k]), rtol=0, atol=SOFTMAX_TOL)
        # Same formula on the same numbers, only broadcast differently: equal to ~1 ulp of
        # values <= 1/4, so 4 eps absolute.
        np.testing.assert_allclose(Jb[:, :, k], softmax_prime(Z[:, k]), rtol=0, atol=4 * EPS)
    # softmax itself: columns sum to one (n = 4 terms <= 1: a few ulps).
    np.testing.assert_allclose(softmax(Z).sum(axis=0), 1.0, rtol=0, atol=4 * EPS)


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


# ---------------------------------------------------------------------------------------------
# Bad input raises InputError naming the argument


def _doc_cache():
    net = document_network()
    return net, forward(net, X)


def _overflowing_forward():
    # numpy's matmul warns about the overflow before the package turns it into an InputError;
    # the warning is not under test, the error is.
    with np.errstate(over="ignore"):
        return forward(Network([[[1e300, 1e300]]]), [1e300, 1e300])


def _sgd_with_grads_of(net_bias: str, grads_bias: str):
    net = Network.random([2, 3, 1], bias=net_bias, seed=1)
    other = Network.random([2, 3, 1], bias=grads_bias, seed=1)
    return sgd_step(net, backward(other, forward(other, X), Y), 0.5)


def _softmax_net():
    return Network.random([2, 3], "softmax", seed=1)


NAN, INF = float("nan"), float("inf")

BAD_INPUTS = {
    # Network construction
    "no layers": (lambda: Network([]), r"^weights: .*at least one layer"),
    "layer of zero units": (lambda: Network([np.zeros((0, 2))]), r"^W\^\(1\): .*at least one unit"),
    "1-d weight": (lambda: Network([[1.0, 2.0]]), r"^W\^\(1\): expected a 2-d array"),
    "shapes do not chain": (lambda: Network([np.ones((3, 2)), np.ones((1, 4))]), r"^W\^\(2\): expected 3 columns"),
    "NaN weight": (lambda: Network([[[NAN, 1.0]]]), r"^W\^\(1\): expected finite values"),
    "inf weight": (lambda: Network([np.ones((2, 2)), [[1.0, -INF]]]), r"^W\^\(2\): expected finite values"),
    "non-numeric weight": (lambda: Network([[["a", "b"]]]), r"^W\^\(1\): expected an array of numbers"),
    "NaN bias": (lambda: Network([np.ones((2, 2))], [[0.0, NAN]]), r"^b\^\(1\): expected finite values"),
    "wrong bias shape": (lambda: Network([np.ones((3, 2))], [[1.0, 2.0]]), r"^b\^\(1\): expected shape \(3,\)"),
    "2-d bias": (lambda: Network([np.ones((2, 2))], [np.ones((2, 1))]), r"^b\^\(1\): expected shape"),
    "bias count": (lambda: Network([np.ones((2, 2))], [None, None]), r"^biases: expected 1 entries"),
    "unknown activation": (lambda: Network([np.ones((2, 2))], None, "swish"), r"unknown activation 'swish'"),
    "unknown activation in layer 2": (lambda: Network([np.ones((2, 2))] * 2, None, ["tanh", "swish"]),
                                      r"^activation of layer 2: unknown activation 'swish'"),
    "activation count": (lambda: Network([np.ones((2, 2))], None, ["tanh", "tanh"]), r"^activations: expected 1"),
    "bad dtype": (lambda: Network([np.ones((2, 2))], dtype=np.float16), r"^dtype: "),
    "too few sizes": (lambda: Network.random([3]), r"^sizes: "),
    "zero size": (lambda: Network.random([3, 0]), r"^sizes\[1\]: "),
    "non-integer size": (lambda: Network.random([3, 2.0]), r"^sizes\[1\]: "),
    "unknown init": (lambda: Network.random([3, 2], init="xavier"), r"^init: "),
    "unknown bias kind": (lambda: Network.random([3, 2], bias="some"), r"^bias: "),
    # forward
    "NaN in x": (lambda: forward(document_network(), [NAN, 1.0]), r"^x: expected finite values"),
    "inf in x": (lambda: forward(document_network(), np.array([[1.0, 2.0], [3.0, INF]])), r"^x: expected finite"),
    "x wrong length": (lambda: forward(document_network(), [1.0, 2.0, 3.0]), r"^x: expected 2 rows"),
    "x 3-d": (lambda: forward(document_network(), np.ones((2, 1, 1))), r"^x: expected shape"),
    "x no examples": (lambda: forward(document_network(), np.ones((2, 0))), r"^x: expected at least one example"),
    "x not numbers": (lambda: forward(document_network(), ["a", "b"]), r"^x: expected an array of numbers"),
    "z overflows": (_overflowing_forward, r"^forward: z\^\(1\) overflowed"),
    # backward
    "NaN in y": (lambda: backward(*_doc_cache(), [NAN]), r"^y: expected finite values"),
    "y wrong shape": (lambda: backward(*_doc_cache(), [1.0, 0.0]), r"^y: expected shape \(1,\)"),
    "unknown loss": (lambda: backward(*_doc_cache(), Y, loss="hinge"), r"^loss: unknown loss 'hinge'"),
    "bad reduction": (lambda: backward(*_doc_cache(), Y, reduction="avg"), r"^reduction: .*'avg'"),
    "bce target above 1": (lambda: backward(*_doc_cache(), [1.5], loss="bce"), r"^y: bce targets must lie in \[0, 1\]"),
    "bce target below 0": (lambda: backward(*_doc_cache(), [-0.1], loss="bce"), r"^y: bce targets"),
    "cross_entropy target above 1": (lambda: backward(_softmax_net(), forward(_softmax_net(), [1.0, 2.0]),
                                                      [0.0, 2.0, -1.0], loss="cross_entropy"),
                                     r"^y: cross_entropy targets"),
    "class index too large": (lambda: backward(_softmax_net(), forward(_softmax_net(), [1.0, 2.0]), 3,
                                               loss="cross_entropy"), r"^y: class index out of range 0\.\.2"),
    "negative class index": (lambda: backward(_softmax_net(), forward(_softmax_net(), np.ones((2, 2))),
                                              np.array([0, -1]), loss="cross_entropy"),
                             r"^y: class index out of range"),
    "class indices wrong shape": (lambda: backward(_softmax_net(), forward(_softmax_net(), np.ones((2, 2))),
                                                   np.array([0, 1, 2]), loss="cross_entropy"), r"^y: class indices"),
    "cache of another network": (lambda: backward(Network.random([3, 2, 1]), forward(document_network(), X), Y),
                                 r"^cache: "),
    # Same depth and n_0, other hidden size: used to return a dW^(2) of the wrong shape silently.
    "cache with other hidden sizes": (lambda: backward(Network.random([2, 3, 1]), forward(Network.random([2, 1, 1]), X),
                                                       Y), r"^cache: .*sizes \(2, 3, 1\).*sizes \(2, 1, 1\)"),
    "cache of a deeper network": (lambda: backward(document_network(), forward(Network.random([2, 2, 2, 1]), X), Y),
                                  r"^cache: "),
    # sgd_step and train
    "zero lr": (lambda: sgd_step(document_network(), backward(*_doc_cache(), Y), 0.0), r"^lr: "),
    "negative lr": (lambda: sgd_step(document_network(), backward(*_doc_cache(), Y), -0.5), r"^lr: "),
    "NaN lr": (lambda: sgd_step(document_network(), backward(*_doc_cache(), Y), NAN), r"^lr: "),
    "inf lr": (lambda: sgd_step(document_network(), backward(*_doc_cache(), Y), INF), r"^lr: "),
    "non-numeric lr": (lambda: sgd_step(document_network(), backward(*_doc_cache(), Y), "fast"), r"^lr: "),
    "grads of another network": (lambda: sgd_step(Network.random([2, 3, 1]), backward(*_doc_cache(), Y), 0.5),
                                 r"^grads\.dW\[1\]: "),
    # Bias gradients of another bias kind: used to turn a shared bias into a per-unit one
    # silently, or to fail with a bare TypeError when db is None.
    "per-unit db for a shared bias": (lambda: _sgd_with_grads_of("shared", "per_unit"), r"^grads\.db\[1\]: .*\(\)"),
    "no db for a per-unit bias": (lambda: _sgd_with_grads_of("per_unit", "none"), r"^grads\.db\[1\]: .*nothing"),
    "train lr": (lambda: train(document_network(), X, Y, lr=0.0, steps=1), r"^lr: "),
    "train steps": (lambda: train(document_network(), X, Y, lr=0.5, steps=-1), r"^steps: "),
    "train reduction": (lambda: train(document_network(), X, Y, lr=0.5, steps=1, reduction="max"), r"^reduction: "),
    "train loss": (lambda: train(document_network(), X, Y, lr=0.5, steps=1, loss="l1"), r"^loss: "),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_raises_input_error_naming_the_argument(case):
    call, pattern = BAD_INPUTS[case]
    with pytest.raises(InputError, match=pattern):
        call()


def test_input_error_is_a_value_error():
    assert issubclass(InputError, ValueError)


def test_missing_layer_key_names_the_layers():
    net = document_network()
    with pytest.raises(KeyError, match=r"layers are numbered 1\.\.2"):
        net.W[3]
