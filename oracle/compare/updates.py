"""How far two correct implementations of an optimizer's step may be apart: a first-order
bound carried through the update rule, as oracle.compare.scales carries one through the
forward and backward passes.

The bound is on absolute deviations. Given how far apart the inputs may be (the parameter
theta, its gradient g, the optimizer's buffers), each formula of the rule passes those
deviations on to first order, every term taken in absolute value:

    d(x + y) = d(x) + d(y)       d(c x) = |c| d(x)       d(x y) = |y| d(x) + |x| d(y)
    d(x / y) = d(x) / |y| + |x| d(y) / y^2               d(max(x, y)) = max(d(x), d(y))
    d(sqrt u) = min(d(u) / (2 sqrt u), sqrt d(u))        (sqrt is not Lipschitz at 0; the
                                                          second form holds there)

The rules are torch.optim's, re-derived here from the formulas (nothing of
manual_bp.optimizers is called; only its hyper-parameters are read).

Used two ways:
  * one step from a shared start (``step_scales``): theta and the buffers are the same
    numbers on both sides, so their deviation is each operation's own rounding, rtol |x|;
    the gradient's is rtol M(dL/dW), M the backward pass's magnitude. The result, divided by
    rtol, is the comparison scale S of each element of W'^(l) and b'^(l), exactly scales.py's
    |W| + eta M(dL/dW) for plain SGD;
  * a trajectory (``carry``): the deviations of step k are carried into step k + 1, each
    step adding its own rounding. A difference in theta also changes the next gradient
    (through the Hessian). In a stable run that change stays far below rounding; in an
    unstable one (a centered RMSprop whose v - g_ave^2 tends to 0 under a steady full-batch
    gradient takes steps of gamma g / eps) it grows every step, whatever the implementation.
    It is passed in as ``grad_change``, the difference of one implementation's gradients at
    the two sides' parameters, so the bound follows such a run instead of being broken by it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

Array = np.ndarray


def _sqrt(u: Array, du: Array) -> tuple[Array, Array]:
    """sqrt(u) and its deviation."""
    u = np.maximum(u, 0.0)  # a centered RMSprop's v - g_ave^2 may round below 0
    r = np.sqrt(u)
    with np.errstate(divide="ignore", invalid="ignore"):
        first = np.where(r > 0, du / (2.0 * r), np.inf)
    return r, np.minimum(first, np.sqrt(du))


def _quotient(x: Array, dx: Array, y: Array, dy: Array) -> Array:
    """The deviation of x / y, y > 0."""
    return dx / y + np.abs(x) * dy / (y * y)


def _weight_decay(opt: Any, theta: Array, g: Array, d_theta: Array, d_g: Array) -> tuple[Array, Array]:
    """g_t + lambda theta (coupled weight decay) and its deviation; g_t itself where lambda = 0."""
    if opt.weight_decay == 0 or getattr(opt, "decoupled", False):
        return g, d_g
    return g + opt.weight_decay * theta, d_g + opt.weight_decay * d_theta


def _sgd(opt: Any, theta: Array, g: Array, bufs: dict, t: int, d: dict) -> tuple[Array, dict]:
    """SGD's rule is linear in theta, g and the buffer: only the coefficients matter."""
    _, dg = _weight_decay(opt, theta, g, d["theta"], d["g"])
    mu = opt.momentum
    if mu == 0:
        return d["theta"] + opt.lr * dg, {}
    first = bufs.get("momentum_buffer") is None  # b_1 = g_1
    dbuf = dg if first else mu * d["momentum_buffer"] + (1 - opt.dampening) * dg
    dstep = dg + mu * dbuf if opt.nesterov else dbuf
    return d["theta"] + opt.lr * dstep, {"momentum_buffer": dbuf}


def _adam(opt: Any, theta: Array, g: Array, bufs: dict, t: int, d: dict) -> tuple[Array, dict]:
    beta1, beta2 = opt.betas
    d_theta = d["theta"]
    if opt.weight_decay != 0 and opt.decoupled:
        d_theta = abs(1 - opt.lr * opt.weight_decay) * d_theta
    g, dg = _weight_decay(opt, theta, g, d["theta"], d["g"])
    zero = np.zeros_like(theta)
    m = beta1 * _or(bufs.get("exp_avg"), zero) + (1 - beta1) * g
    dm = beta1 * d["exp_avg"] + (1 - beta1) * dg
    v = beta2 * _or(bufs.get("exp_avg_sq"), zero) + (1 - beta2) * g * g
    dv = beta2 * d["exp_avg_sq"] + (1 - beta2) * 2 * np.abs(g) * dg
    out = {"exp_avg": dm, "exp_avg_sq": dv}
    if opt.amsgrad:
        # where the two are close the sides may pick different ones: the larger deviation holds for both
        v = np.maximum(_or(bufs.get("max_exp_avg_sq"), zero), v)
        dv = out["max_exp_avg_sq"] = np.maximum(d["max_exp_avg_sq"], dv)
    r, dr = _sqrt(v, dv)
    root_bc2 = math.sqrt(1 - beta2**t)
    denom, d_denom = r / root_bc2 + opt.eps, dr / root_bc2
    return d_theta + opt.lr / (1 - beta1**t) * _quotient(m, dm, denom, d_denom), out


