"""The catalogue of classic mistakes: every one is caught by the project's own check, the
correct implementation passes the same battery, each mistake is the mistake its description
names, and reports/mutation_score.md is what `manual-bp mutants` writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from manual_bp.network import Network
from oracle.cases import Case, document_case
from oracle.cli import main
from oracle.cli.mutants_cmd import DEFAULT_RANDOM_CASES
from oracle.mistakes import CORRECT, MISTAKES, NotApplicableError
from oracle.mistakes.score import CSV_NAME, MD_NAME, RANDOM_CASES, mutation_score, score_csv, score_markdown
from oracle.references.autograd import torch_properties

REPORTS = Path(__file__).resolve().parents[3] / "reports"

# The list of mistakes the catalogue must hold (by what they do; names are ours).
REQUIRED = {
    "sigma_prime_forgotten_output", "sigma_prime_forgotten_hidden", "sigma_prime_at_a", "wrong_layer_weights",
    "transpose_missing", "sign_flipped", "output_gradients_never_computed", "own_activation_in_eq3",
    "bias_gradient_not_summed", "mean_applied_twice", "mean_forgotten", "power_rule_two_dropped",
    "in_place_update", "update_added", "softmax_elementwise",
}

# float64: two evaluations of the same formula in different orders agree to a few ulp of the
# values' magnitude (~1e-16 here, values are O(0.01 .. 1)); 1e-12 is that with room, and a
# wrong formula is off by >= 1e-4 on these cases.
SAME = dict(rtol=1e-12, atol=1e-14)


@pytest.fixture(scope="module")
def score():
    return mutation_score()


def test_catalogue_holds_the_required_mistakes():
    assert len(MISTAKES) >= 14
    assert REQUIRED <= set(MISTAKES)
    for name, m in MISTAKES.items():
        assert m.name == name
        # the document's five equations, or the pseudocode's two other steps
        assert m.equation in {"Eq. 1", "Eq. 2", "Eq. 3", "Eq. 4", "Eq. 5", "forward pass", "loss"}
        assert m.description and "\n" not in m.description


def test_every_mistake_is_caught(score):
    print("\n" + score.summary())
    missed = [r.name for r in score.results if not r.caught]
    assert missed == [], f"not caught by the battery: {missed}"
    assert score.caught == score.total == len(MISTAKES)


def test_correct_implementation_passes_the_same_battery(score):
    assert score.baseline_failures == [], score.baseline_failures[0].message()


def test_shape_dependent_mistakes_run_on_square_cases_only(score):
    by_name = {r.name: r for r in score.results}
    for name in ("wrong_layer_weights", "transpose_missing", "own_activation_in_eq3", "weight_gradient_transposed"):
        with pytest.raises(NotApplicableError):
            MISTAKES[name].run(document_case())  # 2-2-1: no square layer pair
        assert by_name[name].cases_run >= 2 and by_name[name].cases_caught >= 2


def _reference(case: Case) -> dict:
    return torch_properties(case.net, case.x, case.y, case.loss, case.reduction, case.lr, case.update_biases)


def _batch_case(loss: str = "half_sse", reduction: str = "mean", m: int = 3) -> Case:
    rng = np.random.default_rng(5)
    net = Network.random([3, 4, 2], ["tanh", "sigmoid"], seed=5)
    return Case("batch", net, rng.normal(size=(3, m)), rng.normal(size=(2, m)), loss, reduction, lr=0.1)


def test_scaling_mistakes_scale_torch_gradients_as_described():
    """Independent of the catalogue's code: each scaling mistake is torch's gradient times a factor."""
    m = 3
    case = _batch_case(m=m)
    ref = _reference(case)
    factors = {"mean_forgotten": m, "mean_applied_twice": 1 / m, "power_rule_two_dropped": 0.5, "sign_flipped": -1}
    for name, factor in factors.items():
        props = MISTAKES[name].run(case)
        for l in (1, 2):
            np.testing.assert_allclose(props["dW"][l], factor * ref["dW"][l], **SAME, err_msg=name)
            np.testing.assert_allclose(props["db"][l], factor * ref["db"][l], **SAME, err_msg=name)
    summed = _batch_case(reduction="sum", m=m)
    props = MISTAKES["sum_averaged"].run(summed)
    np.testing.assert_allclose(props["dW"][1], _reference(summed)["dW"][1] / m, **SAME)


def test_update_mistakes_as_described():
    case = document_case()
    ref = _reference(case)
    added = MISTAKES["update_added"].run(case)
    never = MISTAKES["output_gradients_never_computed"].run(case)
    frozen = MISTAKES["bias_not_updated"].run(case)
    for l in (1, 2):
        np.testing.assert_allclose(added["W_new"][l], case.net.W[l] + case.lr * ref["dW"][l], **SAME)
        np.testing.assert_array_equal(frozen["b_new"][l], case.net.b[l])
    np.testing.assert_array_equal(never["dW"][2], np.zeros((1, 2)))
    np.testing.assert_array_equal(never["W_new"][2], case.net.W[2])  # the pseudocode leaves W^(2) as it was
    np.testing.assert_allclose(never["dW"][1], ref["dW"][1], **SAME)


def test_sigma_prime_at_a_on_the_document_example_by_hand():
    """delta^(2) = (a - y) s(a)(1 - s(a)) with s the sigmoid and a = y_hat = 0.7955..., by scalar math."""
    case = document_case()
    a2 = float(_reference(case)["a"][2][0])
    s = 1.0 / (1.0 + np.exp(-a2))
    props = MISTAKES["sigma_prime_at_a"].run(case)
    assert props["delta"][2][0] == pytest.approx((a2 - 1.0) * s * (1.0 - s), rel=1e-12)  # float64 rounding


def test_bias_gradient_not_summed_only_shows_with_a_batch():
    single = _batch_case(m=1)
    np.testing.assert_allclose(MISTAKES["bias_gradient_not_summed"].run(single)["db"][1],
                               _reference(single)["db"][1], **SAME)
    batch = _batch_case(m=3)
    assert not np.allclose(MISTAKES["bias_gradient_not_summed"].run(batch)["db"][1], _reference(batch)["db"][1])


def test_in_place_update_uses_the_updated_weights():
    case = document_case()
    ref = _reference(case)
    props = MISTAKES["in_place_update"].run(case)
    W2_new = case.net.W[2] - case.lr * ref["dW"][2]
    np.testing.assert_allclose(props["dL_da"][1], W2_new.T @ ref["delta"][2], **SAME)


def test_correct_baseline_equals_torch_on_every_property():
    case = _batch_case()
    ref = _reference(case)
    props = CORRECT.run(case)
    for key in ("dW", "db", "W_new", "b_new", "delta"):
        for l in (1, 2):
            np.testing.assert_allclose(props[key][l], ref[key][l], **SAME, err_msg=f"{key}{l}")


def test_committed_report_is_what_the_command_writes(score):
    md = (REPORTS / MD_NAME).read_text(encoding="utf-8")
    assert md == score_markdown(score, RANDOM_CASES), "reports/mutation_score.md is stale: run `manual-bp mutants`"
    csv = (REPORTS / CSV_NAME).read_text(encoding="utf-8")
    assert csv == score_csv(score)


def test_command_default_is_the_batterys():
    # `manual-bp mutants` keeps its default beside the parser so --help needs no torch import.
    assert DEFAULT_RANDOM_CASES == RANDOM_CASES


def test_mutants_command_writes_both_files(tmp_path, capsys):
    assert main(["mutants", "--out", str(tmp_path), "--random-cases", "2"]) == 0
    out = capsys.readouterr().out
    assert f"{len(MISTAKES)}/{len(MISTAKES)} catalogued mistakes caught" in out
    assert (tmp_path / MD_NAME).exists()
    assert (tmp_path / CSV_NAME).read_text().count("\n") == len(MISTAKES) + 1
