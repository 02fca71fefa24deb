"""The conventions a worked example is written in, and the view between them and the document's.

* ``layout``: ``out_in`` (the document's: W^(l) of shape (n_l, n_(l-1)), z = W a + b, examples
  as columns) or ``in_out`` (W^(l) of shape (n_(l-1), n_l), z = a W + b with a row vector x;
  a batch's examples are rows). In ``in_out`` files W, dW, W_new are transposed and every
  per-example quantity of a batch has the examples first; the terms of a sum stay one row of
  terms per unit.
* ``delta_sign``: ``dL_dz`` (the document's) or ``target_minus_output``: delta printed as
  (t - o) sigma' = -dL/dz, as textbooks in the style of Mitchell or Han-Kamber-Pei write it,
  with the update W + eta delta a. Then dL/da, delta, dL/dW, dL/db and the terms of dL/da are
  printed with the opposite sign; W' is the same either way.
* ``output_reduction``: ``mean`` (manual_bp's mse and bce average over the n_L outputs) or
  ``sum`` (mse summed is sse; bce summed is n_L times manual_bp's bce).
* ``softmax_shift``: ``none`` or ``max``: exponentials printed as e^(z_i - max_j z_j).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from manual_bp import Backprop, Network, Quantities
from oracle.notation import PER_EXAMPLE

LAYOUTS = ("out_in", "in_out")
DELTA_SIGNS = ("dL_dz", "target_minus_output")
OUTPUT_REDUCTIONS = ("mean", "sum")
SOFTMAX_SHIFTS = ("none", "max")
NEGATED = ("dL_da", "delta", "dW", "db", "dL_da_terms")  # printed as -dL/d... under target_minus_output
WEIGHT_SHAPED = ("dW", "W_new", "W")


@dataclass(frozen=True)
class Conventions:
    """How one worked example writes its numbers."""

    layout: str = "out_in"
    delta_sign: str = "dL_dz"
    output_reduction: str = "mean"
    softmax_shift: str = "none"

    def sign(self, prop: str) -> int:
        """-1 where the file prints the negative of the document's quantity."""
        return -1 if self.delta_sign == "target_minus_output" and prop in NEGATED else 1

    def to_file(self, prop: str, value: np.ndarray, batch: bool) -> np.ndarray:
        """A quantity in the document's layout as the file writes it (sign and axes)."""
        value = self.sign(prop) * np.asarray(value)
        if self.layout == "in_out":
            if prop in WEIGHT_SHAPED and value.ndim == 2:
                value = value.T
            elif prop in PER_EXAMPLE and batch and value.ndim >= 2:
                value = np.moveaxis(value, -1, 0)
        return value

    def from_file(self, prop: str, value: np.ndarray, batch: bool) -> np.ndarray:
        """The inverse of :meth:`to_file` (for arrays of printed texts too)."""
        if self.layout == "in_out":
            if prop in WEIGHT_SHAPED and value.ndim == 2:
                value = value.T
            elif prop in PER_EXAMPLE and batch and value.ndim >= 2:
                value = np.moveaxis(value, 0, -1)
        return value

    def file_shape(self, prop: str, shape: tuple[int, ...], batch: bool) -> tuple[int, ...]:
        """The shape a claim has in the file, from its shape in the document's layout."""
        return self.file_index(prop, shape, batch)

    def file_index(self, prop: str, index: tuple[int, ...], batch: bool) -> tuple[int, ...]:
        """An element's index as the file writes it."""
        if self.layout == "in_out":
            if prop in WEIGHT_SHAPED and len(index) == 2:
                return index[::-1]
            if prop in PER_EXAMPLE and batch and len(index) >= 2:
                return (index[-1], *index[:-1])
        return index


def negate_text(text: str) -> str:
    """A printed number with the opposite sign, its digits kept: '-0.0047' <-> '0.0047'."""
    t = text.strip()
    if t[:1] in ("-", "\u2212"):
        return t[1:]
    return "-" + (t[1:] if t[:1] == "+" else t)


class OutputsSummed(Backprop):
    """bce summed over the n_L output units: n_L times manual_bp's bce (which averages them)."""

    def loss_gradient(self, net: Network, q: Quantities, Y: np.ndarray, loss: str, reduction: str
                      ) -> tuple[float, np.ndarray]:
        value, grad = super().loss_gradient(net, q, Y, loss, reduction)
        n = net.sizes[-1]
        return n * value, n * grad
