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
from dataclasses import dataclass, field

import numpy as np

from manual_bp import validate
from manual_bp.activations import get_activation
from manual_bp.errors import LayerDict, require

INITS = ("uniform", "glorot", "he")
MAX_LAYER_ELEMENTS = 10**9  # Network.random's bound on n_l x n_(l-1): past it numpy fails or memory runs out
BIAS_KINDS = ("per_unit", "shared", "none")


@dataclass(frozen=True, eq=False)
class Network:
    """An L-layer perceptron: z^(l) = W^(l) a^(l-1) + b^(l), a^(l) = sigma_l(z^(l)).

    ``W[l]``, ``b[l]`` and ``activations[l]`` are keyed by the 1-based layer number l."""

    W: LayerDict
    b: LayerDict
    activations: LayerDict
    _sizes: tuple[int, ...] = field(init=False, repr=False, compare=False)

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
        dt = validate.dtype(dtype)
        copy = validate.flag("copy", copy)
        W = validate.weight_matrices(weights, dt, copy)
        b = validate.bias_vectors(biases, W, dt, copy)
        L = len(W)
        names = [activations] * L if isinstance(activations, str) else \
            validate.layer_count("activations", activations, L)
        acts = LayerDict({l: get_activation(names[l - 1], f"activation of layer {l}").name for l in W})
        for array in (*W.values(), *(v for v in b.values() if v is not None)):
            array.setflags(write=False)
        object.__setattr__(self, "W", W)
        object.__setattr__(self, "b", b)
        object.__setattr__(self, "activations", acts)
        object.__setattr__(self, "_sizes", (W[1].shape[1], *(W[l].shape[0] for l in W)))

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
        sizes = validate.layer_count("sizes", sizes)
        require(len(sizes) >= 2, f"sizes: expected at least 2 sizes (n_0, n_1, ...), got {sizes}")
        for i, n in enumerate(sizes):
            require(validate.is_integer(n) and n >= 1, f"sizes[{i}]: expected a positive integer, got "
                    f"{validate.describe(n)}")
        validate.choice("init", init, INITS)
        validate.choice("bias", bias, BIAS_KINDS)
        if seed is not None:
            validate.count("seed", seed)
        largest = max(a * b for a, b in itertools.pairwise(sizes))
        require(largest <= MAX_LAYER_ELEMENTS, f"sizes: a layer of {largest:,} weights is more than this "
                f"package draws ({MAX_LAYER_ELEMENTS:,}, 8 GB in float64); got sizes {validate.describe(sizes)}")
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
        return self._sizes

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
        layers = range(1, self.L + 1)
        return Network([W[l] for l in layers], [b[l] for l in layers], [self.activations[l] for l in layers],
                       self.dtype, copy=copy)

    def __repr__(self) -> str:
        acts = ",".join(self.activations.values())
        kinds = {self.bias_kind(l) for l in self.W}
        return f"Network(sizes={'-'.join(map(str, self.sizes))}, activations={acts}, " \
               f"bias={'/'.join(sorted(kinds))}, dtype={np.dtype(self.dtype).name})"
