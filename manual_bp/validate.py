"""Input checking, in one place: every public function of manual_bp passes what it is given
through these before any arithmetic, so the algorithm itself (manual_bp.backprop) never has
to. Each check raises :class:`~manual_bp.errors.InputError` with a message that names the
argument, what was expected and what was given.

One path per kind of input: :func:`float_array` for every array of numbers (weights, biases,
x, y, an optimizer's buffers), :func:`learning_rate`, :func:`in_range` (an optimizer's
hyper-parameters), :func:`count` and :func:`flag` for scalars. A value is taken as a number
only if it is one: strings, booleans, complex, datetime, structured, masked and object arrays
are refused, not converted.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from manual_bp.errors import InputError, LayerDict, describe, require
from manual_bp.losses import expand_class_indices, get_loss

if TYPE_CHECKING:
    from manual_bp.network import Network

DTYPES = {"float64": np.float64, "float32": np.float32}
_NUMERIC_KINDS = "iuf"  # signed and unsigned integers, floats
_KIND_NAMES = {"b": "booleans", "c": "complex numbers", "M": "datetimes", "m": "timedeltas", "V": "structured records",
               "U": "strings", "S": "byte strings", "O": "Python objects"}


def dtype(value: object) -> type[np.floating]:
    """np.float64 / np.float32 from a dtype or its name; anything else raises InputError."""
    try:
        dt = np.dtype(value).type  # type: ignore[arg-type]
    except (TypeError, ValueError):
        dt = None
    if dt not in (np.float64, np.float32):
        raise InputError(f"dtype: expected float64 or float32, got {describe(value)}")
    return dt


def real_array(name: str, value: object) -> np.ndarray:
    """``value`` as an ndarray of real numbers (integers or floats), without conversion of
    anything that is not one; InputError otherwise."""
    if "numpy.ma" in sys.modules and isinstance(value, np.ma.MaskedArray):
        raise InputError(f"{name}: expected a plain array of numbers, got a masked array "
                         "(fill the masked entries first, e.g. with .filled())")
    if isinstance(value, str | bytes):
        raise InputError(f"{name}: expected an array of numbers, got the string {describe(value)}")
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError, RuntimeError, OverflowError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{name}: expected an array of numbers, got {type(value).__name__} ({first})") from None
    kind = raw.dtype.kind
    if kind in _NUMERIC_KINDS:
        return raw
    if kind == "O":
        return _object_numbers(name, raw, value)
    raise InputError(f"{name}: expected real numbers, got {_KIND_NAMES.get(kind, raw.dtype.name)} "
                     f"({describe(value)})")


def _object_numbers(name: str, raw: np.ndarray, value: object) -> np.ndarray:
    """An object array holds real numbers only if every element is one (a Python int too large
    for int64, a Fraction, a Decimal); a ragged list or anything else is refused."""
    for index in np.ndindex(raw.shape):
        item = raw[index]
        where = f" at index {list(index)}" if index else ""
        if isinstance(item, bool | np.bool_) or not isinstance(item, numbers.Real | np.number):
            if isinstance(item, list | tuple | np.ndarray):
                raise InputError(f"{name}: expected a rectangular array of numbers, got nested lists of "
                                 f"different lengths ({describe(value)})")
            raise InputError(f"{name}: expected real numbers, got {describe(item)}{where}")
        try:
            number = float(item)
        except (OverflowError, TypeError, ValueError):
            number = math.inf
        if not math.isfinite(number):
            raise InputError(f"{name}: expected finite numbers, got {describe(item)}{where} (too large for a float)")
    return raw.astype(np.float64)


def require_finite(name: str, array: np.ndarray) -> None:
    """Raise :class:`InputError` naming ``name`` and the first bad index if ``array`` holds NaN or inf."""
    if all_finite(array):
        return
    bad = ~np.isfinite(array)
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    where = f" at index {list(index)}" if index else ""
    raise InputError(f"{name}: expected finite values, got {array[bad].flat[0]}{where}")


def all_finite(array: np.ndarray) -> bool:
    """Whether no element is NaN or inf. A large array is judged by its minimum and maximum,
    which are both finite exactly then (a NaN makes both NaN), without the temporary array of
    np.isfinite; for a small one that temporary is cheaper than two reductions."""
    array = np.asarray(array)
    if array.size < 65536:
        return bool(np.isfinite(array).all())
    return bool(np.isfinite(array.min()) and np.isfinite(array.max()))


def float_array(name: str, value: object, dt: type[np.floating], copy: bool = True) -> np.ndarray:
    """``value`` as a finite array of dtype ``dt`` (a new one unless copy=False and it already is
    one); a value too large for float32 is named as such rather than as inf."""
    raw = real_array(name, value)
    if raw.dtype == dt:
        array = raw.copy() if copy and raw is value else raw  # np.asarray made a new array of anything else
    else:
        with np.errstate(over="ignore"):  # a float32 overflow is reported just below
            array = raw.astype(dt)
    if not all_finite(array):
        if raw.dtype.kind == "f" and all_finite(raw):
            index = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
            raise InputError(f"{name}: {raw[index]} at index {list(index)} is too large for {np.dtype(dt).name}")
        require_finite(name, array)  # raises, naming the first NaN or inf
    return array


def real_number(name: str, value: object, expected: str) -> float:
    """A finite real number (not a bool, not a string); ``expected`` says what it should be."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real | np.number) \
            or isinstance(value, np.complexfloating):
        raise InputError(f"{name}: expected {expected}, got {describe(value)}")
    try:
        number = float(value)
    except (OverflowError, TypeError, ValueError):
        number = math.inf
    require(math.isfinite(number), f"{name}: expected {expected}, got {describe(value)}")
    return number


