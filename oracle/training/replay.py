"""One captured training step recomputed by manual_bp and compared with torch's, as Records.

manual_bp starts from what the step really used: the parameters as each forward pass saw
them, x as the first Linear layer got it, the target the loss module got. Each loss call
backward reached is one term of the objective (gradient accumulation adds several); its
gradient counts once, or 1/K each when every one of K losses was divided by K (the mean over
the micro-batches). The optimizer is torch's, read into manual_bp's with its state as it was
just before the step, its hyper-parameters as in the param groups at the step, and the
learning rate it was built with (the one in use with ``scheduled_lr``).

Compared, each with the tolerance policy of the dtype on its comparison scale: the loss
(torch's values against manual_bp's, summed as the objective sums them), dL/dW^(l) and
dL/db^(l) (the .grad at optimizer.step()), and W'^(l), b'^(l) after it (scales through the
update rule: oracle.compare.updates).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from manual_bp import backward, forward, validate
from manual_bp.activations import LEAKY_SLOPE
from manual_bp.backprop import BACKPROP, Gradients, Quantities
from manual_bp.errors import InputError, LayerDict
from manual_bp.optimizers import Optimizer
from oracle.cases import Case
from oracle.compare.records import Record, compare_properties
from oracle.compare.scales import comparison_scales, magnitudes
from oracle.compare.tolerance import policy_for
from oracle.compare.updates import step_scales
from oracle.training.capture import LossEvent, Params, StepEvent
from oracle.training.losses import LossMap, TargetError
from oracle.training.models import TORCH_DTYPES, ModelMap
from oracle.training.optimizers import manual_optimizer

STEP_PROPERTIES = ("L", "dW", "db", "W_new", "b_new")
CLIP_EPS = 1e-6  # torch.nn.utils.clip_grad_norm_: clip_coef = max_norm / (total_norm + 1e-6)


@dataclass
class Setup:
    """What watch knows before the loop runs."""

    model: ModelMap
    loss: LossMap
    optimizer: Any  # the torch optimizer
    built_lr: float
    clip_grad_norm: float | None = None
    scheduled_lr: bool = False
    members: set[tuple[str, int]] = field(default_factory=set)  # the (kind, layer) parameters in the optimizer

    @property
    def activations(self) -> list[str]:
        """The manual_bp network's: the model's, its output layer the loss's (softmax for logits)."""
        return [*self.model.activations[:-1], self.loss.output]

    @property
    def rtol(self) -> float:
        return policy_for(TORCH_DTYPES[self.model.dtype]).for_depth(self.model.L).rtol


@dataclass
class Term:
    """One loss of the objective, by manual_bp: its gradient (times the loss's factor), their
    magnitudes M, the loss, its comparison scale, and how much it counts (r)."""

    event: LossEvent
    case: Case
    grads: Params
    M: Params
    loss: float
    loss_scale: float
    count: float = 1.0
    logit: float = 0.0  # the largest |z^(L)|
    softplus: float = -np.inf  # the largest pre-activation of a softplus layer
    kinks: int = 0  # relu inputs within rounding of 0 where torch's side of the kink was taken


@dataclass
class StepContext:
    """Everything the records and the explanations of one step are made from."""

    setup: Setup
    event: StepEvent
    terms: list[Term]
    expected: Params  # the gradient the step should see (clipped, if clipping was declared)
    M: Params  # its magnitudes
    torch_grads: Params  # .grad at optimizer.step(), None where there was none
    start: Params  # the parameters the step should start from (as the forward pass used them)
    rtol: float
    optimizer: Optimizer | None = None
    manual_new: Params | None = None
    problems: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)  # bugs seen before any number is compared


def combine(terms: list[tuple[float, Params]]) -> Params:
    """sum c P over the terms, parameter by parameter (None stays None)."""
    first = terms[0][1]
    return {kind: {l: None if first[kind][l] is None else sum(c * np.asarray(P[kind][l], dtype=np.float64)
                                                             for c, P in terms)
                   for l in first[kind]} for kind in first}


