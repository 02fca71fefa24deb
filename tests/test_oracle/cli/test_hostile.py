"""Hostile input, one test per class: every bad input gets one clear InputError (exit code 2 on
the command line) naming the thing, never a traceback, a silent inf/NaN or a wrong answer."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from manual_bp import InputError, Network, backward, forward, sgd_step, train
from oracle.cases import SweepSpec
from oracle.cli import main
from oracle.grading import grade
from oracle.training.torch_step import check_torch_step


def _net(**kw):
    return Network([[[0.4, 0.6], [0.3, 0.5]], [[0.7, 0.8]]], [[0.1, 0.2], [0.3]], **kw)


def test_shapes_that_do_not_chain():
    with pytest.raises(InputError, match=r"W\^\(2\): expected 2 columns"):
        Network([[[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0, 3.0]]])
    with pytest.raises(InputError, match=r"b\^\(1\): expected shape \(2,\)"):
        Network([[[1.0, 2.0], [3.0, 4.0]]], [[1.0, 2.0, 3.0]])
    with pytest.raises(InputError, match="x: expected 2 rows"):
        forward(_net(), [1.0, 2.0, 3.0])
    with pytest.raises(InputError, match=r"y: expected shape \(1, 3\)"):
        backward(_net(), forward(_net(), np.ones((2, 3))), np.ones((2, 3)))
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(5, 2)).double()  # torch's own layers do not chain
    with pytest.raises(InputError, match=r"W\^\(2\)"):
        check_torch_step(model, torch.ones(2, 3).double(), torch.ones(2, 2).double(), nn.MSELoss(),
                         torch.optim.SGD(model.parameters(), lr=0.1))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_or_inf_in_weights_inputs_or_targets(bad):
    with pytest.raises(InputError, match=r"W\^\(1\): expected finite values"):
        Network([[[0.4, bad]]])
    with pytest.raises(InputError, match=r"b\^\(2\): expected finite values"):
        Network([[[0.4, 0.6], [0.3, 0.5]], [[0.7, 0.8]]], [[0.1, 0.2], [bad]])
    with pytest.raises(InputError, match="x: expected finite values"):
        forward(_net(), [bad, 1.0])
    with pytest.raises(InputError, match="y: expected finite values"):
        backward(_net(), forward(_net(), [0.5, 1.0]), [bad])
    model = nn.Sequential(nn.Linear(2, 1)).double()
    before = model[0].weight.detach().clone()
    with pytest.raises(InputError, match="x: expected finite values"):  # refused before torch takes the step
        check_torch_step(model, torch.tensor([[bad, 1.0]]).double(), torch.ones(1, 1).double(), nn.MSELoss(),
                         torch.optim.SGD(model.parameters(), lr=0.1))
    assert torch.equal(before, model[0].weight)


def test_empty_layers_and_empty_batches():
    with pytest.raises(InputError, match="at least one unit"):
        Network([np.zeros((0, 2))])
    with pytest.raises(InputError, match="at least one layer"):
        Network([])
    with pytest.raises(InputError, match=r"sizes\[1\]: expected a positive integer"):
        Network.random([2, 0, 1])
    with pytest.raises(InputError, match="at least one example"):
        forward(_net(), np.zeros((2, 0)))


def test_unknown_activation_or_loss_names():
    with pytest.raises(InputError, match="unknown activation 'swish'"):
        Network([[[1.0]]], None, "swish")
    with pytest.raises(InputError, match="unknown loss 'hinge'"):
        backward(_net(), forward(_net(), [0.5, 1.0]), [1.0], loss="hinge")
    with pytest.raises(InputError, match="reduction: expected one of mean, sum"):
        backward(_net(), forward(_net(), [0.5, 1.0]), [1.0], reduction="max")
    with pytest.raises(InputError, match="unknown activation"):
        SweepSpec(activations=("relu6",)).validate()
    with pytest.raises(InputError, match="losses: unknown name 'hinge'"):
        grade(lambda *a: None, losses=["hinge"])


def test_bce_targets_outside_0_1():
    net = Network([[[1.0, -1.0]]], None, "sigmoid")
    for y in (1.5, -0.1):
        with pytest.raises(InputError, match=r"bce targets must lie in \[0, 1\]"):
            backward(net, forward(net, [0.5, 1.0]), [y], loss="bce")


def test_class_indices_out_of_range():
    net = Network([[[1.0], [2.0], [0.5]]], None, "softmax")
    cache = forward(net, np.ones((1, 2)))
    for labels in ([0, 3], [-1, 0]):
        with pytest.raises(InputError, match=r"class index out of range 0..2"):
            backward(net, cache, np.array(labels), loss="cross_entropy")
    with pytest.raises(InputError, match=r"class indices must have shape \(2,\)"):
        backward(net, cache, np.array([0, 1, 2]), loss="cross_entropy")


@pytest.mark.parametrize("lr", [0, -0.5, math.nan, math.inf, "fast", None, True, [0.1]])
def test_learning_rate_not_a_positive_finite_number(lr):
    net = _net()
    grads = backward(net, forward(net, [0.5, 1.0]), [1.0])
    with pytest.raises(InputError, match="lr: expected a positive finite number"):
        sgd_step(net, grads, lr)
    with pytest.raises(InputError, match="lr: expected a positive finite number"):
        train(net, [0.5, 1.0], [1.0], lr, steps=1)


def test_huge_z_is_a_clear_error_not_silent_inf():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning on the way to the error either
        with pytest.raises(InputError, match=r"z\^\(1\) overflowed"):
            forward(Network([[[1e200, 1e200]]]), [1e200, 1.0])
        big = Network([[[1e200]]], None, "identity")  # z = 1e200 is finite, L = 1/2 z^2 is not
        with pytest.raises(InputError, match="the loss L overflowed"):
            backward(big, forward(big, [1.0]), [0.0])
        saturated = Network([[[1e200]], [[1.0]]], None, ["tanh", "identity"])  # finite all the way: fine
        grads = backward(saturated, forward(saturated, [1.0]), [0.0])
        assert np.isfinite(grads.loss) and all(np.isfinite(g).all() for g in grads.dW.values())


@pytest.mark.parametrize("argv", [
    ["mutants", "--random-cases", "-1"],
    ["mutants", "--random-cases", "many"],
    ["mutants", "--out", __file__],
    ["grade"],
    ["grade", "oracle.grading:grade", "--networks", "x"],
    ["grade", "oracle.grading:no_such_function"],
    ["grade", "not a target"],
    ["grade", "oracle.grading:grade", "--activations", ""],
    ["grade", "oracle.grading:grade", "--activations", "relu", "--losses", "bce"],
    ["no-such-command"],
])
def test_cli_options_exit_2_with_one_line(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err


def _user(result):
    """A user function that returns ``result(weights, biases)``."""
    return lambda weights, biases, activations, loss, x, y: result(weights, biases)


def _zeros(weights, biases):
    return [np.zeros_like(w) for w in weights], [np.zeros_like(b) for b in biases]


def _nan_in_db2(weights, biases):
    dW, db = _zeros(weights, biases)
    db[-1][0] = np.nan
    return dW, db


def _raise(weights, biases):
    return 1 / 0


def _exit(weights, biases):
    raise SystemExit(3)


@pytest.mark.parametrize(("func", "message"), [
    (_user(_raise), "raised ZeroDivisionError: division by zero at "),
    (_user(_exit), "called sys.exit(3) instead of returning"),
    (_user(lambda w, b: None), "returned NoneType; expected a pair (dW, db)"),
    (_user(lambda w, b: (1, 2, 3)), "returned a tuple of length 3"),
    (_user(lambda w, b: (_zeros(w, b)[0][:-1], _zeros(w, b)[1])), "dW: expected a list of L = 2 arrays"),
    (_user(lambda w, b: ({1: 0}, _zeros(w, b)[1])), "dW: expected a list of L = 2 arrays"),
    (_user(lambda w, b: ([x.T for x in _zeros(w, b)[0]], _zeros(w, b)[1])),
     "dL/dW^(2): expected shape (1, 2), got shape (2, 1)"),
    (_user(lambda w, b: (_zeros(w, b)[0], [x[:, None] for x in _zeros(w, b)[1]])), "dL/db^(1): expected shape (2,)"),
    (_user(lambda w, b: (_zeros(w, b)[0], ["a", "b"])), "dL/db^(1): expected an array of numbers, got the string 'a'"),
    (_user(_nan_in_db2), "dL/db^(2): expected finite values, got nan at index [0]"),
])
def test_misbehaving_user_functions_are_reported_per_case(func, message):
    result = grade(func, ["sigmoid"], ["half_sse"], networks=0)
    assert not result.passed
    first = result.problems[0]
    assert first.case == "document-2-2-1" and "sizes 2-2-1" in first.about
    assert message in first.message, first.message
    assert "Traceback" not in result.report() and "document-2-2-1" in result.report()
