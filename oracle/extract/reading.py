"""A first pass over a document's formulas: what each one states (a printed value of a claimable
quantity, a given, the symbolic definition of a sum) and the values its steps bind to names.

    z_1^{(1)} = 0.4(0.5) + 0.6(1.0) + 0.1 = 0.2 + 0.6 + 0.1 = 0.9
    -> claim z^(1)[0] = 0.9, with the terms 0.2, 0.6, 0.1
    w_5^{+} = w_5 - \\eta * dE/dw_5 = 0.4 - 0.5 * 0.082167041 = 0.35891648
    -> claim W'(w_5) = 0.35891648; binds w_5 = 0.4 and eta = 0.5 (the step before, term by term)
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from oracle.extract.mathtext import Node, Num, Op, Other, Sym, parse, plain, walk
from oracle.extract.sources import Formula
from oracle.extract.symbols import Notation, Ref, recognise, recognise_step

_INDEX_LETTERS = ("i", "j", "k", "l", "m", "n", "N", "epoch", "step", "t")


@dataclass
class Statement:
    """One formula that states a value: the place, the value as printed (a str, or nested lists
    of str), the terms of the sum printed just before it, and where it is."""

    ref: Ref
    value: object
    where: str
    formula: str
    terms: list[str] | None = None
    requires: str = ""  # read from the shape of a step: true only for this activation or loss


@dataclass
class Reading:
    """Everything the first pass found, in the document's order."""

    claims: list[Statement] = field(default_factory=list)
    givens: list[Statement] = field(default_factory=list)
    bindings: list[Statement] = field(default_factory=list)  # givens read off a step, term by term
    bound_claims: list[Statement] = field(default_factory=list)  # claimable values read off a step the same way
    sums: list[tuple[Ref, Node, str]] = field(default_factory=list)  # symbolic z definitions, for w_k and b_k
    not_placed: list[tuple[str, str, str]] = field(default_factory=list)  # where, formula, why
    restated: int = 0


def _annotated(node: Node) -> Node:
    """A value with a note after it, '0.711 \\text{(rounded)}', as the value."""
    if isinstance(node, Op) and node.kind == "mul" and len(node.args) >= 2 and all(
            isinstance(a, Op) and a.kind == "word" for a in node.args[1:]):
        return node.args[0]
    return node


def literal(node: Node) -> object | None:
    """A printed number, vector or matrix as str / nested lists of str; None for anything else."""
    node = _annotated(node)
    if isinstance(node, Op) and node.kind == "pow" and node.args[1] == Sym("T"):
        inner = literal(node.args[0])  # [1, 0]^T: a column written as a row
        return [list(r) for r in zip(*inner, strict=True)] if inner and isinstance(inner[0], list) else inner
    if isinstance(node, Num):
        return node.text
    if isinstance(node, Op) and node.kind == "neg" and isinstance(node.args[0], Num):
        text = node.args[0].text
        return text[1:] if text.startswith("-") else "-" + text
    if isinstance(node, Op) and node.kind == "vec":
        items = [literal(a) for a in node.args]
        if any(i is None for i in items):
            return None
        kinds = {isinstance(i, list) for i in items}
        return items if len(kinds) == 1 else None
    return None


def _result_index(segs: list[Node]) -> int | None:
    """Which segment is the printed result: a bold or boxed number, else the last one when it is
    a number, vector or matrix."""
    bold = [i for i, s in enumerate(segs) if isinstance(_annotated(s), Num) and _annotated(s).bold and i > 0]
    if bold:
        return bold[-1]
    return len(segs) - 1 if len(segs) > 1 and literal(segs[-1]) is not None else None


def _sum_terms(node: Node) -> list[str] | None:
    """The printed terms of a sum of plain numbers (0.2 + 0.6 + 0.1), each with its sign."""
    if not (isinstance(node, Op) and node.kind == "add"):
        return None
    out = []
    for sign, term in zip(node.signs, node.args, strict=True):
        text = literal(term)
        if not isinstance(text, str):
            return None
        if sign < 0:
            text = text[1:] if text.startswith("-") else "-" + text
        out.append(text)
    return out


def align(sym: Node, num: Node, out: list[tuple[Node, str]]) -> bool:
    """Match a symbolic step with the numeric step after it, node by node, collecting each name
    the numbers replace: w_1 * i_1 + b_1 against 0.15 * 0.05 + 0.35 gives w_1 = 0.15, ..."""
    for node, other in ((num, sym), (sym, num)):  # [0.00537 + 0.0035]: brackets that only group
        if isinstance(node, Op) and node.kind == "vec" and len(node.args) == 1 and not (
                isinstance(other, Op) and other.kind == "vec"):
            return align(sym.args[0] if node is sym else sym, num.args[0] if node is num else num, out)
    if isinstance(num, Num):
        if isinstance(sym, Num):
            return float(sym.text) == float(num.text)
        if isinstance(sym, Sym) or (isinstance(sym, Op) and sym.kind in ("deriv", "call")):
            out.append((sym, num.text))
            return True
        if isinstance(sym, Op) and sym.kind == "neg" and num.text.startswith("-"):
            return align(sym.args[0], Num(num.text[1:]), out)
        if isinstance(sym, Op) and sym.kind in ("mul", "add", "neg"):
            out.append((sym, num.text))  # out_o1(1 - out_o1) = 0.2446: a step's shape, for recognise_step
            return True
        return False
    if isinstance(sym, Op) and isinstance(num, Op) and sym.kind == num.kind and len(sym.args) == len(num.args):
        if (sym.kind == "call" and sym.name != num.name) or sym.signs != num.signs:
            return False
        return all(align(a, b, out) for a, b in zip(sym.args, num.args, strict=True))
    return isinstance(sym, Sym) and sym == num


