"""The formulas of a document with the line each starts on: Markdown (inline $...$, display
$$...$$, \\[...\\], \\(...\\), and formulas rendered as images with their LaTeX as alt text),
LaTeX (the same, plus equation/align environments) and the Markdown cells of a Jupyter
notebook. Code blocks are skipped; a plain-text line that is itself an equation
(``net_h1 = 0.3775``) is read too."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_plus

from manual_bp.errors import InputError

MARKDOWN_SUFFIXES = (".md", ".markdown", ".txt", ".mdown", ".rst")
LATEX_SUFFIXES = (".tex", ".latex")
NOTEBOOK_SUFFIXES = (".ipynb",)
SUFFIXES = MARKDOWN_SUFFIXES + LATEX_SUFFIXES + NOTEBOOK_SUFFIXES
_ENVIRONMENTS = r"equation|align|gather|multline|eqnarray|displaymath|math|split|aligned|flalign"
_MATH = re.compile(r"\$\$(?P<d1>.+?)\$\$|\\\[(?P<d2>.+?)\\\]|\\\((?P<i2>[^\n]+?)\\\)"
                   r"|\\begin\{(?P<env>(?:" + _ENVIRONMENTS + r")\*?)\}(?P<d3>.+?)\\end\{(?P=env)\}"
                   r"|(?<![\\$\w])\$(?P<i1>[^$\n]+?)\$(?![\w$])"
                   r"|!\[(?P<alt>[^\]\n]*)\]\((?P<url>[^)\s]*(?:latex|codecogs|render/math|mathurl)[^)\s]*)\)", re.S)
_NUMBER = re.compile(r"[-−]?\s*(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_PLAIN = re.compile(r"^[\s>*+\-]*(?:\d+\.\s+)?"
                    r"(?P<eq>[A-Za-z][\w{}^()\[\]',.\\ ]{0,40}?\s*=\s*[-\w\s.+*/()\[\],^'{}=×·−≈]+?)\s*[.;]?\s*$")


@dataclass(frozen=True)
class Formula:
    """One formula: its text, where it is (``line 12`` or ``cell 3, line 2``) and whether it was
    displayed on its own."""

    text: str
    line: int
    where: str
    display: bool


def read_document(path: Path, text: str) -> list[Formula]:
    """The formulas of a document, in order; the format follows the file's suffix."""
    suffix = path.suffix.lower()
    if suffix in NOTEBOOK_SUFFIXES:
        return notebook_formulas(text, path.name)
    if suffix in LATEX_SUFFIXES:
        text = re.sub(r"(?<!\\)%.*", "", text)  # LaTeX comments
    return markdown_formulas(text)


def notebook_cells(text: str, name: str) -> list[tuple[int, str]]:
    """A notebook's Markdown cells as (cell number, 1-based, text)."""
    try:
        cells = json.loads(text)["cells"]
        return [(i + 1, "".join(c["source"]) if isinstance(c["source"], list) else str(c["source"]))
                for i, c in enumerate(cells) if isinstance(c, dict) and c.get("cell_type") == "markdown"]
    except (ValueError, KeyError, TypeError):
        raise InputError(f"{name}: not a Jupyter notebook (expected JSON with a list of cells)") from None


def notebook_formulas(text: str, name: str) -> list[Formula]:
    """The formulas of a notebook's Markdown cells, each placed by cell (1-based) and line."""
    out = []
    for number, source in notebook_cells(text, name):
        for f in markdown_formulas(source):
            out.append(Formula(f.text, f.line, f"cell {number}, line {f.line}", f.display))
    return out


