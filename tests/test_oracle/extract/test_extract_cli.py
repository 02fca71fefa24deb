"""`manual-bp extract` and `manual-bp check NOTES` as a user runs them."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from oracle.cli import main

DOCS = Path(__file__).parent / "documents"
SMALL = """---
manual-bp:
  notation: s=z
  activations: sigmoid
  given: y = 1
---
# One unit

$$x = [0.5]$$ and $$W^{(1)} = [[0.3]]$$, $$b^{(1)} = [0.1]$$

$$s^{(1)} = 0.3(0.5) + 0.1 = 0.15 + 0.1 = 0.25$$

The output is $a^{(1)} = \\sigma(0.25) = 0.5622$, the loss $L = \\frac{1}{2}(1 - 0.5622)^2 = 0.0958$ and
$\\frac{\\partial L}{\\partial a^{(1)}} = 0.5622 - 1 = -0.4378$; and $q = 0.7$, which is nothing.
"""


def test_extract_writes_a_draft_that_check_reads(tmp_path, capsys):
    out = tmp_path / "draft.toml"
    assert main(["extract", "--example", "seed-2-2-1.md", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"wrote {out}" in err and "40 printed numbers placed, 0 not placed" in err
    text = out.read_text()
    assert 'z1 = ["0.9", "0.85"]  # line 141; line 143' in text and "learning_rate = 0.5  # line 251" in text
    assert main(["check", str(out)]) == 0
    assert "40 printed values: 24 correct, 16 rounding carried, 0 wrong." in capsys.readouterr().out


def test_check_on_a_document_cites_lines_in_its_reports(tmp_path, capsys):
    assert main(["check", "--example", "seed-2-2-1.md", "--out", str(tmp_path), "--no-terms"]) == 0
    assert "31 printed values: 16 correct, 15 rounding carried, 0 wrong." in capsys.readouterr().out
    rows = list(csv.DictReader((tmp_path / "check_seed-2-2-1-md.csv").open()))
    assert rows[0]["quantity"] == "z^(1)" and rows[0]["line"] == "line 141"
    assert "printed at" in (tmp_path / "check_seed-2-2-1-md.md").read_text()


def test_front_matter_and_what_is_not_placed(tmp_path, capsys):
    doc = tmp_path / "unit.md"
    doc.write_text(SMALL)
    assert main(["extract", str(doc)]) == 0
    captured = capsys.readouterr()
    assert 'z1 = ["0.25"]  # line 11' in captured.out and 'dL_da1 = ["-0.4378"]  # line 14' in captured.out
    assert "not placed: line 14: 'q' is not a name this reader knows" in captured.err
    assert "docs/extract.md): q = 0.7" in captured.err
    assert main(["check", str(doc)]) == 0
    out = capsys.readouterr().out
    assert "6 printed values: 6 correct, 0 rounding carried, 0 wrong." in out


@pytest.mark.parametrize("argv, message", [
    (["extract"], "NOTES: missing"),
    (["extract", "notes.md", "--example", "seed-2-2-1.md"], "not both"),
    (["extract", "--example", "nope.md"], "--example: unknown document 'nope.md'"),
    (["extract", "--example", "seed-2-2-1.md", "--set", "loss"], "--set: expected KEY=VALUE"),
    (["extract", "--example", "seed-2-2-1.md", "--set", "loss=l1"], "loss: expected one of half_sse"),
    (["extract", "--example", "seed-2-2-1.md", "--notation", "net:z"], "notation: expected name=symbol pairs"),
    (["check", "--example", "seed-2-2-1", "--notation", "net=z"], "apply to a document"),
    (["extract", "--example", "seed-2-2-1.md", "--set", "layout=rows"], "layout: expected one of out_in, in_out"),
    (["extract", "--example", "seed-2-2-1.md", "--set", "learning_rate=fast"], "learning_rate: expected a positive"),
    (["extract", str(DOCS / "mazur-step-by-step.md")], "does not give y[1] (the target of output 2), W1[1,0] (w_3)"),
])
def test_usage_and_documents_that_say_too_little_are_one_line(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_check_lists_the_shipped_documents(capsys):
    assert main(["check", "--list-examples"]) == 0
    assert "seed-2-2-1.md" in capsys.readouterr().out.split()


def test_check_on_a_document_lists_what_it_did_not_judge(tmp_path, capsys):
    doc = tmp_path / "unit.md"
    doc.write_text(SMALL)
    assert main(["check", str(doc), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Not placed, so not judged (1; manual-bp extract lists them too):" in out and "line 14: q = 0.7" in out
    assert "| line 14    | q = 0.7" in (tmp_path / "check_unit-md.md").read_text()


def test_solve_reads_a_document_too(capsys):
    assert main(["solve", "--example", "seed-2-2-1.md", "--digits", "4"]) == 0
    out = capsys.readouterr().out
    assert "learning rate $\\eta = 0.5$" in out and "0.0209" in out  # the exact loss 0.020920 at 4 decimals


def test_given_values_may_use_the_projects_notation(capsys):
    # The figure's weights as whole matrices instead of w_3, w_4, w_7, w_8: the same 26 numbers.
    given = "W1 = [[0.15, 0.2], [0.25, 0.3]]; W2 = [[0.4, 0.45], [0.5, 0.55]]; target_{o2} = 0.99"
    assert main(["extract", str(DOCS / "mazur-step-by-step.md"), "--given", given]) == 0
    assert "26 printed numbers placed" in capsys.readouterr().err