def learning_rate(lr: object, dt: type[np.floating] | None = None) -> float:
    """lr as a float; anything but a positive finite number (one that ``dt`` can hold, when given)
    raises InputError."""
    value = real_number("lr", lr, "a positive finite number")
    require(value > 0, f"lr: expected a positive finite number, got {describe(lr)}")
    if dt is not None:
        top = float(np.finfo(dt).max)
        require(value <= top, f"lr: {value:g} is too large for {np.dtype(dt).name} (at most {top:.4g})")
    return value


def in_range(name: str, value: object, low: float, high: float, high_open: bool = False) -> float:
    """A finite real number with low <= value <= high (value < high where high_open): an
    optimizer's hyper-parameter, such as a momentum factor, a beta or a weight decay."""
    upper = "<" if high_open else "<="
    expected = f"a number >= {low:g}" if math.isinf(high) else f"a number with {low:g} <= {name} {upper} {high:g}"
    number = real_number(name, value, expected)
    inside = low <= number and (number < high if high_open else number <= high)
    require(inside, f"{name}: expected {expected}, got {describe(value)}")
    return number


def count(name: str, value: object, minimum: int = 0) -> int:
    """A whole number >= minimum (a Python or numpy integer, not a bool)."""
    ok = is_integer(value) and value >= minimum  # type: ignore[operator]
    require(ok, f"{name}: expected an integer >= {minimum}, got {describe(value)}")
    return int(value)  # type: ignore[arg-type]


def is_integer(value: object) -> bool:
    """A Python or numpy integer; not a bool, and not a timedelta64 (numpy counts it as one)."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_ | np.timedelta64)


def flag(name: str, value: object) -> bool:
    """True or False (a numpy bool too); a string such as "no" is refused, not taken as true."""
    require(isinstance(value, bool | np.bool_), f"{name}: expected True or False, got {describe(value)}")
    return bool(value)


def choice(name: str, value: object, known: Sequence[str]) -> str:
    """One of ``known``."""
    require(isinstance(value, str) and value in known,
            f"{name}: expected one of {', '.join(known)}, got {describe(value)}")
    return str(value)


# ---------------------------------------------------------------------------------------------
# The network's parameters


def layer_count(name: str, items: object, L: int | None = None) -> list[Any]:
    """``items`` as a list, one entry per layer (exactly L of them when L is given)."""
    if isinstance(items, str | bytes | dict) or not isinstance(items, Sequence | np.ndarray) \
            or (isinstance(items, np.ndarray) and items.ndim == 0):
        what = "one per layer" if L is None else f"{L} entries, one per layer"
        raise InputError(f"{name}: expected a list ({what}), got {describe(items)}")
    out = list(items)
    if L is not None:
        require(len(out) == L, f"{name}: expected {L} entries (one per layer), got {len(out)}")
    return out


def weight_matrices(weights: object, dt: type[np.floating], copy: bool) -> LayerDict:
    """W^(1)..W^(L) as 2-d arrays whose shapes chain: W^(l) is (n_l, n_(l-1))."""
    items = layer_count("weights", weights)
    require(len(items) >= 1, "weights: expected at least one layer, got none")
    W = LayerDict()
    for l, item in enumerate(items, start=1):
        Wl = float_array(f"W^({l})", item, dt, copy)
        require(Wl.ndim == 2, f"W^({l}): expected a 2-d array (n_{l}, n_{l - 1}), got shape {Wl.shape}")
        require(min(Wl.shape) >= 1, f"W^({l}): layers need at least one unit, got shape {Wl.shape}")
        if l > 1:
            want = W[l - 1].shape[0]
            require(Wl.shape[1] == want, f"W^({l}): expected {want} columns to match n_{l - 1} = {want} rows of "
                    f"W^({l - 1}), got shape {Wl.shape}")
        W[l] = Wl
    return W


def bias_vectors(biases: object, W: LayerDict, dt: type[np.floating], copy: bool) -> LayerDict:
    """b^(1)..b^(L): each of shape (n_l,), a 0-d shared number, or None (no bias)."""
    L = len(W)
    items = [None] * L if biases is None else layer_count("biases", biases, L)
    b = LayerDict()
    for l, item in enumerate(items, start=1):
        if item is None:
            b[l] = None
            continue
        bl = float_array(f"b^({l})", item, dt, copy)
        n = W[l].shape[0]
        if bl.shape == (1,) and n != 1:
            bl = bl.reshape(())  # a one-element list is a shared bias
        require(bl.shape in ((), (n,)), f"b^({l}): expected shape ({n},) or a single shared number, got shape "
                f"{bl.shape}")
        b[l] = bl
    return b


# ---------------------------------------------------------------------------------------------
# Inputs, targets and the cache of a network


def network(net: object) -> None:
    """``net`` is a manual_bp Network (not None, not a torch module, not a list of weights)."""
    from manual_bp.network import Network

    require(isinstance(net, Network), f"net: expected a manual_bp Network, got {describe(net)}")


def inputs(net: Network, x: object) -> tuple[np.ndarray, bool]:
    """x as an (n_0, m) array of the network's dtype, and whether it was one example (n_0,)."""
    network(net)
    X = float_array("x", x, net.dtype, copy=False)
    n0 = net.sizes[0]
    require(X.ndim in (1, 2), f"x: expected shape ({n0},) or ({n0}, m), got shape {X.shape}")
    require(X.shape[0] == n0, f"x: expected {n0} rows (n_0 = {n0} inputs), got shape {X.shape}")
    require(X.ndim == 1 or X.shape[1] >= 1, f"x: expected at least one example (column), got shape {X.shape}")
    return (X[:, None], True) if X.ndim == 1 else (X, False)


