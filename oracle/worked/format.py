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

import os
import re
import stat
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from manual_bp import BACKPROP, Backprop
from manual_bp.errors import InputError, require
from manual_bp.network import Network
from oracle import notation
from oracle.worked.conventions import Conventions, OutputsSummed, negate_text
from oracle.worked.network_table import network_table
from oracle.worked.parse import claim_array, string

TOP_LEVEL_KEYS = ("title", "source", "notes", "network", "claimed", "step")
EXAMPLES_PACKAGE = "oracle.worked"
EXAMPLES_DIR = "examples"
MAX_FILE_BYTES = 64 * 1024 * 1024  # a worked example is kilobytes (a 1000 x 1000 network ~ 10 MB); a bound on a mistake


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
    conventions: Conventions = field(default_factory=Conventions)
    schedule: str = "full_batch"
    steps: tuple[StepClaims, ...] = ()
    data_x: np.ndarray | None = None  # per_example: every example (x is the first one's)
    data_y: np.ndarray | None = None

    @property
    def algorithm(self) -> Backprop:
        """manual_bp's algorithm under the example's conventions (bce summed over the outputs)."""
        summed = self.conventions.output_reduction == "sum" and self.loss == "bce"
        return OutputsSummed() if summed else BACKPROP

    @property
    def single(self) -> bool:
        """True when x is one example of shape (n_0,)."""
        return self.x.ndim == 1

    @property
    def batch(self) -> int:
        """The number of examples m."""
        return 1 if self.single else int(self.x.shape[1])

    def quantities(self) -> list[str]:
        """Every quantity of this example in the document's order (see :func:`quantity_keys`),
        with the intermediates it claims."""
        return quantity_keys(self.net, self.lr is not None, set(self.claimed))

    def claim_keys(self) -> list[str]:
        """The claimed quantities in the document's order."""
        return [k for k in self.quantities() if k in self.claimed]

    def shape_of(self, key: str) -> tuple[int, ...]:
        """The shape a claim of ``key`` must have."""
        return quantity_shape(self.net, key, self.batch, self.single)


def quantity_keys(net: Network, with_update: bool = True, intermediates: set[str] | None = None) -> list[str]:
    """All quantities in the document's order: the forward pass (z, a per layer), the loss,
    then for l = L..1 sigma'(z^(l)), dL/da^(l), delta^(l), dL/dW^(l), dL/db^(l) (Eq. 1-4), then
    the update W'^(l), b'^(l) for l = L..1 (Eq. 5), the outputs and the loss after it. The
    intermediates (the terms of a sum, the softmax's parts) come just before what they make, if
    they are in ``intermediates``."""
    extra = intermediates or set()
    L = net.L

    def with_parts(parts: list[str], key: str) -> list[str]:
        return [p for p in parts if p in extra] + [key]

    keys: list[str] = []
    for l in range(1, L + 1):
        keys += with_parts([f"z{l}_terms"], f"z{l}") + with_parts([f"exp_z{l}", f"sum_exp_z{l}"], f"a{l}")
    keys += with_parts(["L_terms"], "L")
    for l in range(L, 0, -1):
        keys += [f"sigma_prime{l}", *with_parts([f"dL_da{l}_terms"], f"dL_da{l}"), f"delta{l}", f"dW{l}"]
        keys += [f"db{l}"] if net.b[l] is not None else []
    if with_update:
        for l in range(L, 0, -1):
            keys += [f"W{l}_new"] + ([f"b{l}_new"] if net.b[l] is not None else [])
        keys += [f"a{l}_new" for l in range(1, L + 1) if f"a{l}_new" in extra] + ["L_new"]
    return keys


def quantity_shape(net: Network, key: str, m: int, single: bool) -> tuple[int, ...]:
    """The shape of a quantity: (n_l,) or (n_l, m) per example, (n_l, n_(l-1)) for dW and W',
    (n_l,) or () for db and b', () for L and L'; a softmax layer's sigma' is its Jacobian."""
    prop, l = parse_key(key)
    if prop == "L_terms":
        return (net.sizes[-1],) if single else (net.sizes[-1], m)
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
    if prop in ("exp_z", "sum_exp_z") and net.activations[l] != "softmax":
        raise InputError(f"claimed.{key}: layer {l} is not a softmax layer ({net.activations[l]})")
    if prop == "dL_da_terms" and l == net.L:
        raise InputError(f"claimed.{key}: the output layer's dL/da^({l}) is the loss's gradient, not a sum over "
                         "a next layer")
    per_example = {"sigma_prime": (n, n) if net.activations[l] == "softmax" else (n,),
                   "z_terms": (n, net.sizes[l - 1] + (net.b[l] is not None)), "sum_exp_z": (),
                   "dL_da_terms": (n, net.sizes[l + 1]) if l < net.L else ()}.get(prop, (n,))
    return per_example if single else (*per_example, m)


