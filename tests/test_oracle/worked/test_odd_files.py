"""check on odd files: each is one line naming the problem (exit 2) within a second, never a traceback,
a hang or a read that does not end; and the checker's own trials never reject the user's file."""

from __future__ import annotations

import os
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from oracle.cli import main

SEED = (Path(__file__).resolve().parents[3] / "oracle/worked/examples/seed-2-2-1.toml").read_text()


def _check(path: Path | str, capsys) -> tuple[int, str, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning would be a line on stderr
        code = main(["check", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def _file(tmp_path: Path, text: str, name: str = "ex.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


EDITS = {  # one edit of the seed file -> the start of the one line it must give
    "x nested 65 deep": (("x = [0.5, 1.0]", "x = " + "[" * 65 + "0.5" + "]" * 65), "network.x[0][0]: expected a"),
    "x nested 500 deep": (("x = [0.5, 1.0]", "x = " + "[" * 500 + "0.5" + "]" * 500), "ex: arrays or tables nested"),
    "an integer of 4,400 digits": (("y = [1.0]", "y = [" + "9" * 4400 + "]"), "ex: a number in the file is too long"),
    "an integer beyond float64": (("y = [1.0]", "y = [" + "9" * 400 + "]"), "network.y[0]: expected a finite number"),
    "a claim of 1e400": (('z1 = ["0.9", "0.85"]', 'z1 = ["1e400", "0.85"]'), "claimed.z1[0]: 1e400 is beyond"),
    "a learning rate beyond float64": (("learning_rate = 0.5", "learning_rate = " + "9" * 400),
                                       "network.learning_rate: expected a positive finite number"),
    "rows nested to different depths": (("W2 = [[0.7, 0.8]]", "W2 = [[[0.7], 0.8]]"), "network.W2"),
    "a claim of 5,000 digits": (('z1 = ["0.9", "0.85"]', 'z1 = ["' + "9" * 5000 + '", "0.85"]'),
                                "claimed.z1[0]: 999"),
}


@pytest.mark.parametrize("name", sorted(EDITS))
def test_an_odd_value_is_one_line_naming_it(tmp_path, capsys, name):
    (old, new), start = EDITS[name]
    code, out, err = _check(_file(tmp_path, SEED.replace(old, new)), capsys)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith(f"manual-bp check: {start}"), err
    assert len(err) < 300  # a 5,000-digit number is shortened, not printed whole


def test_a_class_index_beyond_int64_is_out_of_range(tmp_path, capsys):
    text = ('[network]\nactivations = ["softmax"]\nloss = "cross_entropy"\nx = [1.0]\ny = 100000000000000000000\n'
            'W1 = [[1.0], [2.0]]\n[claimed]\nL = "1.0"\n')
    code, _, err = _check(_file(tmp_path, text), capsys)
    assert code == 2 and err == "manual-bp check: network.y: class index out of range 0..1: got 100000000000000000000\n"


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/urandom", "FIFO", "DIR", "BIG", "BINARY"])
def test_only_regular_text_files_of_a_sane_size_are_read(tmp_path, capsys, path):
    if path == "FIFO":
        os.mkfifo(tmp_path / "fifo")  # nobody writes to it: opening it would block for ever
        path = tmp_path / "fifo"
    elif path == "DIR":
        path = tmp_path
    elif path == "BIG":
        path = tmp_path / "big.toml"
        with open(path, "wb") as f:
            f.truncate(65 * 1024 * 1024)  # sparse: one byte past the limit costs no disk
    elif path == "BINARY":
        path = tmp_path / "bin.toml"
        path.write_bytes(b"\xff\xfe\x00garbage")
    result: list = []
    worker = threading.Thread(target=lambda: result.append(_check(path, capsys)), daemon=True)
    t0 = time.perf_counter()
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), f"check {path} did not return within 10 s"
    code, out, err = result[0]
    assert (code, out) == (2, "") and err.count("\n") == 1, err
    assert any(w in err for w in ("not a regular file", "got a directory", "at most", "not UTF-8")), err
    assert time.perf_counter() - t0 < 5


# ---------------------------------------------------------------------------------------------
# The checker's own trials never reject the user's file

HUGE = """[network]
activations = ["sigmoid", "sigmoid"]
loss = "half_sse"
learning_rate = 0.5
x = [0.5, 1.0]
y = [0.0]
W1 = [[4e299, -6e299], [3e299, 5e299]]
b1 = [0.1, 0.2]
W2 = [[7e299, -8e299]]
b2 = [0.3]
[claimed]
"""


@pytest.mark.parametrize("claims", ['delta1 = ["3.0", "1"]', 'dW1 = [["1.0", "2.0"], ["1", "1"]]',
                                    'W1_new = [["1.0", "2.0"], ["1", "1"]]', 'L_new = "5"'])
def test_weights_near_1e300_with_wrong_claims_are_judged_not_refused(tmp_path, capsys, claims):
    # The catalogued mistakes overflow here (z (1 - z) of z = 1e300, say): they match nothing, and
    # the file, whose own numbers are all finite, is judged.
    code, out, err = _check(_file(tmp_path, HUGE + claims + "\n"), capsys)
    assert code == 1 and err == "" and "WRONG" in out


def test_an_overflowing_loss_after_the_update_that_nothing_claims_does_not_reject_the_file(tmp_path, capsys):
    # W' = 1 - 0.5 x 1e300, so L' = (W' x)^2 / 2 overflows; only z^(1) is claimed.
    text = ('[network]\nactivations = ["identity"]\nloss = "half_sse"\nlearning_rate = 0.5\nx = [1e150]\n'
            'y = [0.0]\nW1 = [[1.0]]\n[claimed]\nz1 = ["1e150"]\n')
    code, out, err = _check(_file(tmp_path, text), capsys)
    assert (code, err) == (0, "") and "1 correct" in out


@pytest.mark.parametrize("text", [
    # A wrong dL/da^(1) in a file without a learning rate: the in-place-update mistake needs one.
    '[network]\nactivations = ["sigmoid", "sigmoid"]\nloss = "half_sse"\nx = [0.5]\ny = [1.0]\nW1 = [[0.4]]\n'
    'W2 = [[0.7]]\n[claimed]\ndL_da1 = ["1.5"]\n',
    # Inputs near 1e308: the checker's own scales overflow (a warning line before).
    '[network]\nactivations = ["sigmoid"]\nloss = "half_sse"\nx = [1e308]\ny = [0.0]\nW1 = [[0.61]]\n[claimed]\n'
    'z1 = ["1"]\n',
    # A printed softmax output of 0: dL/da = -y/a from it is -inf, which no printed number rounds from.
    '[network]\nactivations = ["softmax"]\nloss = "cross_entropy"\nx = [1.34, 0.0]\ny = [0.0, 1.0]\n'
    'W1 = [[1.16, 0.31], [-1.32, -0.36]]\n[claimed]\na1 = ["0.9", "0.0"]\ndL_da1 = ["0.0", "-34.6"]\n',
], ids=["no learning rate", "inputs near 1e308", "a printed 0 divided by"])
def test_the_checkers_own_trials_stay_quiet(tmp_path, capsys, text):
    code, out, err = _check(_file(tmp_path, text), capsys)
    assert (code, err) == (1, "") and "WRONG" in out


def test_cross_entropy_on_logits_2000_apart_is_judged(tmp_path, capsys):
    # -log softmax(z)_0 = logsumexp(z) - z_0 = 1000 + log(1 + e^-2000) - (-1000) = 2000 to the last digit.
    text = ('[network]\nactivations = ["softmax"]\nloss = "cross_entropy"\nx = [1.0]\ny = 0\n'
            'W1 = [[-1000.0], [1000.0]]\n[claimed]\nL = "2000"\ndelta1 = ["-1", "1"]\n')
    code, out, err = _check(_file(tmp_path, text), capsys)
    assert (code, err) == (0, ""), err
    assert "3 printed values: 3 correct" in out


def _wide_file(n: int, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    W, x = rng.uniform(-0.05, 0.05, (n, n)).round(4), rng.uniform(0, 1, n).round(4)

    def row(v):
        return "[" + ", ".join(f"{t:.4f}" for t in v) + "]"

    claims = ", ".join(f'"{t + 1:.4f}"' for t in W @ x)  # every z^(1)_i off by 1: n wrong claims
    return (f'[network]\nactivations = ["sigmoid"]\nloss = "half_sse"\nx = {row(x)}\ny = {row(x)}\n'
            f"W1 = [{', '.join(row(r) for r in W)}]\n[claimed]\nz1 = [{claims}]\n")


def test_judging_many_wrong_claims_does_not_grow_with_their_square():
    """n wrong claims on an n x n layer: reading the weights is n^2 either way, but judging used to try
    each claim against every earlier wrong one (n replays per claim, each of n^2 work: n^4)."""
    from oracle.worked.format import loads_example
    from oracle.worked.judge import judge

    seconds = {}
    for n in (80, 320):
        ex = loads_example(_wide_file(n))
        t0 = time.perf_counter()
        result = judge(ex)
        seconds[n] = time.perf_counter() - t0
        assert result.counts()["wrong"] == n
    # Measured on 2 cores: 0.05 s and 0.1 s now; 0.5 s and 8 s before (16x for 4x the claims).
    # 6x plus 0.3 s leaves room for a busy machine and still fails the old growth.
    assert seconds[320] < 6 * seconds[80] + 0.3, seconds
