"""The finite-difference reference: central differences of the loss in float64.

Nothing here calls manual_bp's math or torch. The loss is written again from the Network's
numbers with this module's own small formulas (forward z^(l) = W^(l) a^(l-1) + b^(l),
a^(l) = sigma(z^(l)), the loss, the reduction), so a mistake in manual_bp's Eq. 1-4 cannot
hide here. Every quantity is a plain derivative of that loss:

    dL/dW^(l)_ij ~ [L(W^(l)_ij + h) - L(W^(l)_ij - h)] / 2h            (checks Eq. 3)
    dL/db^(l)_i  ~ the same for b^(l)_i (a shared bias is one number)   (checks Eq. 4)
    delta^(l)_ik ~ the same for z^(l)_ik, the rest of the network rerun (checks Eq. 1, Eq. 2)

Always in float64, on the network's own numbers: a float32 network's W, b, x and y are its
float32 values, widened exactly. The denominator is the step actually taken,
fl(theta + h) - fl(theta - h) (exact, by Sterbenz's lemma), not 2h.

Error of a central difference, and the choice of h (H = 1e-5):
  * truncation: the O(h^2) term, h^2 / 6 |L'''| for each element;
  * rounding: each loss value carries an error of a few eps x S_L (S_L: the first-order
    magnitude of the loss's terms, oracle.compare.scales), divided by the step: ~ eps S_L / h.
The sum h^2 |L'''| / 6 + eps S_L / h is smallest at h = (3 eps S_L / |L'''|)^(1/3); with
S_L and L''' of comparable size that is 8.7e-6, so h = 1e-5, where each term is ~1e-11
relative. A smaller h (1e-6) would cost ten times more rounding and gain nothing on
networks of this size. oracle.compare.tolerance.FD_TOLERANCE turns these two terms into the bound.

Kinks. relu and leaky_relu have a kink at z = 0 (elu's second derivative jumps there), where a
difference across the kink measures neither side's slope. Rather than guess a margin, every
perturbed run compares the side (z > 0) of every unit of every relu, leaky_relu and elu layer
with the unperturbed run; an element whose +h or -h run put any such unit on the other side
"crossed a kink": its value is NaN (so a comparison fails loudly instead of passing by
luck) and it is marked in ``kink_crossed``. Tests draw networks whose kinked inputs stay
away from 0 (see :func:`kink_margin`); the derivative at exactly z = 0 is a convention
(torch's), checked against torch, not against a difference quotient.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from manual_bp.errors import require
from oracle.cases import Case
from oracle.compare.records import Record, compare_properties, manual_properties
from oracle.compare.scales import comparison_scales
from oracle.compare.tolerance import FD_STEP, FD_TOLERANCE, FD_TOLERANCE32, fd_policy_for

__all__ = [
    "FD_TOLERANCE",
    "FD_TOLERANCE32",
    "KINKED",
    "H",
    "directional_check",
    "fd_check",
    "fd_policy_for",
    "finite_differences",
    "kink_margin",
]

H = FD_STEP  # the default step h = 1e-5, see the module docstring
KINKED = ("relu", "leaky_relu", "elu")  # activations whose derivative (or second derivative) jumps at 0
LEAKY_SLOPE = 0.01  # F.leaky_relu's default negative slope
LOG_FLOOR = -100.0  # torch's binary_cross_entropy clamps each log at -100
_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))  # 1 / (1 + e^-z) = exp(-log(1 + e^-z)), never overflows


def _softmax(z: np.ndarray) -> np.ndarray:
    s = z - z.max(axis=-2, keepdims=True)  # units are axis -2, examples axis -1
    return np.exp(s - np.log(np.exp(s).sum(axis=-2, keepdims=True)))


_SIGMA = {
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "relu": lambda z: np.where(z > 0, z, 0.0),
    "leaky_relu": lambda z: np.where(z > 0, z, LEAKY_SLOPE * z),
    "identity": lambda z: z,
    "softplus": lambda z: np.logaddexp(0.0, z),
    "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0.0))),
    "silu": lambda z: z * _sigmoid(z),
    "gelu": lambda z: 0.5 * z * _erfc(-z / math.sqrt(2.0)),  # z Phi(z), Phi = erfc(-z / sqrt 2) / 2
    "softmax": _softmax,
}


def _per_example_loss(loss: str, a: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """l_k for each example column: a (..., n, m), Y (n, m) -> (..., m)."""
    n = a.shape[-2]
    if loss == "half_sse":
        return 0.5 * ((a - Y) ** 2).sum(axis=-2)
    if loss == "sse":
        return ((a - Y) ** 2).sum(axis=-2)
    if loss == "mse":
        return ((a - Y) ** 2).sum(axis=-2) / n
    if loss == "bce":
        with np.errstate(divide="ignore"):
            log_a, log_1ma = np.log(a), np.log1p(-a)
        return -(Y * np.maximum(log_a, LOG_FLOOR) + (1.0 - Y) * np.maximum(log_1ma, LOG_FLOOR)).sum(axis=-2) / n
    if loss == "cross_entropy":
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(Y != 0, Y * np.log(a), 0.0)
        return -terms.sum(axis=-2)
    raise ValueError(f"loss: unknown loss {loss!r}")


def _at_logit_loss(activation: str, loss: str, z: np.ndarray, Y: np.ndarray) -> np.ndarray | None:
    """l_k at the logit for a sigmoid with bce (softplus) and a softmax with cross_entropy
    (logsumexp), the true loss where a rounds to 0 or 1 (as manual_bp computes it); else None."""
    if (activation, loss) == ("sigmoid", "bce"):
        return ((1.0 - Y) * np.logaddexp(0.0, z) + Y * np.logaddexp(0.0, -z)).sum(axis=-2) / z.shape[-2]
    if (activation, loss) == ("softmax", "cross_entropy"):
        top = z.max(axis=-2, keepdims=True)
        log_a = z - top - np.log(np.exp(z - top).sum(axis=-2, keepdims=True))
        return -np.where(Y != 0, Y * log_a, 0.0).sum(axis=-2)
    return None


@dataclass(frozen=True)
class _Numbers:
    """The network and data in float64, examples as columns."""

    W: dict[int, np.ndarray]
    b: dict[int, np.ndarray | float]  # (n_l, 1) column, a shared number, or 0.0 for no bias
    acts: dict[int, str]
    X: np.ndarray
    Y: np.ndarray
    loss: str
    reduction: str
    single: bool

    @property
    def L(self) -> int:
        return len(self.W)


def _numbers(case: Case) -> _Numbers:
    net = case.net
    dt = net.dtype
    X = np.asarray(case.x).astype(dt).astype(np.float64)  # the numbers the network itself sees
    single = X.ndim == 1
    X = X[:, None] if single else X
    m, nL = X.shape[1], net.sizes[-1]
    Y = np.asarray(case.y)
    if case.loss == "cross_entropy" and Y.dtype.kind in "iu":
        Y = np.eye(nL)[:, Y.reshape(-1)]
    else:
        Y = Y.astype(dt).astype(np.float64).reshape(nL, m)
    W = {l: net.W[l].astype(np.float64) for l in net.W}
    b = {l: 0.0 if net.b[l] is None else net.b[l].astype(np.float64) for l in net.b}
    b = {l: v[:, None] if np.ndim(v) == 1 else v for l, v in b.items()}
    return _Numbers(W, b, dict(net.activations), X, Y, case.loss, case.reduction, single)


def _loss_from(nums: _Numbers, l: int, z: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Run the network on from z^(l) (shape (..., n_l, m)): the loss of each leading index, and
    the side (z > 0) of every unit of every kinked layer l..L."""
    sides = []

    def activate(k: int, z: np.ndarray) -> np.ndarray:
        if nums.acts[k] in KINKED:
            sides.append(z > 0)
        return _SIGMA[nums.acts[k]](z)

    a = activate(l, z)
    for k in range(l + 1, nums.L + 1):
        z = nums.W[k] @ a + nums.b[k]
        a = activate(k, z)
    per_example = _at_logit_loss(nums.acts[nums.L], nums.loss, z, nums.Y)
    if per_example is None:
        per_example = _per_example_loss(nums.loss, a, nums.Y)
    total = per_example.sum(axis=-1)
    return (total / per_example.shape[-1] if nums.reduction == "mean" else total), sides


