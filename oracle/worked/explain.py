"""Why a printed number is wrong, judged where the author made it: from that step's own printed
inputs (the same replay that judged it), each catalogued mistake's step, then the slips of a
hand calculation (a sign, a factor 2 or 1/2, a factor m or 1/m, another element's value, one
term of a sum with its sign flipped, another unit's weights in the forward pass, an update from
the wrong weight, truncation, rounding twice, two digits transposed), then the earlier wrong
printed values it follows from; and when nothing matches, an arithmetic slip with the value the
formula gives. The catalogue applied to the exact network, as a last resort, catches mistakes
made consistently from the start (a wrong formula used throughout)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from manual_bp.activations import get_activation
from manual_bp.errors import InputError
from oracle.mistakes.catalogue import MISTAKES, NotApplicableError
from oracle.worked import intermediates as parts
from oracle.worked.format import WorkedExample, parse_key
from oracle.worked.replay import replay
from oracle.worked.rounding import half_up, printed, rounded_twice, truncated
from oracle.worked.values import by_key, case_of

Used = dict[str, np.ndarray]
Catalogue = list[tuple[str, str, dict[str, np.ndarray]]]


@dataclass(frozen=True)
class Candidate:
    """A value a mistake or a slip gives for one element."""

    name: str
    description: str
    value: float  # (local_mistakes: the whole quantity's array)
    spread: float = 1.0  # how the rounding of the printed inputs reaches it: the slip's own factor


def fixer(used: Used) -> Callable[[str, np.ndarray], np.ndarray]:
    """A replay fix that feeds the printed value where one is used, the formula's value elsewhere."""

    def fix(key: str, value: np.ndarray) -> np.ndarray:
        fed = used.get(key)
        return value if fed is None else np.where(np.isnan(fed), value, fed)

    return fix


def with_value(used: Used, key: str, index: tuple[int, ...], value: float, shape: tuple[int, ...] = ()
               ) -> Used:
    """``used`` with one element replaced (of a quantity of ``shape`` when it has none yet)."""
    changed = dict(used)
    changed[key] = used[key].copy() if key in used else np.full(shape, np.nan)
    changed[key][index] = value
    return changed


def local_mistakes(ex: WorkedExample, key: str, used: Used) -> dict[str, Candidate]:
    """Each catalogued mistake's step fed the example's printed inputs: what it gives for the whole
    quantity ``key`` (the quantity's own printed elements not fed, so each is its formula's)."""
    own = dict(used)
    own.pop(key, None)
    out = {}
    for name, mistake in MISTAKES.items():
        try:
            mistake.algorithm.applicable(ex.net)
            value = replay(ex, fixer(own), until=key, algorithm=mistake.algorithm).computed[key]
        except (NotApplicableError, InputError, ValueError, IndexError):
            continue
        if value.shape == ex.shape_of(key):
            out[name] = Candidate(name, f"{mistake.description} ({mistake.equation})", value)
    return out


def _terms(ex: WorkedExample, key: str, index: tuple[int, ...], fed: dict[str, np.ndarray]) -> np.ndarray | None:
    """The terms the printed inputs give for an element that is a sum (z, dL/da), or None."""
    prop, l = parse_key(key)
    if prop not in ("z", "dL_da") or not index:
        return None
    i, k = index[0], 0 if ex.single else index[-1]

    def column(name: str) -> np.ndarray:  # example k's column, as a batch of one
        v = fed[name]
        return v[:, None] if ex.single else v[:, k:k + 1]

    # Only unit i's row of terms: the whole layer's would cost n_l times more, for each element judged.
    if prop == "z":
        b = ex.net.b[l]
        terms = parts.z_terms(ex.net.W[l][i:i + 1], b if b is None or b.ndim == 0 else b[i:i + 1], column(f"a{l - 1}"))
    elif prop == "dL_da" and l < ex.net.L and f"delta{l + 1}" in fed:
        terms = parts.dL_da_terms(ex.net.W[l + 1][:, i:i + 1], column(f"delta{l + 1}"))
    else:
        return None
    return terms[0, :, 0]


