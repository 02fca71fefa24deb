"""manual_bp's optimizers against torch.optim: 100-step trajectories on random networks, in
float64 and float32, within a rounding bound carried step by step (oracle.compare.updates);
and mutations of the rules (the kind of slip a hand-coded optimizer makes) are caught by the
same comparison within a few steps."""

from __future__ import annotations

import numpy as np
import pytest

from manual_bp import Network, backward, forward, train
from manual_bp.optimizers import SGD, Adam, AdamW, RMSprop
from oracle.cases import Case, SweepSpec, random_case
from oracle.compare.records import manual_properties
from oracle.compare.scales import magnitudes
from oracle.compare.tolerance import policy_for
from oracle.compare.updates import carry
from oracle.references.autograd import optimizer_trajectory
from oracle.training.optimizers import torch_optimizer

STEPS = 100
CONFIGS = {
    "SGD momentum": lambda: SGD(0.05, momentum=0.9),
    "SGD nesterov, weight decay": lambda: SGD(0.05, momentum=0.9, nesterov=True, weight_decay=1e-2),
    "SGD dampening, weight decay": lambda: SGD(0.05, momentum=0.5, dampening=0.3, weight_decay=1e-3),
    "Adam": lambda: Adam(1e-2),
    "Adam amsgrad, weight decay": lambda: Adam(1e-2, amsgrad=True, weight_decay=1e-2),
    "AdamW": lambda: AdamW(1e-2),
    "AdamW amsgrad": lambda: AdamW(1e-2, weight_decay=0.1, amsgrad=True),
    "RMSprop": lambda: RMSprop(1e-3),
    "RMSprop centered, momentum, weight decay": lambda: RMSprop(1e-3, alpha=0.9, momentum=0.5, centered=True,
                                                                weight_decay=1e-3),
}
SPEC = {dtype: SweepSpec(depth=(1, 4), width=(1, 8), reductions=("mean",), dtype=dtype)
        for dtype in ("float64", "float32")}


def trajectory_check(case: Case, make: callable, steps: int = STEPS, torch_make: callable | None = None
                     ) -> tuple[float, str]:
    """manual_bp.train with the optimizer ``make()`` builds, against the same torch.optim
    optimizer (or the one of ``torch_make()``), full batch, ``steps`` steps. Returns the largest
    |manual - torch| / bound over every element of every parameter after every step, and where
    it was (with the largest gradient change, as a multiple of the gradient's rounding bound).

    The bound of each element is carried through the update rule (oracle.compare.updates.carry):
    step k adds its own rounding (rtol |theta|, rtol |buffer|, and rtol M(dL/dtheta), M the
    backward pass's magnitude at the manual network of step k) to the deviations carried from
    step k - 1; rtol is the dtype's 4 eps (L+1). The gradients of the two sides also differ
    because their parameters do: that part is computed, as manual_bp's gradient at torch's
    parameters of step k minus its gradient at its own (zero while the runs agree bit for bit,
    and far below rounding in a stable run; the summary line reports its share)."""
    opt = make()
    result = train(case.net, case.x, case.y, None, steps, case.loss, case.reduction, optimizer=opt)
    history = optimizer_trajectory(case.net, case.x, case.y, lambda p: torch_optimizer((torch_make or make)(), p),
                                   steps, case.loss, case.reduction)
    rtol = policy_for(case.net.dtype).for_depth(case.net.L).rtol
    carried: dict[tuple[str, int], dict[str, np.ndarray]] = {}
    worst, where, feedback = 0.0, "nowhere", 0.0
    for k in range(steps):
        net, state = result.networks[k], result.states[k]
        props = manual_properties(Case(case.case_id, net, case.x, case.y, case.loss, case.reduction))
        M = magnitudes(net, case.x, case.y, case.loss, case.reduction, props)
        there = Network(list(history[k][0].values()), list(history[k][1].values()), list(net.activations.values()),
                        net.dtype)
        at_torch = backward(there, forward(there, case.x), case.y, case.loss, case.reduction)
        for kind, grad in (("W", "dW"), ("b", "db")):
            for l, theta in getattr(net, kind).items():
                if theta is None:
                    continue
                bufs = {n: getattr(state.buffers[n], kind)[l] if n in state.buffers else None for n in opt.buffer_names}
                change = np.abs(getattr(at_torch, grad)[l].astype(np.float64) - props[grad][l])
                feedback = max(feedback, float(np.max(change / (rtol * M[grad][l] + np.finfo(float).tiny))))
                d_theta, d_bufs = carry(opt, theta, props[grad][l], bufs, k + 1,
                                        carried.get((kind, l), {"theta": 0.0}), M[grad][l], rtol, change)
                carried[(kind, l)] = {"theta": d_theta, **d_bufs}
                mine = getattr(result.networks[k + 1], kind)[l].astype(np.float64)
                theirs = history[k + 1][0 if kind == "W" else 1][l].astype(np.float64)
                dev = np.abs(mine - theirs)
                assert np.all(dev <= d_theta), (f"step {k + 1}, {kind}^({l}): |manual - torch| = {dev.max():.3e} "
                                                f"> bound {d_theta.flat[np.argmax(dev - d_theta)]:.3e}")
                share = float(np.max(np.where(d_theta > 0, dev / np.where(d_theta > 0, d_theta, 1.0), 0.0)))
                if share > worst:
                    worst, where = share, f"{kind}^({l}) after step {k + 1}"
    return worst, f"{where}; gradient change up to {feedback:.2g} x rounding"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_trajectory_agrees_with_torch_optim_for_100_steps(name, dtype, summary_line):
    case = random_case(list(CONFIGS).index(name), SPEC[dtype])  # another network for each optimizer
    share, where = trajectory_check(case, CONFIGS[name])
    summary_line(f"{name}, {dtype}, {STEPS} steps: largest |manual - torch| / bound {share:.3f} "
                 f"({case.case_id}, {case.about()}, {where})")


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_trajectories_of_many_networks(dtype, summary_line):
    """Every optimizer on 20 networks: the measured margin of the bound (docs/training.md quotes it)."""
    for name, make in CONFIGS.items():
        worst = max(trajectory_check(random_case(seed, SPEC[dtype]), make) for seed in range(20))
        summary_line(f"{name}, {dtype}, 20 networks x {STEPS} steps: largest |manual - torch| / bound "
                     f"{worst[0]:.3f} ({worst[1]})")


