"""The worked-example draft of a document: the network and every printed number put in the
file's arrays, each remembering its line; then written as TOML with a comment per number."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import numpy as np

from oracle import notation as names
from oracle.extract.network import Layout, blank, place
from oracle.extract.reading import Reading, Statement

Where = dict[tuple[str, tuple[int, ...]], str]


@dataclass
class Draft:
    """A document read into the worked-example format."""

    title: str
    source: str
    settings: dict[str, object]
    given: dict[str, np.ndarray]  # W1, b1, x, y: object arrays of printed texts (None: not given)
    claims: dict[str, np.ndarray]  # claim key -> object array of printed texts (None: not printed)
    where: Where = field(default_factory=dict)  # (key, index) -> 'line 12'
    notes: list[str] = field(default_factory=list)
    not_placed: list[tuple[str, str, str]] = field(default_factory=list)
    restated: int = 0
    layout_open: bool = False  # square matrices: printed rows could be units or inputs
    options: dict[str, list] = field(default_factory=dict)  # x, y, lr: each value printed, in order
    blocked: set = field(default_factory=set)  # (key, index) printed with different values
    judged: object = field(default=None, repr=False)  # its Judgement, once the choice of a reading judged it

    def placed(self) -> int:
        return sum(int(np.sum(a != None)) for a in self.claims.values())  # noqa: E711 (elementwise)


def claim_shape(prop: str, layer: int | None, sizes: list[int], shared: set[int]) -> tuple[int, ...] | None:
    """The shape of a claimable quantity of one example (None: not claimable here)."""
    L = len(sizes) - 1
    if prop in ("L", "L_new"):
        return ()
    if prop == "L_terms":
        return (sizes[L],)
    if layer is None or not 1 <= layer <= L:
        return None
    n, prev = sizes[layer], sizes[layer - 1]
    if prop in ("z", "a", "sigma_prime", "dL_da", "delta", "a_new", "exp_z"):
        return (n,)
    if prop in ("dW", "W_new"):
        return (n, prev)
    if prop in ("db", "b_new"):
        return () if layer in shared else (n,)
    if prop == "sum_exp_z":
        return ()
    if prop == "z_terms":
        return (n, prev + 1)
    if prop == "dL_da_terms":
        return (n, sizes[layer + 1]) if layer < L else None
    return None


def fit(value: object, shape: tuple[int, ...], transpose: bool) -> np.ndarray | None:
    """A printed literal in the quantity's shape: a vector for a one-row matrix, a column for a
    vector, a lone number for a one-element quantity; None when it does not fit."""
    arr = np.array(value, dtype=object)
    if transpose and arr.ndim == 2:
        arr = arr.T
    if arr.shape == shape:
        return arr
    if arr.size == int(np.prod(shape)) and (arr.ndim <= 1 or 1 in arr.shape or len(shape) <= 1):
        return arr.reshape(shape)
    return None


def _decimal(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except (InvalidOperation, TypeError):
        return False


def fill(target: np.ndarray, key: str, s: Statement, index: tuple[int, ...], where: Where, transpose: bool,
         conflicts: list[tuple[str, str, str]], blocked: set | None = None) -> bool:
    """Put a statement's value (whole or one element) into target; a different value where one
    is already is listed, never overwritten. For claims (``blocked`` given) an element printed
    with two different values is placed with neither: which one the example means is not known."""
    if len(index) > target.ndim or any(not 0 <= i < n for i, n in zip(index, target.shape, strict=False)):
        return False
    if len(index) == target.ndim:
        cells = {index: s.value}
    else:  # the whole quantity, or one row of a matrix ('dL/dW^(1) (row 1)')
        arr = fit(s.value, target.shape[len(index):], transpose and not index)
        if arr is None:
            return False
        cells = {index + tuple(int(i) for i in idx): arr[idx] for idx in np.ndindex(arr.shape)}
    if not all(isinstance(text, str) and _decimal(text) for text in cells.values()):
        return False
    for idx, text in cells.items():
        old = target[idx]
        element = names.element(*names.parse_key(key), idx, target.size) if names.parse_key(key)[0] else key
        if blocked is not None and (key, idx) in blocked:
            conflicts.append((s.where, s.formula, f"{element} is printed with different values; not placed"))
        elif old is None:
            target[idx] = text
            where[(key, idx)] = s.where
        elif Decimal(old) != Decimal(text) and blocked is not None:  # which one is the example's? neither is guessed
            blocked.add((key, idx))
            target[idx] = None
            conflicts.append((s.where, s.formula, f"{element} is printed as {old} ({where.pop((key, idx), '?')}) and "
                                                  f"as {text} here; neither is placed"))
        elif Decimal(old) != Decimal(text):
            conflicts.append((s.where, s.formula, f"{element} was printed as {old} ({where.get((key, idx), '?')}); "
                                                  f"this prints {text}, not used"))
    return True


def put_claims(r: Reading, lay: Layout, draft: Draft) -> None:
    """Every printed value at its claim key and element, with the terms of its sum; then the
    values only a step of a chain prints (dE/dout_o1 * ... = 0.7414 * ...), where nothing else does."""
    shared = {layer for layer, unit in lay.biases.values() if unit is None}
    exponentials = [s for s in r.claims if s.ref.exponent is not None]
    sums = [s for s in r.claims if s.ref.prop == "sum_of"]
    later = (_exponential(s, draft) for s in exponentials)  # lazily: once the z they refer to are placed
    last = (_sum_of_exponentials(s, draft) for s in sums)  # and once the exponentials are
    first = (s for s in r.claims if s.ref.exponent is None and s.ref.prop != "sum_of")
    for s in itertools.chain(first, later, last):
        if s is not None:
            _put_claim(s, lay, draft, shared)
    for s in r.bound_claims:
        _put_bound(s, lay, draft, shared)


def _put_bound(s: Statement, lay: Layout, draft: Draft, shared: set[int]) -> None:
    """A value read off a step: placed only where the element is still empty (a restatement with
    other digits, 0.59326999 for 0.593269992, is not a conflict)."""
    placed = place(lay, s)
    shape = claim_shape(placed[0], placed[1], lay.sizes, shared) if placed else None
    if shape is None or any(i is None for i in placed[2]):
        return
    prop, layer, index = placed
    if s.requires and s.requires not in (draft.settings["activations"][layer - 1], draft.settings["loss"]):
        return  # a(1 - a) is sigma' of a sigmoid only; a - y is dL/da of 1/2 (y - a)^2 only
    if s.requires == "half_sse" and draft.settings.get("output_reduction", "mean") != "mean":
        return
    index = (0,) if not index and shape == (1,) else tuple(index)  # y-hat of a one-output network
    if len(index) != len(shape) or _jacobian(prop, layer, draft):
        return
    key = names.key(prop, layer)
    target = draft.claims.get(key)
    if target is None or target[tuple(index)] is None:
        if (key, tuple(index)) in draft.blocked:
            return
        target = draft.claims.setdefault(key, blank(shape))
        fill(target, key, s, tuple(index), draft.where, False, [], draft.blocked)
    else:
        draft.restated += 1


def _put_claim(s: Statement, lay: Layout, draft: Draft, shared: set[int]) -> None:
    """One printed value at its claim key and element (or listed as not placed, with why)."""
    placed = place(lay, s)
    shape = claim_shape(placed[0], placed[1], lay.sizes, shared) if placed else None
    if placed is None or shape is None or any(i is None for i in placed[2]):
        draft.not_placed.append((s.where, s.formula, "its place in the network is not known"))
        return
    prop, layer, index = placed
    if _jacobian(prop, layer, draft):  # (what else check would refuse, document._loadable lists)
        draft.not_placed.append((s.where, s.formula, "a softmax layer's sigma' is a Jacobian, not one number "
                                                     "per unit"))
        return
    key = names.key(prop, layer)
    target = draft.claims.setdefault(key, blank(shape))
    if not fill(target, key, s, tuple(index), draft.where, lay.in_out and prop in ("dW", "W_new"),
                draft.not_placed, draft.blocked):
        draft.not_placed.append((s.where, s.formula, f"does not fit {names.symbol(prop, layer)} "
                                                     f"(shape {shape})"))
        return
    if s.terms and len(index) <= 1 and draft.settings.get("terms", True):
        one = (0,) if not index and shape == (1,) else tuple(index)  # z^(2) of a one-unit layer
        _put_terms(s, prop, layer, one, lay, draft)


def _jacobian(prop: str, layer: int | None, draft: Draft) -> bool:
    """sigma' of a softmax layer, which the file claims as its Jacobian."""
    return prop == "sigma_prime" and draft.settings["activations"][layer - 1] == "softmax"


