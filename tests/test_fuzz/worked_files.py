"""Strategies for worked-example TOML files: valid ones computed by manual_bp, and ones broken by one edit."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from manual_bp import ACTIVATIONS, LOSSES, InputError, Network, backward, forward, sgd_step

ACT_NAMES = tuple(ACTIVATIONS)
LOSS_NAMES = tuple(LOSSES)
EDITS = ("delete", "retype", "string_for_number", "huge_float", "huge_int", "nonfinite", "shape", "deep",
         "unknown_key", "unknown_name", "empty", "garbage", "duplicate", "truncate")


@dataclass(frozen=True)
class Raw:
    """A TOML literal written as it is (1e400, nan, a 5000-digit integer, deep nesting)."""

    text: str


@dataclass
class Example:
    """A worked-example file: its document (before serialising), its bytes, and what is known of it."""

    doc: dict[str, Any]
    data: bytes
    edit: str | None = None  # the breaking edit, None for a valid file
    wrong: bool = False  # a claim was perturbed far beyond its rounding: check must not call it correct
    plain: bool = True  # valid, no odd conventions, claims exact: check must say exit 0
    note: str = ""


def toml_value(v: Any) -> str:
    if isinstance(v, Raw):
        return v.text
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def toml_key(k: str) -> str:
    return k if k and all(c.isalnum() or c in "_-" for c in k) else json.dumps(k)


def dumps(doc: dict[str, Any]) -> str:
    lines = [f"{toml_key(k)} = {toml_value(v)}" for k, v in doc.items() if not isinstance(v, dict | list)
             or (isinstance(v, list) and k != "step")]
    for k, v in doc.items():
        if isinstance(v, dict):
            lines += ["", f"[{toml_key(k)}]", *(f"{toml_key(kk)} = {toml_value(vv)}" for kk, vv in v.items())]
    for table in doc.get("step", []) if isinstance(doc.get("step"), list) else []:
        lines += ["", "[[step]]", *(f"{toml_key(kk)} = {toml_value(vv)}" for kk, vv in table.items())]
    return "\n".join(lines) + "\n"


def _printed(value: np.ndarray, digits: int, rnd: random.Random) -> Any:
    """A quantity as the nested lists of strings an example prints (some "?", some TOML floats)."""
    def one(v: float) -> Any:
        if rnd.random() < 0.1:
            return "?"
        text = f"{v:.{digits}f}"
        return Raw(text) if rnd.random() < 0.15 else text

    def nest(a: np.ndarray) -> Any:
        return one(float(a)) if a.ndim == 0 else [nest(r) for r in a]

    return nest(np.asarray(value, dtype=np.float64))


def _perturb(value: Any, rnd: random.Random) -> Any:
    """One printed element moved far off (0.5 + 10 %): wrong under any rounding ("?" stay "?")."""
    if isinstance(value, list):
        i = rnd.choice([j for j, v in enumerate(value) if _has_number(v)])
        return [_perturb(v, rnd) if j == i else v for j, v in enumerate(value)]
    text = value.text if isinstance(value, Raw) else value
    digits = len(text.partition(".")[2])
    moved = float(text) + 0.5 + 0.1 * abs(float(text))
    return f"{moved:.{digits}f}"


def _has_number(value: Any) -> bool:
    if isinstance(value, list):
        return any(_has_number(v) for v in value)
    return value != "?"


def _claims(net: Network, x: Any, y: Any, loss: str, reduction: str, lr: float | None, update_biases: bool,
            rnd: random.Random, most: int) -> dict[str, np.ndarray]:
    """Every claimable quantity, exact, computed by manual_bp (empty if manual_bp refuses the data)."""
    try:
        cache = forward(net, x)
        grads = backward(net, cache, y, loss, reduction)
        out: dict[str, Any] = {"L": np.float64(grads.loss)}
        for l in range(1, net.L + 1):
            out[f"z{l}"], out[f"a{l}"], out[f"sigma_prime{l}"] = cache.z[l], cache.a[l], cache.sigma_prime[l]
            out[f"dL_da{l}"], out[f"delta{l}"], out[f"dW{l}"] = grads.dL_da[l], grads.delta[l], grads.dW[l]
            if net.b[l] is not None:
                out[f"db{l}"] = grads.db[l]
        if lr is not None:
            net2 = sgd_step(net, grads, lr, update_biases)
            out["L_new"] = np.float64(backward(net2, forward(net2, x), y, loss, reduction).loss)
            for l in range(1, net.L + 1):
                out[f"W{l}_new"] = net2.W[l]
                if net.b[l] is not None:
                    out[f"b{l}_new"] = net2.b[l]
    except InputError:
        return {}
    keys = sorted(out)
    return {k: out[k] for k in rnd.sample(keys, rnd.randint(0, min(most, len(keys))))}


@st.composite
def valid_examples(draw: st.DrawFn, most_claims: int = 100) -> Example:
    """A valid file: 1-3 layers of 1-3 units, any activations, a loss with targets it takes, claims
    (up to ``most_claims`` quantities; check's time grows with them, ~30 ms a quantity) as manual_bp
    computes them rounded to 1-5 digits, sometimes one far off (``wrong``)."""
    rnd = random.Random(draw(st.integers(0, 2**64)))  # cheaper than st.randoms(), a draw per number
    L = draw(st.integers(1, 3))
    sizes = draw(st.lists(st.integers(1, 3), min_size=L + 1, max_size=L + 1))
    loss = draw(st.sampled_from(LOSS_NAMES))
    acts = [rnd.choice(ACT_NAMES) for _ in range(L)]
    if loss == "bce":
        acts[-1] = rnd.choice(("sigmoid", "softmax"))
    elif loss == "cross_entropy":
        acts[-1] = "softmax" if rnd.random() < 0.8 else "sigmoid"
    m = rnd.choice((None, None, 1, 2, 3))
    num = lambda: round(rnd.uniform(-2, 2), 2)  # noqa: E731

    def matrix(rows: int, cols: int) -> list[list[float]]:
        return [[num() for _ in range(cols)] for _ in range(rows)]

    net: dict[str, Any] = {"activations": acts, "loss": loss}
    weights, biases = [], []
    for l in range(1, L + 1):
        weights.append(matrix(sizes[l], sizes[l - 1]))
        kind = rnd.choice(("per_unit", "per_unit", "shared", "none"))
        biases.append([num() for _ in range(sizes[l])] if kind == "per_unit" else num() if kind == "shared" else None)
    x = [num() for _ in range(sizes[0])] if m is None else matrix(sizes[0], m)
    cols = 1 if m is None else m
    nL = sizes[-1]
    if loss in ("bce", "cross_entropy") and rnd.random() < 0.7:
        if loss == "cross_entropy" and rnd.random() < 0.5:  # class indices
            idx = [rnd.randrange(nL) for _ in range(cols)]
            y: Any = idx[0] if m is None else idx
        else:
            onehot = np.zeros((nL, cols))
            for k in range(cols):
                onehot[rnd.randrange(nL), k] = 1.0
            y = onehot[:, 0].tolist() if m is None else onehot.tolist()
    elif loss in ("bce", "cross_entropy"):
        y = [round(rnd.random(), 2) for _ in range(nL)] if m is None else \
            [[round(rnd.random(), 2) for _ in range(cols)] for _ in range(nL)]
    else:
        y = [num() for _ in range(nL)] if m is None else matrix(nL, m)
    net["x"], net["y"] = x, y
    reduction = rnd.choice(("mean", "sum"))
    if rnd.random() < 0.5 or reduction == "sum":
        net["reduction"] = reduction
    lr = rnd.choice((None, 0.5, 0.1, 0.01, 1, 2.5))
    if lr is not None:
        net["learning_rate"] = lr
    update_biases = rnd.random() < 0.8
    if not update_biases or rnd.random() < 0.3:
        net["update_biases"] = update_biases
    for l in range(1, L + 1):
        net[f"W{l}"] = weights[l - 1]
        if biases[l - 1] is not None:
            net[f"b{l}"] = biases[l - 1]
    plain = True
    if rnd.random() < 0.08:  # another convention: the claims are then probably wrong or misshapen
        key, values = rnd.choice((("layout", ("out_in", "in_out")), ("delta_sign", ("dL_dz", "target_minus_output")),
                                  ("output_reduction", ("mean", "sum")), ("softmax_shift", ("none", "max")),
                                  ("schedule", ("full_batch", "per_example"))))
        net[key] = rnd.choice(values)
        plain = net[key] == values[0]
    network = Network(weights, biases, acts)
    exact = _claims(network, np.array(x), np.array(y), loss, reduction, lr, update_biases, rnd, most_claims)
    digits = rnd.randint(1, 5)
    claimed = {k: _printed(v, digits, rnd) for k, v in exact.items()}
    wrong = False
    printed = sorted(k for k, v in claimed.items() if _has_number(v))
    if printed and rnd.random() < 0.3:
        key = rnd.choice(printed)
        claimed[key] = _perturb(claimed[key], rnd)
        wrong = True
    doc: dict[str, Any] = {}
    if rnd.random() < 0.5:
        doc["title"] = rnd.choice(("a fuzzed example", "", "ünïcödé − title", "x" * 300))
    if rnd.random() < 0.2:
        doc["source"], doc["notes"] = "fuzz", "line one\nline two"
    doc["network"] = net
    if claimed or rnd.random() < 0.5:
        doc["claimed"] = claimed
    return Example(doc, dumps(doc).encode(), wrong=wrong and plain, plain=plain and not wrong)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside the document (keys of tables, indices of lists)."""
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    _get(doc, path[:-1])[path[-1]] = value


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _is_number(v: Any) -> bool:
    if isinstance(v, Raw):
        return v.text[:1] in "-0123456789"
    if isinstance(v, str):
        return v not in ("?", "") and v.lstrip("-")[:1].isdigit()
    return isinstance(v, int | float) and not isinstance(v, bool)


@st.composite
def broken_examples(draw: st.DrawFn, most_claims: int = 100) -> Example:
    """A valid file broken by one edit (EDITS); some edits leave it valid, which is fine too."""
    base = draw(valid_examples(most_claims))
    edit = draw(st.sampled_from(EDITS))
    rnd = random.Random(draw(st.integers(0, 2**64)))  # cheaper than st.randoms(), a draw per number
    doc = _copy(base.doc)
    paths = _paths(doc)
    numbers = [p for p in paths if _is_number(_get(doc, p))] or paths
    lists = [p for p in paths if isinstance(_get(doc, p), list)] or paths
    text = None
    note = ""
    if edit == "delete":
        keyed = [p for p in paths if isinstance(p[-1], str)]
        p = rnd.choice(keyed)
        del _get(doc, p[:-1])[p[-1]]
        note = f"deleted {p}"
    elif edit == "retype":
        p = rnd.choice(paths)
        new = rnd.choice(("text", True, 1, 1.5, [], [1, 2], {"a": 1}, Raw("1979-05-27T07:32:00Z"),
                          Raw("2020-01-01"), Raw("07:32:00"), [[]], ["a", 1], Raw("[1, [2]]")))
        _set(doc, p, new)
        note = f"{p} = {toml_value(new)}"
    elif edit == "string_for_number":
        p = rnd.choice(numbers)
        v = _get(doc, p)
        _set(doc, p, str(v.text if isinstance(v, Raw) else v) + rnd.choice(("", "", " ", "x", "e", "%")))
    elif edit == "huge_float":
        p = rnd.choice(numbers)
        _set(doc, p, Raw(rnd.choice(("1e400", "-1e400", "1e308", "1.7976931348623157e308", "4e-400", "1e-320",
                                     "1e38", "3.5e38", '"1e400"', '"-1e309"'))))
    elif edit == "huge_int":
        p = rnd.choice(numbers)
        _set(doc, p, Raw(rnd.choice(("9" * 5000, "-" + "9" * 4400, "9" * 4300, "9" * 400, str(10**30), str(2**63),
                                     str(-(2**63) - 1), '"' + "9" * 5000 + '"'))))
    elif edit == "nonfinite":
        p = rnd.choice(numbers)
        _set(doc, p, Raw(rnd.choice(("nan", "inf", "-inf", "+nan", '"nan"', '"inf"', '"-inf"', '"NaN"'))))
    elif edit == "shape":
        p = rnd.choice(lists)
        v = _get(doc, p)
        how = rnd.choice(("append", "pop", "wrap", "unwrap", "transpose"))
        if how == "append" and isinstance(v, list):
            v.append(v[-1] if v else 1.0)
        elif how == "pop" and isinstance(v, list) and v:
            v.pop()
        elif how == "unwrap" and isinstance(v, list) and v:
            _set(doc, p, v[0])
        elif how == "transpose" and isinstance(v, list) and v and all(isinstance(r, list) for r in v):
            _set(doc, p, [list(col) for col in zip(*v, strict=False)])
        else:
            _set(doc, p, [v])
        note = f"{how} at {p}"
    elif edit == "deep":
        p = rnd.choice(numbers)
        depth = rnd.choice((3, 30, 200, 1000, 3000, 20000))
        inner = rnd.choice(("1", "1.5", '"1"'))
        _set(doc, p, Raw(rnd.choice(("[" * depth + inner + "]" * depth, "{a = " * depth + inner + "}" * depth))))
        note = f"nesting {depth} deep at {p}"
    elif edit == "unknown_key":
        where = rnd.choice(("top", "network", "claimed"))
        key = rnd.choice(("foo", "W9", "b9", "z9", "z0", "dW0", "L_newx", "a1_new", "z1_terms", "exp_z1",
                          "sum_exp_z1", "L_terms", "dL_da1_terms", "Z1", "ü", "", "step", "claimed", "a 1"))
        value = rnd.choice((1, "1", [1.0], {"x": 1}))
        if where == "top":
            doc[key] = value
        else:
            doc.setdefault(where, {})
            if isinstance(doc[where], dict):
                doc[where][key] = value
        note = f"{where}.{key!r} = {toml_value(value)}"
    elif edit == "unknown_name":
        net = doc["network"]
        key = rnd.choice(("activations", "loss", "reduction", "layout", "delta_sign", "output_reduction",
                          "softmax_shift", "schedule"))
        bad = rnd.choice(("hinge", "Sigmoid", "sigmoid ", "", "softmax2", "max", "mean", "none", "relu"))
        if key == "activations":
            net[key][rnd.randrange(len(net[key]))] = bad
        else:
            net[key] = bad
        note = f"network.{key} = {bad!r}"
    elif edit == "empty":
        text = rnd.choice((b"", b" ", b"\n\n", b"# only a comment\n", b"\xef\xbb\xbf", b"[network]\n", b"[claimed]\n"))
    elif edit == "garbage":
        text = draw(st.one_of(st.binary(max_size=200), st.just(b"\x00" * 50), st.just(b"\xff\xfe" + base.data),
                              st.just(base.data.replace(b"=", b"\x00", 1)),
                              st.text(max_size=100).map(lambda s: s.encode("utf-8", "surrogatepass"))))
    elif edit == "duplicate":
        lines = base.data.decode().splitlines(keepends=True)
        candidates = [i for i, line in enumerate(lines) if "=" in line or line.startswith("[")]
        i = rnd.choice(candidates)
        lines.insert(i + rnd.randint(0, 3), lines[i])
        text = "".join(lines).encode()
        note = f"line {lines[i]!r} twice"
    elif edit == "truncate":
        cut = rnd.randrange(len(base.data))
        text = base.data[:cut]
        note = f"cut at {cut}"
    data = dumps(doc).encode() if text is None else text
    return Example(doc, data, edit=edit, plain=False, note=note)


def examples(most_claims: int = 100) -> st.SearchStrategy[Example]:
    """Valid files and broken ones, half and half."""
    return st.one_of(valid_examples(most_claims), broken_examples(most_claims))
