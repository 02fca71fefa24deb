"""Worked-example files: a network, its data and the numbers an example printed (TOML).

The file format (also in the README, where it is a public contract)::

    title = "2-2-1 sigmoid example"
    [network]
    activations = ["sigmoid", "sigmoid"]   # one per layer l = 1..L
    loss = "half_sse"                      # half_sse | sse | mse | bce | cross_entropy
    reduction = "mean"                     # over examples, when x holds several (default mean)
    learning_rate = 0.5                    # needed only to claim W{l}_new, b{l}_new, L_new
    update_biases = true                   # default true
    x = [0.5, 1.0]                         # one example, or a matrix whose columns are examples
    y = [1.0]
    W1 = [[0.4, 0.6], [0.3, 0.5]]
    b1 = [0.1, 0.2]                        # a single number: one bias shared by the layer;
    W2 = [[0.7, 0.8]]                      # omitted: the layer has no bias
    b2 = [0.3]
    [claimed]                              # what the example printed; strings keep the digits
    z1 = ["0.9", "0.85"]
    L = "0.0208"

Claimable keys: z{l}, a{l}, sigma_prime{l}, L, dL_da{l}, delta{l}, dW{l}, db{l}, W{l}_new,
b{l}_new, L_new. An element the example did not print is "?". A TOML float is accepted too and
keeps the digits of its literal (0.210 has three decimals): the file is read with
``parse_float=Decimal``. Every error names its key path (``claimed.dW2[0]: expected 2
columns, got 3``) and is raised as :class:`manual_bp.errors.InputError`.

:func:`replay` runs the document's formulas (forward pass, loss, Eq. 1-5) one quantity at a
time, letting the caller replace each computed quantity before the next step reads it: with
the printed values (what the example's author fed forward) or with rounded values (a hand
calculation). numpy only, like the rest of manual_bp.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from manual_bp.activations import ACTIVATIONS, apply_sigma_prime
from manual_bp.backprop import check_input, check_targets
from manual_bp.errors import InputError
from manual_bp.losses import LOSSES, REDUCTIONS, loss_and_grad
from manual_bp.network import Network
from manual_bp.sgd import check_learning_rate

UNPRINTED = "?"
TOP_LEVEL_KEYS = ("title", "source", "notes", "network", "claimed")
NETWORK_KEYS = ("activations", "loss", "reduction", "learning_rate", "update_biases", "x", "y")
_CLAIM_KEY = re.compile(r"^(?:(?P<prop>z|a|sigma_prime|dL_da|delta|dW|db)(?P<layer>[1-9]\d*)"
                        r"|(?P<param>W|b)(?P<player>[1-9]\d*)_new|(?P<loss>L|L_new))$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_SYMBOLS = {"z": "z^({l})", "a": "a^({l})", "sigma_prime": "sigma'(z^({l}))", "dL_da": "dL/da^({l})",
            "delta": "delta^({l})", "dW": "dL/dW^({l})", "db": "dL/db^({l})", "W_new": "W'^({l})",
            "b_new": "b'^({l})", "L": "L", "L_new": "L'"}
EXAMPLES_PACKAGE = "manual_bp"
EXAMPLES_DIR = "examples"


def parse_key(key: str) -> tuple[str, int | None]:
    """A claim key as (property, 1-based layer): 'dW1' -> ('dW', 1), 'W2_new' -> ('W_new', 2),
    'L' -> ('L', None), 'L_new' -> ('L_new', None). An unknown key raises InputError."""
    match = _CLAIM_KEY.match(key)
    if match is None:
        raise InputError(f"claimed.{key}: unknown quantity; expected one of z{{l}}, a{{l}}, sigma_prime{{l}}, L, "
                         "dL_da{l}, delta{l}, dW{l}, db{l}, W{l}_new, b{l}_new, L_new")
    if match["loss"]:
        return match["loss"], None
    if match["param"]:
        return match["param"] + "_new", int(match["player"])
    return match["prop"], int(match["layer"])


def symbol(key: str) -> str:
    """The document's symbol for a claim key: 'dW1' -> 'dL/dW^(1)', 'L_new' -> "L'"."""
    prop, layer = parse_key(key)
    return _SYMBOLS[prop].format(l=layer)


