"""The network a document describes: its layer sizes, the layout of its printed matrices, the
numbering of blog-style weights w1..w8 and biases b1, b2, and the values of W, b, x, y and the
learning rate, each with the line it was read from.

Blog posts number their weights "hidden weights first, then output weights", unit by unit
(w1: i1->h1, w2: i2->h1, w3: i1->h2, ...). The sums the document writes out
(net_h1 = w_1 i_1 + w_2 i_2 + b_1) say which weight feeds which unit; they are followed where
they are given, and decide between numbering unit by unit (by the receiving unit) and input by
input (by the sending unit) where they do not give every weight."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from oracle.extract.mathtext import Node, Op, Sym
from oracle.extract.reading import Reading, Statement
from oracle.extract.symbols import Notation, Ref, recognise

Slot = tuple[int, int, int]  # (layer, i, j): W^(layer)[i, j]


@dataclass
class Layout:
    """Sizes n_0..n_L, whether matrices are printed (n_l, n_(l-1)) or transposed, where the
    blog-style weights and biases sit."""

    sizes: list[int]
    in_out: bool = False
    weights: dict[int, Slot] = field(default_factory=dict)
    biases: dict[int, tuple[int, int | None]] = field(default_factory=dict)  # b_k -> (layer, unit or None: shared)
    notes: list[str] = field(default_factory=list)
    pairs_from_input: bool | None = None  # w_{ij} is from unit i to unit j (the sums say), not unit i's from j


def _shape(value: object) -> tuple[int, ...]:
    if isinstance(value, list):
        return (len(value), *_shape(value[0])) if value else (0,)
    return ()


def layer_sizes(r: Reading, depth: int, in_out: bool | None) -> tuple[list[int | None], bool, bool]:
    """n_0..n_L from every printed vector and matrix (and the largest unit index where none
    says), the layout, and whether the layout was a free choice (square matrices only)."""
    lengths: dict[int, list[int]] = {}
    lower: dict[int, int] = {}
    mats: list[tuple[int, tuple[int, ...]]] = []
    for s in r.givens + r.claims + r.bindings:
        layer = {"x": 0, "y": depth}.get(s.ref.prop, s.ref.layer)
        shape = _shape(s.value)
        if len(shape) == 2 and 1 in shape and s.ref.prop not in ("W", "dW", "W_new"):
            shape = (max(shape),)  # a row or a column vector
        if s.ref.prop in ("W", "dW", "W_new") and not s.ref.index and len(shape) == 2 and layer is not None:
            mats.append((layer, shape))
        elif layer is not None and not s.ref.index and len(shape) == 1 and s.ref.prop not in ("W", "dW", "W_new"):
            lengths.setdefault(layer, []).append(shape[0])
        elif layer is not None and s.ref.index and s.ref.index[0] is not None and s.ref.prop not in (
                "W", "dW", "W_new", "L_terms", "lr"):
            lower[layer] = max(lower.get(layer, 0), s.ref.index[0] + 1)
    options = [False, True] if in_out is None else [in_out]
    fits = [o for o in options if _consistent(mats, lengths, depth, o) is not None]
    if not fits:
        fits = options[:1]
    chosen = fits[0]
    sizes = _consistent(mats, lengths, depth, chosen) or {}
    out = [sizes.get(l) or (_most_common(lengths[l]) if lengths.get(l) else None) or lower.get(l)
           for l in range(depth + 1)]
    return out, chosen, len(fits) > 1 and bool(mats)


def _most_common(values: list[int]) -> int:
    return max(dict.fromkeys(values), key=values.count)  # ties: the first printed


def _consistent(mats: list, lengths: dict[int, list[int]], depth: int, in_out: bool) -> dict[int, int] | None:
    """Each layer's size, when the weight matrices agree with each other and with the size most
    of the layer's vectors have (an illustration with other sizes does not decide)."""
    sizes: dict[int, set[int]] = {k: {_most_common(v)} for k, v in lengths.items()}
    for layer, (rows, cols) in mats:
        n_l, n_prev = (cols, rows) if in_out else (rows, cols)
        sizes.setdefault(layer, set()).add(n_l)
        sizes.setdefault(layer - 1, set()).add(n_prev)
    if any(len(v) > 1 for v in sizes.values()):
        return None
    return {k: next(iter(v)) for k, v in sizes.items()}


