"""The pieces of the extractor, one formula at a time: where formulas are found, how a formula
is split into its steps, what each name denotes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oracle.extract.mathtext import Num, parse
from oracle.extract.reading import read
from oracle.extract.sources import markdown_formulas, read_document
from oracle.extract.symbols import Notation, Ref, parse_aliases, recognise

DEPTH2 = Notation(depth=2)


def ref(text: str, notation: Notation = DEPTH2) -> Ref | None:
    return recognise(parse(text + " = 1")[0], notation)


@pytest.mark.parametrize("text, expected", [
    ("z_1^{(1)}", Ref(False, "z", 1, (0,))),
    ("\\mathbf{a}^{(1)}", Ref(False, "a", 1, ())),
    ("\\hat{y}", Ref(False, "a", 2, ())),
    ("\\sigma'(z_2^{(1)})", Ref(False, "sigma_prime", 1, (1,))),
    ("\\partial L / \\partial z^{(2)}", Ref(False, "delta", 2, ())),
    ("\\frac{\\partial L}{\\partial w_{12}^{(1)}}", Ref(False, "dW", 1, (0, 1))),
    ("\\partial L / \\partial w_2^{(2)}", Ref(False, "dW", 2, (None, 1))),  # a one-row W^(2): placed later
    ("W^{(2)}_{\\text{new}}", Ref(False, "W_new", 2, ())),
    ("W'^{(1)}", Ref(False, "W_new", 1, ())),
    ("\\text{Loss}", Ref(False, "L")),
    ("\\alpha", Ref(True, "lr")),
    ("net_{h1}", Ref(False, "z", 1, (0,))),
    ("out_{o2}", Ref(False, "a", 2, (1,))),
    ("E_{total}", Ref(False, "L")),
    ("E_{o1}", Ref(False, "L_terms", None, (0,))),
    ("\\frac{\\partial E_{o2}}{\\partial out_{h1}}", Ref(False, "dL_da_terms", 1, (0, 1))),
    ("\\frac{\\partial out_{h1}}{\\partial net_{h1}}", Ref(False, "sigma_prime", 1, (0,))),
    ("w_5^{+}", Ref(False, "W_new", None, (), weight_number=5)),
    ("target_{o1}", Ref(True, "y", None, (0,))),
    ("i_2", Ref(True, "x", None, (1,))),
    ("Z[1]", Ref(False, "z", 1, ())),  # a layer written inline (Z[l], A[l])
    ("\\frac{dE}{dw_5}", Ref(False, "dW", None, (), weight_number=5)),  # d without \\partial
    ("\\frac{\\partial C}{\\partial w^{(2)}_{12}}", Ref(False, "dW", 2, (0, 1))),  # Nielsen's cost C
])
def test_names_in_the_documents_notation_and_the_blog_notation(text, expected):
    assert ref(text) == expected


@pytest.mark.parametrize("text", ["W_2^T", "\\sigma(0.9)", "z_1", "y_i", "\\frac{\\partial net_{o1}}{\\partial w_5}",
                                  "C", "i", "t"])
def test_names_it_cannot_place_are_not_guessed(text):
    found = ref(text)
    assert found is None or found.prop == "restated"


def test_numpy_style_names_with_layers_as_subscripts():
    layers = Notation(depth=2, layer_subscripts=True)
    assert ref("z_1[0]", layers) == Ref(False, "z", 1, (0,))
    assert ref("dW_2", layers) == Ref(False, "dW", 2, ())
    assert ref("f'_2(z_2)", layers) == Ref(False, "sigma_prime", 2, ())
    assert ref("a_0", layers) == Ref(True, "x")


def test_a_mapping_names_the_documents_own_symbols():
    notation = Notation(parse_aliases("s=z, h=a, cost=L", "notation"), depth=2)
    assert ref("s_2^{(1)}", notation) == Ref(False, "z", 1, (1,))
    assert ref("\\frac{\\partial cost}{\\partial h^{(1)}}", notation) == Ref(False, "dL_da", 1, ())
    with pytest.raises(Exception, match="notation: expected name=symbol pairs"):
        parse_aliases("s=zed", "notation")


def test_a_chain_is_split_into_its_steps_and_the_result_is_the_last_or_the_bold_one():
    segs = parse("z_1^{(1)} = 0.4(0.5) + 0.6(1.0) + 0.1 = 0.2 + 0.6 + 0.1 = \\mathbf{0.9}")
    assert len(segs) == 4 and segs[-1] == Num("0.9", bold=True)
    r = read(markdown_formulas("$$z_1^{(1)} = 0.4(0.5) + 0.6(1.0) + 0.1 = 0.2 + 0.6 + 0.1 = \\mathbf{0.9}$$"),
             DEPTH2)
    (claim,) = r.claims
    assert (claim.value, claim.terms) == ("0.9", ["0.2", "0.6", "0.1"])
    r = read(markdown_formulas("$\\sigma(0.9) \\approx \\boxed{0.711} \\text{ (rounded)}$"), DEPTH2)
    assert r.claims == [] and r.not_placed  # a number it cannot name is listed, never dropped


def test_a_step_binds_the_names_of_the_step_before_it_term_by_term():
    text = ("$$net_{h1} = w_1 * i_1 + w_2 * i_2 + b_1 * 1$$\n\n"
            "$$net_{h1} = 0.15 * 0.05 + 0.2 * 0.1 + 0.35 * 1 = 0.3775$$")
    r = read(markdown_formulas(text), DEPTH2)
    bound = {(s.ref.prop, s.ref.index, s.ref.weight_number): s.value for s in r.bindings}
    assert bound == {("W", (), 1): "0.15", ("x", (0,), None): "0.05", ("W", (), 2): "0.2",
                     ("x", (1,), None): "0.1", ("b", (), 0): "0.35"}


def test_formulas_are_found_with_their_lines_and_code_is_skipped():
    text = ("# Title\n\nInput: $x = [0.5, 1.0]$ and \\(y = 1\\)\n\n```python\nz = 0.9\n```\n"
            "$$\n\\begin{aligned} a &= 0.7 \\\\ b &= 0.2 \\end{aligned}\n$$\n"
            "![net_{h1} = 0.3775](https://s0.wp.com/latex.php?latex=net)\n\\[ L = 0.02 \\]\n`w = 3`\n")
    found = [(f.line, f.text) for f in markdown_formulas(text)]
    assert found == [(3, "x = [0.5, 1.0]"), (3, "y = 1"), (9, "a = 0.7"), (9, "b = 0.2"),
                     (11, "net_{h1} = 0.3775"), (12, "L = 0.02")]


def test_latex_comments_and_notebook_cells():
    tex = read_document(Path("n.tex"), "% z = 5\n$z = 0.9$ % and 1\n")
    assert [(f.line, f.text) for f in tex] == [(2, "z = 0.9")]
    nb = json.dumps({"cells": [{"cell_type": "code", "source": ["x = 1\n"]},
                               {"cell_type": "markdown", "source": ["Text\n", "$a = 0.5$\n"]}]})
    (f,) = read_document(Path("n.ipynb"), nb)
    assert (f.where, f.text) == ("cell 2, line 2", "a = 0.5")
    with pytest.raises(Exception, match="not a Jupyter notebook"):
        read_document(Path("n.ipynb"), "[1, 2]")


def test_the_written_out_sums_say_which_index_of_w_ij_is_the_unit():
    from oracle.extract import judge_document

    doc = ("$x = [1, 2]$, $y = 1$\n\n$$z_1^{(1)} = w_{11}^{(1)} x_1 + w_{21}^{(1)} x_2$$\n\n"
           "$$z_1^{(1)} = 0.1(1) + 0.3(2) = 0.7$$\n\n$$L = \\frac{1}{2}(y - a_1^{(1)})^2 = 0.045$$\n\n"
           "$$\\frac{\\partial L}{\\partial w_{21}^{(1)}} = (0.7 - 1)(2) = -0.6$$\n")
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "w21.md"
        path.write_text(doc)
        result = judge_document(path, {"activations": "identity"})
    # w_21 is input 2's weight into unit 1 here: W^(1)[0,1] = 0.3, dL/dW^(1)[0,1] = (0.7 - 1) x 2.
    assert {(r.key, r.index): r.verdict for r in result.rows} == {
        ("z1", (0,)): "correct", ("L", ()): "correct", ("dW1", (0, 1)): "correct"}


def test_an_update_rule_makes_its_result_and_later_prints_the_new_value():
    blog = "$$w_5 \\leftarrow w_5 - \\eta \\frac{\\partial E}{\\partial w_5} = 0.4 - 0.5(0.0822) = 0.3589$$"
    r = read(markdown_formulas(blog), DEPTH2)
    assert [(s.ref.prop, s.ref.weight_number, s.value) for s in r.claims] == [("W_new", 5, "0.3589")]
    assert {(s.ref.prop, s.ref.weight_number): s.value for s in r.bindings} == {("W", 5): "0.4", ("lr", None): "0.5"}
    notebook = ("$$W_1 := W_1 - \\eta \\frac{\\partial J}{\\partial W_1}$$\n\n"
                "$$W_1 = [[0.1, 0.2]] - 0.01 [[1, 2]]$$\n\n$$W_1 = [[0.09998, 0.1999]]$$\n")
    r = read(markdown_formulas(notebook), Notation(depth=2, layer_subscripts=True))
    assert [(s.ref.prop, s.ref.layer, s.value) for s in r.claims] == [("W_new", 1, [["0.09998", "0.1999"]])]


def test_a_bias_gradient_of_a_layer_without_a_given_bias_is_not_placed():
    # Found by the slow fuzz run: the draft claimed db2 for a layer whose b2 the edited document lost.
    from oracle.extract.document import extract_text
    from oracle.extract.toml_text import toml_text
    from oracle.worked.format import loads_example

    doc = ("$x = [1.0]$, $y = 1$, $W^{(1)} = [[0.5]]$, $\\eta = 0.1$\n\n$$z^{(1)} = 0.5$$\n\n"
           "$$\\frac{\\partial L}{\\partial b^{(1)}} = -0.3$$\n")
    draft = extract_text(doc, "nobias.md", {"activations": "identity", "loss": "half_sse"})
    assert "db1" not in draft.claims and any("layer 1 has no bias" in why for _, _, why in draft.not_placed)
    loads_example(toml_text(draft), "nobias")


def test_a_name_and_its_value_in_two_inline_formulas_on_one_line():
    text = "* **Learning rate ($\\eta$):** $0.2$.\n* Input $x_1$ and $x_2$ are given.\n"
    found = markdown_formulas(text)
    assert [(f.line, f.text) for f in found if "=" in f.text] == [(1, "\\eta = 0.2")]
    assert read(found, DEPTH2).givens[0].value == "0.2"


def test_values_a_step_prints_under_a_name_are_read_too():
    text = ("$$\\frac{\\partial E}{\\partial w_5} = \\frac{\\partial E}{\\partial out_{o1}} \\cdot "
            "\\frac{\\partial out_{o1}}{\\partial net_{o1}} \\cdot out_{h1} = 0.7414 \\cdot 0.1868 \\cdot 0.5933 "
            "= 0.0822$$")
    r = read(markdown_formulas(text), DEPTH2)
    assert [(s.ref.prop, s.ref.layer, s.ref.index, s.value) for s in r.bound_claims] == [
        ("dL_da", 2, (0,), "0.7414"), ("sigma_prime", 2, (0,), "0.1868"), ("a", 1, (0,), "0.5933")]
    assert [(s.ref.prop, s.ref.weight_number, s.value) for s in r.claims] == [("dW", 5, "0.0822")]


def test_the_shapes_of_steps_that_are_quantities():
    # delta_h1 = (delta_o1 w_11 + delta_o2 w_12) out_h1 (1 - out_h1), with w_ij from i to j (as
    # the sums say in such a document): the bracket is dL/da^(1)[0], its products its terms,
    # out_h1 (1 - out_h1) is sigma' of a sigmoid layer.
    text = ("$$\\delta_{h1} = (\\delta_{o1} w_{11}^{(2)} + \\delta_{o2} w_{12}^{(2)}) \\cdot "
            "out_{h1}(1 - out_{h1})$$\n\n$$\\delta_{h1} = [0.00537 + 0.0035] \\cdot 0.2476$$\n\n"
            "$$\\delta_{h1} = 0.00887 \\cdot 0.2476 = 0.0022$$\n")
    r = read(markdown_formulas(text), DEPTH2)
    bound = {(s.ref.prop, s.ref.layer, s.ref.index, s.requires): s.value for s in r.bound_claims}
    assert bound == {("dL_da_terms", 1, (0, 0), ""): "0.00537", ("dL_da_terms", 1, (0, 1), ""): "0.0035",
                     ("sigma_prime", 1, (0,), "sigmoid"): "0.2476", ("dL_da", 1, (0,), ""): "0.00887"}
    # (out_o1 - t_1) is dL/da^(2) only under 1/2 (t - out)^2: said by `requires`, checked when placed
    r = read(markdown_formulas("$$\\delta_{o1} = (out_{o1} - t_1) \\cdot out_{o1}(1 - out_{o1}) = (0.0731) \\cdot "
                               "(0.2446) = 0.0179$$"), DEPTH2)
    assert {(s.ref.prop, s.requires): s.value for s in r.bound_claims} == {
        ("dL_da", "half_sse"): "0.0731", ("sigma_prime", "sigmoid"): "0.2446"}