Near = Callable[[np.ndarray], np.ndarray]  # which of an array of candidate values could be the claim


def _anywhere(values: np.ndarray) -> np.ndarray:
    return np.ones(np.shape(values), dtype=bool)


def _kept(values: np.ndarray, near: Near, skip: tuple[int, ...] | None = None) -> list[tuple[int, ...]]:
    """The indices of ``values`` that ``near`` keeps (but ``skip``): a slip is only worth a
    Candidate, and a line of text, where its value could be the claim. One per element of a
    quantity or of a weight matrix otherwise makes judging n claims cost n^2 (n^4 for W')."""
    values = np.asarray(values, dtype=np.float64)
    mask = np.asarray(near(values), dtype=bool)
    if skip is not None and values.ndim:
        mask[skip] = False
    return [tuple(int(i) for i in p) for p in np.argwhere(mask)]


def slips(ex: WorkedExample, key: str, index: tuple[int, ...], r: float, base: np.ndarray,
          fed: dict[str, np.ndarray], used: Used, near: Near = _anywhere) -> list[Candidate]:
    """The slips of a hand calculation on the value the formula gives from the printed inputs
    (of those with many variants, one per element or term, only the values ``near`` keeps)."""
    is_loss = key in ("L", "L_new")
    out = factor_slips(ex, r, is_loss)
    for other in _kept(base, near, skip=index if np.ndim(base) else None):
        if other != index:
            out.append(Candidate("swapped_index", f"the value of element [{','.join(map(str, other))}] (indices "
                                 "swapped)", float(base[other])))
    out += _sum_slips(ex, key, index, r, fed, near)
    prop, l = parse_key(key)
    if prop == "z":
        out += _other_unit(ex, l, index, fed, near, base)
    if prop == "a" and is_unprinted(used, f"z{l}", index):
        out += _through_activation(ex, l, index, fed)
    if prop == "W_new":
        out += _wrong_weight(ex, l, index, fed, near)
    return out


