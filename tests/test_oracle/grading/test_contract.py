"""The declarable contract: layouts, bias shapes, dicts, the batch reduction, float32, L2 and the
update step; a diagnosis that locates the error; a grader that survives anything the function
does; JSON; and assert_backprop_correct in someone's pytest.

The functions graded here are written for these tests in plain numpy (row-major code written
row-major, not a transposed copy of column code), independent of manual_bp."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from oracle.grading import grade
from oracle.testing import assert_backprop_correct

ROOT = Path(__file__).resolve().parents[3]
FAST = dict(networks=4)  # on top of the document's example and the square networks


def _act(name, z):
    if name == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-z))
        return s, s * (1.0 - s)
    if name == "relu":
        return np.maximum(z, 0.0), (z > 0).astype(z.dtype)
    t = np.tanh(z)
    return t, 1.0 - t * t


def columns_bp(weights, biases, activations, loss, x, y, *, l2=0.0, bug=None, reduce="mean", dtype=None):
    """Examples as columns, W (n_out, n_in), b (n,); half_sse or mse averaged over outputs."""
    if dtype is not None:
        weights, biases, x, y = ([w.astype(dtype) for w in weights], [b.astype(dtype) for b in biases],
                                 x.astype(dtype), y.astype(dtype))
    m = x.shape[1]
    a, d = [x], []
    for W, b, f in zip(weights, biases, activations, strict=True):
        out, der = _act(f, W @ a[-1] + b.reshape(-1, 1))
        if bug == "sigma_at_a" or (bug == "sigma_at_a_hidden" and len(a) < len(weights)):
            der = _act(f, out)[1]
        a.append(out)
        d.append(der)
    g = (a[-1] - y) if loss == "half_sse" else 2.0 * (a[-1] - y) / y.shape[0]
    g = g / m if reduce == "mean" else g
    dW, db = [None] * len(weights), [None] * len(weights)
    delta = g * d[-1]
    for l in range(len(weights) - 1, -1, -1):
        dW[l] = delta @ a[l].T + (2 if bug == "l2_doubled" else 1) * l2 * weights[l]
        db[l] = delta.sum(axis=1).reshape(biases[l].shape) + (l2 * biases[l] if bug == "l2_on_biases" else 0)
        if l:
            delta = (weights[l].T @ delta) * d[l - 1]
    return dW, db


def rows_bp(weights, biases, activations, loss, x, y):
    """Row-major code as it is written: x (m, n_in), W (n_in, n_out), b (n_out,), h = x W + b."""
    m = x.shape[0]
    hs, ds = [x], []
    for W, b, f in zip(weights, biases, activations, strict=True):
        out, der = _act(f, hs[-1] @ W + b)
        hs.append(out)
        ds.append(der)
    grad = (hs[-1] - y) / m
    dW, db = [None] * len(weights), [None] * len(weights)
    for l in range(len(weights) - 1, -1, -1):
        grad = grad * ds[l]
        dW[l] = hs[l].T @ grad
        db[l] = grad.sum(axis=0)
        grad = grad @ weights[l].T
    return dW, db


SIG = dict(activations=["sigmoid", "tanh"], losses=["half_sse", "mse"], **FAST)


def test_row_major_code_passes_with_layout_rows_and_gets_a_hint_without():
    opts = dict(activations=["sigmoid"], losses=["half_sse"], **FAST)
    assert grade(rows_bp, layout="rows", **opts).passed
    wrong = grade(rows_bp, **opts)
    assert not wrong.passed
    assert wrong.problems and all("is the function written for another --layout (now columns)" in p.message
                                  for p in wrong.problems), wrong.report()
    assert len(wrong.problem_groups()) == 1  # the same ValueError on every case: one problem, counted


@pytest.mark.parametrize("shape", ["column", "row"])
def test_bias_shapes_and_dict_results(shape):
    def as_dict(weights, biases, activations, loss, x, y):
        dW, db = columns_bp(weights, biases, activations, loss, x, y)
        return {**{f"dW{l + 1}": g for l, g in enumerate(dW)}, **{f"db{l + 1}": g for l, g in enumerate(db)},
                "dA0": np.zeros(1)}  # an extra key, as deeplearning.ai's grads have: ignored

    assert grade(as_dict, bias_shape=shape, **SIG).passed


def test_summed_gradients_pass_with_reduction_sum_and_are_named_under_mean():
    def summed(*args):
        return columns_bp(*args, reduce="sum")

    assert grade(summed, reduction="sum", **SIG).passed
    result = grade(summed, **SIG)
    assert [n for n, _, _ in result.diagnosis] == ["mean_forgotten"], result.report()


def test_float32_code_passes_with_dtype_float32_and_is_recognised_under_float64():
    def float32_bp(*args):
        return columns_bp(*args, dtype=np.float32)

    assert grade(float32_bp, dtype="float32", **SIG).passed
    under64 = grade(float32_bp, **SIG)
    assert not under64.passed
    assert any("computes in float32" in f for f in under64.findings), under64.report()


def test_l2_right_doubled_and_on_the_biases():
    def right(*args, l2):
        return columns_bp(*args, l2=l2)

    def doubled(*args, l2):
        return columns_bp(*args, l2=l2, bug="l2_doubled")

    def on_biases(*args, l2):
        return columns_bp(*args, l2=l2, bug="l2_on_biases")

    assert grade(right, l2=0.3, **SIG).passed
    for func, name in ((doubled, "l2_doubled"), (on_biases, "l2_on_biases")):
        result = grade(func, l2=0.3, **SIG)
        assert [n for n, _, _ in result.diagnosis] == [name], result.report()


def _stepper(order):
    """One SGD step, the update placed as the code places it."""
    def step(weights, biases, activations, loss, x, y, lr):
        m = x.shape[1]
        W, b = [w.copy() for w in weights], [v.copy() for v in biases]
        a, d = [x], []
        for Wl, bl, f in zip(W, b, activations, strict=True):
            out, der = _act(f, Wl @ a[-1] + bl[:, None])
            a.append(out)
            d.append(der)
        delta = (a[-1] - y) / m * d[-1]
        for l in range(len(W) - 1, -1, -1):
            dW, db = delta @ a[l].T, delta.sum(axis=1)
            if order == "update_first":  # the classic: the weights change before delta is passed back
                W[l] -= lr * dW
            back = W[l].T @ delta
            if order != "update_first":
                W[l] = W[l] + lr * dW if order == "ascent" else W[l] - lr * dW
            if order == "ascent":
                b[l] += lr * db
            elif order != "no_bias":
                b[l] -= lr * db
            if l:
                delta = back * d[l - 1]
        return W, b

    return step


@pytest.mark.parametrize(("order", "name"), [("right", None), ("update_first", "in_place_update"),
                                             ("ascent", "update_added"), ("no_bias", "bias_not_updated")])
def test_the_step_is_graded_and_update_order_sign_and_bias_are_named(order, name):
    result = grade(_stepper(order), step=0.5, activations=["sigmoid", "tanh"], losses=["half_sse"], **FAST)
    if name is None:
        assert result.passed, result.report()
    else:
        assert name in [n for n, _, _ in result.diagnosis], result.report()


def test_a_mistake_in_the_hidden_layers_only_is_located():
    def hidden(*args):
        return columns_bp(*args, bug="sigma_at_a_hidden")

    result = grade(hidden, **SIG)
    assert [n for n, _, _ in result.diagnosis] == ["sigma_prime_at_a@hidden"], result.report()
    assert "only in the hidden layers" in result.report()


def test_an_activation_that_only_the_failing_networks_have_is_said():
    from oracle.grading.result import only_with

    hidden = {"a": "tanh,relu", "b": "relu,tanh", "c": "relu", "d": "sigmoid"}
    facets = {c: {"loss": "mse", "output activation": "sigmoid", "hidden activations": h} for c, h in hidden.items()}
    layers = {c: {*h.split(","), "sigmoid"} for c, h in hidden.items()}
    assert only_with(facets, {"a", "b"}, layers) == [
        "fails only in networks with a tanh layer (2 of 2 cases with one); passes in the 2 without"]
    assert not any("tanh layer" in f for f in only_with(facets, {"a"}, layers))  # b has tanh too and passes
    assert only_with(facets, {"d"}, layers) == [  # said once, by the facet that already names it
        "fails only with hidden activations sigmoid (1 of 1 cases); passes with relu, relu,tanh, tanh,relu"]


def test_failure_lines_name_their_case():
    def wrong(*args):
        return columns_bp(*args, bug="sigma_at_a")

    text = grade(wrong, **SIG).report()
    line = next(t for t in text.splitlines() if "differs by" in t)
    assert "(sizes " in line and ", batch " in line and "/mean" in line


# --- a grader that survives the function -----------------------------------------------------

def _hangs(*args):
    time.sleep(60)


def _exits(*args):
    os._exit(0)


def _sys_exit(*args):
    sys.exit(0)


class _Loud(BaseException):
    pass


def _base_exception(*args):
    raise _Loud("not an Exception")


class _UnprintableError(Exception):
    def __str__(self):
        raise RuntimeError("no")


def _unprintable(*args):
    raise _UnprintableError()


def _closes_stdout(*args):
    sys.stdout.close()
    return columns_bp(*args)


def _complex(*args):
    dW, db = columns_bp(*args)
    return [w + 1j for w in dW], db


def _objects(*args):
    dW, db = columns_bp(*args)
    return [w.astype(object) for w in dW], db


def _masked(*args):
    dW, db = columns_bp(*args)
    return [np.ma.masked_array(w, mask=True) for w in dW], db


def _nan(*args):
    dW, db = columns_bp(*args)
    return [w * np.nan for w in dW], db


@pytest.mark.parametrize(("func", "words"), [
    (_hangs, "did not return within 0.5 s"), (_exits, "ended the process"), (_sys_exit, "called sys.exit(0)"),
    (_base_exception, "raised _Loud: not an Exception"), (_unprintable, "its message could not be printed"),
    (_complex, "expected real numbers, got complex numbers"), (_objects, "expected real numbers"),
    (_masked, "masked array"), (_nan, "expected finite values")])
def test_whatever_the_function_does_is_one_line_with_its_case(func, words):
    result = grade(func, activations=["sigmoid"], losses=["half_sse"], networks=1, timeout=0.5)
    assert not result.passed
    assert result.problems and all(words in p.message for p in result.problems), result.report()
    text = result.report()
    assert f"{len(result.problems)} case" in text and "(first: case" in text and "Traceback" not in text


def test_a_closed_stdout_does_not_stop_the_grade():
    assert grade(_closes_stdout, activations=["sigmoid"], losses=["half_sse"], networks=1).passed


def test_nothing_compared_is_never_a_pass():
    result = grade(_sys_exit, activations=["sigmoid"], losses=["half_sse"], networks=1)
    assert not result.passed and not result.records and "PASS" not in result.report()


def test_json_has_the_versioned_schema(tmp_path):
    result = grade(lambda *a: columns_bp(*a, bug="sigma_at_a"), **SIG)
    data = json.loads(result.json())
    assert data["schema"] == "manual-bp/grade/1" and data["passed"] is False
    assert {"spec", "cases", "tensors", "problems", "matches", "diagnosis", "findings"} <= set(data)
    assert data["diagnosis"][0]["mistake"] == "sigma_prime_at_a"
    assert all({"case", "quantity", "passed", "yours", "reference"} <= set(t) for t in data["tensors"])


def test_assert_backprop_correct_raises_a_short_message():
    assert_backprop_correct(columns_bp, **SIG)
    with pytest.raises(AssertionError) as info:
        assert_backprop_correct(lambda *a: columns_bp(*a, bug="sigma_at_a"), **SIG)
    message = str(info.value)
    assert message.startswith("backprop is wrong: ") and "tensors disagree" in message
    assert "worst: " in message and "at index [" in message and "mistake: Eq. 1: sigma' evaluated at a" in message
    assert len(message.splitlines()) <= 4


def test_assert_backprop_correct_fails_someones_pytest(tmp_path):
    test_file = tmp_path / "test_theirs.py"
    test_file.write_text(textwrap.dedent('''
        import numpy as np
        from oracle.testing import assert_backprop_correct

        def backprop(weights, biases, activations, loss, x, y):
            a = [x]
            for W, b in zip(weights, biases):
                a.append(1 / (1 + np.exp(-(W @ a[-1] + b[:, None]))))
            delta = (a[-1] - y) / x.shape[1]          # the bug: sigma'(z^(L)) forgotten
            dW, db = [None] * len(weights), [None] * len(weights)
            for l in range(len(weights) - 1, -1, -1):
                dW[l], db[l] = delta @ a[l].T, delta.sum(axis=1)
                delta = (weights[l].T @ delta) * a[l] * (1 - a[l])
            return dW, db

        def test_backprop():
            assert_backprop_correct(backprop, activations=["sigmoid"], losses=["half_sse"], networks=3)
        '''))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stdout
    assert "AssertionError: backprop is wrong:" in out.stdout
    assert "mistake: Eq. 1: sigma' forgotten at the output" in out.stdout
