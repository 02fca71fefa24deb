"""Three training scripts written the way tutorials write them (scripts/), checked with watch
unchanged except for the with line: the script's ``for epoch`` loop goes inside one
``with oracle.watch(...) as w:`` line (and is indented under it), nothing else. Each passes
every step; a copy with a classic bug planted in the loop fails and explains it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import oracle

SCRIPTS = Path(__file__).parent / "scripts"
WITH_LINES = {
    "mnist_mlp.py": "with oracle.watch(model, optimizer, loss_fn) as w:",
    "regression_mlp.py": "with oracle.watch(model, optimizer, criterion, clip_grad_norm=1.0, scheduled_lr=True) as w:",
    "classifier_module.py": "with oracle.watch(model, optimizer, criterion) as w:",
}
PLANTED = {  # a bug written into the copy: (line as the script has it, as the bug has it, the explanation)
    "mnist_mlp.py": ("        optimizer.zero_grad()\n", "", r"zero_grad\(\) was not called"),
    "regression_mlp.py": ("        loss = criterion(pred, yb)\n", "        loss = criterion(pred, yb) * len(xb)\n",
                          r"the loss was multiplied by 50 \(the batch size, m = 50\)"),
    "classifier_module.py": ("        x = F.relu(self.fc2(x))\n", "        x = F.relu(self.fc2(x)).detach()\n",
                             r"layers 1\.\.2 got no gradient .*x\.detach\(\) \(node 'detach'\) in the forward"),
}
STEPS = {"mnist_mlp.py": 6, "regression_mlp.py": 60, "classifier_module.py": 25}


def watched(source: str, with_line: str) -> str:
    """The script with its training loop (from ``for epoch`` to the next unindented line) under ``with_line``."""
    lines = source.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("for epoch in "))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].strip() and not lines[i][0].isspace()), len(lines))
    body = ["    " + line if line.strip() else line for line in lines[start:end]]
    return "".join([*lines[:start], with_line + "\n", *body, *lines[end:]])


def run(source: str, name: str) -> dict:
    namespace = {"__name__": "__main__", "oracle": oracle}
    exec(compile(source, str(SCRIPTS / name), "exec"), namespace)  # the tutorial script itself, as written
    return namespace


@pytest.mark.parametrize("name", list(WITH_LINES))
def test_the_script_passes_every_step_with_only_the_with_line_added(name, capsys):
    source = (SCRIPTS / name).read_text()
    changed = watched(source, WITH_LINES[name])
    mine, theirs = [line.strip() for line in changed.splitlines()], [line.strip() for line in source.splitlines()]
    mine.remove(WITH_LINES[name])
    assert mine == theirs  # the one line added; every other line is the script's (the loop re-indented)
    w = run(changed, name)["w"]
    assert len(w.steps) == STEPS[name]
    assert w.passed, w.report()
    assert "epoch" in capsys.readouterr().out  # the script ran and printed as it does alone


@pytest.mark.parametrize("name", list(WITH_LINES))
def test_a_bug_planted_in_a_copy_is_caught_and_explained(name):
    source = (SCRIPTS / name).read_text()
    line, bug, explanation = PLANTED[name]
    assert source.count(line) == 1
    w = run(watched(source.replace(line, bug), WITH_LINES[name]), name)["w"]
    assert not w.passed
    hits = [e for e in w.explanations if re.search(explanation, e)]
    assert hits, w.report()
    assert all("\n" not in e for e in w.explanations)
