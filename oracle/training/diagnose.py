"""The classic training-loop bugs, each recognised in the captured numbers and explained in one
line. An explanation is a hypothesis checked against the step: "zero_grad() was not called"
is said only when the gradients at optimizer.step() equal this step's plus the ones left from
before, to the tolerance of the records; "the loss was multiplied by 32" only when every
gradient is 32 times manual_bp's and backward brought 32 to the loss; and so on.

    zero_grad forgotten          grads = this step's + those left in .grad before it
    zero_grad between micro-batches  grads = the last k of K losses' only
    the loss scaled              grads = c x expected, and backward brought c to the loss
    an L2 term added to the loss grads = expected + lambda theta
    the loss on another tensor   loss_fn's input was not this step's model output, or backward
                                 never reached loss_fn's output
    a .detach() in the forward   layers 1..j got no gradient, the later ones the right one
    clipping                     grads = c x expected with c < 1 (by norm, the norm reported),
                                 or expected clamped at a value
    parameters changed           the parameters at optimizer.step() differ from the forward pass's
    an optimizer over some parameters   a layer in none of the param groups was left unchanged
    a scheduler's learning rate  the step agrees with the param group's lr, not the built one
    (and two limits of torch itself, where manual_bp is right and torch is not: a saturated
    sigmoid under nn.BCELoss, a softplus past torch's threshold)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from oracle.training.capture import Params
from oracle.training.replay import StepContext, combine, manual_step, update_agrees

# |z| beyond which a sigmoid + bce parts from BCEWithLogitsLoss: float64, a (1 - a) under bce's 1e-12 clamp
# (|z| > 27.6); float32, 1 - sigmoid(z) rounds to 0 (|z| > 16.6)
SATURATES = {np.float64: 27.0, np.float32: 16.0}
SOFTPLUS_THRESHOLD = 20.0  # nn.Softplus's default: the identity above it


def _symbol(kind: str, l: int) -> str:
    return f"{kind}^({l})"


def _pairs(P: Params) -> Iterator[tuple[str, int, np.ndarray]]:
    for kind, by in P.items():
        for l, a in by.items():
            if a is not None:
                yield kind, l, np.asarray(a, dtype=np.float64)


def _torch(ctx: StepContext, kind: str, l: int) -> np.ndarray:
    g = ctx.torch_grads[kind][l]
    return np.zeros_like(np.asarray(ctx.expected[kind][l], dtype=np.float64)) if g is None else np.asarray(g, float)


def _agrees(ctx: StepContext, want: Params, slack: Params | None = None, scale: float = 1.0) -> bool:
    """Whether torch's gradients equal ``want`` in every parameter, within rtol x (|scale| M +
    max |slack|) (M the expected gradient's magnitude: the records' own tolerance)."""
    for kind, l, w in _pairs(want):
        extra = 0.0 if slack is None or slack[kind][l] is None else float(np.max(np.abs(slack[kind][l])))
        allowed = ctx.rtol * (abs(scale) * float(np.max(ctx.M[kind][l])) + extra)
        if np.max(np.abs(_torch(ctx, kind, l) - w)) > allowed:
            return False
    return True


def _norm(P: Params) -> float:
    return float(np.sqrt(sum(float(np.sum(a * a)) for _, _, a in _pairs(P))))


def _where(ctx: StepContext, l: int) -> str:
    return ctx.setup.model.names[l - 1].split(" (")[0]


# --- the gradients --------------------------------------------------------------------------------


def zero_grad_forgotten(ctx: StepContext) -> str | None:
    before = ctx.event.forwards[0].grads_before if ctx.event.forwards else None
    if before is None or not any(np.any(a != 0) for _, _, a in _pairs(before)):
        return None
    filled = {kind: {l: (e if before[kind][l] is None or e is None else e + before[kind][l]) for l, e in by.items()}
              for kind, by in ctx.expected.items()}
    if _agrees(ctx, filled, slack=before):
        return (f"zero_grad() was not called: the gradients at optimizer.step() are this step's plus the ones left "
                f"in .grad from before (norm {_norm(before):.4g}); call optimizer.zero_grad() before loss.backward()")
    return None


def zeroed_between_micro_batches(ctx: StepContext) -> str | None:
    K = len(ctx.terms)
    for j in range(1, K):
        if _agrees(ctx, combine([(t.count, t.grads) for t in ctx.terms[j:]])):
            return (f"zero_grad() ran between the micro-batches: the gradients at optimizer.step() are the last "
                    f"{K - j} of the {K} losses' only; zero them once per optimizer.step(), before the first backward")
    return None


def scaled_or_clipped(ctx: StepContext) -> str | None:
    pairs = [(_torch(ctx, kind, l), e) for kind, l, e in _pairs(ctx.expected)]
    ee = sum(float(np.sum(e * e)) for _, e in pairs)
    if ee == 0:
        return None
    c = sum(float(np.sum(t * e)) for t, e in pairs) / ee
    if abs(c - 1) < 1e3 * ctx.rtol or not _agrees(ctx, combine([(c, ctx.expected)]), scale=c):
        return None
    weights = {t.event.weight for t in ctx.terms}
    w = weights.pop() if len(weights) == 1 else None
    m, count = ctx.terms[0].case.batch, ctx.terms[0].count
    if w is not None and abs(w - count) > 1e-6 * abs(count):  # backward brought w, not 1 (or 1/K), to the loss
        batch = f" (the batch size, m = {m})" if abs(w - m) < 1e-9 * m else \
            f" (1 / the batch size, m = {m})" if abs(w * m - 1) < 1e-9 else ""
        effect = f"every gradient is {c:.4g} x the loss's" if abs(w - c * count) <= 1e-6 * abs(w) else \
            f"after clip_grad_norm_ every gradient is {c:.4g} x manual_bp's clipped one"
        return f"the loss was multiplied by {w:.6g}{batch} before backward: {effect}; call backward on loss_fn's loss"
    if 0 < c < 1 and ctx.setup.clip_grad_norm is None:
        after = c * _norm(ctx.expected)
        return (f"the gradients were clipped: their total norm {_norm(ctx.expected):.4g} was scaled by {c:.4g} to "
                f"{after:.4g} (clip_grad_norm_ with max_norm {after:.4g}); pass clip_grad_norm={after:.4g} to watch "
                "to check the clipped step")
    return f"every gradient is {c:.4g} x what loss_fn's loss gives: backward ran on {c:.4g} x that loss"


def clipped_by_value(ctx: StepContext) -> str | None:
    v = max((float(np.max(np.abs(_torch(ctx, kind, l)))) for kind, l, _ in _pairs(ctx.expected)), default=0.0)
    if v == 0:
        return None
    cut = sum(int(np.sum(np.abs(e) > v * (1 + 1e3 * ctx.rtol))) for _, _, e in _pairs(ctx.expected))
    clamped = {kind: {l: None if e is None else np.clip(e, -v, v) for l, e in by.items()}
               for kind, by in ctx.expected.items()}
    if cut and _agrees(ctx, clamped):
        total = sum(e.size for _, _, e in _pairs(ctx.expected))
        return (f"the gradients were clipped by value at {v:.4g} (clip_grad_value_): {cut} of {total} entries were "
                "cut; manual_bp's are not")
    return None


def no_gradient(ctx: StepContext) -> str | None:
    """Layers 1..j without a gradient, the later ones right: the graph was cut after layer j."""
    L = ctx.setup.model.L
    empty = [l for l in range(1, L + 1) if ctx.torch_grads["W"][l] is None or not np.any(ctx.torch_grads["W"][l])]
    if not empty or empty != list(range(1, max(empty) + 1)) or max(empty) == L:
        return None
    j = max(empty)
    later = {kind: {l: (g if l > j else None) for l, g in by.items()} for kind, by in ctx.expected.items()}
    if not _agrees(ctx, later):
        return None
    how = "(.grad is None)" if ctx.torch_grads["W"][1] is None else "(.grad is all zeros)"
    frozen = [l for l in range(1, j + 1) if not ctx.setup.model.linears[l - 1].weight.requires_grad]
    if frozen:
        cause = f"{_where(ctx, frozen[0])} has requires_grad=False (frozen)"
    else:
        cuts = [where for after, where in ctx.setup.model.cuts if after == j]
        cause = f"{cuts[0]} in the forward cuts the graph there" if cuts else \
            "something cut the graph there (a .detach(), torch.no_grad() or .data in the forward)"
    span = "layer 1" if j == 1 else f"layers 1..{j}"
    return (f"{span} got no gradient {how} while the later layers' gradients are right: {cause}, so backward stops "
            f"after layer {j}")


def added_penalty(ctx: StepContext) -> str | None:
    """grads = expected + lambda theta (on every parameter, or on the weights only)."""
    for kinds in (("W", "b"), ("W",)):
        theta = {kind: {l: (a if kind in kinds else None) for l, a in by.items()} for kind, by in ctx.start.items()}
        tt = sum(float(np.sum(a * a)) for _, _, a in _pairs(theta))
        if tt == 0:
            continue
        lam = sum(float(np.sum((_torch(ctx, k, l) - ctx.expected[k][l]) * a)) for k, l, a in _pairs(theta)) / tt
        if abs(lam) < 1e3 * ctx.rtol:
            return None
        penalty = combine([(lam, {k: {l: (a if k in kinds else np.zeros_like(a) if a is not None else None)
                                      for l, a in by.items()} for k, by in ctx.start.items()})])
        if _agrees(ctx, combine([(1.0, ctx.expected), (1.0, penalty)]), slack=penalty):
            which = "every parameter" if len(kinds) == 2 else "the weights"
            return (f"the gradients are the loss's plus {lam:.4g} x theta on {which}: backward ran on the loss plus an "
                    f"L2 penalty ({lam / 2:.4g} x sum theta^2); watch checks loss_fn's loss alone (the optimizer's "
                    f"weight_decay={lam:.4g} adds the same gradient for SGD and Adam)")
    return None


def other_tensor(ctx: StepContext) -> str | None:
    if all(t.event.weight is None for t in ctx.terms) and any(g is not None for _, _, g in _pairs(ctx.torch_grads)):
        through = "computed from the model's output" if any(f.reached for f in ctx.event.forwards) else \
            "not even through this step's model output"
        return (f"backward never reached loss_fn's output in this step: .backward() ran on another tensor ({through}), "
                "whose gradients are the ones at optimizer.step()")
    return None


# --- the update -----------------------------------------------------------------------------------


def params_changed(ctx: StepContext) -> str | None:
    moved = [(kind, l, float(np.max(np.abs(np.asarray(a, float) - ctx.start[kind][l]))))
             for kind, l, a in _pairs(ctx.event.at_step) if not np.array_equal(a, ctx.start[kind][l])]
    if not moved:
        return None
    names = ", ".join(_symbol(kind, l) for kind, l, _ in moved)
    line = (f"the parameters changed between the forward pass and optimizer.step(): {names} moved by up to "
            f"{max(d for *_, d in moved):.3g} after the gradients were computed (a second step, or an in-place edit)")
    try:
        opt, new = manual_step(ctx, start=ctx.event.at_step)
        if update_agrees(ctx, opt, ctx.event.at_step, new):
            line += "; from the moved numbers the step agrees"
    except Exception:  # the explanation stands without the confirmation
        pass
    return line


def not_in_optimizer(ctx: StepContext) -> str | None:
    missing = [(kind, l) for kind, l, _ in _pairs(ctx.start) if (kind, l) not in ctx.setup.members]
    if not missing:
        return None
    if len(missing) == sum(1 for _ in _pairs(ctx.start)):
        return ("none of the model's parameters is in the optimizer's param_groups (was it built over another "
                "model's parameters?); build it over model.parameters()")
    names = ", ".join(f"{_symbol(kind, l)} ({_where(ctx, l)})" for kind, l in missing)
    return (f"{names} {'is' if len(missing) == 1 else 'are'} in none of the optimizer's param_groups, so "
            "optimizer.step() left them unchanged; build the optimizer over model.parameters()")


def lr_changed(ctx: StepContext) -> str | None:
    group = ctx.event.groups[0] if ctx.event.groups else {}
    in_use = float(group.get("lr", ctx.setup.built_lr))
    if ctx.setup.scheduled_lr or in_use == ctx.setup.built_lr:
        return None
    source = "set by a learning-rate scheduler" if "initial_lr" in group else "changed by hand"
    line = (f"the step used lr {in_use:.6g} (param_groups[0]['lr'], {source}) where the optimizer was built with lr "
            f"{ctx.setup.built_lr:.6g}")
    try:
        opt, new = manual_step(ctx, lr=in_use)
        if update_agrees(ctx, opt, ctx.start, new):
            line += f"; with {in_use:.6g} the step agrees: pass scheduled_lr=True to watch to check the lr in use"
    except Exception:  # the explanation stands without the confirmation
        pass
    return line


# --- limits of the comparison ---------------------------------------------------------------------


def saturated(ctx: StepContext) -> str | None:
    dtype = ctx.terms[0].case.net.dtype
    z = max(t.logit for t in ctx.terms)
    if ctx.setup.loss.name == "BCELoss" and z > SATURATES[dtype]:
        return (f"a logit reached {z:.4g}, where the sigmoid saturates in {np.dtype(dtype).name}: nn.BCELoss works "
                "on the rounded output a and clamps log(a) at -100 and a(1 - a) at 1e-12, so torch's gradient there "
                "is not the true one; manual_bp's is, computed at the logit as a - y (not a bug in the loop; "
                "nn.BCEWithLogitsLoss on the logits gives the true gradient in torch too)")
    top = max(t.softplus for t in ctx.terms)
    if top > SOFTPLUS_THRESHOLD:
        return (f"a softplus pre-activation reached {top:.4g}: nn.Softplus is the identity above threshold=20, "
                "manual_bp's softplus is exact; they differ by about e^-z (not a bug in the loop)")
    return None


EXPLAINERS: tuple[Callable[[StepContext], str | None], ...] = (
    other_tensor, zero_grad_forgotten, zeroed_between_micro_batches, no_gradient, scaled_or_clipped, clipped_by_value,
    added_penalty, params_changed, not_in_optimizer, lr_changed, saturated)


def explain(ctx: StepContext) -> list[str]:
    """One line per classic bug the failing step shows; a closing line if none explains it."""
    lines = list(ctx.findings)
    if ctx.terms:
        lines += [line for explainer in EXPLAINERS if (line := explainer(ctx))]
    return lines or ["no classic loop bug explains the difference: see the records"]
