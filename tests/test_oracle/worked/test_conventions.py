"""Worked examples in the conventions and with the intermediates published examples use:
full-precision prints, rounding beyond 28 digits, (n_in, n_out) weights, delta printed as
(t - o) sigma', losses summed over the outputs, printed terms of a sum, several steps.

Every expected number is computed here with numpy from the network's definition (or written
by hand), never read back from oracle.worked.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_worked import NETWORK as SEED_NET  # the document's 2-2-1 network

from manual_bp.errors import InputError
from oracle.cli import main
from oracle.worked import judge
from oracle.worked.format import loads_example

X, Y = np.array([0.5, 1.0]), np.array([1.0])
W1, B1 = np.array([[0.4, 0.6], [0.3, 0.5]]), np.array([0.1, 0.2])
W2, B2 = np.array([[0.7, 0.8]]), np.array([0.3])


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def seed_truth() -> dict[str, np.ndarray]:
    """The document's example in float64, written out here: Eq. 1-5 for 2-2-1, half_sse."""
    z1 = W1 @ X + B1
    a1 = sigmoid(z1)
    z2 = W2 @ a1 + B2
    a2 = sigmoid(z2)
    d2 = (a2 - Y) * a2 * (1 - a2)
    d1 = (W2.T @ d2) * a1 * (1 - a1)
    return {"z1": z1, "a1": a1, "z2": z2, "a2": a2, "delta2": d2, "delta1": d1,
            "dW2": np.outer(d2, a1), "dW1": np.outer(d1, X), "L": 0.5 * np.sum((Y - a2) ** 2)}


def verdicts(text: str) -> dict[str, str]:
    return {r.name: r.verdict for r in judge(loads_example(text)).rows}


def rows(text: str) -> dict[str, object]:
    return {r.name: r for r in judge(loads_example(text)).rows}


# ---------------------------------------------------------------------------------------------
# Full-precision prints and big roundings


def test_full_precision_print_is_correct():
    a1 = seed_truth()["a1"]
    text = SEED_NET + f'[claimed]\na1 = ["{float(a1[0])!r}", "{float(a1[1])!r}"]\n'
    assert set(verdicts(text).values()) == {"correct"}


def test_a_print_one_ulp_away_at_17_digits_is_still_correct():
    # float64 code printing repr() of its own value may differ from ours by an ulp or two
    a1 = seed_truth()["a1"]
    near = float(np.nextafter(np.nextafter(a1[0], 2), 2))
    assert verdicts(SEED_NET + f'[claimed]\na1 = ["{near!r}", "?"]\n') == {"a^(1)[0]": "correct"}


def test_a_full_precision_print_wrong_in_the_ninth_digit_is_wrong():
    a1 = seed_truth()["a1"]
    assert verdicts(SEED_NET + f'[claimed]\na1 = ["{a1[0] + 3e-9:.16f}", "?"]\n') == {"a^(1)[0]": "wrong"}


@pytest.mark.parametrize("claim", ["0.71094950262500386317002638420000", "7.1094950262500386317002638420e-1"])
def test_a_claim_with_more_than_28_digits_is_judged(claim: str):
    assert verdicts(SEED_NET + f'[claimed]\na1 = ["{claim}", "?"]\n')["a^(1)[0]"] == "correct"


def test_a_huge_value_printed_at_few_digits_is_judged_without_a_traceback():
    text = SEED_NET.replace("W1 = [[0.4, 0.6], [0.3, 0.5]]", "W1 = [[2e27, 0.6], [0.3, 0.5]]")
    assert verdicts(text + '[claimed]\nz1 = ["0.5", "?"]\n') == {"z^(1)[0]": "wrong"}
    assert verdicts(text + '[claimed]\nz1 = ["1e27", "?"]\n') == {"z^(1)[0]": "correct"}  # 1.0000..e27 at 10^27


def test_a_claim_below_float64_is_judged_and_one_beyond_it_is_one_line_exit_2(capsys, tmp_path):
    tiny = verdicts(SEED_NET + '[claimed]\nz1 = ["1e-400", "?"]\n')  # 0.9 at 400 decimals is not 1e-400
    assert tiny == {"z^(1)[0]": "wrong"}
    path = tmp_path / "huge.toml"
    path.write_text(SEED_NET + '[claimed]\nz1 = ["1e400", "?"]\n')
    with pytest.raises(InputError, match=r"claimed\.z1\[0\]"):
        loads_example(path.read_text())
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "z1[0]" in err[0]