# --- the comparison catches a wrong rule -------------------------------------------------------


class EpsInsideTheRoot(Adam):
    """Adam with eps under the square root: m^ / sqrt(v^ + eps)."""

    def rule(self, theta, g, buffers, t):
        _, out = super().rule(theta, g, buffers, t)  # the moments are right
        beta1, beta2 = self.betas
        m_hat, v_hat = out["exp_avg"] / (1 - beta1**t), out["exp_avg_sq"] / (1 - beta2**t)
        return theta - self.lr * m_hat / np.sqrt(v_hat + self.eps), out


class NoBiasCorrection(Adam):
    """Adam without the bias corrections 1 - beta^t."""

    def rule(self, theta, g, buffers, t):
        return super().rule(theta, g, buffers, 10**6)  # beta^t underflows to 0: both corrections are 1


class DecayInTheMoments(AdamW):
    """AdamW whose weight decay enters the gradient (Adam's coupled L2) instead of theta."""

    decoupled = False


class NesterovOnTheBuffer(SGD):
    """Nesterov written b_t + mu g_t instead of g_t + mu b_t."""

    def rule(self, theta, g, buffers, t):
        prev = buffers["momentum_buffer"]
        buf = g.copy() if prev is None else self.momentum * prev + g
        return theta - self.lr * (buf + self.momentum * g), {"momentum_buffer": buf}


class DampenedFirstStep(SGD):
    """Momentum whose first buffer is (1 - dampening) g_1, where torch's is g_1."""

    def rule(self, theta, g, buffers, t):
        if buffers["momentum_buffer"] is None:
            buffers = dict(buffers, momentum_buffer=np.zeros_like(theta))
        return super().rule(theta, g, buffers, t)


class UncenteredVariance(RMSprop):
    """Centered RMSprop that forgets to subtract g_ave^2."""

    def rule(self, theta, g, buffers, t):
        _, out = super().rule(theta, g, buffers, t)
        return theta - self.lr * g / (np.sqrt(out["square_avg"]) + self.eps), out


MUTANTS = {  # (the mutant, the right rule whose torch.optim optimizer it is compared with)
    "eps inside the root": (lambda: EpsInsideTheRoot(1e-2), lambda: Adam(1e-2)),
    "no bias correction": (lambda: NoBiasCorrection(1e-2), lambda: Adam(1e-2)),
    "AdamW's decay in the moments": (lambda: DecayInTheMoments(1e-2, weight_decay=0.1),
                                     lambda: AdamW(1e-2, weight_decay=0.1)),
    "Nesterov on the buffer": (lambda: NesterovOnTheBuffer(0.05, momentum=0.9, nesterov=True),
                               lambda: SGD(0.05, momentum=0.9, nesterov=True)),
    "dampened first step": (lambda: DampenedFirstStep(0.05, momentum=0.9, dampening=0.5),
                            lambda: SGD(0.05, momentum=0.9, dampening=0.5)),
    "centered without g_ave^2": (lambda: UncenteredVariance(1e-3, centered=True), lambda: RMSprop(1e-3, centered=True)),
}


@pytest.mark.parametrize("name", list(MUTANTS))
def test_a_wrong_rule_leaves_the_bound_within_a_few_steps(name):
    wrong, right = MUTANTS[name]
    case = random_case(0, SPEC["float64"])
    trajectory_check(case, right, steps=5)  # the right rule passes
    with pytest.raises(AssertionError, match=r"step [1-5], .*> bound"):
        trajectory_check(case, wrong, steps=5, torch_make=right)
