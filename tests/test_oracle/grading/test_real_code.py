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
    # style 2: Skalski's numpy net, the deeplearning.ai API: full_forward_propagation /
    # full_backward_propagation, dicts W1/b1 -> dW1/db1, columns, b (n, 1), relu or sigmoid hidden
    # layers, a sigmoid output, bce with the 1/m inside dW and db; several outputs are a sum of
    # per-unit bce terms (its cost takes one output unit; the backward pass sums them)
    "skalski": ("skalski_numpy_nn.py", A.skalski_backprop,
                dict(activations=["relu", "sigmoid"], output="sigmoid", losses=["bce"], output_reduction="sum",
                     bias_shape="column")),
    # style 3: Saitoh's MultiLayerNet (Deep Learning from Scratch), CS231n style: rows, W (D, H),
    # b (H,), softmax cross-entropy mean over N, weight decay 0.5 lambda sum W^2 -> lambda W;
    # its two label code paths (class indices with relu, one-hot with sigmoid hidden layers)
    "saitoh": ("saitoh_multi_layer_net.py", A.saitoh_backprop,
               dict(hidden="relu", output="softmax", losses=["cross_entropy"], labels="indices", layout="rows",
                    l2=0.1)),
    "saitoh-onehot-sigmoid": ("saitoh_multi_layer_net.py", A.saitoh_backprop,
                              dict(hidden="sigmoid", output="softmax", losses=["cross_entropy"], layout="rows",
                                   l2=0.1)),
    # style 4: Linder-Norén's ML-From-Scratch, a class per layer: rows, W (n_in, n_out), w0 (1, n_out),
    # Dense.backward_pass takes the SGD step itself, along the gradient of the elementwise loss summed
    # over the batch and the outputs (SquareLoss = half_sse, CrossEntropy = bce summed over outputs)
    "lindernoren-step": ("lindernoren_dense.py", A.lindernoren_step,
                         dict(activations=["sigmoid", "tanh", "relu", "identity", "softplus"],
                              losses=["half_sse", "bce"], reduction="sum", output_reduction="sum", layout="rows",
                              bias_shape="row", step=0.5)),
}

# (style, old line, new line, what must be said: a mistake's name, or words of findings (one or more))
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
    "skalski: the 1/m of dW and db also put on the gradient passed down": (
        "skalski", "    dA_prev = np.dot(W_curr.T, dZ_curr)\n", "    dA_prev = np.dot(W_curr.T, dZ_curr) / m\n",
        "located", "dL/dW and dL/db right in the layer after it; dL/dW and dL/db wrong first in layer L-1: the "
        "error enters at Eq. 2 for that layer"),
    "skalski: the activation cached under the pre-activation's name": (
        "skalski", '        memory["Z" + str(layer_idx)] = Z_curr', '        memory["Z" + str(layer_idx)] = A_curr',
        "named", "sigma_prime_at_a"),
    "skalski: db without the 1/m of dW": (
        "skalski", "    db_curr = np.sum(dZ_curr, axis=1, keepdims=True) / m",
        "    db_curr = np.sum(dZ_curr, axis=1, keepdims=True)", "located",
        ("dL/db wrong first in the output layer L: the error enters at Eq. 4 or Eq. 5 for the bias",
         "all of them dL/db) matches 'mean_forgotten'")),
    "saitoh: d/dW of 0.5 lambda W^2 taken as 2 lambda W": (
        "saitoh", "].dW + self.weight_decay_lambda * self.layers['Affine'",
        "].dW + 2 * self.weight_decay_lambda * self.layers['Affine'", "named", "l2_doubled"),
    "saitoh: the index-label branch of SoftmaxWithLoss.backward loses its / batch_size": (
        "saitoh", "            dx[np.arange(batch_size), self.t] -= 1\n            dx = dx / batch_size\n",
        "            dx[np.arange(batch_size), self.t] -= 1\n", "named", "mean_forgotten"),
    "saitoh: the weight-decay term copied onto the biases": (
        "saitoh", "            grads['b' + str(idx)] = self.layers['Affine' + str(idx)].db\n",
        "            grads['b' + str(idx)] = self.layers['Affine' + str(idx)].db + self.weight_decay_lambda * "
        "self.layers['Affine' + str(idx)].b\n", "named", "l2_on_biases"),
    "lindernoren: the gradient passed down through the already-updated W": (
        "lindernoren-step", "        accum_grad = accum_grad.dot(W.T)", "        accum_grad = accum_grad.dot(self.W.T)",
        "named", "in_place_update"),
    "lindernoren: the bias gradient averaged over the batch, the weights' summed": (
        "lindernoren-step", "            grad_w0 = np.sum(accum_grad, axis=0, keepdims=True)",
        "            grad_w0 = np.mean(accum_grad, axis=0, keepdims=True)", "located",
        ("b' wrong first in the output layer L: the error enters at Eq. 4 or Eq. 5 for the bias",
         "all of them b') matches 'sum_averaged'")),
    "lindernoren: tanh' written as 1 - a^2 but given z": (
        "lindernoren-step", "        return 1 - np.power(self.__call__(x), 2)", "        return 1 - np.power(x, 2)",
        "named", "sigma_prime_formula_at_z@tanh"),
}


def _grade(style: str, path: Path | None = None):
    name, adapter, options = STYLES[style]
    module = A.load(path or A.FIXTURES / name)
    return grade(adapter(module), **options)


@pytest.mark.parametrize("style", sorted(STYLES))
def test_correct_public_code_passes(style):
    result = _grade(style)
    assert result.passed, result.report()


def _bug_params() -> list:
    """Every planted bug; the first of each code base in the default suite, the rest with -m slow
    (each grading takes 1.5-2.5 s on 2 cores, and the suite has a two-minute budget)."""
    seen: set[str] = set()
    params = []
    for bug in sorted(BUGS):
        style = BUGS[bug][0].split("-")[0]
        params.append(pytest.param(bug, marks=() if style not in seen else pytest.mark.slow))
        seen.add(style)
    return params


@pytest.mark.parametrize("bug", _bug_params())
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
        for words in (what,) if isinstance(what, str) else what:
            assert any(words in f for f in result.findings), result.report()


def test_upstream_softmax_gradient_is_named():
    """ML-From-Scratch's Softmax.gradient is the Jacobian's diagonal p(1 - p) (upstream issue #71,
    PR #125): with its SquareLoss the step is wrong, and the grade names the mistake."""
    name, adapter, options = STYLES["lindernoren-step"]
    options = dict(options, activations=[*options["activations"], "softmax"], losses=["half_sse"])
    result = grade(adapter(A.load(A.FIXTURES / name)), **options)
    assert not result.passed
    assert [n for n, _, _ in result.diagnosis] == ["softmax_elementwise"], result.report()
