"""Naming what is wrong: the catalogued mistakes, whole and confined to one layer or to the
hidden layers, and the convention slips of real code (the L2 term doubled, halved, applied to
the biases or left out; outputs summed where they are averaged), each turned into what a
function with that mistake returns under the same spec, then matched tensor by tensor.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from manual_bp import Backprop
from manual_bp.backprop import BACKPROP, Quantities
from manual_bp.losses import LOSSES
from manual_bp.network import Network
from oracle.cases import Case
from oracle.grading.reference import Conventions, adjust, conventions, float64_case, properties
from oracle.grading.spec import GradeSpec
from oracle.mistakes.catalogue import MISTAKES, Mistake, NotApplicableError

# A user's tensor "matches" a variant when it is that variant's value up to rounding:
# |yours - variant's| <= MATCH_RTOL x S, S the larger of the two tensors' max |value|. Two
# implementations of the same formula differ by ~1e-15 S in float64 and ~1e-7 S in float32;
# two different mistakes (or a mistake and the right answer) differ by O(1) S. The float32
# bound, 1e-5, leaves two orders of magnitude to each side.
MATCH_RTOL = {"float64": 1e-9, "float32": 1e-5}
LAYERED_STEPS = ("weighted_input", "activation", "sigma_prime", "output_error", "output_gradients",
                 "backpropagate", "hidden_error", "weight_gradient", "bias_gradient")


@dataclass(frozen=True)
class Variant:
    """One way of getting it wrong: a name, one line, the equation, and where it applies."""

    name: str
    description: str
    equation: str
    algorithm: Backprop | None = None  # None: the right algorithm under other conventions
    conventions: Conventions | None = None
    mistake: Mistake | None = None
    loss: str | None = None  # the right algorithm on another loss


class Confined(Backprop):
    """A mistake's overridden steps applied only in the given layers; manual_bp's elsewhere."""

    def __init__(self, wrong: Backprop, layers: frozenset[int]) -> None:
        self.layers = layers
        for name in LAYERED_STEPS:  # instance attributes come before the class's methods
            setattr(self, name, self._confined(getattr(wrong, name), getattr(BACKPROP, name)))

    def _confined(self, wrong: Any, right: Any) -> Any:
        def step(net: Network, l: int, q: Quantities) -> Any:
            return (wrong if l in self.layers else right)(net, l, q)

        return step


def _overrides(mistake: Mistake) -> set[str]:
    cls = type(mistake.algorithm)
    return {n for n in dir(Backprop) if not n.startswith("_") and getattr(cls, n) is not getattr(Backprop, n)}


def _where(layers: frozenset[int], L: int, hidden: bool) -> str:
    if hidden:
        return "only in the hidden layers"
    (l,) = layers
    return f"only in layer {l} ({'the output layer' if l == L else f'{L - l + 1}. from the output'})"


def _confinements(net: Network) -> Iterator[tuple[str, frozenset[int], str]]:
    """Where a per-layer mistake may sit: (name suffix, layers, in words): each layer, the hidden
    layers, and the layers of each activation (code has one function per activation, so a slip
    in one shows in its layers only)."""
    L = net.L
    if L > 1:
        for l in range(1, L + 1):
            yield str(l), frozenset({l}), _where(frozenset({l}), L, False)
        yield "hidden", frozenset(range(1, L)), _where(frozenset(), L, True)
    for name in sorted(set(net.activations.values())):
        yield name, frozenset(l for l, a in net.activations.items() if a == name), f"only in the {name} layers"


def variants(case: Case, spec: GradeSpec) -> Iterator[Variant]:
    """Every variant that can run on this case: each catalogued mistake whole, each mistake of
    per-layer steps confined (to one layer, the hidden layers, one activation's layers), and the
    convention slips."""
    L = case.net.L
    for mistake in MISTAKES.values():
        try:
            mistake.algorithm.applicable(case.net)
        except NotApplicableError:
            continue
        yield Variant(mistake.name, mistake.description, mistake.equation, mistake.algorithm, mistake=mistake)
        if not _overrides(mistake) <= set(LAYERED_STEPS):
            continue
        for suffix, layers, where in _confinements(case.net):
            # away from the output, Eq. 1's step (sigma') enters through Eq. 2
            equation = mistake.equation if L in layers else {"Eq. 1": "Eq. 2"}.get(mistake.equation,
                                                                                   mistake.equation)
            yield Variant(f"{mistake.name}@{suffix}", f"{mistake.description}, {where}", equation,
                          Confined(mistake.algorithm, layers), mistake=mistake)
    yield from _slips(case, spec)


def _slips(case: Case, spec: GradeSpec) -> Iterator[Variant]:
    """Right backpropagation, wrong conventions around it."""
    conv = conventions(case, spec)
    if spec.l2:
        yield Variant("l2_doubled", "the L2 gradient doubled: 2 LAMBDA W (the loss's 1/2 lost, or reg x 2 x W "
                      "for a (LAMBDA/2) penalty)", "L2", conventions=replace(conv, l2_weights=2 * spec.l2))
        yield Variant("l2_halved", "the L2 gradient halved: LAMBDA W / 2", "L2",
                      conventions=replace(conv, l2_weights=spec.l2 / 2))
        yield Variant("l2_on_biases", "the L2 term applied to the biases too: dL/db + LAMBDA b", "L2",
                      conventions=replace(conv, l2_biases=spec.l2))
        yield Variant("l2_forgotten", "the L2 gradient left out: no LAMBDA W in dL/dW", "L2",
                      conventions=replace(conv, l2_weights=0.0))
        if case.batch > 1:
            yield Variant("l2_per_batch", "the L2 gradient divided by the batch size: LAMBDA W / m",
                          "L2", conventions=replace(conv, l2_weights=spec.l2 / case.batch))
    for other in LOSSES:  # a variant whose targets or outputs the other loss refuses does not run
        if other != case.loss:
            yield Variant(f"gradient_of_{other}", f"the gradient of {other} used for {case.loss} (its dL/da^(L) at "
                          "the output)", "Eq. 1", loss=other)


def variant_values(variant: Variant, case: Case, spec: GradeSpec) -> dict[str, Any] | None:
    """What a function with this variant returns on the case (None when it cannot run there)."""
    if variant.loss is not None:
        case = replace(case, loss=variant.loss)
    conv = variant.conventions or conventions(case, spec)
    try:
        props = properties(_stepping_as_declared(case, conv), spec, variant.algorithm or BACKPROP)
    except (NotApplicableError, ValueError, IndexError):  # InputError is a ValueError: the variant cannot run
        return None
    if variant.algorithm is not None and spec.step is not None and variant.mistake is not None \
            and _overrides(variant.mistake) & {"update", "update_bias"}:
        # Eq. 5 itself is the mistake: the step is the mistake's own, on the adjusted gradients.
        out = adjust(props, case, replace(conv, lr=None))
        net, eta = float64_case(case).net, np.float64(spec.step)
        out["W_new"] = {l: variant.algorithm.update(net.W[l], out["dW"][l], eta) for l in net.W}
        out["b_new"] = {l: None if out["db"][l] is None else variant.algorithm.update_bias(net.b[l], out["db"][l], eta)
                        for l in net.W}
        return out
    return adjust(props, case, conv)


def _stepping_as_declared(case: Case, conv: Conventions) -> Case:
    """The case a variant runs on. A mistake that steps inside backprop (in_place_update: Eq. 2
    through W^(l+1) - eta dL/dW^(l+1)) steps along the gradient the declared function has, which is
    conv.factor times manual_bp's (mse or bce summed over the outputs): its eta is scaled to match.
    Nothing else reads the case's lr (adjust makes the step itself)."""
    return case if conv.factor == 1.0 else replace(case, lr=case.lr * conv.factor)


def same(mine: np.ndarray, theirs: Any, dtype: str) -> bool:
    """Whether ``mine`` is ``theirs`` up to rounding (MATCH_RTOL)."""
    if theirs is None:
        return False
    t = np.asarray(theirs, dtype=np.float64)
    if t.shape != mine.shape or not np.isfinite(t).all():
        return False
    scale = max(float(np.max(np.abs(t), initial=0.0)), float(np.max(np.abs(mine), initial=0.0)))
    return bool(np.max(np.abs(mine - t), initial=0.0) <= MATCH_RTOL[dtype] * scale)