def _term(setup: Setup, event: LossEvent, k: int) -> Term:
    """manual_bp's loss and gradient for one loss call; InputError or TargetError if it cannot."""
    fwd = event.forward
    if fwd is None or fwd.x is None:
        raise InputError("loss_fn was called on a tensor, but no forward pass of the model ran before it in this step")
    if fwd.dropout:
        raise InputError(fwd.dropout)
    Y = setup.loss.targets(event.target, event.given, fwd.output_shape)
    net = setup.model.network(fwd.params, setup.activations)
    case = Case(f"step {k}", net, fwd.x.T.copy(), Y, setup.loss.loss, setup.loss.reduction)
    cache = forward(net, case.x)
    grads = backward(net, cache, case.y, case.loss, case.reduction)
    values = {"z": cache.z, "a": cache.a, "sigma_prime": cache.sigma_prime, "L": grads.loss, "dL_da": grads.dL_da,
              "delta": grads.delta}
    M = magnitudes(net, case.x, case.y, case.loss, case.reduction, values)
    grads, kinks = _torch_side_of_kinks(setup, case, cache, grads, fwd.z, M)
    S_L = comparison_scales(net, case.x, case.y, case.loss, case.reduction, 0.0, values, M)["L"]
    f = setup.loss.factor(net.sizes[-1])
    softplus = [float(np.max(cache.z[l])) for l in net.W if net.activations[l] == "softplus"]
    return Term(event, case, {"W": {l: f * grads.dW[l] for l in net.W},
                              "b": {l: None if grads.db[l] is None else f * grads.db[l] for l in net.W}},
                {"W": {l: f * M["dW"][l] for l in net.W}, "b": {l: f * M["db"][l] if l in M["db"] else None
                                                               for l in net.W}},
                f * grads.loss, f * S_L, logit=float(np.max(np.abs(cache.z[net.L]))),
                softplus=max(softplus or [-np.inf]), kinks=kinks)


KINKED = {"relu": 0.0, "leaky_relu": LEAKY_SLOPE}  # sigma' jumps at z = 0 to 1 from this


def _torch_side_of_kinks(setup: Setup, case: Case, cache: Any, grads: Any, torch_z: dict[int, np.ndarray],
                         M: dict[str, Any]) -> tuple[Any, int]:
    """Where a relu (or leaky_relu) input is within rounding of 0, rtol M(z), and torch's z^(l)
    lies on the other side of the kink than manual_bp's, sigma' there is a convention, not a
    number either side can get right: take torch's side and run the backward pass again."""
    net, flipped = case.net, {}
    for l in net.W:
        slope = KINKED.get(net.activations[l])
        if slope is None or l not in torch_z:
            continue
        z, theirs = cache.z[l], torch_z[l].T
        doubt = (np.abs(z) <= setup.rtol * M["z"][l]) & ((z > 0) != (theirs > 0))
        if doubt.any():
            flipped[l] = (doubt, np.where(theirs > 0, 1.0, slope).astype(z.dtype))
    if not flipped:
        return grads, 0
    sp = LayerDict({l: v.copy() for l, v in cache.sigma_prime.items()})
    for l, (doubt, side) in flipped.items():
        sp[l][doubt] = side[doubt]
    q = Quantities(z=LayerDict(cache.z), a=LayerDict(cache.a), sigma_prime=sp)
    Y = validate.targets(net, case.y, case.loss, case.batch, False)
    BACKPROP.backward_pass(net, q, Y, case.loss, case.reduction)
    return Gradients(q.loss, q.delta, q.dL_da, q.dW, q.db), sum(int(d.sum()) for d, _ in flipped.values())


def _used_losses(event: StepEvent) -> tuple[list[LossEvent], list[str]]:
    """The loss calls of the objective: those backward reached (all of them if it reached none)."""
    if not event.losses:
        return [], ["loss_fn was not called with gradients on in this step: watch checks the loss module you pass "
                    "it; compute the loss with it"]
    reached = [e for e in event.losses if e.weight is not None]
    return (reached or event.losses), []


def _counts(used: list[LossEvent]) -> float:
    """1, or 1/K when each of K > 1 losses was divided by K before backward (their mean)."""
    K = len(used)
    if K > 1 and all(e.weight is not None and abs(e.weight * K - 1) < 1e-6 for e in used):
        return 1.0 / K
    return 1.0


def _clip(setup: Setup, G: Params, M: Params) -> tuple[Params, Params]:
    """clip_grad_norm_(max_norm) as torch computes it, on G and its magnitude, if declared."""
    if setup.clip_grad_norm is None:
        return G, M
    arrays = [a for by_layer in G.values() for a in by_layer.values() if a is not None]
    total = float(np.sqrt(sum(float(np.sum(a * a)) for a in arrays)))
    coef = min(1.0, setup.clip_grad_norm / (total + CLIP_EPS))
    if coef == 1.0:
        return G, M
    m_total = float(np.sqrt(sum(float(np.sum(a * a)) for by in M.values() for a in by.values() if a is not None)))
    rel = m_total / total if total > 0 else 0.0  # |d total| <= rtol ||M||: coef moves by coef rtol ||M|| / total
    clipped = combine([(coef, G)])
    spread = {kind: {l: None if a is None else coef * (np.asarray(M[kind][l]) + np.abs(a) * rel)
                     for l, a in by.items()} for kind, by in G.items()}
    return clipped, spread