def _exponential(s: Statement, draft: Draft) -> Statement | None:
    """e^{0.022} = 1.0222: the exponential of the one printed z of a softmax layer that is 0.022
    (listed as not placed when no printed z, or more than one, is)."""
    from oracle.extract.symbols import Ref

    matches = [(int(key[1:]), idx) for key, arr in draft.claims.items() if names.parse_key(key)[0] == "z"
               and draft.settings["activations"][int(key[1:]) - 1] == "softmax"
               for idx in np.ndindex(arr.shape)
               if arr[idx] is not None and Decimal(arr[idx]) == Decimal(s.ref.exponent)]
    if len(matches) != 1:
        why = "no printed z of a softmax layer is" if not matches else "several printed z are"
        draft.not_placed.append((s.where, s.formula, f"an exponential of {s.ref.exponent}, but {why} {s.ref.exponent}"))
        return None
    layer, idx = matches[0]
    return Statement(Ref(False, "exp_z", layer, tuple(int(i) for i in idx)), s.value, s.where, s.formula)


def _sum_of_exponentials(s: Statement, draft: Draft) -> Statement | None:
    """1.0222 + 1.0060 = 2.0282 with unnamed terms: the sum of a softmax layer's exponentials when
    the terms are those printed exponentials, all of them in order; else not placed."""
    from oracle.extract.symbols import Ref

    for key, arr in draft.claims.items():
        if names.parse_key(key)[0] == "exp_z" and arr.ndim == 1 and len(s.terms or []) == arr.size and all(
                t is not None and Decimal(t) == Decimal(u) for t, u in zip(arr, s.terms or [], strict=True)):
            return Statement(Ref(False, "sum_exp_z", int(key[5:])), s.value, s.where, s.formula)
    draft.not_placed.append((s.where, s.formula, "a sum of numbers that are not a softmax's printed exponentials"))
    return None


