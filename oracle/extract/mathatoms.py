"""The atoms of a formula: numbers, names with their scripts, \\frac, groups, vectors and matrices,
function calls and the words of \\text{...} (the parser of oracle.extract.mathtext calls these)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from oracle.extract.mathtext import BOLD, MARKS, NUMBER, WORDS, WRAPS, Num, Op, Sym, UnreadableError

if TYPE_CHECKING:
    from oracle.extract.mathtext import Node, _Parser

LOSS_NAMES = {"J", "L", "E", "C"}
FUNCTIONS = {"sigma", "f", "g", "phi", "varphi", "softmax", "relu", "ReLU", "tanh", "exp", "log", "ln", "act",
             "sigmoid", "logistic", "max"}
_GREEK = {"delta", "sigma", "eta", "alpha", "theta", "phi", "varphi", "epsilon", "lambda", "mu", "beta", "gamma",
          "nabla", "Delta", "mathcal", "ell", "tau", "omega", "xi", "rho", "pi"}
_SUP_NAME = re.compile(r"^\s*(\(\s*\w+\s*\)|\[\s*\w+\s*\]|\{?\s*\(\s*\w+\s*\)\s*\}?|\+|\*|'|T|new|old|\\prime|"
                       r"\(\s*\w+\s*\)\s*'|\(\s*\w+\s*\)\s*\+|\(\s*\w+\s*\)\s*,?\s*\\?\w*\s*new|\w*\s*\+?)\s*$")


def atom(p: _Parser) -> Node:
    """One operand: a number, a name, a call, a group, a vector or matrix, a fraction."""
    kind, value = p.peek()
    if kind == "num":
        p.take()
        return Num(value)
    if value == "(":
        return _bracketed(p, "(", ")")
    if value == "[":
        return _bracketed(p, "[", "]")
    if value == "{":
        p.take("{")
        node = p.expr()
        p.take("}")
        return _scripts(p, node)
    if kind == "cmd":
        return _command(p, value[1:])
    if kind == "word":
        p.take()
        return _name(p, value)
    raise UnreadableError(value)


def _bracketed(p: _Parser, open_: str, close: str) -> Node:
    """(expr), or a vector (a, b) / [a, b]; a vector of vectors is a matrix."""
    p.take(open_)
    items = [p.expr()]
    while p.peek()[1] in (",", ";"):
        p.take()
        items.append(p.expr())
    p.take(close)
    if len(items) == 1 and open_ == "(":
        return _scripts(p, items[0])
    return _scripts(p, Op("vec", tuple(items)))


def _command(p: _Parser, name: str) -> Node:
    p.take()
    if name in ("frac", "dfrac", "tfrac"):
        num, den = _differential(_sub_expr(p)), _differential(_sub_expr(p))
        if isinstance(num, Op) and num.kind == "d" and isinstance(den, Op) and den.kind == "d":
            return Op("deriv", (num.args[0], den.args[0]))
        return Op("div", (num, den))
    if name in ("partial", "nabla") or (name == "mathrm" and p.peek()[1] == "{" and p.peek(1)[1] == "d"):
        if name == "mathrm":
            p.group()
        return Op("d", (p.power(),))
    if name in WORDS:
        text = p.group()
        inner = text.replace(" ", "")
        if NUMBER.fullmatch(inner.lstrip("-")):
            return _scripts(p, Num(inner, bold=name in BOLD))
        if name in ("boxed", "fbox"):
            return _wrapped(text, bold=True)
        return _name(p, inner) if re.fullmatch(r"[A-Za-z]+", inner) else _scripts(p, Op("word", (), name=text))
    if name in WRAPS or name in BOLD:
        return _wrapped(p.group(), bold=name in BOLD, p=p)
    if name in MARKS:
        inner = p.group().replace(" ", "")
        return _name(p, inner.lstrip("\\"), marks=(name.replace("wide", ""),))
    if name in ("sum", "prod", "int", "lim", "to", "begin", "end", "sqrt"):
        raise UnreadableError(name)
    if name in _GREEK or name in FUNCTIONS:
        if name == "mathcal":
            return _name(p, p.group().replace(" ", ""))
        return _name(p, name)
    raise UnreadableError(name)


def _differential(node: Node) -> Node:
    """dE, d E or dw_5 written without \\partial (in \\frac{dE}{dw_5}) as the differential of E, w_5."""
    if isinstance(node, Sym) and len(node.base) > 1 and node.base[0] == "d" and node.base[1:] != "elta":
        return Op("d", (Sym(node.base[1:], node.sub, node.sup, node.marks, node.prime, node.at),))
    if isinstance(node, Op) and node.kind == "mul" and len(node.args) == 2 and node.args[0] == Sym("d"):
        return Op("d", (node.args[1],))
    return node


def _sub_expr(p: _Parser) -> Node:
    if p.peek()[1] != "{":
        return p.atom()
    p.take("{")
    node = p.expr()
    p.take("}")
    return node


def _wrapped(text: str, bold: bool, p: _Parser | None = None) -> Node:
    """The contents of \\mathbf{...} or \\boxed{...}: a number keeps the mark that it is the result."""
    from oracle.extract.mathtext import _Parser

    inner = _Parser(text)
    node = inner.expr()
    inner.end()
    if bold and isinstance(node, Num):
        node = Num(node.text, bold=True)
    elif bold and isinstance(node, Op) and node.kind == "neg" and isinstance(node.args[0], Num):
        node = Num("-" + node.args[0].text, bold=True)
    return _scripts(p, node) if p is not None else node


def _name(p: _Parser, base: str, marks: tuple[str, ...] = ()) -> Node:
    """A name with its scripts and primes; a known function followed by '(' is a call."""
    prime = False
    glued = re.fullmatch(r"([A-Za-z]+?)(\d+)", base)
    if glued and p.peek()[1] != "_" and glued[1] not in ("e",):
        base = glued[1]  # w5, W1, h1 written without '_'
        p.toks.insert(p.i, ("ch", "_"))
        p.toks.insert(p.i + 1, ("num", glued[2]))
    sub, sup, prime = _read_scripts(p, "", "", prime)
    if base in FUNCTIONS and p.peek()[1] == "(":
        arg = _bracketed(p, "(", ")")
        return Op("call", (arg,), name=base + (f"_{sub}" if sub else ""), prime=prime)
    if base in LOSS_NAMES and p.peek()[1] == "(":
        _bracketed(p, "(", ")")  # J(W, b), L(y, y_hat): the loss of its arguments
    at = _element_index(p)
    if base.startswith("d") and len(base) > 1 and p.peek()[1] == "/" and not sub:
        return Op("d", (Sym(base[1:], sub, sup, marks, prime),))
    return Sym(base, sub, sup, marks, prime, at)


def _element_index(p: _Parser) -> tuple[int, ...]:
    """[0], [0, 1] or [0][1] right after a name: a 0-based element, as numpy-style notes write."""
    at: list[int] = []
    while p.peek()[1] == "[":
        j, items = p.i + 1, []
        while j < len(p.toks) and p.toks[j][1] != "]":
            items.append(p.toks[j])
            j += 1
        values = [v for k, v in items if v != ","]
        if j >= len(p.toks) or not values or any(not v.isdigit() for v in values) or len(values) > 2:
            break
        at += [int(v) for v in values]
        p.i = j + 1
    return tuple(at)


def _is_name_sup(p: _Parser) -> bool:
    """Whether '^' starts a superscript that is part of the name (a layer, +, new, a prime)
    rather than a power."""
    start = p.i + 1
    if start >= len(p.toks):
        return False
    if p.toks[start][1] != "{":
        return p.toks[start][1] in ("+", "*", "T", "'")
    depth, parts = 0, []
    for _kind, value in p.toks[start:]:
        depth += {"{": 1, "}": -1}.get(value, 0)
        if depth == 0:
            break
        if not (depth == 1 and value == "{"):
            parts.append(value)
    text = re.sub(r"\\(?:text|mathrm|textrm|mbox)\{([^{}]*)\}", r"\1", "".join(parts))
    return bool(_SUP_NAME.match(text)) and not NUMBER.fullmatch(text)


def _read_scripts(p: _Parser, sub: str, sup: str, prime: bool) -> tuple[str, str, bool]:
    """A name's subscript, its superscript when it is part of the name (a layer, +, new), and
    its primes, in any order: w_5^{+}, W'^{(2)}, f'_2."""
    for _ in range(4):
        tok = p.peek()[1]
        if tok == "_" and not sub:
            p.take()
            sub = p.group().replace(" ", "")
        elif tok == "^" and not sup and _is_name_sup(p):
            p.take()
            sup = p.group().replace(" ", "")
        elif tok in ("'", "\\prime"):
            p.take()
            prime = True
        else:
            break
    return sub, sup, prime


def _scripts(p: _Parser | None, node: Node) -> Node:
    """A group followed by '^{(l)}' or a prime is still the group (\\mathbf{W}^{(1)} is W^(1))."""
    if p is None or not isinstance(node, Sym):
        return node
    sub, sup, prime = _read_scripts(p, node.sub, node.sup, node.prime)
    return Sym(node.base, sub, sup, node.marks, prime, node.at or _element_index(p))