def number_weights(r: Reading, sizes: list[int], notation: Notation) -> Layout:
    """Place w_k and b_k: from the written-out sums where they say, else by the numbering that
    agrees with them (unit by unit, else input by input)."""
    lay = Layout(sizes)
    seen: dict[int, Slot] = {}
    bias_units: dict[int, set[tuple[int, int]]] = {}
    votes = [0, 0]  # written-out sums with w_{ij} x_j (unit i's weight from input j), and with w_{ji} x_j
    for ref, node, where in r.sums:
        if ref.index and ref.layer is not None:
            for kind, k, slot in _terms_of_sum(ref, node, notation):
                if kind == "w" and k in seen and seen[k] != slot:
                    lay.notes.append(f"{where}: the sum puts w_{k} at W^({slot[0]})[{slot[1]},{slot[2]}], "
                                     f"an earlier one at W^({seen[k][0]})[{seen[k][1]},{seen[k][2]}]; the earlier "
                                     f"one is used")
                elif kind == "w" and slot not in seen.values():
                    seen[k] = slot
                elif kind == "b":
                    bias_units.setdefault(k, set()).add(slot[:2])
                elif kind == "pair":
                    votes[k] += 1
    numbered = any(s.ref.weight_number for s in r.givens + r.bindings + r.claims)
    lay.weights = _numbering(seen, sizes, lay.notes) if numbered else {}
    lay.biases = _bias_places(bias_units, r, lay.notes)
    if votes[1] > votes[0]:
        lay.pairs_from_input = True
        lay.notes.append(f"w_{{ij}} read as the weight from unit i to unit j of the next layer, as {votes[1]} "
                         f"written-out sum{'s' if votes[1] > 1 else ''} say")
    return lay


def _terms_of_sum(ref: Ref, node: Node, notation: Notation) -> list[tuple[str, int, Slot]]:
    """The w_k a_j and b_k terms of net_i = sum_j w_k a_j + b_k."""
    terms = node.args if isinstance(node, Op) and node.kind == "add" else (node,)
    out = []
    for term in terms:
        parts = [a for a in (term.args if isinstance(term, Op) and term.kind == "mul" else (term,))
                 if not (hasattr(a, "text") and a.text == "1")]
        refs = [(a, recognise(a, notation)) for a in parts if isinstance(a, Sym)]
        w = [(a, x) for a, x in refs if x is not None and x.prop == "W" and x.weight_number]
        src = [x for _, x in refs if x is not None and (x.prop == "x" or x.prop == "a") and x.index]
        b = [x for _, x in refs if x is not None and x.prop == "b" and x.weight_number == 0]
        pair = [x for _, x in refs if x is not None and x.prop == "W" and len(x.index) == 2 and None not in x.index]
        if len(pair) == 1 and len(src) == 1 and len(parts) == 2:  # w_{ij} x_j: which index is the unit?
            i, j = pair[0].index
            unit, source = ref.index[0], src[0].index[0]
            if (i, j) != (j, i) and {(i, j), (j, i)} & {(unit, source)}:
                out.append(("pair", int((i, j) == (source, unit)), (ref.layer, unit, source)))
        if len(w) == 1 and len(src) == 1 and len(parts) == 2:
            out.append(("w", w[0][1].weight_number, (ref.layer, ref.index[0], src[0].index[0])))
        elif len(b) == 1 and len(parts) == 1:
            out.append(("b", b[0].layer, (ref.layer, ref.index[0], 0)))
    return out