def _put_terms(s: Statement, prop: str, layer: int | None, index: tuple, lay: Layout, draft: Draft) -> None:
    """0.2 + 0.6 + 0.1 = 0.9: the printed terms of z's sum (W_ij a_j, then b_i), of L's (one per
    output) or of a hidden dL/da's (one per unit of the next layer)."""
    n = len(s.terms or [])
    if prop == "z" and len(index) == 1:
        has_bias = f"b{layer}" in draft.given
        if n != lay.sizes[layer - 1] + has_bias:
            return
        key, row = names.key("z_terms", layer), list(s.terms)
        shape = (lay.sizes[layer], lay.sizes[layer - 1] + has_bias)
    elif prop == "L" and not index and n == lay.sizes[-1] and n > 1:
        key, row, shape = "L_terms", list(s.terms), (n,)
    elif prop == "dL_da" and len(index) == 1 and layer < len(lay.sizes) - 1 and n == lay.sizes[layer + 1]:
        key, row, shape = names.key("dL_da_terms", layer), list(s.terms), (lay.sizes[layer], n)
    else:
        return
    target = draft.claims.setdefault(key, blank(shape))
    term = Statement(s.ref, row, s.where, s.formula)
    if key == "L_terms":
        fill(target, key, term, (), draft.where, False, draft.not_placed, draft.blocked)
        return
    for j, text in enumerate(row):
        fill(target, key, Statement(s.ref, text, s.where, s.formula), (index[0], j), draft.where, False,
             draft.not_placed, draft.blocked)


