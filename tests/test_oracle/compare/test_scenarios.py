"""The oracle on whole scenarios: the document's 2-2-1 example against torch and finite
differences, 100-step SGD trajectories against torch.optim.SGD, the kinks at exactly z = 0,
invariants (backward twice, a small step lowers the loss, softmax sums to 1), and the
acceptance check that a one-line mistake in Eq. 2 is caught and named."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from support import agree, compare

from manual_bp import ACTIVATIONS, Network, backward, forward, sgd_step, train
from oracle.cases import Case, SweepSpec, document_case, random_case
from oracle.compare.cross_check import cross_check
from oracle.compare.records import Record, manual_properties
from oracle.compare.scales import comparison_scales
from oracle.compare.tolerance import EPS32, EPS64, policy_for
from oracle.mistakes import MISTAKES
from oracle.references.autograd import torch_trajectory
from oracle.references.numeric import finite_differences


def _failures(records: list[Record]) -> list[str]:
    return [r.message() for r in records if not r.passed]


# --- the document's example ------------------------------------------------------------------


def test_document_example_against_torch():
    records = agree(document_case())
    assert {r.equation for r in records} == {"forward", "loss", "Eq. 1", "Eq. 2", "Eq. 3", "Eq. 4", "Eq. 5"}


def test_document_example_against_finite_differences():
    case = document_case()
    records = agree(case, "finite differences")
    assert {r.equation for r in records} == {"loss", "Eq. 1", "Eq. 2", "Eq. 3", "Eq. 4"}
    assert len(records) == 7  # L; delta, dL/dW and dL/db of both layers
    # The document's own rounded numbers, as a sanity check of the reference itself: delta^(1)
    # is printed [-0.0047, -0.0055]; the difference quotient agrees to the printed digits.
    np.testing.assert_allclose(finite_differences(case)["delta"][1], [-0.0047, -0.0055], atol=1e-4)


# --- SGD trajectories ------------------------------------------------------------------------

STEPS = 100
TRAJECTORY_SPEC = {dtype: SweepSpec(depth=(1, 4), reductions=("mean",), lr=0.05, dtype=dtype)
                   for dtype in ("float64", "float32")}


@pytest.mark.parametrize("case", [document_case()] + [random_case(s, TRAJECTORY_SPEC[d]) for d in ("float64", "float32")
                                                       for s in range(6)], ids=lambda c: c.case_id)
def test_sgd_trajectory_deviation_grows_at_most_linearly(case):
    """manual_bp.train against torch.optim.SGD for 100 full-batch steps.

    Bound: after k steps, max |W_manual - W_torch| <= sum_{j<k} rtol x S_j, with S_j the Eq. 5
    comparison scale of step j (max_l of |W^(l)| + eta M(dL/dW^(l)), oracle.scales) and rtol the
    dtype's 4 eps (L+1). Each step adds at most one Eq. 5 rounding difference; with a small
    learning rate the step W -> W - eta dL/dW is (nearly) non-expansive, so an earlier
    difference is carried on, not amplified, and the differences add up: linear in k. (Measured
    on 40 networks of each dtype: at most 5% of this bound.)"""
    result = train(case.net, case.x, case.y, case.lr, STEPS, case.loss, case.reduction)
    history = torch_trajectory(case.net, case.x, case.y, case.lr, STEPS, case.loss, case.reduction)
    assert len(history) == len(result.networks) == STEPS + 1
    assert result.losses[-1] < result.losses[0]  # a stable, descending run: the regime the bound is for
    rtol = policy_for(case.net.dtype).for_depth(case.net.L).rtol
    bound = 0.0
    for k in range(STEPS + 1):
        net_k = result.networks[k]
        deviation = max(float(np.max(np.abs(net_k.W[l].astype(np.float64) - history[k][l]))) for l in net_k.W)
        assert deviation <= bound, f"step {k}: |W_manual - W_torch| = {deviation:.3e} > {bound:.3e}"
        step_case = Case(case.case_id, net_k, case.x, case.y, case.loss, case.reduction, case.lr)
        S = comparison_scales(net_k, case.x, case.y, case.loss, case.reduction, case.lr, manual_properties(step_case))
        bound += rtol * max(S["W_new"].values())


# --- kinks -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu"])
def test_derivative_at_exactly_zero_is_torchs(name):
    # Directly: sigma'(0) against torch autograd's gradient of the same function at 0.
    zero = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    fn = {"relu": F.relu, "leaky_relu": F.leaky_relu, "elu": F.elu}[name]
    (grad,) = torch.autograd.grad(fn(zero).sum(), zero)
    assert ACTIVATIONS[name].sigma_prime(np.zeros(1))[0] == grad.item()
    # In a network: x = [0.5, 0.5] and rows [1, -1], [-1, 1] give z^(1) exactly 0 for every
    # example (b^(1) = 0); every property is compared with torch autograd, Eq. 1-5 included.
    net = Network([[[1.0, -1.0], [0.25, 0.5], [-1.0, 1.0]], [[0.3, -0.7, 0.9], [0.5, 0.2, -0.4]]],
                  [[0.0, 0.1, 0.0], [0.05, -0.05]], [name, "tanh"])
    x = np.array([[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]])
    case = Case(f"kink-{name}", net, x, np.array([[0.2, -0.1, 0.4], [0.3, 0.0, -0.2]]), "half_sse", "mean")
    assert np.count_nonzero(forward(net, x).z[1] == 0) == 6
    records = cross_check(case)
    assert not _failures(records), _failures(records)[0]
    # Finite differences cannot see this convention: they flag the elements instead.
    assert finite_differences(case)["kink_crossings"] > 0


# --- invariants ------------------------------------------------------------------------------

SEEDS = range(40)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_backward_twice_gives_identical_results(dtype):
    for seed in SEEDS:
        case = random_case(seed, SweepSpec(dtype=dtype))
        cache = forward(case.net, case.x)
        first = backward(case.net, cache, case.y, case.loss, case.reduction)
        again = backward(case.net, cache, case.y, case.loss, case.reduction)
        fresh = backward(case.net, forward(case.net, case.x), case.y, case.loss, case.reduction)
        assert first.loss == again.loss == fresh.loss
        for prop in ("delta", "dL_da", "dW", "db"):
            for l in getattr(first, prop):
                a, b, c = (getattr(g, prop)[l] for g in (first, again, fresh))
                if a is None:
                    assert b is None and c is None
                else:
                    np.testing.assert_array_equal(a, b, err_msg=f"{case.case_id} {prop}^({l})")
                    np.testing.assert_array_equal(a, c, err_msg=f"{case.case_id} {prop}^({l})")


def test_a_small_sgd_step_lowers_the_loss():
    checked = 0
    for seed in SEEDS:
        case = random_case(seed)
        grads = backward(case.net, forward(case.net, case.x), case.y, case.loss, case.reduction)
        g2 = sum(float(np.sum(g * g)) for p in ("dW", "db") for g in getattr(grads, p).values() if g is not None)
        if g2 < 1e-12:
            continue  # a (numerically) flat point: nothing to descend
        # A step of length 1e-3 along -grad: the first-order decrease 1e-3 |grad| dwarfs both the
        # second-order term (1e-6 |curvature| / 2) and the loss's rounding (~1e-15 |L|).
        lr = 1e-3 / np.sqrt(g2)
        new = sgd_step(case.net, grads, lr)
        after = backward(new, forward(new, case.x), case.y, case.loss, case.reduction).loss
        assert after < grads.loss, f"{case.case_id}: L went {grads.loss!r} -> {after!r} with eta = {lr:.2e}"
        checked += 1
    assert checked >= len(SEEDS) // 2


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_softmax_outputs_sum_to_one(dtype):
    eps = EPS64 if dtype == "float64" else EPS32
    seen = 0
    for seed in range(200):
        case = random_case(seed, SweepSpec(dtype=dtype))
        cache = forward(case.net, case.x)
        for l, name in case.net.activations.items():
            if name == "softmax":
                n = case.net.sizes[l]
                # n quotients e_i / s, each one rounding, summed with n - 1 more roundings.
                assert np.max(np.abs(cache.a[l].sum(axis=0) - 1.0)) <= 2 * n * eps, f"{case.case_id} a^({l})"
                seen += 1
    assert seen >= 20


# --- the acceptance check: a one-step mistake is caught and named ---------------------------


@pytest.mark.parametrize("case", [document_case(), random_case(8)], ids=lambda c: c.case_id)
@pytest.mark.parametrize("reference", ["torch", "finite differences"])
def test_dropping_sigma_prime_in_eq2_is_caught_and_named(case, reference):
    # Where sigma' is 1 (identity) dropping it changes nothing; both cases have a curved layer L-1.
    assert case.net.activations[case.net.L - 1] != "identity"
    agree(case, reference)  # the real code passes
    mistake = MISTAKES["sigma_prime_forgotten_hidden"]  # manual_bp's algorithm with Eq. 2's sigma' dropped
    records = compare(case, reference, properties=mistake.run(case))
    failed = [r for r in records if not r.passed]
    assert failed, "the mutation went unnoticed"
    # The first wrong quantity is delta^(L-1), by Eq. 2: it fails, named so, and nothing
    # computed before it (forward, loss, Eq. 1, the output layer's gradients) does.
    L = case.net.L
    origin = next(r for r in records if (r.property, r.layer) == ("delta", L - 1))
    assert origin.message().startswith(f"Eq. 2 delta^({L - 1}) [delta, layer {L - 1}] FAILED against"), \
        origin.message()
    assert all(r.layer is not None and r.layer <= L - 1 for r in failed), failed[0].message()
    assert all(r.equation in ("Eq. 2", "Eq. 3", "Eq. 4", "Eq. 5") for r in failed), failed[0].message()
