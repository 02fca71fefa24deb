"""oracle.numeric, the finite-difference reference: its shapes, its accuracy on a loss whose
gradient is known in closed form, its O(h^2) truncation, float64 on a float32 network's own
numbers, kink detection, the directional check, and its independence from manual_bp."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest

from manual_bp import InputError, Network
from oracle.cases import Case, SweepSpec, random_case
from oracle.compare.records import manual_properties
from oracle.compare.tolerance import EPS64, FD_TOLERANCE, FD_TOLERANCE32, ULPS_PER_LAYER, fd_policy_for
from oracle.references.autograd import torch_properties
from oracle.references.numeric import H, directional_check, fd_check, finite_differences, kink_margin


def _mixed_case(m: int | None, bias: str = "per_unit", dtype: str = "float64") -> Case:
    net = Network.random([3, 4, 5, 2], ["tanh", "softplus", "sigmoid"], seed=11, bias=bias, dtype=dtype)
    rng = np.random.default_rng(12)
    x = rng.normal(size=(3,) if m is None else (3, m))
    y = rng.normal(size=(2,) if m is None else (2, m))
    return Case("mixed", net, x, y, "sse", "mean")


@pytest.mark.parametrize("m", [None, 1, 4])
@pytest.mark.parametrize("bias", ["per_unit", "shared", "none"])
def test_shapes_follow_manual_bp(m, bias):
    case = _mixed_case(m, bias)
    fd, manual = finite_differences(case), manual_properties(case)
    for prop in ("dW", "db", "delta"):
        assert sorted(fd[prop]) == [1, 2, 3]  # 1-based layers, as manual_bp's
        for l in fd[prop]:
            if manual[prop][l] is None:
                assert fd[prop][l] is None
            else:
                assert np.shape(fd[prop][l]) == np.shape(manual[prop][l]), f"{prop}^({l})"
    assert isinstance(fd["L"], float) and fd["kink_crossings"] == 0 and fd["h"] == H


def test_quadratic_loss_against_its_closed_form_gradient():
    # One identity layer with half_sse: L = 1/(2m) sum ||W x + b - y||^2, so dL/dW = R X^T / m,
    # dL/db = R 1 / m and delta = R / m with R = W X + b - y, computed here by hand.
    rng = np.random.default_rng(3)
    W, b, X, Y = rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=(4, 5)), rng.normal(size=(3, 5))
    case = Case("linear", Network([W], [b], "identity"), X, Y, "half_sse", "mean")
    R = W @ X + b[:, None] - Y
    fd = finite_differences(case)
    L = 0.5 * np.sum(R * R) / 5
    # The loss is quadratic, so a central difference has no truncation error: only the rounding
    # of the two loss values over the step. Each is a sum of positive terms, within a few dozen
    # rounding units of L; 64 eps L / h bounds the quotient's error.
    bound = 64 * EPS64 * L / H
    assert abs(fd["L"] - L) <= 64 * EPS64 * L
    for got, want in ((fd["dW"][1], R @ X.T / 5), (fd["db"][1], R.sum(axis=1) / 5), (fd["delta"][1], R / 5)):
        assert np.max(np.abs(got - want)) <= bound


def test_truncation_error_falls_as_h_squared():
    # tanh/softplus/sigmoid are smooth; against torch's exact gradient, ten times smaller h must
    # give about a hundred times smaller error (O(h^2), the O(h^4) term makes it 60-160 here).
    case = _mixed_case(4)
    exact = torch_properties(case.net, case.x, case.y, case.loss, case.reduction)["dW"]
    err = [max(np.max(np.abs(finite_differences(case, h)["dW"][l] - exact[l])) for l in exact) for h in (1e-2, 1e-3)]
    assert 60 <= err[0] / err[1] <= 160, err


def test_float32_network_is_differenced_in_float64_on_its_own_numbers():
    case32 = _mixed_case(3, dtype="float32")
    net64 = Network([case32.net.W[l].astype(np.float64) for l in (1, 2, 3)],
                    [case32.net.b[l].astype(np.float64) for l in (1, 2, 3)], list(case32.net.activations.values()))
    x32 = np.asarray(case32.x, dtype=np.float32).astype(np.float64)  # what the float32 network sees
    y32 = np.asarray(case32.y, dtype=np.float32).astype(np.float64)
    fd32 = finite_differences(case32)
    fd64 = finite_differences(Case("widened", net64, x32, y32, case32.loss, case32.reduction))
    for prop in ("dW", "db", "delta"):
        for l in (1, 2, 3):
            assert fd32[prop][l].dtype == np.float64
            np.testing.assert_array_equal(fd32[prop][l], fd64[prop][l])  # the same float64 arithmetic
    records = fd_check(case32)[0]
    assert records and all(r.passed for r in records), next(r.message() for r in records if not r.passed)
    assert fd_policy_for(np.float32) is FD_TOLERANCE32 and fd_policy_for("float64") is FD_TOLERANCE


def _kink_case(offset: float) -> Case:
    """relu layer whose first unit has z^(1)_1 = offset exactly (x = 0.5, w = 1, b = offset - 0.5),
    then an identity output layer."""
    net = Network([[[1.0], [0.5]], [[0.7, -0.4]]], [[offset - 0.5, 0.3], [0.1]], ["relu", "identity"])
    return Case(f"kink-{offset}", net, np.array([0.5]), np.array([2.0]), "half_sse", "mean")


def test_kink_at_exactly_zero_is_flagged_not_differenced():
    case = _kink_case(0.0)
    assert kink_margin(case) == 0.0
    fd = finite_differences(case)
    crossed = fd["kink_crossed"]
    # Moving w_11, b_1 or z^(1)_1 moves unit 1 of the relu off 0: flagged, and NaN.
    assert crossed["dW"][1].tolist() == [[True], [False]]
    assert crossed["db"][1].tolist() == [True, False]
    assert crossed["delta"][1].tolist() == [True, False]
    assert np.isnan(fd["dW"][1][0, 0]) and np.isnan(fd["delta"][1][0])
    # The output layer's parameters never touch z^(1): differenced as usual.
    assert not crossed["dW"][2].any() and np.all(np.isfinite(fd["dW"][2]))
    assert fd["kink_crossings"] == 3
    records = fd_check(case)[0]
    assert not all(r.passed for r in records)  # a flagged element can never pass by luck


@pytest.mark.parametrize(("offset", "crossings"), [(1e-7, 3), (-1e-7, 3), (0.1, 0), (-0.1, 0)])
def test_kink_detection_depends_on_the_step(offset, crossings):
    # |z| = 1e-7 is well inside the step h = 1e-5 (with x = 0.5, dz/dw = 0.5): the +h or -h run
    # lands on the other side. |z| = 0.1 is ten thousand steps away.
    fd = finite_differences(_kink_case(offset))
    assert fd["kink_crossings"] == crossings
    if crossings == 0:
        records = fd_check(_kink_case(offset))[0]
        assert all(r.passed for r in records), next(r.message() for r in records if not r.passed)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_directional_check_passes_on_random_networks(dtype):
    results = [directional_check(random_case(seed, SweepSpec(dtype=dtype)), v_seed=seed) for seed in range(30)]
    checked = [r for r in results if not r["kink_crossed"]]
    assert len(checked) >= 25
    assert all(r["passed"] for r in checked), next(r["rule"] for r in checked if not r["passed"])


def test_directional_check_on_a_network_too_large_for_finite_differences():
    net = Network.random([300, 200, 100, 10], ["tanh", "gelu", "softmax"], seed=5)
    rng = np.random.default_rng(6)
    case = Case("wide", net, rng.normal(size=(300, 4)), rng.integers(0, 10, size=4), "cross_entropy", "mean")
    result = directional_check(case)
    assert result["parameters"] == 300 * 200 + 200 + 200 * 100 + 100 + 100 * 10 + 10
    assert result["passed"], result["rule"]
    # The bound must be tight enough to mean something: well below the derivative it checks.
    assert result["allowed"] < 1e-3 * abs(result["analytic"])


def test_directional_check_catches_a_gradient_off_by_one_percent():
    case = random_case(2)  # a smooth network (no kink crossings for v_seed 0)
    assert directional_check(case)["passed"]
    props = manual_properties(case)
    off = props | {"dW": {l: 1.01 * g for l, g in props["dW"].items()}}
    result = directional_check(case, manual=off)
    assert not result["passed"] and not result["kink_crossed"], result


@pytest.mark.parametrize("h", [0.0, -1e-5, 1.0, math.nan])
def test_bad_step_is_an_input_error(h):
    with pytest.raises(InputError, match="h: expected a step"):
        finite_differences(_mixed_case(2), h)
    with pytest.raises(InputError, match="h: expected a step"):
        directional_check(_mixed_case(2), h=h)


def test_fd_rule_states_its_terms_and_numbers():
    tol = FD_TOLERANCE.for_case(3, {"L": 2.0})
    rule = tol.rule(0.5)
    assert "h^2" in rule and "S_L / h" in rule and "1.0e-05" in rule and "2.000e+00" in rule
    # Rounding of the loss over the step, then truncation and manual_bp's rounding on S.
    assert tol.allowed(0.0) == pytest.approx(ULPS_PER_LAYER * EPS64 * 4 * 2.0 / 1e-5, rel=1e-12)
    assert tol.allowed(1.0) - tol.allowed(0.0) == pytest.approx(ULPS_PER_LAYER * EPS64 * 4 + 100 * 1e-10, rel=1e-9)
    assert tol.with_step(1e-3).allowed(1.0) > tol.allowed(1.0)


def test_numeric_shares_no_code_with_manual_bp_math_or_torch():
    import oracle.references.numeric as numeric

    tree = ast.parse(Path(numeric.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    forbidden = {"torch", "manual_bp.backprop", "manual_bp.activations", "manual_bp.losses", "manual_bp.sgd",
                 "manual_bp", "oracle.references.autograd"}
    assert not imported & forbidden, imported & forbidden