def _forward(nums: _Numbers) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    z, a = {}, {0: nums.X}
    for l in range(1, nums.L + 1):
        z[l] = nums.W[l] @ a[l - 1] + nums.b[l]
        a[l] = _SIGMA[nums.acts[l]](z[l])
    return z, a


def _crossed(sides: list[np.ndarray], base: list[np.ndarray]) -> np.ndarray:
    """For each leading index, whether any kinked unit is on another side than in ``base``."""
    out = np.zeros(sides[0].shape[0] if sides else 0, dtype=bool)
    for s, s0 in zip(sides, base, strict=True):
        out |= (s != s0).reshape(s.shape[0], -1).any(axis=1)
    return out


def _central(nums: _Numbers, l: int, base_z: np.ndarray, z_plus: np.ndarray, z_minus: np.ndarray,
             step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(L(+) - L(-)) / step for P perturbed copies of z^(l) (shape (P, n_l, m)); NaN, and True
    in the second array, where a run crossed a kink."""
    _, base = _loss_from(nums, l, base_z[None])
    L_plus, s_plus = _loss_from(nums, l, z_plus)
    L_minus, s_minus = _loss_from(nums, l, z_minus)
    crossed = np.zeros(len(step), dtype=bool)
    if base:
        crossed = _crossed(s_plus, base) | _crossed(s_minus, base)
    d = (L_plus - L_minus) / step
    return np.where(crossed, np.nan, d), crossed


def _perturbed(value: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P = value.size copies of ``value`` with element p moved by +h and by -h (shape (P, *value.shape)),
    and the step actually taken for each, fl(v + h) - fl(v - h)."""
    P = value.size
    eye = np.eye(P).reshape((P, *value.shape))
    plus, minus = value[None] + h * eye, value[None] - h * eye
    flat = np.arange(P)
    step = plus.reshape(P, P)[flat, flat] - minus.reshape(P, P)[flat, flat]
    return plus, minus, step


def _check_h(h: float | None) -> float:
    h = H if h is None else float(h)
    require(math.isfinite(h) and 0 < h < 1, f"h: expected a step 0 < h < 1, got {h!r}")
    return h


def finite_differences(case: Case, h: float | None = None) -> dict[str, Any]:
    """dL/dW^(l), dL/db^(l) and delta^(l) = dL/dz^(l) by central differences in float64.

    Returns {'dW': {l: array}, 'db': {l: array or None}, 'delta': {l: array}, 'L': float,
    'h': h, 'kink_crossed': {'dW': {l: mask}, 'db': {...}, 'delta': {...}}, 'kink_crossings': int},
    layers 1-based and shapes as manual_bp's (delta (n_l,) for one example x of shape (n_0,),
    else (n_l, m)). An element whose perturbation crossed a relu/leaky_relu/elu kink is NaN.
    Cost: two runs of the network from layer l on per parameter and per element of z^(l)."""
    h = _check_h(h)
    nums = _numbers(case)
    z, a = _forward(nums)
    L0, _ = _loss_from(nums, 1, z[1][None])
    out: dict[str, Any] = {"dW": {}, "db": {}, "delta": {}, "L": float(L0[0]), "h": h}
    crossed: dict[str, dict[int, np.ndarray | None]] = {"dW": {}, "db": {}, "delta": {}}
    for l in range(1, nums.L + 1):
        # dL/dW^(l): z^(l) = (W^(l) +- h E_ij) a^(l-1) + b^(l), then the rest of the network.
        plus, minus, step = _perturbed(nums.W[l], h)
        d, c = _central(nums, l, z[l], plus @ a[l - 1] + nums.b[l], minus @ a[l - 1] + nums.b[l], step)
        out["dW"][l], crossed["dW"][l] = d.reshape(nums.W[l].shape), c.reshape(nums.W[l].shape)
        # dL/db^(l): a shared bias is one number added to every unit.
        bias = case.net.b[l]
        if bias is None:
            out["db"][l] = crossed["db"][l] = None
        else:
            plus, minus, step = _perturbed(np.asarray(nums.b[l]).reshape(bias.shape), h)
            col = (lambda v: v[..., None]) if bias.ndim == 1 else (lambda v: v[:, None, None])
            Wa = nums.W[l] @ a[l - 1]
            d, c = _central(nums, l, z[l], Wa + col(plus), Wa + col(minus), step)
            out["db"][l], crossed["db"][l] = d.reshape(bias.shape), c.reshape(bias.shape)
        # delta^(l) = dL/dz^(l): move one element of z^(l) and run the network on from there.
        plus, minus, step = _perturbed(z[l], h)
        d, c = _central(nums, l, z[l], plus, minus, step)
        shape = z[l].shape
        d, c = d.reshape(shape), c.reshape(shape)
        out["delta"][l], crossed["delta"][l] = (d[:, 0], c[:, 0]) if nums.single else (d, c)
    out["kink_crossed"] = crossed
    out["kink_crossings"] = int(sum(int(np.sum(m)) for per in crossed.values() for m in per.values()
                                    if m is not None))
    return out


def kink_margin(case: Case) -> float:
    """The smallest |z^(l)| over every unit and example of every relu, leaky_relu and elu layer
    (inf without such layers): how far the network sits from a kink."""
    nums = _numbers(case)
    z, _ = _forward(nums)
    values = [np.min(np.abs(z[l])) for l in z if nums.acts[l] in KINKED]
    return float(min(values)) if values else math.inf


FD_PROPERTIES = ("delta", "dW", "db")
FD_REFERENCE = "finite differences"  # the reference name in every finite-difference Record


def fd_check(case: Case, manual: dict[str, Any] | None = None, h: float | None = None,
             properties: tuple[str, ...] = FD_PROPERTIES) -> tuple[list[Record], int]:
    """manual_bp's delta^(l) (Eq. 1, Eq. 2), dL/dW^(l) (Eq. 3) and dL/db^(l) (Eq. 4) -- and the
    loss L, if ``properties`` names it -- against finite differences, one Record per property and
    layer under the FD policy of the network's dtype; also how many elements crossed a
    relu/leaky_relu/elu kink (they are NaN and fail)."""
    fd = finite_differences(case, h)
    manual = manual_properties(case) if manual is None else manual
    tol = fd_policy_for(case.net.dtype).with_step(fd["h"])
    records = compare_properties(case, manual, fd, FD_REFERENCE, tol, properties=properties)
    return records, int(fd["kink_crossings"])


def directional_check(case: Case, v_seed: int = 0, h: float | None = None, manual: dict[str, Any] | None = None
                      ) -> dict[str, Any]:
    """One directional derivative: [L(theta + h v) - L(theta - h v)] / 2h against manual_bp's
    gradient . v, for a random unit vector v over every W^(l) and b^(l) (seeded by v_seed).

    Two loss evaluations and one backward pass whatever the number of parameters, so it suits
    networks too large for :func:`finite_differences`. The analytic side is dL/dW . d / 2h
    with d = fl(theta + h v) - fl(theta - h v), the step actually taken. The bound is the FD
    policy of the network's dtype, each term on its own scale: manual_bp's rounding on
    S_v = sum_l S(dL/dW^(l)) |v_W^(l)|_1 + the same for b (the first-order magnitude of grad . v),
    the truncation h^2 |L'''_v| / 6 on |grad|_2 (the largest directional derivative over unit
    directions; measured at h = 1e-3 on 1500 random networks, |L'''_v| / 6 <= 0.6 |grad|_2), the
    rounding on S_L / h. If the run crossed a relu/leaky_relu/elu kink the quotient means
    nothing: ``kink_crossed`` is True and ``passed`` False. ``manual`` gives the gradients to
    check (manual_properties' layout) instead of manual_bp's own."""
    h = _check_h(h)
    nums = _numbers(case)
    net = case.net
    manual = manual_properties(case) if manual is None else manual
    v_W, v_b = _unit_direction(net, v_seed)

    def moved(sign: float) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray | float], _Numbers]:
        W = {l: nums.W[l] + sign * h * v_W[l] for l in nums.W}
        b = {l: nums.b[l] if v_b[l] is None else nums.b[l] + sign * h * v_b[l].reshape(np.shape(nums.b[l]))
             for l in nums.b}
        return W, b, replace(nums, W=W, b=b)

    def loss(n: _Numbers) -> tuple[float, list[np.ndarray]]:
        values, sides = _loss_from(n, 1, (n.W[1] @ n.X + n.b[1])[None])
        return float(values[0]), sides

    (W_p, b_p, plus), (W_m, b_m, minus) = moved(1.0), moved(-1.0)
    (L_plus, s_plus), (L_minus, s_minus), (_, base) = loss(plus), loss(minus), loss(nums)
    crossed = bool(base) and bool(_crossed(s_plus, base).any() or _crossed(s_minus, base).any())

    taken, norm_g = _gradient_along(manual, net, (W_p, W_m), (b_p, b_m))
    S = comparison_scales(net, case.x, case.y, case.loss, case.reduction, case.lr, manual)
    S_v = sum(S["dW"][l] * float(np.abs(v_W[l]).sum()) for l in net.W)
    S_v += sum(S["db"][l] * float(np.abs(v_b[l]).sum()) for l in net.b if v_b[l] is not None)
    tol = fd_policy_for(net.dtype).with_step(h).for_case(net.L, S)
    fd, analytic = (L_plus - L_minus) / (2 * h), taken / (2 * h)
    err = abs(fd - analytic)
    allowed = tol.manual_rtol * S_v + tol.truncation * norm_g + tol.rounding
    parameters = sum(v.size for v in (*v_W.values(), *v_b.values()) if v is not None)
    return {"case": case.case_id, "h": h, "v_seed": v_seed, "parameters": parameters,
            "fd": fd, "analytic": analytic, "abs_err": err, "scale": S_v, "grad_norm": norm_g, "allowed": allowed,
            "ratio": err / allowed if allowed > 0 else math.inf, "rule": _direction_rule(tol, S_v, norm_g, allowed),
            "kink_crossed": crossed, "passed": bool(err <= allowed and not crossed)}