def markdown_formulas(text: str) -> list[Formula]:
    """Every formula of a Markdown or LaTeX text, fenced code blocks left out."""
    text = without_code_blocks(text)
    text = re.sub(r"`[^`\n]*`", lambda m: " " * len(m.group(0)), text)
    out, taken = [], []
    matches = list(_MATH.finditer(text))
    for m, after in zip(matches, [*matches[1:], None][:len(matches)], strict=True):
        line = text.count("\n", 0, m.start()) + 1
        taken.append((m.start(), m.end()))
        labelled = _labelled_value(text, m, after)
        if labelled:
            out.append(Formula(labelled, line, f"line {line}", False))
            continue
        if m["alt"] is not None:
            body = m["alt"] or unquote_plus(re.sub(r".*?[?&](?:latex|math)=([^&]*).*", r"\1", m["url"]))
            out.extend(_pieces(body, line, display=True))
        else:
            body = next(m[g] for g in ("d1", "d2", "d3", "i1", "i2") if m[g] is not None)
            out.extend(_pieces(body, line, display=m["i1"] is None and m["i2"] is None))
    out.extend(_plain_equations(text, taken))
    return sorted(out, key=lambda f: f.line)


def _labelled_value(text: str, m: re.Match, after: re.Match | None) -> str | None:
    """'**Learning rate ($\\eta$):** $0.2$': a name in one inline formula, its value in the next
    on the same line with only punctuation between them, read as one formula 'name = value'."""
    if after is None or m["i1"] is None or after["i1"] is None or "=" in m["i1"]:
        return None
    between = text[m.end():after.start()]
    if "\n" in between or not re.fullmatch(r"[\s):*=_|]*", between) or not _NUMBER.fullmatch(after["i1"].strip()):
        return None
    return f"{m['i1'].strip()} = {after['i1'].strip()}"


def without_code_blocks(text: str) -> str:
    """The text with every fenced code block's lines blanked (line numbers kept)."""
    lines, fence = text.split("\n"), None
    for i, line in enumerate(lines):
        marker = line.lstrip()[:3]
        if fence is None and marker in ("```", "~~~"):
            fence, lines[i] = marker, ""
        elif fence is not None:
            fence = None if marker == fence else fence
            lines[i] = ""
    return "\n".join(lines)


def _pieces(body: str, line: int, display: bool) -> list[Formula]:
    """A display's equations: its rows (split at \\\\ outside matrices), each row's aligned
    columns (a &= b & c &= d is two), a row starting '&= ...' continuing the one above it, and
    equations set side by side with \\quad."""
    body = re.sub(r"\\(?:begin|end)\{(?:" + _ENVIRONMENTS + r")\*?\}", lambda m: " " * len(m.group(0)), body)
    depth, start, parts = 0, 0, []  # (offset, text, what ends it)
    for m in re.finditer(r"\\begin\{|\\end\{|\\\\|&|\\q?quad\b|\\text\{\s*and\s*\}", body):
        token = m.group(0)
        if token in ("\\begin{", "\\end{"):
            depth += 1 if token == "\\begin{" else -1
        elif depth == 0:
            parts.append((start, body[start:m.start()], token))
            start = m.end()
    parts.append((start, body[start:], "\\\\"))
    equations: list[list] = []  # [offset, text]
    for offset, text, _ in parts:
        if equations and re.match(r"\s*(?:=|\\approx)", text):
            equations[-1][1] += " " + text  # '&= 0.15 * 0.05 + ...' continues the equation before it
        elif text.strip():
            equations.append([offset, text])
    if len(equations) == 2 and "=" not in body:  # 'dL/dW^(2) \\ [-0.023, -0.023]': a label over a value
        equations = [[0, equations[0][1] + " = " + equations[1][1]]]
    out = []
    for offset, text in equations:
        at = line + body.count("\n", 0, offset + len(text) - len(text.lstrip()))  # where its first character is
        out.append(Formula(" ".join(text.split()).rstrip(",.;:").strip(), at, f"line {at}", display))
    return out


def _plain_equations(text: str, taken: list[tuple[int, int]]) -> list[Formula]:
    """Lines outside any formula that are an equation with a number in them."""
    out, offset = [], 0
    for n, raw in enumerate(text.split("\n"), 1):
        start, offset = offset, offset + len(raw) + 1
        if any(a < offset and b > start for a, b in taken) or "=" not in raw or not re.search(r"\d", raw):
            continue
        m = _PLAIN.match(raw.replace("**", "").replace("__", ""))
        if m:
            out.append(Formula(m["eq"].strip(), n, f"line {n}", True))
    return out