def element_name(key: str, index: tuple[int, ...], size: int) -> str:
    """One element of a quantity as a user reads it: 'a^(1)[0]', 'dL/dW^(1)[0,1]', 'L'."""
    return symbol(key) + (f"[{','.join(map(str, index))}]" if size > 1 else "")


def decimals_of(printed: str) -> int:
    """The decimal places a printed number carries: '0.210' -> 3, '1' -> 0, '1.2e-3' -> 4."""
    return -int(Decimal(printed.replace("\u2212", "-")).as_tuple().exponent)


@dataclass(frozen=True, eq=False)
class WorkedExample:
    """A parsed worked-example file.

    ``claimed[key]`` is an object array with the quantity's shape holding each printed number
    as the example wrote it (a string) or None where the example printed "?"."""

    title: str
    name: str
    net: Network
    x: np.ndarray
    y: np.ndarray
    loss: str
    reduction: str
    lr: float | None
    update_biases: bool
    claimed: dict[str, np.ndarray]
    source: str = ""
    notes: str = ""

    @property
    def single(self) -> bool:
        """True when x is one example of shape (n_0,)."""
        return self.x.ndim == 1

    @property
    def batch(self) -> int:
        """The number of examples m."""
        return 1 if self.single else int(self.x.shape[1])

    def quantities(self) -> list[str]:
        """Every quantity of this example in the document's order (see :func:`quantity_keys`)."""
        return quantity_keys(self.net, self.lr is not None)

    def claim_keys(self) -> list[str]:
        """The claimed quantities in the document's order."""
        return [k for k in self.quantities() if k in self.claimed]

    def shape_of(self, key: str) -> tuple[int, ...]:
        """The shape a claim of ``key`` must have."""
        return quantity_shape(self.net, key, self.batch, self.single)


def quantity_keys(net: Network, with_update: bool = True) -> list[str]:
    """All quantities in the document's order: the forward pass (z, a per layer), the loss,
    then for l = L..1 sigma'(z^(l)), dL/da^(l), delta^(l), dL/dW^(l), dL/db^(l) (Eq. 1-4), then
    the update W'^(l), b'^(l) for l = L..1 (Eq. 5) and the loss after it, L'."""
    L = net.L
    keys = [k for l in range(1, L + 1) for k in (f"z{l}", f"a{l}")] + ["L"]
    for l in range(L, 0, -1):
        keys += [f"sigma_prime{l}", f"dL_da{l}", f"delta{l}", f"dW{l}"] + ([f"db{l}"] if net.b[l] is not None else [])
    if with_update:
        for l in range(L, 0, -1):
            keys += [f"W{l}_new"] + ([f"b{l}_new"] if net.b[l] is not None else [])
        keys.append("L_new")
    return keys


def quantity_shape(net: Network, key: str, m: int, single: bool) -> tuple[int, ...]:
    """The shape of a quantity: (n_l,) or (n_l, m) per example, (n_l, n_(l-1)) for dW and W',
    (n_l,) or () for db and b', () for L and L'; a softmax layer's sigma' is its Jacobian."""
    prop, l = parse_key(key)
    if l is None:
        return ()
    if not 1 <= l <= net.L:
        raise InputError(f"claimed.{key}: no layer {l}; layers are numbered 1..{net.L} (1-based, as in the document)")
    n = net.sizes[l]
    if prop in ("dW", "W_new"):
        return tuple(net.W[l].shape)
    if prop in ("db", "b_new"):
        if net.b[l] is None:
            raise InputError(f"claimed.{key}: layer {l} has no bias (network.b{l} is omitted)")
        return tuple(net.b[l].shape)
    per_example = (n, n) if prop == "sigma_prime" and net.activations[l] == "softmax" else (n,)
    return per_example if single else (*per_example, m)


# ---------------------------------------------------------------------------------------------
# Reading a file


