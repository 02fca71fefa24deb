"""Grading a user's backprop(weights, biases, activations, loss, x, y) -> (dW, db): a correct
one passes, buggy ones fail with the right catalogued mistake named, and the command's exit
codes are 0 / 1 / 2."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from oracle.cli import main
from oracle.grading import GradeSpec, grade
from oracle.grading.cases import grading_cases
from oracle.mistakes import MISTAKES

ACTS = ["sigmoid", "tanh"]
LOSSES = ["half_sse", "mse"]
NETWORKS = 4  # random networks on top of the document's example and the square ones: enough, and fast


def _act(name, z):
    if name == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-z))
        return s, s * (1.0 - s)
    t = np.tanh(z)
    return t, 1.0 - t * t


def _backprop(weights, biases, activations, loss, x, y, *, bug=None):
    """A plain numpy backprop written for these tests (not the catalogue's code), with optional bugs."""
    m = x.shape[1]
    a, d = [x], []
    for W, b, f in zip(weights, biases, activations, strict=True):
        out, der = _act(f, W @ a[-1] + b[:, None])
        if bug == "sigma_at_a":
            der = _act(f, out)[1]
        a.append(out)
        d.append(der)
    r = a[-1] - y
    g = (r if loss == "half_sse" else 2.0 * r / y.shape[0]) / (1 if bug == "no_mean" else m)
    L = len(weights)
    dW, db = [None] * L, [None] * L
    delta = g * d[-1]
    for l in range(L - 1, -1, -1):
        dW[l] = delta @ a[l].T
        db[l] = delta.sum(axis=1)
        if l:
            back = weights[l] @ delta if bug == "no_transpose" else weights[l].T @ delta
            delta = back * d[l - 1]
    return dW, db


def correct(weights, biases, activations, loss, x, y):
    return _backprop(weights, biases, activations, loss, x, y)


def sigma_at_a(weights, biases, activations, loss, x, y):
    return _backprop(weights, biases, activations, loss, x, y, bug="sigma_at_a")


def no_mean(weights, biases, activations, loss, x, y):
    return _backprop(weights, biases, activations, loss, x, y, bug="no_mean")


def no_transpose(weights, biases, activations, loss, x, y):
    return _backprop(weights, biases, activations, loss, x, y, bug="no_transpose")


def test_correct_implementation_passes():
    result = grade(correct, ACTS, LOSSES, NETWORKS)
    assert result.passed, result.report()
    assert result.problems == [] and result.records and all(r.reference == "manual_bp" for r in result.records)
    assert "document-2-2-1" in result.cases
    assert "PASS" in result.report()


@pytest.mark.parametrize(("func", "mistake"), [(sigma_at_a, "sigma_prime_at_a"), (no_mean, "mean_forgotten")])
def test_buggy_implementation_is_named(func, mistake):
    result = grade(func, ACTS, LOSSES, NETWORKS)
    assert not result.passed
    assert [name for name, _, _ in result.diagnosis] == [mistake]
    assert all(mistake in m.names for m in result.matches)
    assert f"matches: {MISTAKES[mistake].description}" in result.report()


def test_missing_transpose_crashes_on_non_square_layers_and_is_named_on_square_ones():
    result = grade(no_transpose, ACTS, LOSSES, NETWORKS)
    assert not result.passed
    assert any("raised ValueError" in p.message for p in result.problems)  # numpy refuses the product
    square = [m for m in result.matches if m.case.startswith("square")]
    assert square and all("transpose_missing" in m.names for m in square)


def test_cases_respect_supported_activations_and_losses():
    cases = grading_cases(GradeSpec(activations=("tanh",), losses=("mse",), networks=5).checked())
    assert "document-2-2-1" not in [c.case_id for c in cases]  # a sigmoid network: not supported
    for case in cases:
        assert set(case.net.activations.values()) == {"tanh"} and case.loss == "mse"
        assert all(case.net.bias_kind(l) == "per_unit" for l in case.net.W)
        assert np.ndim(case.x) == 2 and np.shape(case.y) == (case.net.sizes[-1], np.shape(case.x)[1])
    assert any(min(c.net.sizes) == max(c.net.sizes) for c in cases)  # square networks for the transposes


def _write(tmp_path, name, body):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def test_command_exit_codes(tmp_path, capsys, monkeypatch):
    src = _write(tmp_path, "userbp.py", """
        import numpy as np
        def good(weights, biases, activations, loss, x, y):
            m = x.shape[1]
            a = [x]
            for W, b in zip(weights, biases):
                a.append(1 / (1 + np.exp(-(W @ a[-1] + b[:, None]))))
            delta = (a[-1] - y) / m * a[-1] * (1 - a[-1])
            dW, db = [], []
            for l in range(len(weights) - 1, -1, -1):
                dW.insert(0, delta @ a[l].T)
                db.insert(0, delta.sum(axis=1))
                delta = (weights[l].T @ delta) * a[l] * (1 - a[l])
            return dW, db
        def bad(weights, biases, activations, loss, x, y):
            dW, db = good(weights, biases, activations, loss, x, y)
            return [-w for w in dW], [-b for b in db]
        """)
    opts = ["--activations", "sigmoid", "--losses", "half_sse", "--networks", "3"]
    assert main(["grade", f"{src}:good", *opts]) == 0
    assert main(["grade", f"{src}:bad", *opts]) == 1
    assert "the sign of dL/da^(L) flipped" in capsys.readouterr().out
    monkeypatch.chdir(tmp_path)
    assert main(["grade", "userbp:good", *opts]) == 0  # imported as a module from the current directory
    capsys.readouterr()
    for argv in (["grade", "no_such_module_xyz:f"], ["grade", f"{src}:missing"], ["grade", "userbp"],
                 ["grade", f"{src}:good", "--activations", "swish"], ["grade", f"{src}:good", "--losses", "hinge"],
                 ["grade", str(tmp_path / "nope.py") + ":f"], ["grade", f"{src}:good", "--networks", "-1"]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, err
