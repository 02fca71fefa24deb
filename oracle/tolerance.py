"""The tolerance policy: how far manual_bp may be from a reference, and why.

Rule: |manual - reference| <= rtol * S + floor, elementwise, S the comparison scale of the
tensor (see oracle.compare: the larger of max |reference| and the magnitude of the terms the
tensor is summed from).

Same formula, two implementations (manual_bp vs torch autograd, same dtype): both compute
the same sums in different orders (BLAS blocking, pairwise sums) and the same transcendental
functions with different libraries (each within 1-2 ulp). One layer of forward or backward
work is a dot product of at most a few dozen terms plus one function evaluation, so it adds
at most ~8 rounding units eps relative to the terms' magnitude; errors carry from layer to
layer, so the bound grows linearly with depth:  rtol = 8 * eps * (L + 1), with eps the unit
roundoff of the lower precision of the two sides (float64: 2.2e-16, so 1.2e-14 at L = 6;
float32: 1.2e-7). A float32 network checked against the float64 truth uses the float32 rule:
the numbers are the same, only float32's own rounding separates the two.

A wrong formula (a missing sigma', a wrong transpose, a sign) moves results by O(1) of S, ten
orders of magnitude above this bound in float64, five in float32.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

EPS64 = float(np.finfo(np.float64).eps)
EPS32 = float(np.finfo(np.float32).eps)
ULPS_PER_LAYER = 8


@dataclass(frozen=True)
class Tolerance:
    """rtol = factor * eps * (depth + 1); allowed error = rtol * S + floor."""

    name: str
    eps: float
    factor: float = ULPS_PER_LAYER
    depth: int = 1
    floor: float = 0.0
    reason: str = ""

    @property
    def rtol(self) -> float:
        """The relative part of the bound, for this depth."""
        return self.factor * self.eps * (self.depth + 1)

    def for_depth(self, depth: int) -> Tolerance:
        """The same policy for a network of ``depth`` layers."""
        return replace(self, depth=depth)

    def allowed(self, scale: float) -> float:
        """The greatest absolute difference allowed for a tensor of comparison scale ``scale``."""
        return self.rtol * scale + self.floor

    def rule(self, scale: float) -> str:
        """The rule with its numbers, as printed in every record."""
        floor = f" + {self.floor:.1e}" if self.floor else ""
        return (f"{self.name}: |diff| <= {self.factor:g} eps x (L+1) x S{floor} = {self.factor:g} x {self.eps:.2e} x "
                f"{self.depth + 1} x {scale:.3e}{floor} = {self.allowed(scale):.3e}")


FLOAT64 = Tolerance("float64", EPS64, reason="two float64 implementations of the same formula")
FLOAT32 = Tolerance("float32", EPS32, reason="float32 arithmetic on either side")


def policy_for(dtype: object) -> Tolerance:
    """The manual-vs-autograd rule for a network of this dtype."""
    return FLOAT64 if np.dtype(dtype) == np.float64 else FLOAT32
