"""What a name in a document denotes: a claimable quantity (z^(1)_2, dL/dW^(2)[0,1], E_o1), a
given (W^(1), w_5, i_1, target_o1, eta) or nothing known.

Two notations are built in: the project document's (z, a, sigma', delta, dL/dW, W_new or W',
y-hat, L or Loss) and the net/out/E_total style of blog posts (net_h1, out_o1, w1..w8, b1, b2,
i1, target_o1, E_total, E_o1, w5^+). ``Notation.aliases`` maps a document's own names onto
these (``net=z, out=a, E=L``); a layer may be named too (``h=a1``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from oracle.extract.mathtext import Node, Num, Op, Sym

CANONICAL = ("z", "a", "L", "y", "yhat", "x", "W", "b", "delta", "lr", "sigma")
BUILT_IN = {"z": "z", "net": "z", "Z": "z", "a": "a", "out": "a", "A": "a", "L": "L", "E": "L", "J": "L",
            "Loss": "L", "loss": "L", "Error": "L", "Cost": "L", "y": "y", "t": "y", "target": "y", "x": "x",
            "i": "x", "X": "x", "Y": "y", "input": "x", "W": "W", "w": "W", "b": "b", "delta": "delta", "eta": "lr",
            "alpha": "lr", "lr": "lr", "sigma": "sigma"}
_NEW = re.compile(r"^(?:\+|\*|'|new|\\text\{new\}|\\prime|\\mathrm\{new\}|\\textrm\{new\}|updated|\\text\{updated\})$")
_LAYER = re.compile(r"^\{?[(\[]\s*(\d+)\s*[)\]]\}?(.*)$")
_UNIT = re.compile(r"^\{?([a-zA-Z]*?)_?\{?(\d+)\}?\}?$")
_PAIR = re.compile(r"^\{?(\d)(\d)\}?$|^\{?(\d+),(\d+)\}?$")
ACTIVATION_CALLS = ("sigma", "f", "g", "phi", "varphi", "act", "relu", "ReLU", "tanh", "softmax", "sigmoid",
                    "logistic")
UNIT_LETTERS = {"i": 0, "x": 0, "h": 1, "o": -1, "y": -1}  # i1: input 1, h1: hidden unit 1, o1: output 1


@dataclass(frozen=True)
class Ref:
    """A place in the worked-example file: a claim (``prop`` a claim key's property) or a given
    (``prop`` one of W, b, x, y, lr). ``index`` is the element (0-based) or () for all of it; a
    term of a sum is an element of its terms quantity (E_o1 is L_terms[0]; dE_o1/dout_h1 is
    dL_da1_terms[0, 0])."""

    given: bool
    prop: str
    layer: int | None = None
    index: tuple[int, ...] = ()
    weight_number: int | None = None  # w_k of the w1..w8 numbering, placed once the sizes are known
    exponent: str | None = None  # e^{0.022}: the printed z whose exponential it is, placed once z is


@dataclass
class Notation:
    """The names a document uses, and the network's depth once known."""

    aliases: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    depth: int | None = None  # L, the number of layers with weights
    layer_subscripts: bool = False  # z_1, W_2 name layers (numpy-style notes), not units

    def canonical(self, base: str) -> tuple[str, int | None]:
        base = base.strip("{}")
        if base in self.aliases:
            return self.aliases[base]
        return BUILT_IN.get(base, ""), None


def parse_aliases(text: str, where: str) -> dict[str, tuple[str, int | None]]:
    """'net=z, out=a, E=L, h=a1' as {'net': ('z', None), ..., 'h': ('a', 1)}."""
    from manual_bp.errors import InputError

    out = {}
    for part in filter(None, (p.strip() for p in re.split(r"[,;]", text))):
        m = re.fullmatch(r"\\?([A-Za-z]+)\s*=\s*([A-Za-z]+?)(\d*)", part)
        if m is None or m[2] not in CANONICAL:
            raise InputError(f"{where}: expected name=symbol pairs with a symbol of {', '.join(CANONICAL)} "
                             f"(optionally with its layer: h=a1), got {part!r}")
        out[m[1]] = (m[2], int(m[3]) if m[3] else None)
    return out


def _layer_of(sym: Sym) -> tuple[int | None, bool]:
    """The layer in a superscript (z^{(1)}, W^{[2]}) and whether the superscript also marks a
    new value (w^{(1)+})."""
    m = _LAYER.match(sym.sup)
    if m:
        return int(m[1]), bool(_NEW.match(m[2].strip("{} ,"))) if m[2].strip("{} ,") else False
    return None, False


def _unwrap(script: str) -> str:
    """A script without spaces, braces and \\text{...} wrappers: '{\\text{new}}' -> 'new'."""
    script = re.sub(r"\\(?:text|mathrm|textrm|mbox|textit|mathit)\s*\{([^{}]*)\}", r"\1", script.replace(" ", ""))
    return script.strip("{}")


def _is_new(sym: Sym) -> bool:
    return sym.prime or bool(_NEW.match(_unwrap(sym.sup))) or bool(_NEW.match(_unwrap(sym.sub)))


def unit(text: str, notation: Notation) -> tuple[int | None, int] | None:
    """A unit named in a subscript: 'h1' -> (1, 0), 'o2' -> (L, 1), '2' -> (None, 1)."""
    m = _UNIT.match(text.replace(" ", "").replace("\\text", ""))
    if m is None:
        return None
    letters, number = m[1], int(m[2])
    if number < 1:
        return None
    if not letters:
        return None, number - 1
    if letters not in UNIT_LETTERS:
        return None
    layer = UNIT_LETTERS[letters]
    if layer == -1:
        layer = notation.depth
    elif layer == 1 and notation.depth not in (None, 2):
        return None  # 'h' names the hidden layer only when there is exactly one
    return (layer, number - 1) if layer is not None else None


def recognise(node: Node, notation: Notation) -> Ref | None:
    """The place a name denotes, or None when it is not one this module knows."""
    if isinstance(node, Op) and node.kind == "mul" and len(node.args) == 2 and _transposed_weights(node.args[0],
                                                                                                   notation):
        w, d = _transposed_weights(node.args[0], notation), recognise(node.args[1], notation)
        if d is not None and not d.given and d.prop == "delta" and not d.index and d.layer == w.layer:
            return Ref(False, "dL_da", w.layer - 1, ())  # (W^(l+1))^T delta^(l+1): Eq. 2 before sigma'
        return None
    if isinstance(node, Op) and node.kind == "mul" and len(node.args) == 2:
        row = _row_note(node.args[1])
        inner = recognise(node.args[0], notation)
        if inner is not None and row is not None and not inner.index:
            return Ref(inner.given, inner.prop, inner.layer, (row,))
        return None
    if isinstance(node, Op) and node.kind == "deriv":
        return _derivative(node.args[0], node.args[1], notation)
    if isinstance(node, Op) and node.kind == "pow" and node.args[0] == Sym("e"):
        if isinstance(node.args[1], Num):  # e^{0.022}: placed by the printed z it is the exponential of
            return Ref(False, "exp_z", None, (), exponent=node.args[1].text)
        target = recognise(node.args[1], notation)  # e^{z_i}, e^{Z[4]}
        if target is not None and not target.given and target.prop == "z":
            return Ref(False, "exp_z", target.layer, target.index)
        return None
    if isinstance(node, Op) and node.kind == "call" and node.name.split("_")[0] in ACTIVATION_CALLS:
        target = recognise(node.args[0], notation) if node.args else None
        if target is None or target.given or target.prop != "z":
            return None
        return Ref(False, "sigma_prime" if node.prime else "a", target.layer, target.index)
    if isinstance(node, Sym):
        return _symbol(node, notation)
    return None


def _row_note(node: Node) -> int | None:
    if isinstance(node, Op) and node.kind == "word":
        m = re.fullmatch(r"\s*\(?\s*row\s*(\d+)\s*\)?\s*", node.name)
        return int(m[1]) - 1 if m and int(m[1]) > 0 else None
    return None


def _symbol(sym: Sym, notation: Notation) -> Ref | None:
    """A name, with an element written after it (z_1[0]: layer 1 by its subscript, element 0)."""
    if not sym.at:
        return _named(sym, notation)
    at, sub = sym.at, _unwrap(sym.sub)
    layered = notation.canonical(sym.base.lstrip("d") or sym.base)[0] in ("z", "a", "W", "b", "delta")
    if not sub and len(at) == 1 and layered and not _layer_of(sym)[0]:  # Z[1], W[2]: the layer, written inline
        return _named(Sym(sym.base, "", f"({at[0]})" + sym.sup, sym.marks, sym.prime), notation)
    if re.fullmatch(r"\d+", sub) and not _layer_of(sym)[0]:
        sym = Sym(sym.base, "", f"({sub})" + sym.sup, sym.marks, sym.prime)
    ref = _named(Sym(sym.base, sym.sub, sym.sup, sym.marks, sym.prime), notation)
    if ref is None or ref.index or ref.weight_number is not None:
        return None
    return Ref(ref.given, ref.prop, ref.layer, at)


def _named(sym: Sym, notation: Notation) -> Ref | None:
    if _unwrap(sym.sup) in ("T", "\\top", "\\intercal", "\\mathsf{T}"):
        return None  # a transpose: printed in another shape
    canon, fixed_layer = notation.canonical(sym.base)
    if sym.base in ("i", "t") and not sym.sub and sym.base not in notation.aliases:
        return None  # a bare i or t is an index or a step, not the input or the target
    if not canon and len(sym.base) > 1 and sym.base[0] == "d" and notation.canonical(sym.base[1:])[0] in (
            "z", "a", "W", "b"):  # dz_2, dW_1, db_1: the gradient of the loss (numpy-style notes)
        inner = _named(Sym(sym.base[1:], sym.sub, sym.sup, sym.marks, sym.prime), notation)
        return _dl(inner) if inner is not None else None
    if "hat" in sym.marks and canon == "y":
        canon, fixed_layer = "a", notation.depth
    if not canon or canon == "sigma":
        return None
    layer, new_in_sup = _layer_of(sym)
    new = new_in_sup or _is_new(sym)
    sub = re.sub(r"(?:^|,)(?:new|updated)$|^(?:new|updated)$", "", _unwrap(sym.sub)).strip("{},")
    if layer is None and fixed_layer is not None:
        layer = fixed_layer
    if layer is None and notation.layer_subscripts and re.fullmatch(r"\d+", sub) and sym.base != "w":
        layer, sub = int(sub), ""  # (w_5 stays the 5th weight of the blog numbering)
    if canon == "a" and layer == 0 and not new:
        canon, layer = "x", None  # a^(0) is the input
    if canon == "L":
        return _loss(sub, new, notation)
    if canon == "lr":
        return Ref(True, "lr") if not sub and not new else None
    if canon in ("W", "b"):
        return _parameter(canon, sym, sub, layer, new, notation)
    if new:
        return Ref(False, "a_new", layer, ()) if canon == "a" and layer is not None and not sub else None
    return _vector(canon, sub, layer, notation)


def _loss(sub: str, new: bool, notation: Notation) -> Ref | None:
    if sub in ("", "total", "\\text{total}", "tot", "T"):
        return Ref(False, "L_new" if new else "L")
    u = unit(sub, notation)
    if u is not None and not new and u[0] in (None, notation.depth):
        return Ref(False, "L_terms", None, (u[1],))  # E_o1: output 1's share of the loss
    return None


def _vector(canon: str, sub: str, layer: int | None, notation: Notation) -> Ref | None:
    """z, a, delta, x, y with a layer and a unit."""
    index: tuple[int, ...] = ()
    if sub:
        u = unit(sub, notation)
        if u is None:
            return None
        if u[0] is not None:
            if layer is not None and layer != u[0]:
                return None
            layer = u[0]
        index = (u[1],)
    if canon in ("x", "y"):
        if layer not in (None, 0 if canon == "x" else notation.depth):
            return None
        return Ref(True, canon, None, index)
    if layer is None or layer < 1:
        return None
    return Ref(False, {"z": "z", "a": "a", "delta": "delta", "yhat": "a"}[canon], layer, index)


def _parameter(canon: str, sym: Sym, sub: str, layer: int | None, new: bool, notation: Notation) -> Ref | None:
    """W^(l), w_ij^(l), w_k (numbered across the network), b^(l), b_i^(l), b_k."""
    prop = canon + ("_new" if new else "")
    given = not new
    if canon == "W":
        if layer is None and sub and re.fullmatch(r"\d+", sub):
            if sym.base == "W":  # W_2: the layer's matrix
                return Ref(given, prop, int(sub), ())
            return Ref(given, prop, None, (), weight_number=int(sub))  # w_5: the network's 5th weight
        if layer is None:
            return None
        if not sub:
            return Ref(given, prop, layer, ())
        m = _PAIR.match(sub)
        if m:
            i, j = (int(m[1]), int(m[2])) if m[1] else (int(m[3]), int(m[4]))
            return Ref(given, prop, layer, (i - 1, j - 1)) if i > 0 and j > 0 else None
        if re.fullmatch(r"\d+", sub) and int(sub) > 0:
            return Ref(given, prop, layer, (None, int(sub) - 1))  # w_k^(l): element k of a one-row W
        return None
    if layer is None and sub and re.fullmatch(r"\d+", sub):
        return Ref(given, prop, int(sub), (), weight_number=0)  # b_1, b_2: one bias per layer (blog style)
    if layer is None:
        return None
    if not sub:
        return Ref(given, prop, layer, ())
    u = unit(sub, notation)
    return Ref(given, prop, layer, (u[1],)) if u is not None and u[0] in (None, layer) else None


def _derivative(top: Node, bottom: Node, notation: Notation) -> Ref | None:
    """dL/dz, dL/da, dL/dW, dL/db, da/dz (sigma'), dE_o1/dout_h1 (a term of dL/da). C is the
    loss here (dC/dw, as Nielsen writes), though a bare C = 10 is not (a count of classes)."""
    if top == Sym("C") and "C" not in notation.aliases:
        top = Sym("L")
    num = recognise(top, notation)
    den = recognise(bottom, notation)
    if num is None or den is None:
        return None
    if num.prop == "a" and den.prop == "z" and not num.given and num.layer == den.layer and num.index == den.index:
        return Ref(False, "sigma_prime", num.layer, num.index)
    if num.prop == "L":
        return _dl(den)
    if num.prop == "z" and not num.given and (den.given or den.prop == "a"):
        return Ref(False, "restated")  # dnet_o1/dw_5 = out_h1, dnet_o1/dout_h1 = w_5: values printed before
    if (num.prop == "L_terms" and den.prop == "a" and not den.given and den.layer == (notation.depth or 0) - 1
            and len(den.index) == 1):
        return Ref(False, "dL_da_terms", den.layer, (den.index[0], num.index[0]))
    if num.prop == "L_terms" and den.prop in ("z", "a") and den.layer == notation.depth and den.index == num.index:
        return Ref(False, "delta" if den.prop == "z" else "dL_da", den.layer, den.index)
    return None


def _dl(den: Ref) -> Ref | None:
    if den.given and den.prop in ("W", "b"):
        return Ref(False, "d" + den.prop, den.layer, den.index, weight_number=den.weight_number)
    if not den.given and den.prop in ("z", "a"):
        return Ref(False, "delta" if den.prop == "z" else "dL_da", den.layer, den.index)
    return None


def recognise_step(node: Node, notation: Notation) -> tuple[Ref | None, str]:
    """A step's shape that is a quantity of the document, and what makes it one: a(1 - a) is
    sigma'(z) of a sigmoid layer, 1 - a^2 of a tanh layer; a - y and -(y - a) are dL/da of the
    output under 1/2 (y - a)^2."""
    if isinstance(node, Op) and node.kind == "mul" and len(node.args) == 2:
        a, rest = recognise(node.args[0], notation), node.args[1]
        if a is not None and _is_one_minus(rest, node.args[0]) and not a.given and a.prop == "a" and a.index:
            return Ref(False, "sigma_prime", a.layer, a.index), "sigmoid"
    if isinstance(node, Op) and node.kind == "add" and len(node.args) == 2 and node.args[0] == Num("1") \
            and node.signs == (1, -1) and isinstance(node.args[1], Op) and node.args[1].kind == "pow" \
            and node.args[1].args[1] == Num("2"):
        a = recognise(node.args[1].args[0], notation)
        if a is not None and not a.given and a.prop == "a" and a.index:
            return Ref(False, "sigma_prime", a.layer, a.index), "tanh"
    backward = _through_weights(node, notation)
    if backward is not None:
        return backward, ""
    sign, inner = (-1, node.args[0]) if isinstance(node, Op) and node.kind == "neg" else (1, node)
    if isinstance(inner, Op) and inner.kind == "add" and len(inner.args) == 2:
        refs = [recognise(x, notation) for x in inner.args]
        kinds = [("out" if x is not None and not x.given and x.prop == "a" and x.layer == notation.depth
                  else x.prop if x is not None and x.given else "") for x in refs]
        signed = {k: s * sign for k, s in zip(kinds, inner.signs, strict=True)}
        if signed == {"out": 1, "y": -1} and refs[0].index and refs[0].index == refs[1].index:
            return Ref(False, "dL_da", notation.depth, refs[0].index), "half_sse"
    return None, ""


def _is_one_minus(node: Node, a: Node) -> bool:
    """node is (1 - a)."""
    return (isinstance(node, Op) and node.kind == "add" and node.signs == (1, -1) and node.args[0] == Num("1")
            and node.args[1] == a)


def _weighted_delta(node: Node, notation: Notation) -> tuple[int, int, int] | None:
    """delta_k^(l+1) w^(l+1) (either order): (l, k, the other index of w), the unit of layer l
    the weight leaves; None for anything else."""
    if not (isinstance(node, Op) and node.kind == "mul" and len(node.args) == 2):
        return None
    refs = [recognise(a, notation) for a in node.args]
    d = next((x for x in refs if x is not None and not x.given and x.prop == "delta" and len(x.index) == 1), None)
    w = next((x for x in refs if x is not None and x.given and x.prop == "W" and len(x.index) == 2
              and None not in x.index and x.weight_number is None), None)
    if d is None or w is None or d.layer != w.layer or d.layer is None or d.index[0] not in w.index:
        return None
    k = d.index[0]
    other = w.index[1] if w.index[0] == k and w.index[1] != k else w.index[0] if w.index[1] == k else None
    return (d.layer - 1, k, other) if other is not None else None


def _through_weights(node: Node, notation: Notation) -> Ref | None:
    """sum_k delta_k^(l+1) w_(k, i)^(l+1) is dL/da^(l)[i] (Eq. 2 before sigma'); one of its
    products is that sum's k-th term."""
    one = _weighted_delta(node, notation)
    if one is not None:
        return Ref(False, "dL_da_terms", one[0], (one[2], one[1]))
    if not (isinstance(node, Op) and node.kind == "add" and set(node.signs) == {1} and len(node.args) >= 2):
        return None
    terms = [_weighted_delta(a, notation) for a in node.args]
    if any(t is None for t in terms) or len({(t[0], t[2]) for t in terms}) != 1 or len({t[1] for t in terms}) != len(
            terms):
        return None
    return Ref(False, "dL_da", terms[0][0], (terms[0][2],))


def _transposed_weights(node: Node, notation: Notation) -> Ref | None:
    """W^(l)^T, (W^(l))^T, W_2^T: the transposed weights of a layer, as a Ref to W^(l)."""
    if (isinstance(node, Sym) and _unwrap(node.sup) in ("T",)) or (isinstance(node, Sym) and node.sup.endswith("T")
                                                               and _LAYER.match(node.sup[:-1])):
        inner = Sym(node.base, node.sub, node.sup[:-1] if node.sup != "T" else "", node.marks, node.prime, node.at)
        w = _named(inner, notation)
    elif isinstance(node, Op) and node.kind == "pow" and node.args[1] == Sym("T"):
        w = recognise(node.args[0], notation)
    else:
        return None
    return w if w is not None and w.given and w.prop == "W" and not w.index and w.layer else None