def _orders(sizes: list[int]) -> dict[str, list[Slot]]:
    by_unit = [(l, i, j) for l in range(1, len(sizes)) for i in range(sizes[l]) for j in range(sizes[l - 1])]
    by_input = [(l, i, j) for l in range(1, len(sizes)) for j in range(sizes[l - 1]) for i in range(sizes[l])]
    return {"unit by unit (w1: i1->h1, w2: i2->h1)": by_unit, "input by input (w1: i1->h1, w2: i1->h2)": by_input}


def _numbering(seen: dict[int, Slot], sizes: list[int], notes: list[str]) -> dict[int, Slot]:
    for name, order in _orders(sizes).items():
        if all(k - 1 < len(order) and order[k - 1] == slot for k, slot in seen.items()):
            placed = {k + 1: slot for k, slot in enumerate(order)}
            notes.append(f"weights w1..w{len(order)} numbered {name}, hidden weights first"
                         + (" (as the written-out sums say)" if seen else " (no sum in the document says; the "
                            "usual numbering of blog posts)"))
            return placed
    notes.append("weights w_k placed only where a written-out sum says which unit each one feeds")
    return dict(seen)


def _bias_places(bias_units: dict[int, set[tuple[int, int]]], r: Reading, notes: list[str]
                 ) -> dict[int, tuple[int, int | None]]:
    """b_k of the blog style: one bias shared by layer l when it is the only one named in that
    layer's sums, else unit i's own; without sums, b_k is layer k's shared bias."""
    places: dict[int, tuple[int, int | None]] = {}
    per_layer: dict[int, set[int]] = {}
    for k, units in bias_units.items():
        for layer, _ in units:
            per_layer.setdefault(layer, set()).add(k)
    for k, units in bias_units.items():
        layers = {u[0] for u in units}
        if len(layers) != 1:
            continue
        layer = next(iter(layers))
        places[k] = (layer, None) if len(per_layer[layer]) == 1 else (layer, next(iter(units))[1])
    named = {s.ref.layer for s in r.givens + r.bindings + r.claims if s.ref.prop in ("b", "db", "b_new")
             and s.ref.weight_number == 0}
    depth = max((s.ref.layer or 0 for s in r.givens + r.claims if s.ref.weight_number is None), default=0)
    for k in named - set(places):
        if depth and k > depth:
            continue  # b_3 in a two-layer network: numbered by unit, which no sum says; not placed
        places[k] = (k, None)
        notes.append(f"b_{k} read as the bias shared by layer {k}'s units (no written-out sum names it)")
    return places


def blank(shape: tuple[int, ...]) -> np.ndarray:
    out = np.empty(shape, dtype=object)
    out.fill(None)
    return out


def place(lay: Layout, s: Statement) -> tuple[str, int | None, tuple[int | None, ...]] | None:
    """The (prop, layer, index) a statement fills once blog-style names are placed."""
    ref = s.ref
    if ref.weight_number and ref.prop in ("W", "dW", "W_new"):
        slot = lay.weights.get(ref.weight_number)
        return (ref.prop, slot[0], slot[1:]) if slot else None
    if ref.weight_number == 0 and ref.prop in ("b", "db", "b_new"):
        where = lay.biases.get(ref.layer or 0)
        if where is None:
            return None
        return ref.prop, where[0], () if where[1] is None else (where[1],)
    index = ref.index
    if index and index[0] is None and ref.layer is not None:  # w_k^(l) of a one-row or one-column W
        n_l, n_prev = lay.sizes[ref.layer], lay.sizes[ref.layer - 1]
        index = (0, index[1]) if n_l == 1 else (index[1], 0) if n_prev == 1 else None
        if index is None:
            return None
    transposed = lay.in_out if lay.pairs_from_input is None else lay.pairs_from_input
    if transposed and len(index) == 2 and ref.prop in ("W", "dW", "W_new"):
        index = index[::-1]
    return ref.prop, ref.layer, index
