"""The network: weights W^(l) of shape (n_l, n_{l-1}), biases b^(l), one activation per layer.

Layers are numbered as in the document, l = 1..L; layer 0 is the input. A bias is one of
  * a vector of shape (n_l,): one bias per unit (the document's b^(l));
  * a 0-d array: one value shared by all units of the layer (common in hand examples);
  * None: the layer has no bias.
A Network is immutable in spirit: nothing in this package writes into its arrays, and
``sgd_step`` returns a new one.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from manual_bp.activations import get_activation
from manual_bp.errors import InputError, LayerDict, require, require_finite

DTYPES = {"float64": np.float64, "float32": np.float32}
INITS = ("uniform", "glorot", "he")
BIAS_KINDS = ("per_unit", "shared", "none")


def as_dtype(dtype: object) -> type[np.floating]:
    """np.float64 / np.float32 from a dtype or its name; anything else raises InputError."""
    try:
        dt = np.dtype(dtype).type
    except TypeError:
        dt = None
    if dt not in (np.float64, np.float32):
        raise InputError(f"dtype: expected float64 or float32, got {dtype!r}")
    return dt


def _as_float_array(name: str, value: object, dtype: type[np.floating], copy: bool = True) -> np.ndarray:
    try:
        array = np.array(value, dtype=dtype) if copy else np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: expected an array of numbers, got {value!r} ({exc})") from None
    require_finite(name, array)
    return array


@dataclass(frozen=True, eq=False)
class Network:
    """An L-layer perceptron: z^(l) = W^(l) a^(l-1) + b^(l), a^(l) = sigma_l(z^(l)).

    ``W[l]``, ``b[l]`` and ``activations[l]`` are keyed by the 1-based layer number l."""

    W: LayerDict
    b: LayerDict
    activations: LayerDict

    def __init__(
        self,
        weights: Sequence[object],
        biases: Sequence[object | None] | None = None,
        activations: str | Sequence[str] = "sigmoid",
        dtype: object = np.float64,
        *,
        copy: bool = True,
    ) -> None:
        """Build from explicit arrays, validating everything.

        weights: W^(1)..W^(L), W^(l) of shape (n_l, n_{l-1}). biases: b^(1)..b^(L), each of
        shape (n_l,), a single number (shared by the layer), or None (no bias); omitted means
        no biases at all. activations: one name for every layer, or one name per layer.
        copy=False keeps arrays that already have the dtype instead of copying them, and marks
        them read-only: for new arrays nothing else holds (sgd_step's updated parameters)."""
        dt = as_dtype(dtype)
        require(len(weights) >= 1, "weights: expected at least one layer, got none")
        L = len(weights)
        if biases is None:
            biases = [None] * L
        require(len(biases) == L, f"biases: expected {L} entries (one per layer), got {len(biases)}")
        names = [activations] * L if isinstance(activations, str) else list(activations)
        require(len(names) == L, f"activations: expected {L} names (one per layer), got {len(names)}")

        W, b, acts = LayerDict(), LayerDict(), LayerDict()
        for l in range(1, L + 1):
            Wl = _as_float_array(f"W^({l})", weights[l - 1], dt, copy)
            require(Wl.ndim == 2, f"W^({l}): expected a 2-d array (n_{l}, n_{l - 1}), got shape {Wl.shape}")
            require(min(Wl.shape) >= 1, f"W^({l}): layers need at least one unit, got shape {Wl.shape}")
            if l > 1:
                want = W[l - 1].shape[0]
                require(
                    Wl.shape[1] == want,
                    f"W^({l}): expected {want} columns to match n_{l - 1} = {want} rows of W^({l - 1}), "
                    f"got shape {Wl.shape}",
                )
            W[l] = Wl
            if biases[l - 1] is None:
                b[l] = None
            else:
                bl = _as_float_array(f"b^({l})", biases[l - 1], dt, copy)
                if bl.ndim == 1 and bl.shape == (1,) and Wl.shape[0] != 1:
                    bl = bl.reshape(())  # a one-element list is a shared bias
                require(
                    bl.shape in ((), (Wl.shape[0],)),
                    f"b^({l}): expected shape ({Wl.shape[0]},) or a single shared number, got shape {bl.shape}",
                )
                b[l] = bl
            acts[l] = get_activation(str(names[l - 1]), f"activation of layer {l}").name
        for array in (*W.values(), *(v for v in b.values() if v is not None)):
            array.setflags(write=False)
        object.__setattr__(self, "W", W)
        object.__setattr__(self, "b", b)
        object.__setattr__(self, "activations", acts)

    @classmethod
    def random(
        cls,
        sizes: Sequence[int],
        activations: str | Sequence[str] = "sigmoid",
        init: str = "glorot",
        seed: int | None = 0,
        dtype: object = np.float64,
        bias: str = "per_unit",
    ) -> Network:
        """A random network with layer sizes n_0, n_1, ..., n_L.

        init: 'uniform' U(-1/sqrt(n_in), 1/sqrt(n_in)) (torch.nn.Linear's default), 'glorot'
        U(-sqrt(6/(n_in + n_out)), +...), 'he' N(0, 2/n_in). Biases ('per_unit', 'shared' or
        'none') are always U(-1/sqrt(n_in), 1/sqrt(n_in)), as torch.nn.Linear's."""
        require(len(sizes) >= 2, f"sizes: expected at least 2 sizes (n_0, n_1, ...), got {list(sizes)}")
        for i, n in enumerate(sizes):
            require(isinstance(n, int | np.integer) and n >= 1, f"sizes[{i}]: expected a positive integer, got {n!r}")
        require(init in INITS, f"init: expected one of {', '.join(INITS)}, got {init!r}")
        require(bias in BIAS_KINDS, f"bias: expected one of {', '.join(BIAS_KINDS)}, got {bias!r}")
        rng = np.random.default_rng(seed)
        weights, biases = [], []
        for n_in, n_out in itertools.pairwise(sizes):
            if init == "uniform":
                Wl = rng.uniform(-1.0, 1.0, (n_out, n_in)) / np.sqrt(n_in)
            elif init == "glorot":
                Wl = rng.uniform(-1.0, 1.0, (n_out, n_in)) * np.sqrt(6.0 / (n_in + n_out))
            else:
                Wl = rng.normal(0.0, np.sqrt(2.0 / n_in), (n_out, n_in))
            bound = 1.0 / np.sqrt(n_in)
            shape = {"per_unit": (n_out,), "shared": (), "none": None}[bias]
            weights.append(Wl)
            biases.append(None if shape is None else rng.uniform(-bound, bound, shape))
        return cls(weights, biases, activations, dtype)

    @property
    def L(self) -> int:
        """The number of layers with weights (the document's L)."""
        return len(self.W)

    @property
    def sizes(self) -> tuple[int, ...]:
        """(n_0, n_1, ..., n_L)."""
        return (self.W[1].shape[1], *(self.W[l].shape[0] for l in range(1, self.L + 1)))

    @property
    def dtype(self) -> type[np.floating]:
        """np.float64 or np.float32."""
        return self.W[1].dtype.type

    def bias_kind(self, l: int) -> str:
        """'per_unit', 'shared' or 'none' for layer l."""
        bl = self.b[l]
        return "none" if bl is None else ("shared" if bl.ndim == 0 else "per_unit")

    def replace(self, W: Mapping[int, np.ndarray], b: Mapping[int, np.ndarray | None], *,
                copy: bool = True) -> Network:
        """A new network with the same activations and dtype and the given parameters (copied,
        unless copy=False: see ``Network``)."""
        L = self.L
        return Network([W[l] for l in range(1, L + 1)], [b[l] for l in range(1, L + 1)],
                       [self.activations[l] for l in range(1, L + 1)], self.dtype, copy=copy)

    def __repr__(self) -> str:
        acts = ",".join(self.activations.values())
        kinds = {self.bias_kind(l) for l in self.W}
        return f"Network(sizes={'-'.join(map(str, self.sizes))}, activations={acts}, " \
               f"bias={'/'.join(sorted(kinds))}, dtype={np.dtype(self.dtype).name})"
