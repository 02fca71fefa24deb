"""A named cause for every wrong printed number, judged where the author made it: each mistake
or slip is written out here by hand on the 2-2-1 network (or a small softmax one) and printed at
a few digits; the checker must name it from the step's own printed inputs.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from test_conventions import B1, SEED_NET, W1, X, seed_truth, sigmoid

from oracle.worked import judge
from oracle.worked.format import loads_example

SOFTMAX_NET = """
[network]
activations = ["sigmoid", "softmax"]
loss = "cross_entropy"
learning_rate = 0.5
x = [0.5, 1.0]
y = [0.0, 1.0]
W1 = [[0.4, 0.6], [0.3, 0.5]]
b1 = [0.1, 0.2]
W2 = [[0.7, 0.8], [0.2, -0.4]]
b2 = [0.3, 0.1]
"""
W2S, B2S, YS = np.array([[0.7, 0.8], [0.2, -0.4]]), np.array([0.3, 0.1]), np.array([0.0, 1.0])


def at(value: float, digits: int, rounding: str = ROUND_HALF_UP) -> str:
    return str(Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-digits), rounding=rounding))


def row(net: str, claims: str, name: str):
    result = judge(loads_example(net + "[claimed]\n" + claims))
    return next(r for r in result.rows if r.name == name)


def cause_of(net: str, claims: str, name: str) -> str:
    r = row(net, claims, name)
    assert r.verdict == "wrong", r.explanation
    return r.root


def softmax_truth() -> dict[str, np.ndarray]:
    a1 = sigmoid(W1 @ X + B1)
    z2 = W2S @ a1 + B2S
    a2 = np.exp(z2) / np.exp(z2).sum()
    return {"a1": a1, "z2": z2, "a2": a2, "delta2": a2 - YS}


T = seed_truth()


@pytest.mark.parametrize(("name", "claims", "element", "root"), [
    # z^(1)_1 = 0.4*0.5 + 0.6*1.0 + 0.1: the second term's sign flipped gives 0.2 - 0.6 + 0.1
    ("one term's sign flipped", 'z1 = ["-0.3", "?"]\n', "z^(1)[0]", "term_sign_flipped"),
    # z^(1)_1 through unit 2's weights: 0.3*0.5 + 0.5*1.0 + 0.1 = 0.75
    ("another unit's weights", 'z1 = ["0.75", "?"]\n', "z^(1)[0]", "swapped_weights"),
    # a^(1)_2 = 0.7005671 truncated at 3 decimals
    ("truncation", f'a1 = ["?", "{at(T["a1"][1], 3, ROUND_DOWN)}"]\n', "a^(1)[1]", "truncated"),
    # a^(1)_1 = 0.7109495 at 4 decimals is 0.7109; written 0.7190
    ("two digits transposed", 'a1 = ["0.7190", "?"]\n', "a^(1)[0]", "digits_transposed"),
    # the loss written with the 1/2 dropped
    ("the 1/2 of the loss dropped", f'L = "{at((1 - T["a2"][0]) ** 2, 5)}"\n', "L", "factor_2"),
    # nothing a mistake gives
    ("an arithmetic slip", 'z2 = ["1.412"]\n', "z^(2)", "arithmetic_slip"),
])
def test_a_slip_on_the_seed_is_named(name, claims, element, root):
    assert cause_of(SEED_NET, claims, element) == root, name


def test_delta_a_minus_y_with_mse_is_named():
    # mse over one output: dL/da = 2 (a - y), delta = 2 (a - y) sigma'; written a - y
    net = SEED_NET.replace('loss = "half_sse"', 'loss = "mse"')
    assert cause_of(net, f'delta2 = ["{at(T["a2"][0] - 1, 4)}"]\n', "delta^(2)") == "output_delta_a_minus_y"


def test_an_update_from_the_wrong_weight_is_named():
    # W'^(1)_11 = W_12 - eta dL/dW_11: 0.6 - 0.5 * dW1[0,0]
    g = T["dW1"][0, 0]
    claims = f'dW1 = [["{at(g, 5)}", "?"], ["?", "?"]]\nW1_new = [["{at(0.6 - 0.5 * g, 4)}", "?"], ["?", "?"]]\n'
    assert cause_of(SEED_NET, claims, "W'^(1)[0,0]") == "update_from_wrong_weight"


def test_rounding_twice_is_named():
    # find a seed value where rounding twice gives another last digit than rounding once
    for key, values in (("a1", T["a1"]), ("delta1", T["delta1"]), ("z2", T["z2"])):
        for i, v in enumerate(values):
            for d in range(2, 6):
                once, twice = Decimal(at(v, d)), Decimal(at(v, d + 1)).quantize(Decimal(1).scaleb(-d), ROUND_HALF_UP)
                if once != twice:
                    claims = [f'"{twice}"' if j == i else '"?"' for j in range(len(values))]
                    name = {"a1": "a^(1)", "delta1": "delta^(1)", "z2": "z^(2)"}[key] + (f"[{i}]" if len(values) > 1
                                                                                      else "")
                    assert cause_of(SEED_NET, f"{key} = [{', '.join(claims)}]\n", name) == "rounded_twice"
                    return
    pytest.fail("no seed value rounds differently twice")


def test_a_wrong_hidden_delta_without_the_sum_is_named():
    # 2-2-2 output: delta^(1)_1 = W2[0,0] delta2_1 sigma'_1 only (k = 1), the k = 2 term left out
    s = softmax_truth()
    sp1 = s["a1"] * (1 - s["a1"])
    claims = f'delta1 = ["{at(W2S[0, 0] * s["delta2"][0] * sp1[0], 5)}", "?"]\n'
    assert cause_of(SOFTMAX_NET, claims, "delta^(1)[0]") == "eq2_without_sum"


def test_log10_in_the_cross_entropy_is_named():
    s = softmax_truth()
    assert cause_of(SOFTMAX_NET, f'L = "{at(-np.log10(s["a2"][1]), 4)}"\n', "L") == "log10_in_loss"


def test_the_elementwise_softmax_derivative_is_named_and_the_report_traces_what_it_carries():
    # delta^(2) = (dL/da) a (1 - a) with dL/da = -y/a: the Jacobian's diagonal only
    s = softmax_truth()
    a = s["a2"]
    wrong = (-YS / a) * a * (1 - a)
    d2 = [at(v, 4) for v in wrong]
    dW2 = [[at(float(d) * a1, 4) for a1 in s["a1"]] for d in d2]  # carried on from the printed delta^(2)
    claims = f'delta2 = ["{d2[0]}", "{d2[1]}"]\ndW2 = [{", ".join("[" + ", ".join(map(repr, r)) + "]" for r in dW2)}]\n'
    claims = claims.replace("'", '"')
    result = judge(loads_example(SOFTMAX_NET + "[claimed]\n" + claims))
    roots = {r.name: r.root for r in result.rows if r.verdict == "wrong"}
    assert roots["delta^(2)[0]"] == "softmax_elementwise", roots
    carried = [r for r in result.wrong if r.quantity.startswith("dL/dW")]
    assert carried and all(r.root == "softmax_elementwise" and r.sources for r in carried), roots
    top = result.cause_lines()[0]
    assert top.startswith(f"{len(result.wrong)} of {len(result.wrong)} wrong values follow from softmax treated"), top
    assert "[softmax_elementwise], first at delta^(2)" in top
    assert "softmax_elementwise" in result.markdown() and top in result.terminal()