def _numbers(path: str, value: Any) -> Any:
    """Nested lists of TOML numbers as floats; anything else raises InputError naming the path."""
    if isinstance(value, list):
        if not value:
            raise InputError(f"{path}: expected numbers, got an empty list")
        return [_numbers(f"{path}[{i}]", v) for i, v in enumerate(value)]
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise InputError(f"{path}: expected a number, got {value!r}")
    number = float(value)
    if not np.isfinite(number):
        raise InputError(f"{path}: expected a finite number, got {value}")
    return number


def _array(path: str, value: Any, ndims: tuple[int, ...]) -> np.ndarray:
    """A rectangular float array of one of the allowed numbers of dimensions."""
    nested = _numbers(path, value)
    _check_rectangular(path, nested)
    array = np.array(nested, dtype=np.float64)
    if array.ndim not in ndims:
        want = " or ".join({0: "a number", 1: "a list", 2: "a matrix (a list of rows)"}[d] for d in ndims)
        raise InputError(f"{path}: expected {want}, got {array.ndim} dimensions")
    return array


def _check_rectangular(path: str, nested: Any) -> None:
    """Raise InputError at the first row whose length or depth differs from the first row's."""
    if not isinstance(nested, list):
        return
    first = nested[0]
    for i, row in enumerate(nested):
        if isinstance(row, list) != isinstance(first, list):
            raise InputError(f"{path}[{i}]: expected {'a list' if isinstance(first, list) else 'a number'} like "
                             f"{path}[0], got {row!r}")
        if isinstance(row, list) and len(row) != len(first):
            raise InputError(f"{path}[{i}]: expected {len(first)} columns like {path}[0], got {len(row)}")
        _check_rectangular(f"{path}[{i}]", row)