def _rmsprop(opt: Any, theta: Array, g: Array, bufs: dict, t: int, d: dict) -> tuple[Array, dict]:
    alpha = opt.alpha
    g, dg = _weight_decay(opt, theta, g, d["theta"], d["g"])
    zero = np.zeros_like(theta)
    v = alpha * _or(bufs.get("square_avg"), zero) + (1 - alpha) * g * g
    dv = alpha * d["square_avg"] + (1 - alpha) * 2 * np.abs(g) * dg
    out = {"square_avg": dv}
    if opt.centered:
        ga = alpha * _or(bufs.get("grad_avg"), zero) + (1 - alpha) * g
        dga = out["grad_avg"] = alpha * d["grad_avg"] + (1 - alpha) * dg
        v, dv = v - ga * ga, dv + 2 * np.abs(ga) * dga
    r, dr = _sqrt(v, dv)
    dscaled = _quotient(g, dg, r + opt.eps, dr)
    if opt.momentum > 0:
        dscaled = out["momentum_buffer"] = opt.momentum * d["momentum_buffer"] + dscaled
    return d["theta"] + opt.lr * dscaled, out


def _or(buffer: Array | None, zero: Array) -> Array:
    return zero if buffer is None else np.asarray(buffer, dtype=np.float64)


RULES = {"SGD": _sgd, "Adam": _adam, "AdamW": _adam, "RMSprop": _rmsprop}


def tensor_deviation(opt: Any, theta: Array, g: Array, buffers: dict[str, Array | None], t: int,
                     deviations: dict[str, Array]) -> tuple[Array, dict[str, Array]]:
    """The deviation of theta after step t (1 for the first) and of the new buffers, from the
    deviations of theta (``deviations['theta']``), g (``['g']``) and each buffer (by torch's
    name; 0 where absent). ``opt`` is a manual_bp optimizer, read for its hyper-parameters."""
    theta = np.asarray(theta, dtype=np.float64)
    g = np.asarray(g, dtype=np.float64)
    zero = np.zeros_like(theta)
    d = {name: zero for name in opt.buffer_names} | {k: np.asarray(v, dtype=np.float64) for k, v in deviations.items()}
    if getattr(opt, "maximize", False):
        g = -g
    buffers = {k: v for k, v in buffers.items() if v is not None}
    return RULES[opt.name](opt, theta, g, buffers, t, d)


def step_scales(opt: Any, params: dict[str, dict[int, Array | None]], grads: dict[str, dict[int, Array | None]],
                grad_magnitudes: dict[str, dict[int, Array]], buffers: dict[str, dict[str, dict[int, Array | None]]],
                t: int, rtol: float) -> dict[str, dict[int, Array]]:
    """Comparison scales S of W'^(l) and b'^(l) for one step from a shared start, one per
    element: the deviation allowed that element, divided by rtol. (An adaptive optimizer is
    far more sensitive in some elements than in others: Adam's first step g / (|g| + eps) has
    slope 1 / eps at g = 0 and none at |g| >> eps.)

    params: {'W': {l: W^(l)}, 'b': {l: b^(l) or None}}; grads and grad_magnitudes the same
    for dL/dW^(l), dL/db^(l) and their magnitudes M; buffers: {name: {'W': {l: ...}, 'b': ...}}."""
    S: dict[str, dict[int, Array]] = {"W_new": {}, "b_new": {}}
    for kind, prop in (("W", "W_new"), ("b", "b_new")):
        for l, theta in params[kind].items():
            if theta is None or grads[kind].get(l) is None:
                continue
            bufs = {n: buffers.get(n, {}).get(kind, {}).get(l) for n in opt.buffer_names}
            dev = {"theta": rtol * np.abs(theta), "g": rtol * np.asarray(grad_magnitudes[kind][l]),
                   **{n: rtol * np.abs(b) for n, b in bufs.items() if b is not None}}
            d_theta, _ = tensor_deviation(opt, theta, grads[kind][l], bufs, t, dev)
            S[prop][l] = d_theta / rtol if rtol > 0 else np.zeros_like(d_theta)
    return S


def carry(opt: Any, theta: Array, g: Array, buffers: dict[str, Array | None], t: int, carried: dict[str, Array],
          grad_magnitude: Array, rtol: float, grad_change: Array | float = 0.0) -> tuple[Array, dict[str, Array]]:
    """One step of a trajectory's bound: the deviations ``carried`` from the steps before (of
    theta and each buffer), plus this step's rounding (rtol |x| of theta and the buffers,
    rtol M of the gradient) and ``grad_change`` (how much the gradient itself moved with the
    parameters' deviation), passed through the rule. Returns the deviations after the step."""
    dev = {"theta": carried["theta"] + rtol * np.abs(theta), "g": rtol * np.asarray(grad_magnitude) + grad_change}
    for name, value in buffers.items():
        if value is not None:
            dev[name] = carried.get(name, 0.0) + rtol * np.abs(value)
    return tensor_deviation(opt, theta, g, buffers, t, dev)
