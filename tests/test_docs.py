"""The README stays a short entry point (at most 8 KB), opens with the two commands CI runs,
its Python quickstart runs as written, and every link in it and in docs/ resolves."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_is_at_most_8_kb():
    assert len(README.encode("utf-8")) <= 8192


def test_readme_opens_with_the_two_commands_ci_runs():
    first_block = re.search(r"```bash\n(.*?)```", README, re.S).group(1).strip().splitlines()
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line and not line.startswith(("#", "set ", "cd "))]
    assert first_block == ci
    assert README.index("```bash") < README.index("manual-bp is a")  # the commands come first


def test_python_quickstart_runs_as_written():
    code = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    namespace: dict = {}
    exec(code, namespace)  # the README's own example, not a mutation of the code under test
    assert np.allclose(namespace["cache"].z[1], [0.9, 0.85], rtol=0, atol=1e-15)
    assert f"{namespace['grads'].loss:.6f}" == "0.020920"


def test_every_link_resolves():
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for link in re.findall(r"\]\(([^)#]+)\)", page.read_text(encoding="utf-8")):
            if not link.startswith("http"):
                assert (page.parent / link).exists(), f"{page.name}: {link}"


def test_training_doc_example_runs_and_passes():
    code = re.search(r"```python\n(.*?)```", (ROOT / "docs" / "training.md").read_text(encoding="utf-8"), re.S).group(1)
    namespace: dict = {}
    exec(code, namespace)  # the doc's own watch example: three checked steps of an MNIST-shaped MLP
    w = namespace["w"]
    assert w.passed and len(w.steps) == 3


def test_the_mistake_table_and_scores_are_the_catalogues():
    from oracle.mistakes import MISTAKES

    doc = (ROOT / "docs" / "mistakes-and-grading.md").read_text(encoding="utf-8")
    listed = re.findall(r"^\| `([a-z0-9_]+)` \| ", doc, flags=re.M)
    assert [n for n in listed if n in MISTAKES] == list(MISTAKES)  # every one, in the catalogue's order
    n = len(MISTAKES)
    assert f"**Mutation score: {n}/{n} mistakes caught" in doc
    assert f"catch {n} classic mistakes? ({n}/{n})" in (ROOT / "README.md").read_text(encoding="utf-8")