def loads_example(text: str, name: str = "example") -> WorkedExample:
    """Parse a worked-example file's text; any problem raises InputError with its key path."""
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{name}: not valid TOML: {exc}") from None
    except ValueError as exc:  # an integer of more than 4,300 digits, which Python will not convert
        raise InputError(f"{name}: a number in the file is too long to read ({str(exc).split(';')[0]})") from None
    except RecursionError:
        raise InputError(f"{name}: arrays or tables nested too deep to read (a worked example needs 3 "
                         "levels at most)") from None
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise InputError(f"{key}: unknown top-level key; expected {', '.join(TOP_LEVEL_KEYS)}")
    if "network" not in data:
        raise InputError("network: missing (the [network] table)")
    title = string("title", data.get("title", name))
    source = string("source", data.get("source", ""))
    notes = string("notes", data.get("notes", ""))
    net, x, y, settings = network_table(data["network"])
    data_x = data_y = None
    if settings["schedule"] == "per_example" and x.ndim == 2:  # [claimed] is the first update: example 1
        data_x, data_y = x, y
        x, y = x[:, 0], (y[0] if y.ndim == 1 else y[:, 0])
    table = data.get("claimed", {})
    if not isinstance(table, dict):
        raise InputError("claimed: expected a table [claimed]")
    single, m = x.ndim == 1, 1 if x.ndim == 1 else x.shape[1]
    conv = settings["conventions"]
    claimed = {}
    for key, value in table.items():
        prop, _ = parse_key(key)
        if prop in ("W_new", "b_new", "L_new", "a_new") and settings["lr"] is None:
            raise InputError(f"claimed.{key}: needs network.learning_rate, which is missing")
        claimed[key] = _claim(f"claimed.{key}", prop, value, quantity_shape(net, key, m, single), conv, not single)
    steps = _steps(data.get("step", []), net, m, single, conv, settings)
    return WorkedExample(title, name, net, x, y, claimed=claimed, source=source, notes=notes, steps=steps,
                         data_x=data_x, data_y=data_y, **settings)


def _claim(path: str, prop: str, value: Any, shape: tuple[int, ...], conv: Conventions, batch: bool) -> np.ndarray:
    """A claim read in the file's convention, held in the document's (a negated quantity's texts negated)."""
    texts = conv.from_file(prop, claim_array(path, value, conv.file_shape(prop, shape, batch)), batch)
    if conv.sign(prop) < 0:
        texts = np.vectorize(lambda t: None if t is None else negate_text(t), otypes=[object])(texts)
    return texts


@dataclass(frozen=True)
class StepClaims:
    """What an example printed after ``step`` updates (per_example: passes over the examples):
    W{l}, b{l} (the parameters), a{l} (the outputs on x), L and, per_example, L_running (the
    sum of each example's loss, each taken before its own update, over that pass)."""

    step: int
    claimed: dict[str, np.ndarray]


_STEP_KEY = re.compile(r"^(?:(?P<prop>W|b|a)(?P<layer>[1-9]\d*)|(?P<loss>L|L_running))$")


def step_key(key: str) -> tuple[str, int | None]:
    """A [[step]] key as (property, layer): 'W1' -> ('W', 1), 'L' -> ('L', None)."""
    match = _STEP_KEY.match(key)
    if match is None:
        return "", None
    return (match["loss"], None) if match["loss"] else (match["prop"], int(match["layer"]))


def step_shape(net: Network, prop: str, layer: int | None, m: int, single: bool) -> tuple[int, ...]:
    """The shape of a [[step]] claim."""
    if layer is None:
        return ()
    if prop == "W":
        return tuple(net.W[layer].shape)
    if prop == "b":
        return () if net.b[layer] is None else tuple(net.b[layer].shape)
    return (net.sizes[layer],) if single else (net.sizes[layer], m)


def _steps(tables: Any, net: Network, m: int, single: bool, conv: Conventions, settings: dict[str, Any]
           ) -> tuple[StepClaims, ...]:
    """The [[step]] tables, each with step = k and the claims after k steps."""
    if not isinstance(tables, list):
        raise InputError("step: expected [[step]] tables")
    out, seen = [], set()
    for i, table in enumerate(tables):
        where = f"step[{i}]"
        if not isinstance(table, dict) or "step" not in table:
            raise InputError(f"{where}: expected a table with step = k (the number of updates before it)")
        k = table["step"]
        if isinstance(k, bool) or not isinstance(k, int) or k < 1 or k in seen:
            raise InputError(f"{where}.step: expected a whole number >= 1 not given before, got {k!r}")
        require(settings["lr"] is not None, f"{where}: needs network.learning_rate, which is missing")
        seen.add(k)
        claims = {}
        for key, value in table.items():
            if key == "step":
                continue
            prop, layer = step_key(key)
            if not prop or (layer is not None and not 1 <= layer <= net.L):
                raise InputError(f"{where}.{key}: unknown quantity; expected W{{l}}, b{{l}}, a{{l}}, L, L_running")
            require(prop != "L_running" or settings["schedule"] == "per_example",
                    f"{where}.{key}: L_running is for schedule = \"per_example\"")
            require(prop != "b" or net.b[layer] is not None, f"{where}.{key}: layer {layer} has no bias")
            internal = {"W": "W", "b": "b_new", "a": "a"}.get(prop, prop)
            claims[key] = _claim(f"{where}.{key}", internal, value, step_shape(net, prop, layer, m, single), conv,
                                 not single and prop == "a")
        out.append(StepClaims(k, claims))
    return tuple(sorted(out, key=lambda s: s.step))


def load_example(path: str | Path) -> WorkedExample:
    """Read and parse a worked-example file; a missing or unreadable file raises InputError."""
    p = Path(path)
    return loads_example(read_text_file(p), p.stem)


def read_text_file(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    """A regular file's UTF-8 text. Anything else is refused before it is opened: a directory, a
    device such as /dev/zero (endless), a FIFO (blocks until someone writes), or a file larger
    than ``limit`` (a worked example is a few kilobytes)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        what = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file (a device, pipe or socket)"
        raise InputError(f"{path}: expected a worked-example file, got {what}")
    if info.st_size > limit:
        raise InputError(f"{path}: the file is {info.st_size:,} bytes; a worked-example file is at most {limit:,}")
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)  # the size may have changed since stat
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise InputError(f"{path}: the file is larger than {limit:,} bytes, the most a worked-example file may be")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}: {data[exc.start:exc.start + 1]!r})") from None


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