def put_givens(r: Reading, lay: Layout, draft: Draft, depth: int) -> None:
    """W, b, x, y and the learning rate, from the formulas that state them, then from the steps
    that bind them; what is still missing is named in one line."""
    sizes, shared = lay.sizes, {layer for layer, unit in lay.biases.values() if unit is None}
    shapes = {"x": (sizes[0],), "y": (sizes[-1],)}
    for l in range(1, depth + 1):
        shapes[f"W{l}"] = (sizes[l], sizes[l - 1])
        shapes[f"b{l}"] = () if l in shared else (sizes[l],)
    conflicts: list[tuple[str, str, str]] = []
    for s in r.givens + r.bindings:
        placed = ("lr", None, ()) if s.ref.prop == "lr" else place(lay, s)
        if placed is None:
            continue
        prop, layer, index = placed
        key = prop if prop in ("x", "y", "lr") else f"{prop}{layer}"
        if key in ("x", "y", "lr") and not index:
            _option(draft, key, s, shapes.get(key, ()))
            continue
        if key not in shapes:
            continue
        target = draft.given.setdefault(key, blank(shapes[key]))
        fill(target, key, s, tuple(index), draft.where, lay.in_out and prop == "W", conflicts)
    draft.notes += [f"{where}: {why}" for where, _, why in conflicts]
    for key in draft.options:
        use_option(draft, key, int(draft.settings.get("_choose", {}).get(key, 0)), shapes.get(key, ()))


def _option(draft: Draft, key: str, s: Statement, shape: tuple[int, ...]) -> None:
    """A whole x, y or learning rate as printed; one printed with different values (y for 'case
    1' and 'case 2') keeps each, for the numbers to decide (oracle.extract.extract)."""
    value = s.value
    if key == "y" and isinstance(value, str) and shape[0] > 1:
        if not re.fullmatch(r"\d+", value) or int(value) >= shape[0]:
            return
        value = ["1" if i == int(value) else "0" for i in range(shape[0])]  # a class index
    elif key == "lr":
        if not isinstance(value, str):
            return
    else:
        arr = fit(value, shape, False)
        if arr is None:
            return
        value = list(arr)
    normal = tuple(Decimal(v) for v in value) if isinstance(value, list) else (Decimal(value),)
    options = draft.options.setdefault(key, [])
    if all(normal != n for n, _ in options):
        options.append((normal, s))


def use_option(draft: Draft, key: str, k: int, shape: tuple[int, ...]) -> None:
    """Use the k-th printed value of x, y or the learning rate."""
    s = draft.options[key][min(k, len(draft.options[key]) - 1)][1]
    if key == "lr":
        draft.settings["learning_rate"] = s.value
        draft.where[("learning_rate", ())] = s.where
        return
    if key == "y" and isinstance(s.value, str) and shape[0] > 1:
        draft.given["y"] = s.value  # a class index
        draft.where[("y", ())] = s.where
        return
    target = blank(shape)
    fill(target, key, s, (), draft.where, False, [])
    draft.given[key] = target


def missing_givens(draft: Draft, depth: int, symbols: dict[str, str]) -> list[str]:
    """The elements of W, b, x, y no formula gave, as the document would name them."""
    out = []
    for key in ["x", "y"] + [f"{p}{l}" for l in range(1, depth + 1) for p in ("W", "b")]:
        arr = draft.given.get(key)
        if key.startswith("b") and arr is None:
            continue  # a layer without a bias
        if isinstance(arr, str):
            continue  # y as a class index
        if arr is None:
            out.append(symbols.get(key, key))
            continue
        for idx in np.ndindex(arr.shape):
            if arr[idx] is None:
                out.append(symbols.get(f"{key}{list(idx)}", f"{key}{list(idx)}"))
    return out
