"""Public backprop code as people really write it (fixtures/, each file with its provenance):
each correct one passes through an adapter that only renames arguments, and three realistic
bugs per style, planted in that code's own style, are each caught, at least two of three named
or located to the right equation and layer.

A bug is one line of the fixture changed (old -> new), written to a temporary copy and imported
from there: the fixture files themselves stay as published."""

from __future__ import annotations

from pathlib import Path

import adapters as A
import pytest

from oracle.grading import grade

STYLES = {
    # style 1: Nielsen's network.py backprop(x, y) for one example; its update_mini_batch for the step
    "nielsen": ("nielsen_network.py", A.nielsen_backprop,
                dict(activations=["sigmoid"], losses=["half_sse"], bias_shape="column", batch=(1, 1))),
    "nielsen-step": ("nielsen_network.py", A.nielsen_step,
                     dict(activations=["sigmoid"], losses=["half_sse"], bias_shape="column", step=0.5)),
    # style 5: network2.py, per-example gradients summed in a loop, cross-entropy summed over the
    # outputs, L2 weight decay lmbda / n (n = 1 here)
    "nielsen2-step": ("nielsen_network2.py", A.nielsen2_step,
                      dict(activations=["sigmoid"], losses=["bce"], output_reduction="sum", bias_shape="column",
                           step=0.5, l2=0.1)),
}

# (style, old line, new line, what must be said: a mistake's name, or words of a finding)
BUGS = {
    "nielsen: sigma' at a in the hidden loop": (
        "nielsen", "            sp = sigmoid_prime(z)", "            sp = sigmoid_prime(activations[-l])",
        "named", "sigma_prime_at_a@hidden"),
    "nielsen: sigma' dropped from the output delta": (
        "nielsen", "        delta = self.cost_derivative(activations[-1], y) * \\\n            sigmoid_prime(zs[-1])",
        "        delta = self.cost_derivative(activations[-1], y)", "named", "sigma_prime_forgotten_output"),
    "nielsen: the bias update steps along the batch's sum": (
        "nielsen-step", "        self.biases = [b-(eta/len(mini_batch))*nb", "        self.biases = [b-eta*nb",
        "located", "b' wrong first in the output layer L: the error enters at Eq. 4 or Eq. 5 for the bias"),
    "network2: weight decay over the batch size, not n": (
        "nielsen2-step", "        self.weights = [(1-eta*(lmbda/n))*w-(eta/len(mini_batch))*nw",
        "        self.weights = [(1-eta*(lmbda/len(mini_batch)))*w-(eta/len(mini_batch))*nw", "named", "l2_per_batch"),
    "network2: dW divided by the batch size in the loop and again in the update": (
        "nielsen2-step", "            nabla_w = [nw+dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]",
        "            nabla_w = [nw+dnw/len(mini_batch) for nw, dnw in zip(nabla_w, delta_nabla_w)]",
        "located", "matches 'mean_applied_twice'"),
    "network2: the quadratic cost's delta with the cross-entropy cost": (
        "nielsen2-step", "        return (a-y)\n", "        return (a-y) * sigmoid_prime(z)\n", "named",
        "gradient_of_half_sse"),
}


def _grade(style: str, path: Path | None = None):
    name, adapter, options = STYLES[style]
    module = A.load(path or A.FIXTURES / name)
    return grade(adapter(module), **options)


@pytest.mark.parametrize("style", sorted(STYLES))
def test_correct_public_code_passes(style):
    result = _grade(style)
    assert result.passed, result.report()


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_planted_bug_is_caught_and_named_or_located(bug, tmp_path):
    style, old, new, how, what = BUGS[bug]
    source = (A.FIXTURES / STYLES[style][0]).read_text()
    assert source.count(old) == 1, f"the fixture changed: {old!r}"
    path = tmp_path / STYLES[style][0]
    path.write_text(source.replace(old, new))
    result = _grade(style, path)
    assert not result.passed
    if how == "named":
        assert what in [n for n, _, _ in result.diagnosis], result.report()
    else:
        assert any(what in f for f in result.findings), result.report()
