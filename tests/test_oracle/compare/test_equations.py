"""Property by property: hypothesis draws random networks (depth 1-6, widths 1-16, any mix
of activations, every loss and reduction, every bias kind, batch 1-8, float64 and float32)
and each test checks one group of the document's equations against torch autograd and, for
Eq. 1-4 and the loss, against oracle.numeric's independent float64 evaluation. A failure
is the failing Record's message: equation, symbol, layer, worst element and tolerance rule.

Each test is one call of the shared helper (tests/support.py: compute with manual_bp, compute
with the reference, compare per property). The tolerances are the project's policies
(oracle.compare.tolerance), whose factors the helper's signature shows: 4 eps x (L+1) x S
against torch (two implementations of the same formula), the same plus the difference
quotient's O(h^2) truncation and eps S_L / h rounding against finite differences.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from support import agree, compare

from manual_bp.losses import REDUCTIONS
from manual_bp.network import BIAS_KINDS, INITS, Network
from oracle.cases import ALL_ACTIVATIONS, ALL_LOSSES, OUTPUT_FOR_LOSS, Case, draw_targets
from oracle.compare.records import compare_properties, manual_properties
from oracle.compare.tolerance import policy_for
from oracle.references.numeric import finite_differences

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
    y = draw_targets(rng, loss, sizes[-1], None if single else m, draw(st.sampled_from(["indices", "one_hot"])))
    return Case(f"hypothesis-{dtype}-{seed}", net, x, y, loss, draw(st.sampled_from(REDUCTIONS)), lr=0.1, seed=seed)


def _against_finite_differences(case: Case, equation: str) -> None:
    """One equation against central differences. Draws where a +-h perturbation would move a
    relu, leaky_relu or elu input across 0 are rejected (about 1 in 100): there the difference
    quotient is NaN by design, so the finite differences only see kinked units that stay on one
    side of their kink."""
    records = compare(case, "finite differences", equation)
    assume(not any(math.isnan(r.reference_value) for r in records))
    agree(case, "finite differences", equation)


@PROPERTY_SETTINGS
@given(cases())
def test_forward_z_a_and_sigma_prime(case):
    agree(case, "torch", "forward")


@PROPERTY_SETTINGS
@given(cases())
def test_loss(case):
    agree(case, "torch", "loss")
    # oracle.references.numeric evaluates the loss with its own formulas in float64: one more
    # independent implementation, under the same rounding rule as torch (no difference quotient).
    numeric = {"L": finite_differences(case)["L"]}
    (record,) = compare_properties(case, manual_properties(case), numeric, "numeric loss", policy_for(case.net.dtype),
                                   properties=("L",))
    assert record.passed, record.message()


@PROPERTY_SETTINGS
@given(cases())
def test_eq1_output_error(case):
    agree(case, "torch", "Eq. 1")
    _against_finite_differences(case, "Eq. 1")


@PROPERTY_SETTINGS
@given(cases(min_depth=2))
def test_eq2_hidden_error(case):
    agree(case, "torch", "Eq. 2")
    _against_finite_differences(case, "Eq. 2")


@PROPERTY_SETTINGS
@given(cases())
def test_eq3_weight_gradient(case):
    agree(case, "torch", "Eq. 3")
    _against_finite_differences(case, "Eq. 3")


@PROPERTY_SETTINGS
@given(cases(bias_kinds=("per_unit", "shared")))
def test_eq4_bias_gradient(case):
    agree(case, "torch", "Eq. 4")
    _against_finite_differences(case, "Eq. 4")


@PROPERTY_SETTINGS
@given(cases())
def test_eq5_parameter_update(case):
    agree(case, "torch", "Eq. 5")