def build_context(setup: Setup, event: StepEvent) -> StepContext:
    """manual_bp's side of one step; what cannot be computed is listed in ``problems``."""
    used, problems = _used_losses(event)
    terms: list[Term] = []
    findings = [f"loss_fn was given {e.stale}, so its loss is not the model's; pass loss_fn this step's model "
                "output itself (an operation between them belongs in the model)" for e in used if e.stale]
    for loss_event in (e for e in used if not e.stale):
        try:
            terms.append(_term(setup, loss_event, event.index))
        except (InputError, TargetError) as exc:
            problems.append(f"cannot check this step: {exc}")
    rtol = setup.rtol
    if not terms:
        return StepContext(setup, event, [], {}, {}, event.grads, event.at_step, rtol, problems=problems,
                           findings=findings)
    count = _counts(used)
    for term in terms:
        term.count = count
    G = combine([(t.count, t.grads) for t in terms])
    M = combine([(t.count, t.M) for t in terms])
    G, M = _clip(setup, G, M)
    start = terms[-1].event.forward.params
    return StepContext(setup, event, terms, G, M, event.grads, start, rtol, problems=problems, findings=findings)


def manual_step(ctx: StepContext, lr: float | None = None, start: Params | None = None,
                grads: Params | None = None) -> tuple[Optimizer, Params]:
    """manual_bp's optimizer step from ``start`` (the forward pass's parameters) with ``grads``
    (the expected gradient), with torch's state before the step; ``lr`` the learning rate."""
    setup, event = ctx.setup, ctx.event
    start, grads = start or ctx.start, grads or ctx.expected
    if isinstance(event.state, str):
        raise InputError(event.state)
    chosen = lr if lr is not None else (None if setup.scheduled_lr else setup.built_lr)
    opt = manual_optimizer(setup.optimizer, chosen, event.groups)
    opt.state = event.state
    net = setup.model.network(start, setup.activations)
    typed = {kind: LayerDict({l: None if g is None else np.asarray(g, dtype=net.dtype) for l, g in by.items()})
             for kind, by in grads.items()}  # manual_bp's optimizer works in the network's dtype, as torch's does
    as_layers = Gradients(0.0, LayerDict(), LayerDict(), typed["W"], typed["b"])
    new = opt.step(net, as_layers)
    return opt, {"W": dict(new.W), "b": dict(new.b)}


def update_scales(ctx: StepContext, opt: Optimizer, start: Params, grads: Params | None = None
                  ) -> dict[str, dict[int, np.ndarray]]:
    """The comparison scales of W'^(l), b'^(l), one per element, for a step of ``opt`` from
    ``start`` with ``grads`` (the expected gradient), torch's state before it (oracle.compare.updates)."""
    state = ctx.event.state
    bufs = {n: {"W": dict(b.W), "b": dict(b.b)} for n, b in state.buffers.items()}
    return step_scales(opt, start, grads or ctx.expected, ctx.M, bufs, state.step + 1, ctx.rtol)


def update_agrees(ctx: StepContext, opt: Optimizer, start: Params, new: Params) -> bool:
    """Whether torch's parameters after the step equal ``new`` within the records' tolerance."""
    S = update_scales(ctx, opt, start)
    for kind, prop in (("W", "W_new"), ("b", "b_new")):
        for l, w in new[kind].items():
            if w is not None and np.any(np.abs(np.asarray(ctx.event.after[kind][l], float) - w) >
                                        ctx.rtol * np.maximum(S[prop][l], np.abs(w))):
                return False
    return True


def records(ctx: StepContext) -> list[Record]:
    """The step's Records: L, dL/dW^(l), dL/db^(l), and W'^(l), b'^(l) where the update could be computed."""
    if not ctx.terms:
        return []
    L = ctx.setup.model.L
    torch_grads = {kind: {l: (np.zeros_like(ctx.start[kind][l]) if g is None and ctx.start[kind][l] is not None
                              else g) for l, g in by.items()} for kind, by in ctx.torch_grads.items()}
    manual = {"L": sum(t.count * t.loss for t in ctx.terms), "dW": ctx.expected["W"], "db": ctx.expected["b"]}
    reference = {"L": sum(t.count * t.event.value for t in ctx.terms), "dW": torch_grads["W"], "db": torch_grads["b"]}
    S: dict[str, Any] = {"L": sum(abs(t.count) * t.loss_scale for t in ctx.terms),
                         "dW": {l: float(np.max(ctx.M["W"][l])) for l in range(1, L + 1)},
                         "db": {l: float(np.max(ctx.M["b"][l])) for l in range(1, L + 1) if ctx.M["b"][l] is not None}}
    try:
        ctx.optimizer, ctx.manual_new = manual_step(ctx)
        manual |= {"W_new": ctx.manual_new["W"], "b_new": ctx.manual_new["b"]}
        reference |= {"W_new": ctx.event.after["W"], "b_new": ctx.event.after["b"]}
        S |= update_scales(ctx, ctx.optimizer, ctx.start)
    except InputError as exc:
        ctx.problems.append(f"cannot check the update: {exc}")
    tol = policy_for(ctx.terms[0].case.net.dtype)
    return compare_properties(ctx.terms[0].case, manual, reference, "torch step", tol, STEP_PROPERTIES, scales=S)
