"""Read a document into a worked-example draft: the formulas, the network's depth and sizes, its
settings, the givens, then every printed number at its claim key."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from manual_bp.errors import InputError
from oracle.extract.draft import Draft, missing_givens, put_claims, put_givens
from oracle.extract.mathtext import Node, Op, Sym, parse, walk
from oracle.extract.network import layer_sizes, number_weights
from oracle.extract.reading import Reading, read
from oracle.extract.settings import (
    activation_in,
    activations_from_prose,
    check_options,
    front_matter,
    learning_rate_from_prose,
    loss_from_prose,
    loss_in,
)
from oracle.extract.sources import Formula, notebook_cells, read_document, without_code_blocks
from oracle.extract.symbols import Notation, parse_aliases, recognise


def extract_text(text: str, name: str, options: dict[str, str] | None = None) -> Draft:
    """Read a document's text; ``name``'s suffix says its format (.md, .tex, .ipynb)."""
    cells = notebook_cells(text, name) if name.endswith(".ipynb") else None
    head = text if cells is None else cells[0][1] if cells else ""  # a notebook's: its first Markdown cell
    opts = front_matter(head)
    check_options(opts, f"{name}: front matter")
    check_options(options or {}, "option")
    opts.update(options or {})
    notation = Notation(parse_aliases(opts.get("notation", ""), "notation"),
                        layer_subscripts=opts.get("layers", "") == "subscript")
    given = [Formula(g.strip(), 0, "given", True) for g in opts.get("given", "").split(";") if g.strip()]
    formulas = given + read_document(Path(name), text)
    if "layers" not in opts and _layers_in_subscripts(formulas, notation):
        notation.layer_subscripts = True
    notation.depth = _depth(formulas, notation, name)
    r = read(formulas, notation)
    _one_weight_notation(r)
    layout = {"in_out": True, "out_in": False}.get(opts.get("layout", ""))
    sizes, in_out, free = layer_sizes(r, notation.depth, layout)
    if None in sizes:
        raise InputError(f"{name}: could not tell how many units layer {sizes.index(None)} has (no vector or "
                         "matrix of it is printed)")
    lay = number_weights(r, sizes, notation)
    lay.in_out = in_out
    prose = "\n".join(source for _, source in cells) if cells is not None else text
    draft = Draft(opts.get("title") or _title(prose, name), name, _settings(formulas, prose, r, notation, opts), {}, {})
    draft.settings["_choose"] = dict(opts.get("_choose", {}))
    put_givens(r, lay, draft, notation.depth)
    if "learning_rate" in opts:  # the reader's word wins over the document's
        draft.settings["learning_rate"] = opts["learning_rate"]
    names = {f"W{l}[{i}, {j}]": f"W{l}[{i},{j}] (w_{k})" for k, (l, i, j) in lay.weights.items()}
    names.update({f"y[{i}]": f"y[{i}] (the target of output {i + 1})" for i in range(sizes[-1])})
    missing = missing_givens(draft, notation.depth, names)
    if missing:
        raise InputError(f"{name}: the document does not give {', '.join(missing[:8])}"
                         f"{' ...' if len(missing) > 8 else ''}; give them in its front matter or with --given "
                         "(e.g. --given 'w_3 = 0.25; w_4 = 0.30')")
    put_claims(r, lay, draft)
    draft.not_placed += r.not_placed
    draft.notes += lay.notes
    draft.layout_open = free
    if in_out and not free:
        draft.notes.append("matrices read transposed (rows are the inputs), as their shapes say")
    draft.restated = r.restated
    _loadable(draft, name)
    if not draft.claims:
        raise InputError(f"{name}: no printed value of a quantity was found ({len(formulas)} formulas read)")
    return draft


def _loadable(draft: Draft, name: str) -> None:
    """What check cannot read back is not placed: a claim the format refuses is listed with the
    format's reason (so the draft always round-trips); a network it refuses is the document's
    problem, one line."""
    from oracle.extract.toml_text import toml_text
    from oracle.worked.format import loads_example

    for _ in range(len(draft.claims) + 1):
        try:
            loads_example(toml_text(draft), "draft")
            return
        except InputError as exc:
            match = re.match(r"claimed\.([A-Za-z_0-9]+)", str(exc))
            if match is None or match[1] not in draft.claims:
                raise InputError(f"{name}: the network read from it is not one check accepts: {exc}") from None
            key = match[1]
            for idx in np.ndindex(draft.claims[key].shape):
                if draft.claims[key][idx] is not None:
                    draft.not_placed.append((draft.where.pop((key, idx), "?"), f"{key} = {draft.claims[key][idx]}",
                                             f"check would refuse it: {exc}"))
            del draft.claims[key]


def _one_weight_notation(r: Reading) -> None:
    """A document that names its weights by layer (W^(1), w_12^(1)) and also writes w_1, b_1
    uses those for another example (a single neuron, an exercise): they are not placed."""
    params = ("W", "b", "dW", "db", "W_new", "b_new")
    if not any(s.ref.prop in params and s.ref.weight_number is None and s.ref.layer and s.where != "given"
               for s in r.givens + r.claims + r.bindings):  # the reader's --given may use either
        return
    r.not_placed += [(s.where, s.formula, "w_k or b_k in a document that names its weights by layer: another "
                      "example's") for s in r.claims if s.ref.weight_number is not None]
    r.claims = [s for s in r.claims if s.ref.weight_number is None]
    r.givens = [s for s in r.givens if s.ref.weight_number is None]
    r.bindings = [s for s in r.bindings if s.ref.weight_number is None]


def _title(prose: str, name: str) -> str:
    """The first heading outside code blocks, else the first line of text."""
    prose = without_code_blocks(prose)
    prose = re.sub(r"\A\s*---\s*\n.*?\n---\s*\n", "", prose, flags=re.S)  # the front matter
    m = re.search(r"^#{1,3}\s+(.+?)\s*$|\\title\{([^}]*)\}", prose, re.M)
    if m:
        return (m.group(1) or m.group(2)).strip()
    first = next((line.strip() for line in prose.splitlines() if line.strip()
                  and not line.lstrip().startswith(("---", "$", "\\", "%", "<", "{", "!", "|"))), "")
    return first[:100] if first else name


def _layers_in_subscripts(formulas: list[Formula], notation: Notation) -> bool:
    """Whether z_1, W_2 name layers (numpy-style notes): no layer is written as a superscript, and
    some z_k, a_k, W_k, b_k or delta_k is printed as a vector or matrix, or with an element
    index after it (z_1[0])."""
    from oracle.extract.reading import literal

    votes = 0
    for f in formulas:
        segs = parse(f.text)
        for node in (n for s in segs for n in walk(s)):
            if isinstance(node, Sym) and re.match(r"^\{?[(\[]\s*\d+\s*[)\]]", node.sup):
                return False
        head = segs[0] if segs else None
        if (len(segs) > 1 and isinstance(head, Sym) and re.fullmatch(r"\{?\d\}?", head.sub)
                and notation.canonical(head.base)[0] in ("z", "a", "delta", "b")):  # W_2 is a layer anyway
            value = literal(segs[-1])
            votes += bool(head.at) or (isinstance(value, list) and len(value) * len(
                value[0] if isinstance(value[0], list) else [0]) > 1)
    return votes > 0


def _depth(formulas: list[Formula], notation: Notation, name: str) -> int:
    """L, the number of layers with weights: the deepest layer named (z^(2), W_2, dL/dW^(2)), or
    2 for the net_h1 / out_o1 style, whose units are inputs, hidden and outputs."""
    deepest = 0
    for f in formulas:
        for seg in parse(f.text):
            for node in walk(seg):
                if isinstance(node, Sym):
                    ref = recognise(node, notation)
                    if ref is not None and ref.layer is not None and ref.weight_number is None:
                        deepest = max(deepest, ref.layer)
    if re.search(r"_\{?\s*(?:\\text\{)?o_?\d", "\n".join(f.text for f in formulas)):
        deepest = max(deepest, 2)
    if deepest < 1:
        raise InputError(f"{name}: found no layer of a network in its formulas (z^{{(1)}}, W^{{(2)}}, net_{{h1}}, "
                         "...); if it names them otherwise, map its names with --notation (e.g. net=z, out=a)")
    return deepest


def _settings(formulas: list[Formula], prose: str, r: Reading, notation: Notation, opts: dict[str, str]) -> dict:
    """Activations, loss, learning rate and conventions: the options first, then the formulas,
    then the prose."""
    acts = _activations(formulas, prose, notation, opts)
    loss = opts.get("loss") or _loss(formulas, notation) or loss_from_prose(prose)
    if loss is None:
        raise InputError("loss: the document neither writes out its loss nor names it; say which with "
                         "--set loss=half_sse (or mse, sse, bce, cross_entropy)")
    settings: dict = {"activations": acts, "loss": loss}
    if (lr := opts.get("learning_rate") or learning_rate_from_prose(prose)) is not None:
        settings["learning_rate"] = lr
    for key in ("update_biases", "delta_sign", "output_reduction", "softmax_shift"):
        if key in opts:
            value = str(opts[key]).strip().lower()
            settings[key] = {"dl_dz": "dL_dz"}.get(value, value)
    settings["terms"] = opts.get("terms", "true").lower() not in ("false", "no", "0")
    return settings


def _activations(formulas: list[Formula], prose: str, notation: Notation, opts: dict[str, str]) -> list[str]:
    """Each layer's activation: the options', else the one the formulas for its a^(l) write, those
    with the example's numbers first (a general template above them may have fewer layers), else
    the prose's."""
    from oracle.extract.reading import has_number

    depth = notation.depth or 1
    if opts.get("activations"):
        names = re.split(r"[,\s]+", opts["activations"].strip())
        return names * depth if len(names) == 1 else names
    found: dict[int, tuple[bool, str]] = {}
    for f in formulas:
        segs = parse(f.text)
        ref = recognise(segs[0], notation) if len(segs) > 1 else None
        if ref is None or ref.given or ref.prop != "a" or not ref.layer:
            continue
        numeric = any(has_number(s) for s in segs[1:])
        name = activation_in(f.text) or ("sigmoid" if re.search(r"\\sigma\s*\(", f.text) else None)
        if name and (ref.layer not in found or (numeric and not found[ref.layer][0])):
            found[ref.layer] = (numeric, name)
    found = {layer: name for layer, (_, name) in found.items()}
    per_layer, throughout = activations_from_prose(prose, depth)
    out = []
    for layer in range(1, depth + 1):
        name = found.get(layer) or per_layer.get(layer) or throughout
        if name is None:
            raise InputError(f"activations: the document does not say layer {layer}'s activation; say it with "
                             "--set activations=sigmoid (one name, or one per layer)")
        out.append(name)
    return out