def has_number(node: Node) -> bool:
    """Whether a step holds a printed value (a constant 0, 1 or 2 of a formula is not one)."""
    if isinstance(node, Num):
        return node.text.lstrip("-") not in ("0", "1", "2")
    if isinstance(node, Op):
        return any(has_number(a) for a in node.args)
    return False


def read(formulas: list[Formula], notation: Notation) -> Reading:
    """The first pass: every formula's statement, bindings and symbolic sums."""
    r = Reading()
    definitions: dict[Ref, Node] = {}  # the last symbolic right-hand side of each name
    updated: set[tuple] = set()  # W_1 := W_1 - eta dJ/dW_1: W_1 printed from there on is the new W_1
    for f in formulas:
        segs = parse(f.text)
        if len(segs) < 2:
            continue
        ref = recognise(segs[0], notation)
        if ref is not None and ref.given and ref.prop in ("W", "b") and (ref.layer or ref.weight_number):
            name = (ref.prop, ref.layer, ref.weight_number)
            if name not in updated and _is_update_rule(segs[1], ref, notation):
                updated.add(name)
            if name in updated:  # the rule's own result, and what is printed under the name after it
                ref = Ref(False, ref.prop + "_new", ref.layer, ref.index, weight_number=ref.weight_number)
        _bind(r, segs, ref, definitions, f, notation)
        at = _result_index(segs)
        if at is None:
            continue
        value = literal(segs[at])
        if ref is None and isinstance(segs[0], Sym) and (
                (segs[0].base in _INDEX_LETTERS and not segs[0].sub) or segs[0].sub in _INDEX_LETTERS):
            continue  # l = 1, m = 1, y_i = 1: an index, a count or a general formula, not a printed value
        if ref is None:
            terms = _sum_terms(segs[at - 1]) if at >= 1 else None
            if terms and isinstance(value, str):  # 'Sum: 1.0222 + 1.0060 = 2.0282': placed by its terms, if at all
                r.claims.append(Statement(Ref(False, "sum_of"), value, f.where, f.text, terms))
            else:
                r.not_placed.append((f.where, f.text, _unknown(segs[0])))
            continue
        if ref.prop == "restated":
            r.restated += 1
            continue
        terms = _sum_terms(segs[at - 1]) if at >= 2 else None
        (r.givens if ref.given else r.claims).append(Statement(ref, value, f.where, f.text, terms))
    return r


def _unknown(lhs: Node) -> str:
    """Why a printed value was not placed: its name, or that it has none."""
    if isinstance(lhs, Sym) or (isinstance(lhs, Op) and lhs.kind in ("deriv", "call", "pow")):
        return f"'{plain(lhs)}' is not a name this reader knows (a mapping may say what it is: docs/extract.md)"
    return "a computation without a name for its result"


def _is_update_rule(rhs: Node, ref: Ref, notation: Notation) -> bool:
    """W_1 - eta dJ/dW_1: the right-hand side names the parameter itself and its gradient."""
    nodes = list(walk(rhs))
    names = [recognise(n, notation) for n in nodes if isinstance(n, Sym) or (isinstance(n, Op) and n.kind == "deriv")]
    same = (ref.layer, ref.index, ref.weight_number)
    return any(x is not None and x.given and x.prop == ref.prop and (x.layer, x.index, x.weight_number) == same
               for x in names) and any(x is not None and x.prop == "d" + ref.prop
                                       and (x.layer, x.index, x.weight_number) == same for x in names)


def _bind(r: Reading, segs: list[Node], ref: Ref | None, definitions: dict, f: Formula,
          notation: Notation) -> None:
    """Record what the steps of a chain bind, and the symbolic definition of a sum."""
    steps = list(segs[1:])
    if ref is not None and ref in definitions and steps and has_number(steps[0]):
        steps.insert(0, definitions[ref])  # net_h1 = w_1 i_1 + ... then net_h1 = 0.15 * 0.05 + ...
    symbolic = [s for s in steps if not isinstance(s, Num | Other) and not has_number(s)]
    pairs_to_try = list(itertools.pairwise(steps)) + [(a, b) for a in symbolic for b in steps
                                                       if has_number(b) and steps.index(b) > steps.index(a) + 1]
    for a, b in pairs_to_try:  # each step with names against the steps with numbers after it
        if isinstance(a, Num | Other):
            continue
        pairs: list[tuple[Node, str]] = []
        if align(a, b, pairs):
            for name, text in pairs:
                bound = recognise(name, notation)
                requires = ""
                if bound is None and isinstance(name, Op):
                    bound, requires = recognise_step(name, notation)
                if bound is not None and bound.given:
                    r.bindings.append(Statement(bound, text, f.where, f.text))
                elif bound is not None and bound.prop not in ("restated", "sum_of") and bound.exponent is None:
                    r.bound_claims.append(Statement(bound, text, f.where, f.text, requires=requires))
    if ref is not None and len(segs) >= 2 and not has_number(segs[1]) and not isinstance(segs[1], Other):
        definitions[ref] = segs[1]
        if not ref.given and ref.prop == "z":
            r.sums.append((ref, segs[1], f.where))