def class_indices(y: object) -> np.ndarray | None:
    """y as an integer array when it holds integers (cross_entropy's class indices), else None."""
    if isinstance(y, bool | np.bool_ | str | bytes):
        return None
    try:
        raw = np.asarray(y)
    except (TypeError, ValueError, RuntimeError, OverflowError):
        return None
    return raw if raw.dtype.kind in "iu" else None


def targets(net: Network, y: object, loss: str, m: int, single: bool) -> np.ndarray:
    """y as an (n_L, m) array of the network's dtype; for cross_entropy, class indices of shape
    (m,) (or () for one example) become one-hot columns."""
    get_loss(loss)
    nL = net.sizes[-1]
    labels = class_indices(y) if loss == "cross_entropy" else None
    if labels is not None:
        want = () if single else (m,)
        require(labels.shape == want, f"y: class indices must have shape {want}, got shape {labels.shape}")
        bad = (labels < 0) | (labels >= nL)
        if bad.any():
            first = np.atleast_1d(labels)[np.atleast_1d(bad)][0]
            raise InputError(f"y: class index out of range 0..{nL - 1}: got {first}")
        return expand_class_indices(labels, loss, nL, net.dtype)
    Y = float_array("y", y, net.dtype, copy=False)
    want = (nL,) if single else (nL, m)
    require(Y.shape == want, f"y: expected shape {want}, got shape {Y.shape}")
    if loss in ("bce", "cross_entropy"):
        bad = (Y < 0) | (Y > 1)
        if bad.any():
            raise InputError(f"y: {loss} targets must lie in [0, 1], got {Y[bad].flat[0]}")
    return Y[:, None] if single else Y


def probabilities(loss: str, aL: np.ndarray, L: int) -> None:
    """bce and cross_entropy take probabilities: every output a^(L) must lie in [0, 1]."""
    if loss not in ("bce", "cross_entropy"):
        return
    bad = (aL < 0) | (aL > 1)
    if bad.any():
        index = [int(i) for i in np.argwhere(bad)[0]]
        raise InputError(f"a^({L}): {loss} needs outputs that are probabilities in [0, 1], got {aL[bad].flat[0]} "
                         f"at index {index}; end the network in a sigmoid (bce) or softmax (cross_entropy) layer")


def same_network(net: Network, cache_net: Network) -> None:
    """A cache belongs to the network it was computed with: the same object or equal parameters."""
    if cache_net is net:
        return
    same = cache_net.sizes == net.sizes and all(
        np.array_equal(cache_net.W[l], net.W[l])
        and (net.b[l] is None) == (cache_net.b[l] is None)
        and (net.b[l] is None or np.array_equal(cache_net.b[l], net.b[l]))
        and cache_net.activations[l] == net.activations[l] for l in net.W)
    require(same, f"cache: computed by forward() for another network ({cache_net!r}), not this one ({net!r}); "
            "run forward(net, x) with the network you pass to backward")
