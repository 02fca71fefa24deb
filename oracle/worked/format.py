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
columns, got 3``) and is raised as :class:`manual_bp.errors.InputError`. The full format is
in docs/worked-examples.md.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from manual_bp import validate
from manual_bp.errors import InputError
from manual_bp.losses import LOSSES, REDUCTIONS
from manual_bp.network import Network
from oracle import notation
from oracle.worked.parse import all_ints, array, claim_array, layers, string

TOP_LEVEL_KEYS = ("title", "source", "notes", "network", "claimed")
NETWORK_KEYS = ("activations", "loss", "reduction", "learning_rate", "update_biases", "x", "y")
EXAMPLES_PACKAGE = "oracle.worked"
EXAMPLES_DIR = "examples"


def parse_key(key: str) -> tuple[str, int | None]:
    """A claim key as (property, 1-based layer): 'dW1' -> ('dW', 1), 'W2_new' -> ('W_new', 2),
    'L' -> ('L', None), 'L_new' -> ('L_new', None). An unknown key raises InputError."""
    prop, layer = notation.parse_key(key)
    if not prop:
        raise InputError(f"claimed.{key}: unknown quantity; expected one of {notation.KEY_FORMS}")
    return prop, layer


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


def _network(table: dict[str, Any]) -> tuple[Network, np.ndarray, np.ndarray, dict[str, Any]]:
    """The [network] table: the Network, x, y and the remaining settings, each error with its path."""
    if not isinstance(table, dict):
        raise InputError("network: expected a table [network]")
    if "activations" not in table:
        raise InputError("network.activations: missing (one activation name per layer)")
    acts = layers(table["activations"])
    L = len(acts)
    allowed = {*NETWORK_KEYS, *(f"W{l}" for l in range(1, L + 1)), *(f"b{l}" for l in range(1, L + 1))}
    for key in table:
        if key not in allowed:
            raise InputError(f"network.{key}: unknown key; expected {', '.join(NETWORK_KEYS)}, W1..W{L}, b1..b{L} "
                             f"({L} layers, one per activation)")
    for key in ("loss", "x", "y", *(f"W{l}" for l in range(1, L + 1))):
        if key not in table:
            raise InputError(f"network.{key}: missing")
    settings = _settings(table)
    net = _parameters(table, acts)
    x, y = _data(table, net, settings["loss"])
    return net, x, y, settings


def _settings(table: dict[str, Any]) -> dict[str, Any]:
    """loss, reduction, update_biases and the learning rate (None when not given)."""
    loss = string("network.loss", table["loss"])
    if loss not in LOSSES:
        raise InputError(f"network.loss: unknown loss {loss!r}; known: {', '.join(LOSSES)}")
    reduction = string("network.reduction", table.get("reduction", "mean"))
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
            lr = validate.learning_rate(float(value))
        except InputError:
            raise InputError(f"network.learning_rate: expected a positive finite number, got {value}") from None
    return {"loss": loss, "reduction": reduction, "lr": lr, "update_biases": update_biases}


def _parameters(table: dict[str, Any], acts: list[str]) -> Network:
    """W1..WL (shapes that chain) and b1..bL (each optional) as a Network."""
    weights, biases = [], []
    for l in range(1, len(acts) + 1):
        W = array(f"network.W{l}", table[f"W{l}"], (2,))
        if l > 1 and W.shape[1] != weights[-1].shape[0]:
            raise InputError(f"network.W{l}: expected {weights[-1].shape[0]} columns (n_{l - 1} = rows of "
                             f"network.W{l - 1}), got {W.shape[1]}")
        weights.append(W)
        if f"b{l}" in table:
            b = array(f"network.b{l}", table[f"b{l}"], (0, 1))
            if b.ndim == 1 and len(b) != W.shape[0]:
                raise InputError(f"network.b{l}: expected {W.shape[0]} elements (n_{l} = rows of network.W{l}) "
                                 f"or a single shared number, got {len(b)}")
            biases.append(b)
        else:
            biases.append(None)
    return Network(weights, biases, acts)


def _data(table: dict[str, Any], net: Network, loss: str) -> tuple[np.ndarray, np.ndarray]:
    """x (one example, or examples as columns) and y (its outputs' shape, or class indices)."""
    n0, nL, L = net.sizes[0], net.sizes[-1], net.L
    x = array("network.x", table["x"], (1, 2))
    if x.shape[0] != n0:
        raise InputError(f"network.x: expected {n0} {'elements' if x.ndim == 1 else 'rows'} (n_0 = columns of "
                         f"network.W1), got {x.shape[0]}")
    raw_y = table["y"]
    if loss == "cross_entropy" and all_ints(raw_y) and np.ndim(raw_y) == (0 if x.ndim == 1 else 1):
        y = np.asarray(raw_y, dtype=np.int64)  # class indices
    else:
        y = array("network.y", raw_y, (0, 1, 2))
        if y.ndim == 0 and nL == 1 and x.ndim == 1:
            y = y.reshape(1)  # y = 1.0 for a single output
        want = (nL,) if x.ndim == 1 else (nL, x.shape[1])
        if y.shape != want:
            raise InputError(f"network.y: expected shape {want} (n_{L} = {nL} outputs"
                             f"{'' if x.ndim == 1 else f', {x.shape[1]} examples as columns'}), got shape {y.shape}")
    try:
        validate.targets(net, y, loss, 1 if x.ndim == 1 else x.shape[1], x.ndim == 1)
    except InputError as exc:
        raise InputError(f"network.{exc}") from None
    return x, y


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
    title = string("title", data.get("title", name))
    source = string("source", data.get("source", ""))
    notes = string("notes", data.get("notes", ""))
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
        claimed[key] = claim_array(f"claimed.{key}", value, quantity_shape(net, key, m, single))
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