def _sum_slips(ex: WorkedExample, key: str, index: tuple[int, ...], r: float, fed: dict[str, np.ndarray],
               near: Near = _anywhere) -> list[Candidate]:
    """One term of a sum (z, dL/da) with its sign flipped, or left out."""
    terms = _terms(ex, key, index, fed)
    if terms is None:
        return []
    terms = np.asarray(terms, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # terms near 1e308: an inf slip matches no claim
        flipped, dropped = r - 2 * terms, r - terms
    out = []
    for (j,) in sorted(set(_kept(flipped, near)) | set(_kept(dropped, near))):
        out.append(Candidate("term_sign_flipped", f"term {j + 1} of the sum with its sign flipped", float(flipped[j])))
        out.append(Candidate("term_dropped", f"term {j + 1} of the sum left out", float(dropped[j])))
    return out


def is_unprinted(used: Used, key: str, index: tuple[int, ...]) -> bool:
    """Whether the example printed no value for this element (the formula's own value is fed)."""
    fed = used.get(key)
    return fed is None or bool(np.isnan(fed[index]))


def _through_activation(ex: WorkedExample, l: int, index: tuple[int, ...], fed: dict[str, np.ndarray]
                        ) -> list[Candidate]:
    """The slips of an unprinted z^(l) seen through an elementwise activation in the printed a^(l)."""
    act = get_activation(ex.net.activations[l])
    if not act.elementwise:
        return []
    z = float(np.asarray(fed[f"z{l}"])[index]) if f"z{l}" in fed else None
    if z is None:
        return []
    wrong_z = _sum_slips(ex, f"z{l}", index, z, fed) + _other_unit(ex, l, index, fed)
    return [Candidate(c.name, f"{c.description} in the unprinted z^({l}), then {act.name}",
                      float(act.sigma(np.asarray(c.value)))) for c in wrong_z]


def factor_slips(ex: WorkedExample, value: float, is_loss: bool) -> list[Candidate]:
    """A factor 2 or 1/2 (the 1/2 of the loss dropped or doubled), the sign, m or 1/m (sum vs mean)."""
    out = [Candidate("factor_2", "the 1/2 dropped: twice the value" if is_loss else
                     "twice the value (a factor 2 too many, as when the 1/2 of the loss is dropped)", 2 * value, 2.0),
           Candidate("factor_half", "the 1/2 doubled: half the value" if is_loss else
                     "half the value (a factor 1/2 too many, as when the 1/2 is applied twice)",
                     value / 2, 0.5),
           Candidate("sign", "the sign flipped", -value)]
    m = ex.batch
    if m > 1:
        out.append(Candidate("sum_not_mean", f"summed over the batch instead of averaged (x m = {m})", m * value, m)
                   if ex.reduction == "mean" else
                   Candidate("mean_not_sum", f"averaged over the batch instead of summed (/ m = {m})", value / m,
                             1 / m))
    return out


def _other_unit(ex: WorkedExample, l: int, index: tuple[int, ...], fed: dict[str, np.ndarray],
                near: Near = _anywhere, z: np.ndarray | None = None) -> list[Candidate]:
    """z_i computed with another unit's weights (a swapped weight in the forward pass). With
    ``z``, z^(l) from the printed inputs, unit k's weights give z_k - b_k + b_i, not one product
    per element judged (which made judging n claims cost n^3)."""
    a_prev = fed[f"a{l - 1}"]
    a_col = np.asarray(a_prev if ex.single else a_prev[:, index[-1]], dtype=np.float64)
    i, W, b = index[0], ex.net.W[l], ex.net.b[l]
    bias = np.zeros(W.shape[0]) if b is None else np.broadcast_to(np.asarray(b, dtype=np.float64), (W.shape[0],))
    if z is None:
        through = W @ a_col + bias[i]
    else:
        through = np.asarray(z if ex.single else z[:, index[-1]], dtype=np.float64) - bias + bias[i]
    out = [Candidate("swapped_weights", f"z^({l})_{i + 1} through unit {k + 1}'s weights (a weight index swapped)",
                     float(through[k])) for (k,) in _kept(through, near, skip=(i,))]
    if W.shape[0] == W.shape[1]:
        out.append(Candidate("transposed_weights", f"the forward pass through (W^({l}))^T", float(W[:, i] @ a_col)
                             + float(bias[i])))
    return out


def _wrong_weight(ex: WorkedExample, l: int, index: tuple[int, ...], fed: dict[str, np.ndarray],
                  near: Near = _anywhere) -> list[Candidate]:
    """W'_ij = W_pq - eta dL/dW_ij: the update started from the wrong weight."""
    W, g = ex.net.W[l], fed[f"dW{l}"][index]
    started = W - ex.lr * g
    return [Candidate("update_from_wrong_weight", f"the update from weight [{','.join(map(str, p))}]: "
                      f"W_{''.join(str(i + 1) for i in p)} - eta dL/dW_{''.join(str(i + 1) for i in index)}",
                      float(started[p])) for p in _kept(started, near, skip=index)]


def rounding_slip(text: str, r: float, exponent: int) -> tuple[str, str] | None:
    """A claim the recomputation gives when truncated, rounded twice, or with two digits swapped:
    (name, one line), or None (also for a recomputation that is not finite: a printed 0 divided by)."""
    if not np.isfinite(r):
        return None
    q = printed(text)
    if truncated(r, exponent) == q and half_up(r, exponent) != q:
        return "truncated", f"truncated instead of rounded: {r:.6g} cut at its digits is {text}"
    if rounded_twice(r, exponent) == q and half_up(r, exponent) != q:
        return "rounded_twice", f"rounded twice: {r:.6g} to {half_up(r, exponent - 1)}, then to {text}"
    should = str(half_up(r, exponent).copy_abs())
    digits = text.lstrip("+-\u2212")
    if len(should) == len(digits) and sorted(should) == sorted(digits):
        swaps = [i for i in range(len(digits)) if digits[i] != should[i]]
        if len(swaps) == 2 and swaps[1] == swaps[0] + 1:
            return "digits_transposed", f"two digits transposed: {should} written {digits}"
    return None


# What each slip is, without the numbers of one element: the report's summary groups by these.
SLIPS = {
    "factor_2": "a factor 2 too many (the 1/2 of the loss dropped)",
    "factor_half": "a factor 1/2 too many (the 1/2 applied twice)",
    "sign": "the sign flipped",
    "sum_not_mean": "summed over the batch instead of averaged",
    "mean_not_sum": "averaged over the batch instead of summed",
    "swapped_index": "another element's value (indices swapped)",
    "term_sign_flipped": "one term of a sum with its sign flipped",
    "term_dropped": "one term of a sum left out",
    "swapped_weights": "the forward pass through another unit's weights",
    "transposed_weights": "the forward pass through the transposed weights",
    "update_from_wrong_weight": "an update started from the wrong weight",
    "truncated": "truncation instead of rounding",
    "rounded_twice": "rounding twice",
    "digits_transposed": "two digits transposed",
    "arithmetic_slip": "an arithmetic slip (no known mistake gives the printed value)",
    "trajectory_unexplained": "an unexplained value after several steps (neither the exact trajectory nor a "
                              "known mistake's)",
    "carried": "carried from an earlier wrong value",
}


def label(name: str) -> str:
    """What a cause's name means, in words: a catalogued mistake's description or a slip's."""
    if name in MISTAKES:
        return f"{MISTAKES[name].description} ({MISTAKES[name].equation})"
    return SLIPS.get(name, name)


def catalogue(ex: WorkedExample) -> Catalogue:
    """Every catalogued mistake run on the exact network, as (name, description, values by key)."""
    case = case_of(ex)
    out = []
    for name, mistake in MISTAKES.items():
        try:
            props = mistake.run(case)
        except (NotApplicableError, InputError, ValueError, IndexError):
            continue
        out.append((name, f"{mistake.description} ({mistake.equation})", by_key(ex, props)))
    return out


def with_wrong_inputs(ex: WorkedExample, key: str, index: tuple[int, ...], used: Used,
                      wrong: dict[tuple[str, tuple[int, ...]], str]
                      ) -> tuple[float, list[tuple[str, tuple[int, ...], str]]] | None:
    """The formula fed the earlier wrong printed values as printed, and which of them it reads
    (None when it reads none).

    Which ones it reads is found by halving: a group of wrong values that leaves the formula's
    value as it is holds none it reads, so k culprits among n wrong values take about
    2 k log2(n) replays rather than n (1,000 wrong claims would otherwise cost 10^6). A
    quantity never reads its own other elements, so those are not candidates at all."""
    candidates = [(k, idx, text) for (k, idx), text in wrong.items() if k != key]
    if not candidates:
        return None
    base = replay(ex, fixer(used), until=key).computed[key][index]

    def value_with(group: list[tuple[str, tuple[int, ...], str]]) -> float:
        fed = used
        for k, idx, text in group:
            fed = with_value(fed, k, idx, float(printed(text)))
        return float(replay(ex, fixer(fed), until=key).computed[key][index])

    def read_in(group: list[tuple[str, tuple[int, ...], str]], moved: bool) -> list[tuple[str, tuple[int, ...], str]]:
        if not moved:
            return []
        if len(group) == 1:
            return group
        half = len(group) // 2
        left, right = group[:half], group[half:]
        found = read_in(left, value_with(left) != base) + read_in(right, value_with(right) != base)
        return found or group  # only together do they move it (a cancellation within each half)

    everything = value_with(candidates)
    culprits = read_in(candidates, everything != base)
    if not culprits:
        return None
    return (everything if len(culprits) == len(candidates) else value_with(culprits)), culprits


def follows_wrong(ex: WorkedExample, key: str, index: tuple[int, ...], used: Used,
                  wrong: dict[tuple[str, tuple[int, ...]], str], claimed: float, allowance: float
                  ) -> list[tuple[str, tuple[int, ...], str]]:
    """The earlier wrong printed values that, fed forward as printed, give this claim."""
    found = with_wrong_inputs(ex, key, index, used, wrong)
    return found[1] if found is not None and abs(claimed - found[0]) <= allowance else []