def test_solve_at_12_digits_on_a_large_weight(tmp_path):
    path = tmp_path / "big.toml"
    path.write_text(SEED_NET.replace("W1 = [[0.4, 0.6]", "W1 = [[2e8, 0.6]") + "[claimed]\n")
    assert main(["solve", str(path), "--digits", "12", "--out", str(tmp_path / "s.md")]) == 0
    assert "100000000.700000000000" in (tmp_path / "s.md").read_text()  # z^(1)_1 = 2e8 * 0.5 + 0.6 * 1 + 0.1


# ---------------------------------------------------------------------------------------------
# Conventions


def test_in_out_layout_reads_weights_and_claims_transposed():
    t = seed_truth()
    in_out = SEED_NET.replace("[network]", '[network]\nlayout = "in_out"').replace(
        "W1 = [[0.4, 0.6], [0.3, 0.5]]", "W1 = [[0.4, 0.3], [0.6, 0.5]]").replace("W2 = [[0.7, 0.8]]",
                                                                                  "W2 = [[0.7], [0.8]]")
    dW1 = t["dW1"].T  # (n_in, n_out), as the file writes it
    claims = "[claimed]\ndW1 = [" + ", ".join("[" + ", ".join(f'"{v:.6f}"' for v in row) + "]" for row in dW1) + "]\n"
    result = rows(in_out + claims)
    assert {k: r.verdict for k, r in result.items()} == {f"dL/dW^(1)[{i},{j}]": "correct" for i in range(2)
                                                         for j in range(2)}
    assert result["dL/dW^(1)[1,0]"].exact == pytest.approx(t["dW1"][0, 1], rel=1e-15)  # row = input unit


def test_target_minus_output_delta_and_update():
    # Mitchell's convention: delta = (t - o) o (1 - o) = -dL/dz, update W + eta delta a
    t = seed_truth()
    file = SEED_NET.replace("[network]", '[network]\ndelta_sign = "target_minus_output"')
    d2, d1 = -t["delta2"], -t["delta1"]
    text = file + f'[claimed]\ndelta2 = ["{d2[0]:.4f}"]\ndelta1 = ["{d1[0]:.5f}", "{d1[1]:.5f}"]\n' \
        f'W2_new = [["{0.7 + 0.5 * d2[0] * t["a1"][0]:.4f}", "?"]]\n'
    assert set(verdicts(text).values()) == {"correct"}
    assert d2[0] > 0  # printed positive: the document's -0.033 with the other sign
    wrong_sign = file + f'[claimed]\ndelta2 = ["{-d2[0]:.4f}"]\n'
    row = rows(wrong_sign)["delta^(2)"]
    assert row.verdict == "wrong" and row.root == "sign_flipped", row.explanation


def test_bce_summed_over_outputs():
    net = SEED_NET.replace('loss = "half_sse"', 'loss = "bce"\noutput_reduction = "sum"').replace(
        "W2 = [[0.7, 0.8]]", "W2 = [[0.7, 0.8], [0.2, -0.4]]").replace("b2 = [0.3]", "b2 = [0.3, 0.1]").replace(
        "y = [1.0]", "y = [1.0, 0.0]")
    a1 = sigmoid(W1 @ X + B1)
    a2 = sigmoid(np.array([[0.7, 0.8], [0.2, -0.4]]) @ a1 + np.array([0.3, 0.1]))
    y = np.array([1.0, 0.0])
    loss = -np.sum(y * np.log(a2) + (1 - y) * np.log(1 - a2))  # summed over the two outputs
    delta2 = a2 - y  # sigmoid + bce summed: no 1/n_L
    text = net + f'[claimed]\nL = "{loss:.5f}"\ndelta2 = ["{delta2[0]:.5f}", "{delta2[1]:.5f}"]\n'
    assert set(verdicts(text).values()) == {"correct"}
    mean = net.replace('output_reduction = "sum"', "")
    assert verdicts(mean + f'[claimed]\nL = "{loss:.5f}"\n') == {"L": "wrong"}


# ---------------------------------------------------------------------------------------------
# Intermediates


def test_a_sum_of_printed_rounded_terms_carries_their_rounding():
    # z^(1)_1 = 0.127*0.5 + 0.0135*1.0 + 0.1 = 0.0635 + 0.0135 + 0.1 = 0.177 (0.18 at 2 decimals);
    # an author rounding each product first writes 0.06 + 0.01 + 0.1 = 0.17
    text = SEED_NET.replace("W1 = [[0.4, 0.6]", "W1 = [[0.127, 0.0135]")
    claims = '[claimed]\nz1_terms = [["0.06", "0.01", "0.1"], ["?", "?", "?"]]\nz1 = ["0.17", "?"]\n'
    assert verdicts(text + claims) == {"z^(1) terms[0,0]": "correct", "z^(1) terms[0,1]": "correct",
                                       "z^(1) terms[0,2]": "correct", "z^(1)[0]": "rounding carried"}
    assert verdicts(text + '[claimed]\nz1 = ["0.17", "?"]\n') == {"z^(1)[0]": "wrong"}  # no terms printed


