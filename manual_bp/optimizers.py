"""Optimizers by hand: the update rules of torch.optim's SGD (momentum, dampening, Nesterov,
weight decay), Adam (amsgrad, weight decay), AdamW and RMSprop, in numpy, with their state in
the open.

An optimizer turns the gradients of :func:`manual_bp.backward` into a new Network, as
:func:`manual_bp.sgd_step` does for Eq. 5, and keeps what it needs between steps in
``optimizer.state``: the step count t and its buffers (a momentum buffer, the moments of
Adam), one array per parameter, keyed like everything else by 1-based layer::

    opt = Adam(lr=1e-3)
    net = opt.step(net, backward(net, forward(net, x), y))   # a new Network; net is unchanged
    opt.state.step, opt.state["exp_avg"].W[1], opt.state["exp_avg_sq"].b[2]

One rule is applied to every parameter tensor theta (each W^(l) and b^(l)) with g its
gradient dL/dtheta; each class's docstring gives the rule as torch.optim documents it
(gamma the learning rate, lambda the weight decay), and the buffers carry torch's names
(``momentum_buffer``, ``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``, ``square_avg``,
``grad_avg``), so a torch optimizer's state reads straight across. Every step makes new
arrays: nothing of the network, the gradients or the previous state is written to.

Plain SGD (no momentum, no weight decay) *is* Eq. 5: ``SGD(lr).step`` calls ``sgd_step``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from manual_bp import validate
from manual_bp.backprop import BACKPROP, Gradients
from manual_bp.errors import InputError, LayerDict, require
from manual_bp.network import Network
from manual_bp.sgd import check_gradients, sgd_step

Array = np.ndarray


@dataclass(frozen=True)
class Buffers:
    """One buffer of every parameter: ``W[l]`` for W^(l), ``b[l]`` for b^(l) (None for a layer
    without bias, or a bias the optimizer does not update)."""

    W: LayerDict
    b: LayerDict


@dataclass(frozen=True)
class OptimizerState:
    """What an optimizer carries from one step to the next: ``step``, the number of steps taken
    (torch's ``state[p]['step']``), and its buffers by name: ``state['exp_avg'].W[1]``. A new
    optimizer has taken 0 steps and has no buffers yet; its first step creates them."""

    step: int = 0
    buffers: dict[str, Buffers] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Buffers:
        if name not in self.buffers:
            have = ", ".join(self.buffers) or "none yet (the first step creates them)"
            raise KeyError(f"no buffer {name!r}; this state has: {have}")
        return self.buffers[name]


class Optimizer:
    """What every optimizer shares: the learning rate, the state, and a step that applies
    :meth:`rule` to every parameter tensor. A subclass sets ``name`` and writes ``rule`` and
    ``buffer_names``."""

    name = "optimizer"

    def __init__(self, lr: float, maximize: bool = False) -> None:
        self.lr = validate.learning_rate(lr)
        self.maximize = validate.flag("maximize", maximize)
        self.state = OptimizerState()

    @property
    def buffer_names(self) -> tuple[str, ...]:
        """The buffers this optimizer keeps per parameter, with its settings."""
        return ()

    def hyperparameters(self) -> dict[str, object]:
        """The settings, by torch's argument names."""
        return {"lr": self.lr, "maximize": self.maximize}

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({settings})"

    def rule(self, theta: Array, g: Array, buffers: dict[str, Array | None], t: int
             ) -> tuple[Array, dict[str, Array]]:
        """theta after step t (1 for the first) from its gradient g and its buffers (None before
        the first step), and the new buffers."""
        raise NotImplementedError

    def direction(self, g: Array) -> Array:
        """g_t, the gradient the rule follows: -g to maximize, else g."""
        return -g if self.maximize else g

    def step(self, net: Network, grads: Gradients, update_biases: bool = True) -> Network:
        """One step: every W^(l) (and b^(l), unless update_biases=False) by :meth:`rule`; returns
        a new Network and moves ``self.state`` on. ``net`` and ``grads`` are not modified."""
        validate.network(net)
        update_biases = validate.flag("update_biases", update_biases)
        check_gradients(net, grads, update_biases)
        old = self._checked_buffers(net)
        t = self.state.step + 1
        W, b = LayerDict(), LayerDict()
        new = {name: Buffers(LayerDict(), LayerDict()) for name in self.buffer_names}
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # Network refuses inf/NaN
            for l in range(1, net.L + 1):
                W[l], bufs = self.rule(net.W[l], grads.dW[l], {n: old[n].W.get(l) for n in new}, t)
                for n in new:
                    new[n].W[l] = bufs[n]
                keep = net.b[l] is None or not update_biases
                b[l], bufs = (net.b[l], {n: old[n].b.get(l) for n in new}) if keep else \
                    self.rule(net.b[l], grads.db[l], {n: old[n].b.get(l) for n in new}, t)
                for n in new:
                    new[n].b[l] = bufs[n]
        out = net.replace(W, b, copy=False)  # raises, naming the parameter, before the state moves on
        for name, buf in new.items():  # a buffer that overflowed is refused now, not at the next step
            for kind, layers in (("W", buf.W), ("b", buf.b)):
                for l, v in layers.items():
                    if v is not None and not validate.all_finite(v):
                        raise InputError(f"step: the buffer {name!r} of {kind}^({l}) overflowed to inf or NaN; "
                                         f"the gradients or {self!r}'s settings are too large")
        for array in (v for buf in new.values() for v in (*buf.W.values(), *buf.b.values()) if v is not None):
            array.setflags(write=False)
        self.state = OptimizerState(t, new)
        return out

    def _checked_buffers(self, net: Network) -> dict[str, Buffers]:
        """The state's buffers, every one checked against the network: a known name, one finite
        array of the parameter's shape and dtype per parameter (or None); missing ones are None."""
        state = self.state
        require(isinstance(state, OptimizerState), f"state: expected an OptimizerState, got {type(state).__name__}")
        validate.count("state.step", state.step)
        unknown = sorted(set(state.buffers) - set(self.buffer_names))
        if unknown:
            raise InputError(f"state: unknown buffer {unknown[0]!r} for {self!r}; it keeps "
                             f"{', '.join(self.buffer_names) or 'no buffers'}")
        out = {}
        for name in self.buffer_names:
            buf = state.buffers.get(name, Buffers(LayerDict(), LayerDict()))
            out[name] = Buffers(*(LayerDict({l: _buffer(f"state[{name!r}].{kind}[{l}]", getattr(buf, kind).get(l),
                                                         params[l], net.dtype) for l in params})
                                  for kind, params in (("W", net.W), ("b", net.b))))
        return out


def _buffer(name: str, value: object, param: Array | None, dtype: type[np.floating]) -> Array | None:
    """A buffer as an array of the parameter's shape and dtype, or None where there is none."""
    if value is None:
        return None
    require(param is not None, f"{name}: expected None (the layer has no bias), got an array")
    array = validate.float_array(name, value, dtype, copy=False)
    require(array.shape == param.shape, f"{name}: expected shape {param.shape} (the parameter's), got {array.shape}")
    return array


def _step(theta: Array, d: Array, gamma: float) -> Array:
    """theta - gamma d: Eq. 5's subtraction, with the optimizer's direction d for dL/dtheta."""
    return BACKPROP.update(theta, d, theta.dtype.type(gamma))


class SGD(Optimizer):
    """torch.optim.SGD. With g_t = dL/dtheta (-dL/dtheta to maximize), mu the momentum, tau the
    dampening::

        if lambda != 0:  g_t <- g_t + lambda theta_(t-1)          (coupled weight decay)
        if mu != 0:
            b_t <- g_t                        if t = 1
            b_t <- mu b_(t-1) + (1 - tau) g_t  if t > 1            (state 'momentum_buffer')
            g_t <- g_t + mu b_t  if nesterov, else  g_t <- b_t
        theta_t <- theta_(t-1) - gamma g_t

    Without momentum, weight decay or maximize this is Eq. 5, and ``step`` is ``sgd_step``."""

    name = "SGD"

    def __init__(self, lr: float, momentum: float = 0.0, dampening: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False, maximize: bool = False) -> None:
        super().__init__(lr, maximize)
        self.momentum = validate.in_range("momentum", momentum, 0.0, math.inf)
        self.dampening = validate.in_range("dampening", dampening, 0.0, 1.0)
        self.weight_decay = validate.in_range("weight_decay", weight_decay, 0.0, math.inf)
        self.nesterov = validate.flag("nesterov", nesterov)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise InputError(f"nesterov: Nesterov momentum needs momentum > 0 and dampening = 0, got momentum="
                             f"{self.momentum:g}, dampening={self.dampening:g}")

    @property
    def plain(self) -> bool:
        """No momentum, no weight decay, not maximizing: the document's Eq. 5."""
        return self.momentum == 0 and self.weight_decay == 0 and not self.maximize

    @property
    def buffer_names(self) -> tuple[str, ...]:
        return ("momentum_buffer",) if self.momentum != 0 else ()

    def hyperparameters(self) -> dict[str, object]:
        return {"lr": self.lr, "momentum": self.momentum, "dampening": self.dampening,
                "weight_decay": self.weight_decay, "nesterov": self.nesterov, "maximize": self.maximize}

    def step(self, net: Network, grads: Gradients, update_biases: bool = True) -> Network:
        if not self.plain:
            return super().step(net, grads, update_biases)
        self._checked_buffers(net)
        out = sgd_step(net, grads, self.lr, update_biases)  # Eq. 5 itself
        self.state = OptimizerState(self.state.step + 1)
        return out

    def rule(self, theta: Array, g: Array, buffers: dict[str, Array | None], t: int
             ) -> tuple[Array, dict[str, Array]]:
        g = self.direction(g)
        if self.weight_decay != 0:
            g = g + self.weight_decay * theta
        if self.momentum == 0:
            return _step(theta, g, self.lr), {}
        prev = buffers["momentum_buffer"]
        buf = g.copy() if prev is None else self.momentum * prev + (1.0 - self.dampening) * g
        g = g + self.momentum * buf if self.nesterov else buf
        return _step(theta, g, self.lr), {"momentum_buffer": buf}


class Adam(Optimizer):
    """torch.optim.Adam. With g_t = dL/dtheta (-dL/dtheta to maximize), m_0 = v_0 = v_0^max = 0::

        if lambda != 0:  g_t <- g_t + lambda theta_(t-1)          (coupled: L2 in the gradient)
        m_t <- beta1 m_(t-1) + (1 - beta1) g_t                    (state 'exp_avg')
        v_t <- beta2 v_(t-1) + (1 - beta2) g_t^2                  (state 'exp_avg_sq')
        m^_t <- m_t / (1 - beta1^t)                               (bias corrections)
        v^_t <- v_t / (1 - beta2^t);  with amsgrad:  v_t^max <- max(v_(t-1)^max, v_t),
                                      v^_t <- v_t^max / (1 - beta2^t)   (state 'max_exp_avg_sq')
        theta_t <- theta_(t-1) - gamma m^_t / (sqrt(v^_t) + eps)  (eps outside the root)

    torch's code computes the last line as theta - (gamma / (1 - beta1^t)) m_t /
    (sqrt(v_t) / sqrt(1 - beta2^t) + eps), the same numbers up to rounding; so does this one."""

    name = "Adam"
    decoupled = False

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, maximize: bool = False) -> None:
        super().__init__(lr, maximize)
        pair = validate.layer_count("betas", betas)
        require(len(pair) == 2, f"betas: expected two numbers (beta1, beta2), got {len(pair)}")
        self.betas = (validate.in_range("beta1", pair[0], 0.0, 1.0, high_open=True),
                      validate.in_range("beta2", pair[1], 0.0, 1.0, high_open=True))
        self.eps = validate.in_range("eps", eps, 0.0, math.inf)
        self.weight_decay = validate.in_range("weight_decay", weight_decay, 0.0, math.inf)
        self.amsgrad = validate.flag("amsgrad", amsgrad)

    @property
    def buffer_names(self) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") if self.amsgrad else ("exp_avg", "exp_avg_sq")

    def hyperparameters(self) -> dict[str, object]:
        return {"lr": self.lr, "betas": self.betas, "eps": self.eps, "weight_decay": self.weight_decay,
                "amsgrad": self.amsgrad, "maximize": self.maximize}

    def rule(self, theta: Array, g: Array, buffers: dict[str, Array | None], t: int
             ) -> tuple[Array, dict[str, Array]]:
        beta1, beta2 = self.betas
        g = self.direction(g)
        if self.weight_decay != 0:
            if self.decoupled:
                theta = theta * (1.0 - self.lr * self.weight_decay)  # AdamW: theta - gamma lambda theta
            else:
                g = g + self.weight_decay * theta
        zero = np.zeros_like(theta)
        m = beta1 * _or(buffers["exp_avg"], zero) + (1.0 - beta1) * g
        v = beta2 * _or(buffers["exp_avg_sq"], zero) + (1.0 - beta2) * (g * g)
        out = {"exp_avg": m, "exp_avg_sq": v}
        if self.amsgrad:
            v = out["max_exp_avg_sq"] = np.maximum(_or(buffers["max_exp_avg_sq"], zero), v)
        step_size = self.lr / (1.0 - beta1**t)
        denom = np.sqrt(v) / math.sqrt(1.0 - beta2**t) + self.eps
        return _step(theta, m / denom, step_size), out