def _gradient_along(manual: dict[str, Any], net: Any, W: tuple[dict, dict], b: tuple[dict, dict]
                    ) -> tuple[float, float]:
    """grad . d for the step d actually taken (theta + h v minus theta - h v), and |grad|_2."""
    taken = sum(float(np.sum(np.asarray(manual["dW"][l], dtype=np.float64) * (W[0][l] - W[1][l]))) for l in net.W)
    taken += sum(float(np.sum(np.asarray(manual["db"][l], dtype=np.float64) * np.subtract(b[0][l], b[1][l]).reshape(
        np.shape(manual["db"][l])))) for l in net.b if net.b[l] is not None)
    grads = [np.asarray(g, dtype=np.float64) for p in ("dW", "db") for g in manual[p].values() if g is not None]
    return taken, math.sqrt(sum(float(np.sum(g * g)) for g in grads))


def _unit_direction(net: Any, v_seed: int) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray | None]]:
    """A random direction over every W^(l) and b^(l), of unit length over all of them together."""
    rng = np.random.default_rng(v_seed)
    v_W = {l: rng.normal(size=net.W[l].shape) for l in net.W}
    v_b = {l: None if net.b[l] is None else rng.normal(size=net.b[l].shape) for l in net.b}
    norm = math.sqrt(sum(float(np.sum(v * v)) for v in (*v_W.values(), *v_b.values()) if v is not None))
    return {l: v / norm for l, v in v_W.items()}, {l: None if v is None else v / norm for l, v in v_b.items()}


def _direction_rule(tol: Any, S_v: float, norm_g: float, allowed: float) -> str:
    """The directional check's rule with its numbers."""
    return (f"{tol.name}, direction: |diff| <= {tol.factor:g} eps (L+1) x S_v + {tol.third:g} h^2 x |grad|_2 + "
            f"{tol.factor:g} eps64 (L+1) x S_L / h = {tol.manual_rtol:.2e} x {S_v:.3e} + {tol.truncation:.1e} x "
            f"{norm_g:.3e} + {tol.rounding:.3e} = {allowed:.3e}")
