"""Property by property: hypothesis draws random networks (depth 1-6, widths 1-16, any mix
of activations, every loss and reduction, every bias kind, batch 1-8, float64 and float32)
and each test checks one group of the document's equations against torch autograd and, for
Eq. 1-4 and the loss, against oracle.numeric's independent float64 evaluation. A failure
is the failing Record's message: equation, symbol, layer, worst element and tolerance rule.

The tolerances are the project's policies (oracle.tolerance): policy_for(dtype) against torch
(4 eps x (L+1) x S: two implementations of the same formula) and fd_policy_for(dtype) against
finite differences (the same plus the difference quotient's O(h^2) truncation and eps S_L / h
rounding); their numbers are derived there.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from manual_bp.losses import REDUCTIONS
from manual_bp.network import BIAS_KINDS, INITS, Network
from oracle.cases import ALL_ACTIVATIONS, ALL_LOSSES, OUTPUT_FOR_LOSS, check_case
from oracle.compare import Case, Record, compare_properties, manual_properties
from oracle.numeric import finite_differences
from oracle.tolerance import fd_policy_for, policy_for

# Each example costs a torch run, finite differences and the comparisons (~10-50 ms), so a
# modest number of draws per equation keeps the file at a few seconds.
PROPERTY_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def cases(draw: st.DrawFn, min_depth: int = 1, bias_kinds: tuple[str, ...] = BIAS_KINDS) -> Case:
    """A random network with data: the same space as oracle.cases.random_case, drawn field by
    field so hypothesis can shrink a failure to a small network. bce gets a sigmoid output and
    cross_entropy a softmax output of at least two units."""
    L = draw(st.integers(min_depth, 6))
    sizes = draw(st.lists(st.integers(1, 16), min_size=L + 1, max_size=L + 1))
    loss = draw(st.sampled_from(ALL_LOSSES))
    acts = draw(st.lists(st.sampled_from(ALL_ACTIVATIONS), min_size=L, max_size=L))
    if loss in OUTPUT_FOR_LOSS:
        acts[-1] = OUTPUT_FOR_LOSS[loss]
    if loss == "cross_entropy":
        sizes[-1] = max(sizes[-1], 2)  # a one-unit softmax is constant 1
    m = draw(st.integers(1, 8))
    single = m == 1 and draw(st.booleans())
    dtype = draw(st.sampled_from(["float64", "float32"]))
    seed = draw(st.integers(0, 2**32 - 1))
    net = Network.random(sizes, acts, init=draw(st.sampled_from(INITS)), seed=seed, dtype=dtype,
                         bias=draw(st.sampled_from(bias_kinds)))
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(sizes[0],) if single else (sizes[0], m))
    out = (sizes[-1],) if single else (sizes[-1], m)
    if loss == "cross_entropy":
        labels = rng.integers(0, sizes[-1], size=() if single else (m,))
        y = np.eye(sizes[-1])[:, labels] if draw(st.booleans()) else labels  # one-hot or class indices
    elif loss == "bce":
        y = rng.uniform(0.0, 1.0, size=out)
    else:
        y = rng.normal(size=out)
    return Case(f"hypothesis-{dtype}-{seed}", net, x, y, loss, draw(st.sampled_from(REDUCTIONS)), lr=0.1, seed=seed)


def _fd_records(case: Case, manual: dict) -> list[Record]:
    """Eq. 1-4 against finite differences. Draws where a +-h perturbation would move a relu,
    leaky_relu or elu input across 0 are rejected (about 1 in 100), so the finite differences
    only ever see kinked units that stay on one side of their kink."""
    fd = finite_differences(case)
    assume(fd["kink_crossings"] == 0)
    return compare_properties(case, manual, fd, "finite differences", fd_policy_for(case.net.dtype),
                              properties=("delta", "dW", "db"))


def _assert_equation(records: list[Record], equation: str) -> None:
    mine = [r for r in records if r.equation == equation]
    assert mine, f"no record for {equation}"
    bad = [r for r in mine if not r.passed]
    assert not bad, bad[0].message()


@PROPERTY_SETTINGS
@given(cases())
def test_forward_z_a_and_sigma_prime(case):
    _assert_equation(check_case(case), "forward")


@PROPERTY_SETTINGS
@given(cases())
def test_loss(case):
    manual = manual_properties(case)
    # oracle.numeric evaluates the loss with its own formulas in float64: one more independent
    # implementation, under the same rounding policy as torch.
    numeric = {"L": finite_differences(case)["L"]}
    records = check_case(case) + compare_properties(case, manual, numeric, "numeric loss",
                                                    policy_for(case.net.dtype), properties=("L",))
    _assert_equation(records, "loss")


@PROPERTY_SETTINGS
@given(cases())
def test_eq1_output_error(case):
    manual = manual_properties(case)
    _assert_equation(check_case(case) + _fd_records(case, manual), "Eq. 1")


@PROPERTY_SETTINGS
@given(cases(min_depth=2))
def test_eq2_hidden_error(case):
    manual = manual_properties(case)
    _assert_equation(check_case(case) + _fd_records(case, manual), "Eq. 2")


@PROPERTY_SETTINGS
@given(cases())
def test_eq3_weight_gradient(case):
    manual = manual_properties(case)
    _assert_equation(check_case(case) + _fd_records(case, manual), "Eq. 3")


@PROPERTY_SETTINGS
@given(cases(bias_kinds=("per_unit", "shared")))
def test_eq4_bias_gradient(case):
    manual = manual_properties(case)
    _assert_equation(check_case(case) + _fd_records(case, manual), "Eq. 4")


@PROPERTY_SETTINGS
@given(cases())
def test_eq5_parameter_update(case):
    _assert_equation(check_case(case), "Eq. 5")