class AdamW(Adam):
    """torch.optim.AdamW: Adam with decoupled weight decay. The decay is applied to theta
    itself before the moments, and never enters them::

        theta_t <- theta_(t-1) - gamma lambda theta_(t-1)
        m_t, v_t, m^_t, v^_t as Adam's, from g_t without the lambda theta term
        theta_t <- theta_t - gamma m^_t / (sqrt(v^_t) + eps)

    The decay is computed as theta (1 - gamma lambda), as torch does. torch's default weight
    decay here is 1e-2 (Adam's is 0)."""

    name = "AdamW"
    decoupled = True

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, maximize: bool = False) -> None:
        super().__init__(lr, betas, eps, weight_decay, amsgrad, maximize)


class RMSprop(Optimizer):
    """torch.optim.RMSprop. With g_t = dL/dtheta (-dL/dtheta to maximize), v_0 = b_0 = g^ave_0 = 0::

        if lambda != 0:  g_t <- g_t + lambda theta_(t-1)
        v_t <- alpha v_(t-1) + (1 - alpha) g_t^2                  (state 'square_avg')
        v~_t <- v_t;  if centered:  g^ave_t <- alpha g^ave_(t-1) + (1 - alpha) g_t   (state 'grad_avg')
                                    v~_t <- v~_t - (g^ave_t)^2
        if mu > 0:  b_t <- mu b_(t-1) + g_t / (sqrt(v~_t) + eps)   (state 'momentum_buffer')
                    theta_t <- theta_(t-1) - gamma b_t
        else:       theta_t <- theta_(t-1) - gamma g_t / (sqrt(v~_t) + eps)

    eps is added after the square root, as torch does (TensorFlow adds it inside)."""

    name = "RMSprop"

    def __init__(self, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum: float = 0.0, centered: bool = False, maximize: bool = False) -> None:
        super().__init__(lr, maximize)
        self.alpha = validate.in_range("alpha", alpha, 0.0, 1.0)
        self.eps = validate.in_range("eps", eps, 0.0, math.inf)
        self.weight_decay = validate.in_range("weight_decay", weight_decay, 0.0, math.inf)
        self.momentum = validate.in_range("momentum", momentum, 0.0, math.inf)
        self.centered = validate.flag("centered", centered)

    @property
    def buffer_names(self) -> tuple[str, ...]:
        return ("square_avg",) + (("momentum_buffer",) if self.momentum > 0 else ()) + \
            (("grad_avg",) if self.centered else ())

    def hyperparameters(self) -> dict[str, object]:
        return {"lr": self.lr, "alpha": self.alpha, "eps": self.eps, "weight_decay": self.weight_decay,
                "momentum": self.momentum, "centered": self.centered, "maximize": self.maximize}

    def rule(self, theta: Array, g: Array, buffers: dict[str, Array | None], t: int
             ) -> tuple[Array, dict[str, Array]]:
        alpha = self.alpha
        g = self.direction(g)
        if self.weight_decay != 0:
            g = g + self.weight_decay * theta
        zero = np.zeros_like(theta)
        v = alpha * _or(buffers["square_avg"], zero) + (1.0 - alpha) * (g * g)
        out = {"square_avg": v}
        v_tilde = v
        if self.centered:
            g_ave = out["grad_avg"] = alpha * _or(buffers["grad_avg"], zero) + (1.0 - alpha) * g
            v_tilde = v - g_ave * g_ave
        scaled = g / (np.sqrt(v_tilde) + self.eps)
        if self.momentum > 0:
            scaled = out["momentum_buffer"] = self.momentum * _or(buffers["momentum_buffer"], zero) + scaled
        return _step(theta, scaled, self.lr), out


def _or(buffer: Array | None, zero: Array) -> Array:
    """A buffer, or its initial value 0 before the first step."""
    return zero if buffer is None else buffer


OPTIMIZERS: dict[str, type[Optimizer]] = {cls.name: cls for cls in (SGD, Adam, AdamW, RMSprop)}
