"""What many tests share: the document's 2-2-1 numbers, typed in from the document (the tests'
own copy, independent of the shipped example file), and one helper that computes a case with
manual_bp, computes it with a reference, and compares property by property.

    agree(case)                                  # every property against torch, the dtype's policy
    agree(case, "finite differences", "Eq. 2")   # one equation against central differences
    agree(case, "torch", ulps=2)                 # a tighter rule, visible at the call
    caught("sigma_prime_forgotten_hidden", case) # a catalogued mistake fails the same comparison

The tolerance is the project's policy, rtol = ulps x eps x (L+1) on each tensor's comparison
scale S (oracle.compare.tolerance, which derives the 4), plus for finite differences the
difference quotient's truncation ``third`` x h^2 and its eps S_L / h rounding.
"""

from __future__ import annotations

from dataclasses import replace

from manual_bp import Network
from oracle.cases import Case
from oracle.compare.records import PROPERTIES, Record, compare_properties, manual_properties
from oracle.compare.tolerance import FD_THIRD, ULPS_PER_LAYER, fd_policy_for, policy_for

# The document's example, as it prints it.
X = [0.5, 1.0]
Y = [1.0]
W1, B1 = [[0.4, 0.6], [0.3, 0.5]], [0.1, 0.2]
W2, B2 = [[0.7, 0.8]], [0.3]
LEARNING_RATE = 0.5
ACTIVATIONS = ("sigmoid", "sigmoid")
LOSS = "half_sse"  # L = 1/2 (y - y_hat)^2

# Every number the document prints for a named quantity, in the order it prints them, typed in
# from the document (strings keep their digits); the shipped example file must say the same.
PRINTED: dict[str, object] = {
    "z1": ["0.9", "0.85"],
    "a1": ["0.711", "0.701"],
    "z2": ["1.359"],
    "a2": ["0.796"],  # y_hat
    "L": "0.0208",
    "sigma_prime2": ["0.162"],
    "delta2": ["-0.033"],
    "dW2": [["-0.023", "-0.023"]],
    "db2": ["-0.033"],
    "sigma_prime1": ["0.205", "0.210"],
    "delta1": ["-0.0047", "-0.0055"],
    "dW1": [["-0.0024", "-0.0047"], ["-0.0028", "-0.0055"]],
    "db1": ["-0.0047", "-0.0055"],
    "W2_new": [["0.7115", "0.8115"]],
    "b2_new": ["0.3165"],
    "W1_new": [["0.4012", "0.6024"], ["0.3014", "0.5028"]],
    "b1_new": ["0.1024", "0.2028"],
}
PRINTED_PARTIALS: dict[str, str] = {
    "W2[0,0] * a1[0]": "0.498",
    "W2[0,1] * a1[1]": "0.561",
    "y - a2": "0.204",
    "(y - a2)^2": "0.0416",
}


def document_network() -> Network:
    """The document's 2-2-1 network, sigmoid in both layers."""
    return Network([W1, W2], [B1, B2], list(ACTIVATIONS))


def compare(case: Case, reference: str = "torch", equation: str | None = None, properties: dict | None = None,
            ulps: float = ULPS_PER_LAYER, third: float = FD_THIRD) -> list[Record]:
    """The records of manual_bp's properties (or ``properties``, the same layout) against
    'torch' (autograd in the network's dtype) or 'finite differences' (float64 central
    differences: L, delta, dL/dW, dL/db), for one equation or all; the rule's factors as given."""
    mine = manual_properties(case) if properties is None else properties
    if reference == "finite differences":
        from oracle.references.numeric import finite_differences

        ref = finite_differences(case)
        tol = replace(fd_policy_for(case.net.dtype), factor=ulps, third=third).with_step(ref["h"])
        props: tuple[str, ...] = ("L", "delta", "dW", "db")
    else:
        from oracle.references.autograd import torch_properties

        ref = torch_properties(case.net, case.x, case.y, case.loss, case.reduction, case.lr, case.update_biases)
        tol, props = replace(policy_for(case.net.dtype), factor=ulps), PROPERTIES
    records = compare_properties(case, mine, ref, reference, tol, properties=props)
    return [r for r in records if equation is None or r.equation == equation]


def agree(case: Case, reference: str = "torch", equation: str | None = None, properties: dict | None = None,
          ulps: float = ULPS_PER_LAYER, third: float = FD_THIRD) -> list[Record]:
    """Assert that every compared property agrees with the reference; the first failure's
    message (equation, symbol, layer, worst element, rule) is the assertion's."""
    records = compare(case, reference, equation, properties, ulps, third)
    assert records, f"no record for {equation or 'any equation'} against {reference} in case {case.case_id}"
    bad = [r for r in records if not r.passed]
    assert not bad, bad[0].message()
    return records


def caught(mistake: str, case: Case, reference: str = "torch") -> list[Record]:
    """The failing records of a catalogued mistake on the case, under the same comparison."""
    from oracle.mistakes import MISTAKES

    return [r for r in compare(case, reference, properties=MISTAKES[mistake].run(case)) if not r.passed]
