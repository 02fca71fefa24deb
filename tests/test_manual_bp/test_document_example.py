"""The document's 2-2-1 sigmoid example, checked against a scalar hand computation.

The reference below is written out with ``math.exp`` and plain Python floats, one scalar at
a time, exactly as the document does it by hand; it shares no code with the package's
vectorised numpy path, so a wrong formula in either shows up as a disagreement.
"""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest
from support import LEARNING_RATE, PRINTED, PRINTED_PARTIALS, X, Y, document_network

from manual_bp import backward, forward, sgd_step

# Both paths evaluate the same formulas in float64 but in a different order (numpy's matmul
# and vectorised exp against scalar arithmetic), so they differ by a few ulps, ~1e-16
# relative. 1e-12 leaves four orders of magnitude of margin for that, yet any wrong formula
# (a missing factor, a transposed weight, a wrong sign) is off by far more than 1e-12.
REL = 1e-12


def _sigma(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _hand() -> dict[str, list[float]]:
    """Every quantity of the example, one scalar at a time, from the document's literals."""
    x1, x2 = 0.5, 1.0
    y = 1.0
    w11, w12, w21, w22 = 0.4, 0.6, 0.3, 0.5
    b11, b12 = 0.1, 0.2
    v1, v2 = 0.7, 0.8  # W^(2)
    c = 0.3  # b^(2)
    eta = 0.5

    # Forward: z = W a + b, a = sigma(z).
    z11 = w11 * x1 + w12 * x2 + b11
    z12 = w21 * x1 + w22 * x2 + b12
    a11, a12 = _sigma(z11), _sigma(z12)
    z2 = v1 * a11 + v2 * a12 + c
    a2 = _sigma(z2)
    loss = 0.5 * (a2 - y) ** 2

    # Backward: sigma'(z) = sigma(z) (1 - sigma(z)).
    sp2 = a2 * (1.0 - a2)
    sp11, sp12 = a11 * (1.0 - a11), a12 * (1.0 - a12)
    dL_da2 = a2 - y
    delta2 = dL_da2 * sp2  # Eq. 1
    dL_da11, dL_da12 = v1 * delta2, v2 * delta2  # (W^(2))^T delta^(2)
    delta11, delta12 = dL_da11 * sp11, dL_da12 * sp12  # Eq. 2
    dv1, dv2 = delta2 * a11, delta2 * a12  # Eq. 3, layer 2
    dw11, dw12 = delta11 * x1, delta11 * x2  # Eq. 3, layer 1
    dw21, dw22 = delta12 * x1, delta12 * x2
    dc = delta2  # Eq. 4
    db11, db12 = delta11, delta12

    return {
        "z1": [z11, z12],
        "a1": [a11, a12],
        "z2": [z2],
        "a2": [a2],
        "L": [loss],
        "sigma_prime2": [sp2],
        "sigma_prime1": [sp11, sp12],
        "dL_da2": [dL_da2],
        "dL_da1": [dL_da11, dL_da12],
        "delta2": [delta2],
        "delta1": [delta11, delta12],
        "dW2": [dv1, dv2],
        "db2": [dc],
        "dW1": [dw11, dw12, dw21, dw22],
        "db1": [db11, db12],
        # Eq. 5 with eta = 0.5.
        "W2_new": [v1 - eta * dv1, v2 - eta * dv2],
        "b2_new": [c - eta * dc],
        "W1_new": [w11 - eta * dw11, w12 - eta * dw12, w21 - eta * dw21, w22 - eta * dw22],
        "b1_new": [b11 - eta * db11, b12 - eta * db12],
    }


HAND = _hand()


def _package() -> dict[str, np.ndarray]:
    """The same quantities from the package, keyed as HAND, with their package shapes."""
    net = document_network()
    cache = forward(net, X)
    grads = backward(net, cache, Y, loss="half_sse")
    new = sgd_step(net, grads, lr=LEARNING_RATE)
    return {
        "z1": cache.z[1],
        "a1": cache.a[1],
        "z2": cache.z[2],
        "a2": cache.a[2],
        "L": np.asarray(grads.loss),
        "sigma_prime2": cache.sigma_prime[2],
        "sigma_prime1": cache.sigma_prime[1],
        "dL_da2": grads.dL_da[2],
        "dL_da1": grads.dL_da[1],
        "delta2": grads.delta[2],
        "delta1": grads.delta[1],
        "dW2": grads.dW[2],
        "db2": grads.db[2],
        "dW1": grads.dW[1],
        "db1": grads.db[1],
        "W2_new": new.W[2],
        "b2_new": new.b[2],
        "W1_new": new.W[1],
        "b1_new": new.b[1],
    }


PACKAGE = _package()

SHAPES = {
    "z1": (2,), "a1": (2,), "z2": (1,), "a2": (1,), "L": (),
    "sigma_prime2": (1,), "sigma_prime1": (2,), "dL_da2": (1,), "dL_da1": (2,),
    "delta2": (1,), "delta1": (2,), "dW2": (1, 2), "db2": (1,), "dW1": (2, 2), "db1": (2,),
    "W2_new": (1, 2), "b2_new": (1,), "W1_new": (2, 2), "b1_new": (2,),
}


def test_document_network_holds_the_documents_parameters():
    net = document_network()
    assert net.sizes == (2, 2, 1)
    assert [net.activations[1], net.activations[2]] == ["sigmoid", "sigmoid"]
    # Literal copies of the document's numbers, converted once: exact equality.
    np.testing.assert_array_equal(net.W[1], [[0.4, 0.6], [0.3, 0.5]])
    np.testing.assert_array_equal(net.b[1], [0.1, 0.2])
    np.testing.assert_array_equal(net.W[2], [[0.7, 0.8]])
    np.testing.assert_array_equal(net.b[2], [0.3])
    assert X == [0.5, 1.0]
    assert Y == [1.0]
    assert LEARNING_RATE == 0.5


@pytest.mark.parametrize("name", sorted(HAND))
def test_exact_quantity_matches_scalar_hand_computation(name):
    got = PACKAGE[name]
    assert got.shape == SHAPES[name], name
    assert got.dtype == np.float64, name
    # abs=0: the smallest quantities (~2e-3) must meet the same relative bound as the rest.
    assert got.ravel().tolist() == pytest.approx(HAND[name], rel=REL, abs=0), name


def test_hand_computation_itself_reproduces_known_digits():
    # Anchors for the hand reference itself (not the package): sigma(0.9) = 0.7109495...
    # (1 / (1 + e^-0.9)) and the exact loss 0.020920..., both rounded to 6 decimals.
    assert f"{HAND['a1'][0]:.6f}" == "0.710950"
    assert f"{HAND['L'][0]:.6f}" == "0.020920"


# --- The document's printed (rounded) numbers ------------------------------------------------

# The document rounds each intermediate and carries the rounded value forward. For most
# printed numbers the exact value still lies within one unit of the last printed digit; for
# these it does not, because the carried rounding compounds (0.5 (0.204)^2 = 0.0208 while the
# exact loss is 0.020920; 0.7 + 0.5 * 0.023 = 0.7115 while the exact update is 0.71183).
CARRIED = {"L", "W2_new", "b2_new"}
CARRIED_PARTIALS = {"(y - a2)^2"}


def _flat_strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    out: list[str] = []
    for item in value:  # type: ignore[union-attr]
        out.extend(_flat_strings(item))
    return out


def _unit(printed: str) -> float:
    """One unit of the last printed digit: 10^-(number of decimals)."""
    return 10.0 ** Decimal(printed).as_tuple().exponent


def test_printed_keys_are_the_documents_quantities():
    assert set(PRINTED) == set(SHAPES) - {"dL_da1", "dL_da2"}


@pytest.mark.parametrize("name", sorted(set(PRINTED) - CARRIED))
def test_printed_value_within_one_unit_of_its_last_digit(name):
    printed = _flat_strings(PRINTED[name])
    exact = HAND[name]
    assert len(printed) == len(exact), name
    for p, e in zip(printed, exact, strict=True):
        # One unit of the last printed digit: the document rounds to that digit (half a unit)
        # and sometimes carries an already rounded operand (up to ~0.9 unit here, e.g. z2
        # printed 1.359 vs exact 1.358118). Both values are O(1), so float error is moot.
        assert abs(e - float(p)) <= _unit(p), f"{name}: printed {p}, exact {e!r}"


@pytest.mark.parametrize("name", sorted(CARRIED))
def test_carried_rounding_explains_the_other_printed_values(name):
    printed = [float(p) for p in _flat_strings(PRINTED[name])]
    units = [_unit(p) for p in _flat_strings(PRINTED[name])]
    exact = HAND[name]
    # These are the known exceptions: the exact value is more than one unit away ...
    assert any(abs(e - p) > u for e, p, u in zip(exact, printed, units, strict=True)), name
    # ... and recomputing from the document's own printed (rounded) operands gives the printed
    # value to within half a unit, i.e. the document's arithmetic is right, only rounded early.
    eta = LEARNING_RATE
    from_printed = {
        "L": [0.5 * (1.0 - float(PRINTED["a2"][0])) ** 2],
        "W2_new": [0.7 - eta * float(PRINTED["dW2"][0][0]), 0.8 - eta * float(PRINTED["dW2"][0][1])],
        "b2_new": [0.3 - eta * float(PRINTED["db2"][0])],
    }[name]
    for r, p, u in zip(from_printed, printed, units, strict=True):
        assert abs(r - p) <= 0.5 * u, f"{name}: printed {p}, recomputed from printed operands {r!r}"


def test_loss_is_0_020920_not_the_printed_0_0208():
    exact = float(PACKAGE["L"])
    assert f"{exact:.6f}" == "0.020920"
    assert PRINTED["L"] == "0.0208"
    assert f"{exact:.4f}" != PRINTED["L"]


def test_printed_partials_within_one_unit_or_carried():
    a11, a12 = HAND["a1"]
    a2 = HAND["a2"][0]
    exact = {
        "W2[0,0] * a1[0]": 0.7 * a11,
        "W2[0,1] * a1[1]": 0.8 * a12,
        "y - a2": 1.0 - a2,
        "(y - a2)^2": (1.0 - a2) ** 2,
    }
    assert set(PRINTED_PARTIALS) == set(exact)
    for key, p in PRINTED_PARTIALS.items():
        u = _unit(p)
        if key in CARRIED_PARTIALS:
            # 0.204^2 = 0.041616: the document squares its rounded 0.204 (exact 0.041841).
            assert abs(exact[key] - float(p)) > u
            assert abs(float(PRINTED_PARTIALS["y - a2"]) ** 2 - float(p)) <= 0.5 * u
        else:
            # Same one-unit bound as the named quantities above.
            assert abs(exact[key] - float(p)) <= u, f"{key}: printed {p}, exact {exact[key]!r}"


def test_the_shipped_example_file_claims_what_the_document_prints():
    from oracle.worked.format import packaged_example

    claimed = packaged_example("seed-2-2-1").claimed
    assert list(claimed) == list(PRINTED)  # the same quantities, in the document's order
    for key, value in PRINTED.items():
        assert claimed[key].ravel().tolist() == _flat_strings(value), key
