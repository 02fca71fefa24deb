"""One formula of a document as a tree: LaTeX (or the plain text of a Markdown line) parsed into
numbers, symbols, sums, products, quotients, derivatives, calls and vectors.

    parse("z_1^{(1)} = 0.4(0.5) + 0.6(1.0) + 0.1 = \\mathbf{0.9}")
    -> [Sym z _1 ^(1), Add[Mul[0.4, 0.5], Mul[0.6, 1.0], 0.1], Num 0.9 bold]

Only what worked examples write is understood; a segment that is not becomes ``Other`` and is
never read as a number."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

_UNICODE = {"−": "-", "–": "-", "×": "*", "·": "*", "⋅": "*", "≈": "=", "≃": "=", "η": "\\eta ", "α": "\\alpha ",
            "δ": "\\delta ", "σ": "\\sigma ", "∂": "\\partial ", "Σ": "\\sum ", "∑": "\\sum ", "′": "'", "²": "^{2}",
            "½": "(1/2)", "ŷ": "\\hat{y}", "→": " \\to ", "←": "=", "⊙": "*", "∘": "*", "÷": "/", "\u00a0": " "}
_DROP = re.compile(r"\\(?:left|right|[bB]igg?[lr]?|displaystyle|textstyle|limits|nonumber|quad|qquad|therefore|because"
                   r"|hence|thus|[,;:!> ])"
                   r"(?![a-zA-Z])|\\(?:label|tag)\{[^{}]*\}|\\(?:color)\{[^{}]*\}")
_EQUALS = re.compile(r"\\approx|\\simeq|\\equiv|\\leftarrow|\\gets|:=|\\coloneqq|\\Rightarrow|\\implies")
_TIMES = re.compile(r"\\times|\\cdot|\\ast|\\odot|\\circ|\\otimes")
WRAPS = ("mathbf", "boldsymbol", "bm", "mathbb", "vec", "mathit", "mathsf", "pmb", "underline", "overline")
BOLD = ("mathbf", "boldsymbol", "bm", "boxed", "pmb", "textbf", "fbox")
WORDS = ("text", "textrm", "mathrm", "operatorname", "textit", "textbf", "textsf", "texttt", "mbox", "fbox", "boxed",
         "textcolor")
MARKS = ("hat", "widehat", "tilde", "widetilde", "bar", "dot")
NUMBER = re.compile(r"\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?")


@dataclass(frozen=True)
class Num:
    """A printed number, its text as written (sign included)."""
    text: str
    bold: bool = False


@dataclass(frozen=True)
class Sym:
    """A name with its subscript, superscript and marks: \\hat{y} is Sym('y', marks=('hat',))."""
    base: str
    sub: str = ""
    sup: str = ""
    marks: tuple[str, ...] = ()
    prime: bool = False
    at: tuple[int, ...] = ()  # a 0-based element written after the name: z_1[0], W[0][1]


@dataclass(frozen=True)
class Op:
    """add (children with their signs in ``signs``), mul, div, pow, neg, deriv (d num / d den),
    call (name in ``name``, prime for a derivative), vec (a row or a matrix of rows), word."""
    kind: str
    args: tuple = ()
    signs: tuple[int, ...] = ()
    name: str = ""
    prime: bool = False


@dataclass(frozen=True)
class Other:
    """A segment that is not understood."""
    text: str


Node = Num | Sym | Op | Other


_MATRIX = re.compile(r"\\begin\{([bpvBV]?matrix|array|smallmatrix)\}(?:\{[^{}]*\})?(.*?)\\end\{\1\}", re.S)


def _matrix(match: re.Match) -> str:
    rows = [r for r in re.split(r"\\\\(?:\[[^\]]*\])?", match.group(2)) if r.strip() and r.strip() != "\\hline"]
    cells = [[c.strip() for c in r.split("&")] for r in rows]
    return "[" + ", ".join("[" + ", ".join(r) + "]" for r in cells) + "]"


def normalize(text: str) -> str:
    """Unicode and spacing commands to plain LaTeX; \\approx and friends to '='; matrices to
    nested brackets [[a, b], [c, d]]."""
    for k, v in _UNICODE.items():
        text = text.replace(k, v)
    text = _MATRIX.sub(_matrix, text).replace("&", " ")
    text = re.sub(r"\\(?:top|intercal)\b|\\mathsf\{T\}|\\mathrm\{T\}", "T", text)  # the transpose
    text = re.sub(r"\\\|(.*?)\\\||\\[lr]Vert|\\[lr]vert", lambda m: f"({m.group(1)})" if m.group(1) is not None
                  else "|", text)  # |t - o|^2 and ||t - o||^2 as (t - o)^2
    text = _DROP.sub(" ", text)
    text = _EQUALS.sub("=", text)
    return _TIMES.sub("*", text)


def split_equals(text: str) -> list[str]:
    """The segments of a chain a = b = c, split at top-level '=' (not inside braces or brackets)."""
    depth, start, out = 0, 0, []
    for i, ch in enumerate(text):
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth -= 1
        elif ch == "=" and depth <= 0 and text[i - 1:i] not in ("<", ">", "!"):
            out.append(text[start:i])
            start = i + 1
    return [s.strip() for s in [*out, text[start:]]]


@functools.lru_cache(maxsize=8192)
def parse(text: str) -> tuple[Node, ...]:
    """A formula as its '='-separated segments, each a tree (Other where not understood). The
    trees are immutable and the reader looks at each formula in several passes, so a formula is
    parsed once."""
    segments = []
    for seg in split_equals(normalize(text)):
        try:
            p = _Parser(seg)
            node = p.expr()
            p.end()
        except UnreadableError:
            node = Other(seg)
        except RecursionError:
            node = Other(seg[:200])
        segments.append(node)
    return tuple(segments)


class UnreadableError(Exception):
    pass


_TOKEN = re.compile(r"\s*(?:(?P<num>" + NUMBER.pattern + r")|(?P<cmd>\\[a-zA-Z]+|\\[{}|_%])|(?P<word>[a-zA-Z]+\d*)"
                    r"|(?P<ch>\S))")


@dataclass
class _Parser:
    """Recursive descent over the tokens of one segment."""
    text: str
    toks: list[tuple[str, str]] = field(default_factory=list)
    i: int = 0

    def __post_init__(self) -> None:
        self.toks = [(m.lastgroup, m.group(m.lastgroup)) for m in _TOKEN.finditer(self.text)
                     if m.lastgroup is not None]

    def peek(self, k: int = 0) -> tuple[str, str]:
        return self.toks[self.i + k] if self.i + k < len(self.toks) else ("end", "")

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok[0] == "end" or (value is not None and tok[1] != value):
            raise UnreadableError(value)
        self.i += 1
        return tok

    def end(self) -> None:
        if self.peek()[0] != "end":
            raise UnreadableError("trailing")

    def group(self) -> str:
        """The raw text of a {...} group or of one token, as a string."""
        if self.peek()[1] != "{":
            return self.take()[1]
        self.take("{")
        depth, parts = 1, []
        while True:
            tok = self.take()
            depth += {"{": 1, "}": -1}.get(tok[1], 0)
            if depth == 0:
                return " ".join(parts)
            parts.append(tok[1])

    def expr(self) -> Node:
        """Sum of terms; a list of several terms is an add with their signs."""
        terms, signs = [], []
        sign = 1
        while self.peek()[1] in "+-" and self.peek()[0] == "ch":
            sign = -sign if self.take()[1] == "-" else sign
        terms.append(self.product())
        signs.append(sign)
        while self.peek()[1] in ("+", "-") and self.peek()[0] == "ch":
            sign = -1 if self.take()[1] == "-" else 1
            while self.peek()[1] in ("+", "-") and self.peek()[0] == "ch":
                sign = -sign if self.take()[1] == "-" else sign
            terms.append(self.product())
            signs.append(sign)
        if len(terms) == 1:
            return terms[0] if signs[0] > 0 else negate(terms[0])
        return Op("add", tuple(terms), tuple(signs))

    def product(self) -> Node:
        """Factors joined by * (or \\cdot, \\times) and /; written side by side they bind tighter:
        (out - t) \\cdot out(1 - out) is two factors, the second out(1 - out)."""
        factors = [self.juxtaposed()]
        while True:
            value = self.peek()[1]
            if value == "*":
                self.take()
                factors.append(self.signed(self.juxtaposed))
            elif value == "/":
                self.take()
                factors[-1] = _divide(factors[-1], self.signed(self.power))
            else:
                break
        return factors[0] if len(factors) == 1 else Op("mul", tuple(factors))

    def juxtaposed(self) -> Node:
        """0.4(0.5), \\delta_{o1} out_{h1}: factors written side by side."""
        factors = [self.power()]
        while True:
            kind, value = self.peek()
            if value == "/" and len(factors) == 1:
                break
            if kind in ("num", "cmd", "word") or value in ("(", "[", "{"):
                if value in ("\\to", "\\sum"):
                    raise UnreadableError(value)
                factors.append(self.power())
            else:
                break
        return factors[0] if len(factors) == 1 else Op("mul", tuple(factors))

    def signed(self, operand: Callable[[], Node]) -> Node:
        if self.peek() == ("ch", "-"):
            self.take()
            return negate(operand())
        return operand()

    def power(self) -> Node:
        node = self.atom()
        while self.peek()[1] == "^":
            self.take()
            node = Op("pow", (node, self.script_node()))
        return node

    def script_node(self) -> Node:
        if self.peek()[1] == "{":
            self.take("{")
            node = self.expr()
            self.take("}")
            return node
        return self.atom()

    def atom(self) -> Node:
        from oracle.extract.mathatoms import atom

        return atom(self)


def negate(node: Node) -> Node:
    if isinstance(node, Num):
        return Num(node.text[1:] if node.text.startswith("-") else "-" + node.text, node.bold)
    return Op("neg", (node,))


def _divide(a: Node, b: Node) -> Node:
    """a / b; the quotient of two differentials (\\partial L / \\partial z) is a derivative."""
    if isinstance(a, Op) and a.kind == "d" and isinstance(b, Op) and b.kind == "d":
        return Op("deriv", (a.args[0], b.args[0]))
    return Op("div", (a, b))


def plain(node: Node) -> str:
    """A tree back as compact text, for messages and comments."""
    if isinstance(node, Num):
        return node.text
    if isinstance(node, Sym):
        return (node.base + ("'" if node.prime else "") + (f"_{node.sub}" if node.sub else "")
                + (f"^{node.sup}" if node.sup else ""))
    if isinstance(node, Other):
        return node.text
    if node.kind == "vec":
        return "[" + ", ".join(plain(a) for a in node.args) + "]"
    return f"{node.kind}(" + ", ".join(plain(a) for a in node.args) + ")"


def walk(node: Node) -> Iterator[Node]:
    """A tree's nodes, the node itself first."""
    yield node
    if isinstance(node, Op):
        for a in node.args:
            yield from walk(a)
