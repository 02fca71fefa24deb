"""Activations: sigma and sigma' against definitions and central differences, kinks, saturation."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from manual_bp import ACTIVATIONS
from manual_bp.activations import softmax, softmax_prime

EPS = np.finfo(np.float64).eps


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


def test_gelu_prime_is_silent_where_z_squared_overflows():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Phi(z) is exactly 1 (0) and z phi(z) exactly 0 for z = 1e200 (-1e200)
        assert ACTIVATIONS["gelu"].sigma_prime(np.array([1e200, -1e200])).tolist() == [1.0, 0.0]


def test_sigmoid_of_integers_is_a_float():
    assert ACTIVATIONS["sigmoid"].sigma(np.array([0, 0])).tolist() == [0.5, 0.5]  # 1 / (1 + e^0), exact


def test_softmax_shifts_each_column_by_its_own_maximum():
    # A column 1000 below the batch's maximum: e^-1000 = 0 in every entry if shifted by that.
    Z = np.array([[0.0, -1000.0], [0.0, -1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert softmax(Z).tolist() == [[0.5, 0.5], [0.5, 0.5]]  # e^0 / (e^0 + e^0), exact
