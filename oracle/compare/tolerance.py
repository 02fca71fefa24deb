"""The tolerance policy: how far manual_bp may be from a reference, and why.

Rule: |manual - reference| <= rtol * S + floor, elementwise, S the comparison scale of the
tensor (see oracle.compare: the larger of max |reference| and the magnitude of the terms the
tensor is summed from).

Same formula, two implementations (manual_bp vs torch autograd, same dtype): both compute
the same sums in different orders (BLAS blocking, pairwise sums) and the same transcendental
functions with different libraries (each within 1-2 ulp). One layer of forward or backward
work is a dot product of at most a few dozen terms plus one function evaluation, and the
comparison scale S already carries the first-order size of every term and of the errors
arriving from earlier layers (oracle.compare.scales), so each layer adds a few rounding units eps
relative to S; errors carry from layer to layer, so the bound grows linearly with depth:
rtol = 4 * eps * (L + 1), with eps the unit roundoff of the lower precision of the two sides
(float64: 2.2e-16, so 6.2e-15 at L = 6; float32: 1.2e-7). Measured on 3000 + 3000 random
networks (seeds 5000.., oracle.cases.random_case), the largest error was 0.17 of this bound
in float64 and 0.24 in float32: a margin of 4, kept so a different BLAS can round otherwise.
A float32 network checked against the float64 truth uses the float32 rule:
the numbers are the same, only float32's own rounding separates the two.

A wrong formula (a missing sigma', a wrong transpose, a sign) moves results by O(1) of S, ten
orders of magnitude above this bound in float64, five in float32.

Against finite differences (oracle.references.numeric: central differences of step h = 1e-5 in float64)
the reference itself is inexact, by two terms that add to manual_bp's own rounding:
  * rounding: each loss value is one forward pass, within 4 eps64 (L+1) S_L of the exact one
    (S_L, the loss's comparison scale), and the difference of two is divided by 2h:
    4 eps64 (L+1) S_L / h, 1.8e-10 S_L at h = 1e-5 and L = 1;
  * truncation: h^2 / 6 |L'''| per element. Its size is assumed: |L'''| / 6 <= 100 S, the
    tensor's own scale. Measured at h = 1e-3 (where truncation dominates) on 3000 random
    networks of oracle.cases.random_case, the largest |L'''| / 6 / S was 1.2, so 100 leaves a
    factor 80; at h = 1e-5 the term is 1e-8 S.
  allowed = (4 eps (L+1) + 100 h^2) S + 4 eps64 (L+1) S_L / h, eps the network's own unit
  roundoff. A wrong formula is off by O(1) of S, still eight orders of magnitude above it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

EPS64 = float(np.finfo(np.float64).eps)
EPS32 = float(np.finfo(np.float32).eps)
ULPS_PER_LAYER = 4


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

    def for_case(self, depth: int, scales: dict[str, Any]) -> Tolerance:
        """The policy for one case: its depth and, where a policy needs them, its comparison
        scales (oracle.compare.scales.comparison_scales); this one only needs the depth."""
        return self.for_depth(depth)

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


FD_STEP = 1e-5  # the finite-difference step h, chosen in oracle.references.numeric
FD_THIRD = 100.0  # the assumed bound |L'''| / 6 <= FD_THIRD x S (worst measured: 1.2)


@dataclass(frozen=True)
class FiniteDifferenceTolerance(Tolerance):
    """manual_bp against central differences of step h in float64:
    allowed = (factor eps (L+1) + third h^2) S + factor eps64 (L+1) S_L / h (module docstring)."""

    h: float = FD_STEP
    third: float = FD_THIRD
    loss_scale: float = 0.0  # S_L of the case, set by for_case

    @property
    def manual_rtol(self) -> float:
        """manual_bp's own rounding, factor eps (L+1), as in the plain Tolerance."""
        return super().rtol

    @property
    def truncation(self) -> float:
        """The difference quotient's O(h^2) truncation relative to S: third x h^2."""
        return self.third * self.h**2

    @property
    def rtol(self) -> float:
        """manual_bp's rounding plus the difference quotient's truncation, relative to S."""
        return self.manual_rtol + self.truncation

    @property
    def rounding(self) -> float:
        """The difference quotient's rounding: two loss values' errors over the step."""
        return self.factor * EPS64 * (self.depth + 1) * self.loss_scale / self.h

    def for_case(self, depth: int, scales: dict[str, Any]) -> Tolerance:
        """This policy for a network of ``depth`` layers whose loss has comparison scale scales['L']."""
        return replace(self, depth=depth, loss_scale=float(scales["L"]))

    def with_step(self, h: float) -> FiniteDifferenceTolerance:
        """The same policy for differences taken with another step h."""
        return replace(self, h=float(h))

    def allowed(self, scale: float) -> float:
        """(factor eps (L+1) + third h^2) x scale + factor eps64 (L+1) S_L / h (+ floor)."""
        return self.rtol * scale + self.rounding + self.floor

    def rule(self, scale: float) -> str:
        """The rule with its numbers, as printed in every record."""
        n = self.depth + 1
        return (f"{self.name}: |diff| <= ({self.factor:g} eps (L+1) + {self.third:g} h^2) x S + {self.factor:g} eps64 "
                f"(L+1) x S_L / h = ({self.factor:g} x {self.eps:.2e} x {n} + {self.third:g} x {self.h:.1e}^2) x "
                f"{scale:.3e} + {self.factor:g} x {EPS64:.2e} x {n} x {self.loss_scale:.3e} / {self.h:.1e} = "
                f"{self.allowed(scale):.3e}")


FD_TOLERANCE = FiniteDifferenceTolerance("finite differences, float64", EPS64,
                                         reason="float64 central differences: O(h^2) truncation, eps S_L / h rounding")
FD_TOLERANCE32 = replace(FD_TOLERANCE, name="finite differences, float32", eps=EPS32,
                         reason="float32 manual_bp against float64 central differences")


def fd_policy_for(dtype: object) -> FiniteDifferenceTolerance:
    """The manual-vs-finite-differences rule for a network of this dtype."""
    return FD_TOLERANCE if np.dtype(dtype) == np.float64 else FD_TOLERANCE32