def test_softmax_exponentials_and_their_sum():
    net = SEED_NET.replace('activations = ["sigmoid", "sigmoid"]', 'activations = ["sigmoid", "softmax"]').replace(
        'loss = "half_sse"', 'loss = "cross_entropy"').replace("W2 = [[0.7, 0.8]]", "W2 = [[0.7, 0.8], [0.2, -0.4]]"
                                                              ).replace("b2 = [0.3]", "b2 = [0.3, 0.1]").replace(
        "y = [1.0]", "y = [1.0, 0.0]")
    z2 = np.array([[0.7, 0.8], [0.2, -0.4]]) @ sigmoid(W1 @ X + B1) + np.array([0.3, 0.1])
    e = np.exp(z2)
    claims = (f'[claimed]\nexp_z2 = ["{e[0]:.4f}", "{e[1]:.4f}"]\nsum_exp_z2 = "{e.sum():.4f}"\n'
              f'a2 = ["{e[0] / e.sum():.4f}", "{e[1] / e.sum():.4f}"]\n')
    assert set(verdicts(net + claims).values()) <= {"correct", "rounding carried"}
    ratio = sigmoid(z2) / sigmoid(z2).sum()  # "softmax" as a / sum(a) of the sigmoids: a published mistake
    row = rows(net + f'[claimed]\na2 = ["{ratio[0]:.4f}", "?"]\n')["a^(2)[0]"]
    assert row.verdict == "wrong"


# ---------------------------------------------------------------------------------------------
# Several steps


def _train(steps: int, per_example: bool = False) -> list[tuple[np.ndarray, ...]]:
    """Plain SGD on the 2-2-1 network, half_sse, lr 0.5, written out here."""
    W1_, B1_, W2_, B2_ = W1.copy(), B1.copy(), W2.copy(), B2.copy()
    out = []
    for _ in range(steps):
        a1 = sigmoid(W1_ @ X + B1_)
        a2 = sigmoid(W2_ @ a1 + B2_)
        d2 = (a2 - Y) * a2 * (1 - a2)
        d1 = (W2_.T @ d2) * a1 * (1 - a1)
        W2_, B2_, W1_, B1_ = W2_ - 0.5 * np.outer(d2, a1), B2_ - 0.5 * d2, W1_ - 0.5 * np.outer(d1, X), B1_ - 0.5 * d1
        out.append((W1_.copy(), B1_.copy(), W2_.copy(), B2_.copy()))
    return out


def test_claims_after_several_steps_are_judged_against_the_trajectory():
    after = _train(3)
    W1_3, _, W2_3, B2_3 = after[2]
    a2 = sigmoid(W2_3 @ sigmoid(W1_3 @ X + after[2][1]) + B2_3)
    text = SEED_NET + ("[claimed]\n[[step]]\nstep = 3\n"
                       f'W2 = [["{W2_3[0, 0]:.5f}", "{W2_3[0, 1]:.5f}"]]\nb2 = ["{B2_3[0]:.5f}"]\n'
                       f'a2 = ["{a2[0]:.5f}"]\nL = "{0.5 * (1 - a2[0]) ** 2:.6f}"\n')
    v = verdicts(text)
    assert len(v) == 5 and set(v.values()) == {"correct"}, v
    one_step_late = _train(2)[1][2]  # W^(2) after 2 steps printed as after 3
    text2 = SEED_NET + f'[claimed]\n[[step]]\nstep = 3\nW2 = [["{one_step_late[0, 0]:.5f}", "?"]]\n'
    assert list(verdicts(text2).values()) == ["wrong"]


def test_in_out_explanations_name_elements_as_the_file_writes_them():
    # The dlbook notebook's transcription (x W layout): its W'^(1)[0,1] = 0.1999 comes from the
    # file's dW1[0][1] = 0.0004 (dW1[1][0] is 0.0079), and the explanation must say [0,1].
    from pathlib import Path

    from oracle.worked import judge_file

    path = Path(__file__).parents[1] / "extract" / "documents" / "dlbook-numerical-example.expected.toml"
    (row,) = [r for r in judge_file(path).rows if r.key == "W1_new" and r.element == "[0,1]"]
    assert row.claimed == "0.1999" and row.verdict == "wrong"
    assert "from the printed dL/dW^(1)[0,1] = 0.0004" in row.explanation