def _text(path: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InputError(f"{path}: expected a string, got {value!r}")
    return value


def _dim_word(depth: int, ndim: int) -> str:
    if ndim == 1:
        return "elements"
    return {0: "rows", 1: "columns"}.get(depth, "entries")


def _claim_element(path: str, value: Any) -> str | None:
    """One printed number as its text ("0.210"), or None for "?"."""
    if isinstance(value, bool):
        raise InputError(f"{path}: expected a printed number (\"0.711\"), a number or \"?\", got {value!r}")
    if isinstance(value, Decimal | int):
        if isinstance(value, Decimal) and not value.is_finite():
            raise InputError(f"{path}: expected a finite number, got {value}")
        return str(value)
    if isinstance(value, str):
        text = value.strip()
        if text == UNPRINTED:
            return None
        normal = text.replace("\u2212", "-")  # a typeset minus sign, as copied from a document
        if not _NUMBER.match(normal):
            raise InputError(f"{path}: expected a number such as \"-0.0047\" or \"?\", got {value!r}")
        return text
    raise InputError(f"{path}: expected a printed number (\"0.711\"), a number or \"?\", got {value!r}")


def _claim_array(path: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A claim as an object array of the quantity's shape (a bare number for a 1-element quantity)."""
    size = int(np.prod(shape)) if shape else 1
    if not isinstance(value, list) and size == 1:
        out = np.empty(shape, dtype=object)
        out[(0,) * len(shape)] = _claim_element(path, value)
        return out
    out = np.empty(shape, dtype=object)

    def fill(sub: Any, depth: int, prefix: tuple[int, ...], where: str) -> None:
        if depth == len(shape):
            if isinstance(sub, list):
                raise InputError(f"{where}: expected a single number, got a list of {len(sub)}")
            out[prefix] = _claim_element(where, sub)
            return
        word = _dim_word(depth, len(shape))
        if not isinstance(sub, list):
            raise InputError(f"{where}: expected a list of {shape[depth]} {word}, got {sub!r}")
        if len(sub) != shape[depth]:
            raise InputError(f"{where}: expected {shape[depth]} {word}, got {len(sub)}")
        for i, item in enumerate(sub):
            fill(item, depth + 1, (*prefix, i), f"{where}[{i}]")

    fill(value, 0, (), path)
    return out


def _layers(activations: Any) -> list[str]:
    if isinstance(activations, str) or not isinstance(activations, list) or not activations:
        raise InputError(f"network.activations: expected a list of names, one per layer, got {activations!r}")
    for i, name in enumerate(activations):
        if not isinstance(name, str) or name not in ACTIVATIONS:
            raise InputError(f"network.activations[{i}]: unknown activation {name!r}; known: {', '.join(ACTIVATIONS)}")
    return list(activations)


def _network(table: dict[str, Any]) -> tuple[Network, np.ndarray, np.ndarray, dict[str, Any]]:
    """The [network] table: the Network, x, y and the remaining settings, each error with its path."""
    if not isinstance(table, dict):
        raise InputError("network: expected a table [network]")
    if "activations" not in table:
        raise InputError("network.activations: missing (one activation name per layer)")
    acts = _layers(table["activations"])
    L = len(acts)
    allowed = {*NETWORK_KEYS, *(f"W{l}" for l in range(1, L + 1)), *(f"b{l}" for l in range(1, L + 1))}
    for key in table:
        if key not in allowed:
            raise InputError(f"network.{key}: unknown key; expected {', '.join(NETWORK_KEYS)}, W1..W{L}, b1..b{L} "
                             f"({L} layers, one per activation)")
    for key in ("loss", "x", "y", *(f"W{l}" for l in range(1, L + 1))):
        if key not in table:
            raise InputError(f"network.{key}: missing")
    loss = _text("network.loss", table["loss"])
    if loss not in LOSSES:
        raise InputError(f"network.loss: unknown loss {loss!r}; known: {', '.join(LOSSES)}")
    reduction = _text("network.reduction", table.get("reduction", "mean"))
    if reduction not in REDUCTIONS:
        raise InputError(f"network.reduction: expected one of {', '.join(REDUCTIONS)}, got {reduction!r}")
    update_biases = table.get("update_biases", True)
    if not isinstance(update_biases, bool):
        raise InputError(f"network.update_biases: expected true or false, got {update_biases!r}")
    lr = None
    if "learning_rate" in table:
        value = table["learning_rate"]
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise InputError(f"network.learning_rate: expected a positive number, got {value!r}")
        try:
            lr = check_learning_rate(float(value))
        except InputError:
            raise InputError(f"network.learning_rate: expected a positive finite number, got {value}") from None

    weights, biases = [], []
    for l in range(1, L + 1):
        W = _array(f"network.W{l}", table[f"W{l}"], (2,))
        if l > 1 and W.shape[1] != weights[-1].shape[0]:
            raise InputError(f"network.W{l}: expected {weights[-1].shape[0]} columns (n_{l - 1} = rows of "
                             f"network.W{l - 1}), got {W.shape[1]}")
        weights.append(W)
        if f"b{l}" in table:
            b = _array(f"network.b{l}", table[f"b{l}"], (0, 1))
            if b.ndim == 1 and len(b) != W.shape[0]:
                raise InputError(f"network.b{l}: expected {W.shape[0]} elements (n_{l} = rows of network.W{l}) "
                                 f"or a single shared number, got {len(b)}")
            biases.append(b)
        else:
            biases.append(None)
    net = Network(weights, biases, acts)

    n0, nL = net.sizes[0], net.sizes[-1]
    x = _array("network.x", table["x"], (1, 2))
    if x.shape[0] != n0:
        raise InputError(f"network.x: expected {n0} {'elements' if x.ndim == 1 else 'rows'} (n_0 = columns of "
                         f"network.W1), got {x.shape[0]}")
    raw_y = table["y"]
    if loss == "cross_entropy" and _all_ints(raw_y) and np.ndim(raw_y) == (0 if x.ndim == 1 else 1):
        y = np.asarray(raw_y, dtype=np.int64)  # class indices
    else:
        y = _array("network.y", raw_y, (0, 1, 2))
        if y.ndim == 0 and nL == 1 and x.ndim == 1:
            y = y.reshape(1)  # y = 1.0 for a single output
        want = (nL,) if x.ndim == 1 else (nL, x.shape[1])
        if y.shape != want:
            raise InputError(f"network.y: expected shape {want} (n_{L} = {nL} outputs"
                             f"{'' if x.ndim == 1 else f', {x.shape[1]} examples as columns'}), got shape {y.shape}")
    try:
        check_targets(net, y, loss, 1 if x.ndim == 1 else x.shape[1], x.ndim == 1)
    except InputError as exc:
        raise InputError(f"network.{exc}") from None
    return net, x, y, {"loss": loss, "reduction": reduction, "lr": lr, "update_biases": update_biases}


def _all_ints(value: Any) -> bool:
    if isinstance(value, list):
        return all(_all_ints(v) for v in value)
    return isinstance(value, int) and not isinstance(value, bool)


def loads_example(text: str, name: str = "example") -> WorkedExample:
    """Parse a worked-example file's text; any problem raises InputError with its key path."""
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{name}: not valid TOML: {exc}") from None
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise InputError(f"{key}: unknown top-level key; expected {', '.join(TOP_LEVEL_KEYS)}")
    if "network" not in data:
        raise InputError("network: missing (the [network] table)")
    title = _text("title", data.get("title", name))
    source = _text("source", data.get("source", ""))
    notes = _text("notes", data.get("notes", ""))
    net, x, y, settings = _network(data["network"])
    table = data.get("claimed", {})
    if not isinstance(table, dict):
        raise InputError("claimed: expected a table [claimed]")
    single, m = x.ndim == 1, 1 if x.ndim == 1 else x.shape[1]
    claimed = {}
    for key, value in table.items():
        prop, _ = parse_key(key)
        if prop in ("W_new", "b_new", "L_new") and settings["lr"] is None:
            raise InputError(f"claimed.{key}: needs network.learning_rate, which is missing")
        claimed[key] = _claim_array(f"claimed.{key}", value, quantity_shape(net, key, m, single))
    return WorkedExample(title, name, net, x, y, claimed=claimed, source=source, notes=notes, **settings)


def load_example(path: str | Path) -> WorkedExample:
    """Read and parse a worked-example file; a missing or unreadable file raises InputError."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the file ({exc.__class__.__name__}: {exc})") from None
    return loads_example(text, p.stem)


def packaged_examples() -> list[str]:
    """The names of the worked examples shipped inside the package (manual_bp/examples/*.toml)."""
    folder = resources.files(EXAMPLES_PACKAGE) / EXAMPLES_DIR
    return sorted(f.name[:-5] for f in folder.iterdir() if f.name.endswith(".toml"))


def packaged_example(name: str) -> WorkedExample:
    """A shipped example by name (e.g. 'seed-2-2-1'); an unknown name lists the known ones."""
    names = packaged_examples()
    if name not in names:
        raise InputError(f"--example: unknown example {name!r}; shipped: {', '.join(names)}")
    text = (resources.files(EXAMPLES_PACKAGE) / EXAMPLES_DIR / f"{name}.toml").read_text(encoding="utf-8")
    return loads_example(text, name)


# ---------------------------------------------------------------------------------------------
# Replaying the formulas one quantity at a time

# sigma'(z) written in the activation a = sigma(z), the way hand calculations do it (the
# document: sigma'(z^(2)) = 0.796 (1 - 0.796)). Activations not listed here use z.
SIGMA_PRIME_FROM_A: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigmoid": lambda a: a * (1.0 - a),
    "tanh": lambda a: 1.0 - a * a,
    "identity": np.ones_like,
    "relu": lambda a: (a > 0).astype(a.dtype),
    "leaky_relu": lambda a: np.where(a > 0, 1.0, 0.01).astype(a.dtype),
    "softmax": lambda a: (a[:, None, :] * np.eye(a.shape[0])[:, :, None] - a[:, None, :] * a[None, :, :]),
}

Fix = Callable[[str, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Replay:
    """``computed[key]``: the formula's value from the values fed to it; ``fed[key]``: the value
    the next steps read (what ``fix`` made of it). Both in the quantity's shape."""

    computed: dict[str, np.ndarray]
    fed: dict[str, np.ndarray]


def replay(ex: WorkedExample, fix: Fix | None = None, until: str | None = None) -> Replay:
    """Run the forward pass, the loss, Eq. 1-4 and Eq. 5 quantity by quantity in the document's
    order; after each quantity, ``fix(key, value)`` says what the later steps read instead (the
    printed value, a rounded one), and ``until`` stops after that key.

    The formulas are the document's: z^(l) = W^(l) a^(l-1) + b^(l), a^(l) = sigma(z^(l)),
    sigma'(z^(l)) from a^(l) where the activation allows (a(1 - a) for sigmoid, 1 - a^2 for tanh)
    and from z^(l) otherwise, L(a^(L), y), dL/da^(L), Eq. 1 delta^(L) = dL/da^(L) ⊙ sigma'(z^(L)),
    Eq. 2 dL/da^(l) = (W^(l+1))^T delta^(l+1) and delta^(l) = dL/da^(l) ⊙ sigma'(z^(l)), Eq. 3
    dL/dW^(l) = delta^(l) (a^(l-1))^T, Eq. 4 dL/db^(l) = delta^(l) (summed over the batch and,
    for a shared bias, the units), Eq. 5 W'^(l) = W^(l) - eta dL/dW^(l), and L' = L after it."""
    net, single = ex.net, ex.single
    A0, _ = check_input(net, ex.x)
    Y = check_targets(net, ex.y, ex.loss, A0.shape[1], single)
    computed: dict[str, np.ndarray] = {}
    fed: dict[str, np.ndarray] = {}

    def col(key: str) -> np.ndarray:  # a fed per-example value (z, a, sigma', dL/da, delta) with its batch axis
        return fed[key][..., None] if single else fed[key]

    def given(value: np.ndarray) -> np.ndarray:
        return value[..., 0] if single else value

    def bias(b: np.ndarray | None) -> np.ndarray | float:
        return 0.0 if b is None else (b if b.ndim == 0 else b[:, None])

    def step(key: str, value: Any) -> bool:
        value = np.asarray(value, dtype=np.float64)
        computed[key] = value
        fed[key] = value if fix is None else np.asarray(fix(key, value), dtype=np.float64)
        return key == until

    L = net.L
    fed["a0"] = np.asarray(ex.x, dtype=np.float64)
    for key in ex.quantities():
        prop, l = parse_key(key)
        if prop == "z":
            value = given(net.W[l] @ col(f"a{l - 1}") + bias(net.b[l]))
        elif prop == "a":
            value = given(ACTIVATIONS[net.activations[l]].sigma(col(f"z{l}")))
        elif prop == "sigma_prime":
            name = net.activations[l]
            from_a = SIGMA_PRIME_FROM_A.get(name)
            value = given(from_a(col(f"a{l}")) if from_a else ACTIVATIONS[name].sigma_prime(col(f"z{l}")))
        elif prop == "L":
            value = loss_and_grad(ex.loss, col(f"a{L}"), Y, ex.reduction)[0]
        elif prop == "dL_da":
            if l == L:
                value = given(loss_and_grad(ex.loss, col(f"a{L}"), Y, ex.reduction)[1])
            else:
                value = given(net.W[l + 1].T @ col(f"delta{l + 1}"))  # Eq. 2
        elif prop == "delta":
            value = given(apply_sigma_prime(col(f"dL_da{l}"), col(f"sigma_prime{l}")))  # Eq. 1 / Eq. 2
        elif prop == "dW":
            value = col(f"delta{l}") @ col(f"a{l - 1}").T  # Eq. 3
        elif prop == "db":
            value = col(f"delta{l}").sum(axis=None if net.b[l].ndim == 0 else 1)  # Eq. 4
        elif prop == "W_new":
            value = net.W[l] - ex.lr * fed[f"dW{l}"]  # Eq. 5
        elif prop == "b_new":
            value = net.b[l] - ex.lr * fed[f"db{l}"] if ex.update_biases else net.b[l]  # Eq. 5
        else:  # L_new: the loss of the updated network on the same data
            a = A0
            for j in range(1, L + 1):
                b_new = fed[f"b{j}_new"] if net.b[j] is not None else None
                a = ACTIVATIONS[net.activations[j]].sigma(fed[f"W{j}_new"] @ a + bias(b_new))
            value = loss_and_grad(ex.loss, a, Y, ex.reduction)[0]
        if step(key, value):
            break
    return Replay(computed, fed)
