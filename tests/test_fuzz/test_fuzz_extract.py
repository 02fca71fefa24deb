"""Fuzz `manual-bp extract` and `manual-bp check NOTES` with generated documents: the project's
source document and a LaTeX one broken by one edit, and soups of the tokens worked examples are
made of. For every input: a clean one-line error (InputError, exit 2), or a draft whose TOML
the checker reads back; never a traceback, a warning or a hang."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from fuzzing import HANG_LIMIT_S, RUN, assert_clean_cli, assert_counted, run_cli_known, strict, time_limit
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from manual_bp.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
SEEDS = {"notes.md": (ROOT / "oracle/extract/documents/seed-2-2-1.md").read_text(),
         "notes.tex": (ROOT / "tests/test_oracle/extract/documents/course-tanh-bce.tex").read_text()}
TOKENS = ["$", "$$", "\\[", "\\]", "=", " = ", "\\approx", "0.5", "-0.033", "1e400", "1", "0", "z_1^{(1)}", "a^{(2)}",
          "W^{(1)}", "b^{(2)}", "\\hat{y}", "x", "y", "\\delta^{(1)}", "\\frac{", "}{", "}", "{", "(", ")", "[", "]",
          ",", "\\\\", "&", "\\begin{bmatrix}", "\\end{bmatrix}", "\\partial L / \\partial", "net_{h1}", "out_{o1}",
          "w_5^{+}", "E_{total}", "\\sigma'(", "\\mathbf{", "\n", "\n\n", "^", "_", "'", "+", "-", "\\times",
          "\\alpha = 0.5", "sigmoid", "tanh", "softmax", "\\log", "---\nmanual-bp:\n  loss: mse\n---\n",
          "% manual-bp notation: s=z\n", "\\text{new}", "Z[1]", "dW_2", "z_1[0]", "e^{", "\u2212", "\u00bd",
          "\\mathrm{", "\\mathrm{d}", "\\hat", "\\boxed{", "\\text{", "\\frac{d", "\\sum", "|", "\\|", "^T",
          "\\begin{align}", "\\end{align}", "\\quad", "![", "](https://latex.codecogs.com/x?", ")"]
EXTRACTED, CHECKED = 150, 12  # default tier: drafts through the API (~15 ms each), documents through check
SLOW_EXTRACTED, SLOW_CHECKED = 3000, 300
PARSED = 300  # default tier: formulas of random characters and tokens through parse (~1 ms each)
QUICK = settings(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
SLOW = settings(deadline=None, suppress_health_check=list(HealthCheck))


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, str]:
    """(file name, text): a seed document with one span cut, duplicated or replaced by tokens, or a soup of tokens."""
    if draw(st.booleans()):
        return draw(st.sampled_from(sorted(SEEDS))), "".join(draw(st.lists(st.sampled_from(TOKENS), max_size=60)))
    name = draw(st.sampled_from(sorted(SEEDS)))
    text = SEEDS[name]
    start = draw(st.integers(0, len(text)))
    end = draw(st.integers(start, min(len(text), start + 400)))
    edit = draw(st.sampled_from(["cut", "double", "tokens"]))
    middle = {"cut": "", "double": text[start:end] * 2,
              "tokens": "".join(draw(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=8)))}[edit]
    return name, text[:start] + middle + text[end:]


@settings(QUICK, max_examples=PARSED)
@example("\\mathrm{")  # found reading the change: \mathrm{ at the end indexed past the tokens
@example("x = \\frac{\\mathrm{")
@given(text=st.text(alphabet=st.sampled_from(sorted(set("".join(TOKENS)))), max_size=80)
       | st.lists(st.sampled_from(TOKENS), max_size=30).map("".join))
def test_any_formula_parses_to_a_tree_or_is_not_understood(text):
    # parse() is the extractor's first step on every formula: it may say "not understood"
    # (Other), never raise.
    from oracle.extract.mathtext import parse

    with strict(), time_limit(HANG_LIMIT_S):
        assert len(parse(text)) >= 1


def _extract_once(name: str, text: str) -> None:
    from oracle.extract.document import extract_text
    from oracle.extract.toml_text import toml_text
    from oracle.worked.format import loads_example

    with strict(), time_limit(HANG_LIMIT_S):
        try:
            draft = extract_text(text, name)
        except InputError as exc:
            assert "\n" not in str(exc), f"a message over several lines: {exc}"
            return
        loads_example(toml_text(draft), "fuzzed")  # what extract writes, check reads: always


def _run_extract(name: str, count: int, config: settings) -> None:
    @settings(config, max_examples=count)
    @given(doc=documents())
    def run(doc: tuple[str, str]) -> None:
        RUN[name] += 1
        _extract_once(*doc)

    run()


def _run_check(name: str, count: int, config: settings) -> None:
    where = Path(tempfile.mkdtemp(prefix="fuzz-extract-"))

    @settings(config, max_examples=count)
    @given(doc=documents())
    def run(doc: tuple[str, str]) -> None:
        RUN[name] += 1
        path = where / doc[0]
        path.write_text(doc[1], encoding="utf-8")
        assert_clean_cli(run_cli_known(["check", str(path)]))

    run()


def test_extract_fuzzed_documents():
    _run_extract("extract", EXTRACTED, QUICK)
    assert_counted("extract", EXTRACTED)


def test_check_fuzzed_documents():
    _run_check("check documents", CHECKED, QUICK)
    assert_counted("check documents", CHECKED)


@pytest.mark.slow
def test_extract_fuzzed_documents_slow():
    _run_extract("extract slow", SLOW_EXTRACTED, SLOW)
    assert_counted("extract slow", SLOW_EXTRACTED)


@pytest.mark.slow
def test_check_fuzzed_documents_slow():
    _run_check("check documents slow", SLOW_CHECKED, SLOW)
    assert_counted("check documents slow", SLOW_CHECKED)
