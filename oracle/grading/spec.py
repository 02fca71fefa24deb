"""What a user's backprop function is declared to be: its architecture, its layout, its loss
conventions, its dtype, and whether it returns gradients or takes the step itself.

The contract is always ``backprop(weights, biases, activations, loss, x, y)``; the spec says
what those arguments look like for this user, so an adapter only renames:

* layout ``columns`` (the document's): x (n_0, m), y (n_L, m), ``weights[l-1]`` of shape
  (n_l, n_(l-1)); ``rows``: x (m, n_0), y (m, n_L), ``weights[l-1]`` of shape (n_(l-1), n_l).
* ``bias_shape`` ``flat`` (n_l,), ``column`` (n_l, 1), ``row`` (1, n_l), or ``none`` (the network
  has no biases; ``biases`` is a list of None and no db is expected).
* ``labels`` for cross_entropy: ``one_hot`` targets or class ``indices`` (shape (m,)).
* ``l2`` > 0 passes ``l2=LAMBDA`` and grades the gradient of L + (LAMBDA/2) sum_l ||W^(l)||^2.
* ``step`` = LR passes ``lr=LR`` and expects the updated ``(weights, biases)`` (or a dict with
  W1.., b1..) after one SGD step, instead of the gradients.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from manual_bp import validate
from manual_bp.activations import ACTIVATIONS
from manual_bp.errors import require
from manual_bp.losses import LOSSES, REDUCTIONS

LAYOUTS = ("columns", "rows")
BIAS_SHAPES = ("flat", "column", "row", "none")
LABELS = ("one_hot", "indices")
OUTPUT_REDUCTIONS = ("mean", "sum")  # over the output units, for mse and bce (the others sum by definition)
REFERENCES = ("manual", "torch")
PROBABILITY_OUTPUT = {"bce": "sigmoid", "cross_entropy": "softmax"}


def _names(what: str, given: Sequence[str] | str | None, known: Sequence[str]) -> tuple[str, ...] | None:
    if given is None:
        return None
    names = [given] if isinstance(given, str) else list(given)
    names = [str(n).strip() for n in names]
    require(len(names) > 0, f"{what}: expected at least one name, got none")
    for n in names:
        require(n in known, f"{what}: unknown name {n!r}; known: {', '.join(known)}")
    return tuple(dict.fromkeys(names))


def _span(what: str, value: object) -> tuple[int, int]:
    require(isinstance(value, Sequence) and len(value) == 2, f"{what}: expected (lo, hi), got {value!r}")
    lo, hi = (validate.count(what, v, 1) for v in value)  # type: ignore[union-attr]
    require(lo <= hi, f"{what}: expected lo <= hi, got {lo}..{hi}")
    return lo, hi


@dataclass(frozen=True)
class GradeSpec:
    """Every option of ``grade``; :meth:`checked` validates them and fills the defaults."""

    activations: tuple[str, ...] | None = None  # a pool, or one name per layer with fixed sizes
    losses: tuple[str, ...] | None = None
    sizes: tuple[tuple[int, ...], ...] | None = None  # fixed architectures n_0-n_1-...-n_L
    hidden: str | None = None  # a fixed pattern: every hidden layer this, the output layer ``output``
    output: str | None = None
    depth: tuple[int, int] = (1, 3)
    width: tuple[int, int] = (1, 5)
    batch: tuple[int, int] = (1, 4)
    layout: str = "columns"
    bias_shape: str = "flat"
    labels: str = "one_hot"
    reduction: str = "mean"
    output_reduction: str = "mean"
    l2: float = 0.0
    dtype: str = "float64"
    step: float | None = None
    networks: int = 20
    seed: int = 0
    timeout: float = 10.0
    reference: str = "manual"
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def checked(self) -> GradeSpec:
        """The spec with every value validated (InputError naming the option) and names resolved."""
        acts = _names("activations", self.activations, tuple(ACTIVATIONS))
        losses = _names("losses", self.losses, tuple(LOSSES))
        for what, name in (("hidden", self.hidden), ("output", self.output)):
            if name is not None:
                require(name in ACTIVATIONS, f"{what}: unknown activation {name!r}; known: {', '.join(ACTIVATIONS)}")
        sizes = None
        if self.sizes is not None:
            sizes = tuple(tuple(validate.count("sizes", n, 1) for n in s) for s in self.sizes)
            for s in sizes:
                require(len(s) >= 2, f"sizes: expected at least n_0-n_1, got {'-'.join(map(str, s))}")
                if acts is not None and len(acts) > 1 and self.output is None:
                    require(len(s) - 1 == len(acts), f"activations: {len(acts)} names for a network of {len(s) - 1} "
                            f"layers ({'-'.join(map(str, s))}); give one name per layer, or one for all")
        for what, choice, known in (("layout", self.layout, LAYOUTS), ("bias_shape", self.bias_shape, BIAS_SHAPES),
                                    ("labels", self.labels, LABELS), ("reduction", self.reduction, REDUCTIONS),
                                    ("output_reduction", self.output_reduction, OUTPUT_REDUCTIONS),
                                    ("dtype", self.dtype, ("float64", "float32")),
                                    ("reference", self.reference, REFERENCES)):
            validate.choice(what, choice, known)
        l2 = validate.real_number("l2", self.l2, "a number >= 0")
        require(l2 >= 0, f"l2: expected a number >= 0, got {self.l2!r}")
        step = None if self.step is None else validate.learning_rate(self.step)
        timeout = validate.real_number("timeout", self.timeout, "a number of seconds > 0")
        require(timeout > 0, f"timeout: expected a number of seconds > 0, got {self.timeout!r}")
        return GradeSpec(acts, losses, sizes, self.hidden, self.output, _span("depth", self.depth),
                         _span("width", self.width), _span("batch", self.batch), self.layout, self.bias_shape,
                         self.labels, self.reduction, self.output_reduction, l2, self.dtype, step,
                         validate.count("networks", self.networks, 0), validate.count("seed", self.seed, 0),
                         timeout, self.reference, dict(self.extra))

    @property
    def loss_word(self) -> str:
        """How the batch loss is reduced, in words."""
        return f"{self.reduction} over the batch"

    def describe(self) -> dict[str, Any]:
        """The spec as plain values (for JSON and the report's header)."""
        out = asdict(self)
        out.pop("extra")
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in out.items()}

    def arguments(self) -> str:
        """What the function is given, in one line."""
        x, y, W = (("(n_0, m)", "(n_L, m)", "(n_l, n_(l-1))") if self.layout == "columns"
                   else ("(m, n_0)", "(m, n_L)", "(n_(l-1), n_l)"))
        b = {"flat": "(n_l,)", "column": "(n_l, 1)", "row": "(1, n_l)", "none": "None (no biases)"}[self.bias_shape]
        extra = (f", l2={self.l2:g}" if self.l2 else "") + (f", lr={self.step:g}" if self.step is not None else "")
        returns = "updated (weights, biases)" if self.step is not None else "(dW, db)"
        return (f"layout {self.layout}: x {x}, y {y}, W^(l) {W}, b^(l) {b}{extra}; {self.reduction} over the batch; "
                f"returns {returns}")