def _loss(formulas: list[Formula], notation: Notation) -> str | None:
    """The loss a formula writes out; else the one its output gradient says (dL/da^(L) = a - y
    is the gradient of 1/2 sum (y - a)^2)."""
    gradient = None
    for f in formulas:
        segs = parse(f.text)
        ref = recognise(segs[0], notation) if len(segs) > 1 else None
        if ref is not None and ref.prop in ("L", "L_terms"):
            loss = loss_in(f.text)
            if loss:
                return loss
        if ref is not None and ref.prop == "dL_da" and ref.layer == notation.depth and gradient is None:
            gradient = _gradient_form(segs[1], notation)
    return gradient


def _gradient_form(rhs: Node, notation: Notation) -> str | None:
    """'half_sse' for a - y or -(y - a), written with the output and the target."""
    sign = 1
    if isinstance(rhs, Op) and rhs.kind == "neg":
        rhs, sign = rhs.args[0], -1
    if not (isinstance(rhs, Op) and rhs.kind == "add" and len(rhs.args) == 2):
        return None
    refs = [recognise(a, notation) for a in rhs.args]
    if any(x is None for x in refs):
        return None
    kinds = [("out" if not x.given and x.prop == "a" else x.prop) for x in refs]
    signed = {k: s * sign for k, s in zip(kinds, rhs.signs, strict=True)}
    return "half_sse" if signed == {"out": 1, "y": -1} else None
