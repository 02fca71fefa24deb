"""manual_bp.optimizers without torch: plain SGD is Eq. 5 bit for bit, each rule on numbers
worked by hand, the state in the open, nothing passed in modified, every bad setting refused
naming it. (Against torch.optim: tests/test_oracle/training/test_trajectories.py.)"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace

import numpy as np
import pytest
from networks import NETS, _data

from manual_bp import (
    SGD,
    Adam,
    AdamW,
    Buffers,
    Gradients,
    InputError,
    Network,
    Optimizer,
    OptimizerState,
    RMSprop,
    backward,
    forward,
    sgd_step,
    train,
)
from manual_bp.errors import LayerDict


def _grads(net, m=4):
    x, y = _data(net, m)
    return backward(net, forward(net, x), y)


@pytest.mark.parametrize("name", sorted(NETS))
def test_plain_sgd_is_eq5_bit_for_bit(name):
    net = NETS[name]()
    grads = _grads(net)
    opt = SGD(0.3)
    mine, eq5 = opt.step(net, grads), sgd_step(net, grads, 0.3)
    for l in net.W:
        assert np.array_equal(mine.W[l], eq5.W[l])
        assert (net.b[l] is None) or np.array_equal(mine.b[l], eq5.b[l])
    assert opt.state.step == 1 and opt.state.buffers == {}


def test_train_with_and_without_an_sgd_optimizer_is_the_same_run():
    net = NETS["leaky-elu-softplus-silu"]()
    x, y = _data(net, 6)
    a, b = train(net, x, y, 0.2, 7), train(net, x, y, None, 7, optimizer=SGD(0.2))
    assert a.losses == b.losses
    assert all(np.array_equal(p.W[l], q.W[l]) for p, q in zip(a.networks, b.networks, strict=True) for l in net.W)
    assert [s.step for s in b.states] == list(range(8))


# --- each rule on numbers worked by hand: one parameter, theta = 1, g = dL/dtheta given ------------


def _one(theta=1.0):
    return Network([[[theta]]], [[0.0]], "identity")


def _step(opt, net, g):
    """A step with dL/dW = g (and dL/db = 0)."""
    grads = Gradients(0.0, LayerDict(), LayerDict(), LayerDict({1: np.array([[g]])}), LayerDict({1: np.array([0.0])}))
    return opt.step(net, grads)


def test_sgd_momentum_dampening_nesterov_weight_decay_by_hand():
    # g' = g + 0.1 theta; b_1 = g'_1; b_2 = 0.9 b_1 + (1 - 0.5) g'_2; nesterov would need dampening 0.
    opt = SGD(0.1, momentum=0.9, dampening=0.5, weight_decay=0.1)
    net = _step(opt, _one(), 2.0)                       # g' = 2.1, b = 2.1, theta = 1 - 0.21 = 0.79
    assert net.W[1][0, 0] == pytest.approx(0.79, abs=1e-15)
    net = _step(opt, net, 1.0)                          # g' = 1.079, b = 1.89 + 0.5395 = 2.4295
    assert opt.state["momentum_buffer"].W[1][0, 0] == pytest.approx(2.4295, abs=1e-15)
    assert net.W[1][0, 0] == pytest.approx(0.79 - 0.24295, abs=1e-15)
    nes = SGD(0.1, momentum=0.9, nesterov=True)
    net = _step(nes, _one(), 2.0)                       # b = 2, g = 2 + 0.9 x 2 = 3.8
    assert net.W[1][0, 0] == pytest.approx(1 - 0.38, abs=1e-15)


def test_adam_first_step_is_lr_times_the_sign_and_bias_correction_by_hand():
    opt = Adam(0.01)
    net = _step(opt, _one(), 3.0)   # m^ = g, v^ = g^2: theta - 0.01 g / (|g| + 1e-8)
    assert net.W[1][0, 0] == pytest.approx(1 - 0.01 * 3 / (3 + 1e-8), abs=1e-16)
    net = _step(opt, net, -1.0)     # m = 0.9 x 0.3 - 0.1 = 0.17, v = 0.999 x 0.009 + 0.001 = 0.009991
    m_hat, v_hat = 0.17 / (1 - 0.81), 0.009991 / (1 - 0.999**2)
    assert opt.state["exp_avg"].W[1][0, 0] == pytest.approx(0.17, abs=1e-15)
    assert opt.state["exp_avg_sq"].W[1][0, 0] == pytest.approx(0.009991, abs=1e-15)
    assert net.W[1][0, 0] == pytest.approx(1 - 0.01 * 3 / (3 + 1e-8) - 0.01 * m_hat / (math.sqrt(v_hat) + 1e-8),
                                           abs=1e-15)
    assert opt.state.step == 2


def test_amsgrad_keeps_the_largest_second_moment():
    opt = Adam(0.01, amsgrad=True)
    net = _step(opt, _one(), 3.0)
    _step(opt, net, 0.0)            # v falls to 0.999 x 0.009; the max stays 0.009
    assert opt.state["max_exp_avg_sq"].W[1][0, 0] == pytest.approx(0.009, abs=1e-17)
    assert opt.state["exp_avg_sq"].W[1][0, 0] == pytest.approx(0.999 * 0.009, abs=1e-17)


def test_adamw_decays_theta_itself_and_adam_the_gradient():
    w, c = AdamW(0.01, weight_decay=0.5), Adam(0.01, weight_decay=0.5)
    net_w, net_c = _step(w, _one(2.0), 0.0), _step(c, _one(2.0), 0.0)
    # AdamW: theta (1 - 0.01 x 0.5) = 1.99, then the moments of g = 0 move nothing.
    assert net_w.W[1][0, 0] == pytest.approx(1.99, abs=1e-15)
    assert w.state["exp_avg"].W[1][0, 0] == 0.0
    # Adam: g' = 0 + 0.5 x 2 = 1 enters the moments; the first step is 0.01 x sign.
    assert c.state["exp_avg"].W[1][0, 0] == pytest.approx(0.1, abs=1e-16)
    assert net_c.W[1][0, 0] == pytest.approx(2 - 0.01 / (1 + 1e-8), abs=1e-15)


def test_rmsprop_centered_with_momentum_by_hand():
    opt = RMSprop(0.01, alpha=0.9, momentum=0.5, centered=True)
    net = _step(opt, _one(), 2.0)   # v = 0.4, g_ave = 0.2, v~ = 0.36, b = 2 / (0.6 + 1e-8)
    b1 = 2 / (0.6 + 1e-8)
    assert net.W[1][0, 0] == pytest.approx(1 - 0.01 * b1, abs=1e-15)
    net = _step(opt, net, 1.0)      # v = 0.46, g_ave = 0.28, v~ = 0.3816, b = 0.5 b1 + 1 / (sqrt(0.3816) + 1e-8)
    b2 = 0.5 * b1 + 1 / (math.sqrt(0.46 - 0.28**2) + 1e-8)
    assert opt.state["momentum_buffer"].W[1][0, 0] == pytest.approx(b2, abs=1e-14)
    assert net.W[1][0, 0] == pytest.approx(1 - 0.01 * b1 - 0.01 * b2, abs=1e-15)


def test_maximize_ascends():
    up, down = SGD(0.1, maximize=True, momentum=0.5), SGD(0.1, momentum=0.5)
    assert _step(up, _one(), 2.0).W[1][0, 0] == pytest.approx(1.2) and _step(down, _one(), 2.0).W[1][0, 0] == 0.8


# --- the state, and what is not modified -----------------------------------------------------------


@pytest.mark.parametrize("make", [lambda: SGD(0.1, momentum=0.9), lambda: Adam(amsgrad=True), lambda: AdamW(),
                                  lambda: RMSprop(momentum=0.3, centered=True)], ids=repr)
def test_state_has_one_read_only_buffer_per_parameter_and_nothing_passed_in_changes(make):
    net = NETS["mixed-bias"]()  # shared, none and per-unit biases
    grads = _grads(net)
    before = [a.copy() for a in (*net.W.values(), *grads.dW.values())]
    opt = make()
    assert opt.state.step == 0 and opt.state.buffers == {}
    with pytest.raises(KeyError, match="none yet"):
        opt.state[opt.buffer_names[0]]
    new = opt.step(net, grads)
    assert new is not net and opt.state.step == 1
    assert set(opt.state.buffers) == set(opt.buffer_names)
    for name in opt.buffer_names:
        buf = opt.state[name]
        for l in net.W:
            assert buf.W[l].shape == net.W[l].shape and not buf.W[l].flags.writeable
            assert (buf.b[l] is None) == (net.b[l] is None)
            if net.b[l] is not None:
                assert buf.b[l].shape == net.b[l].shape
    after = [*net.W.values(), *grads.dW.values()]
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))


def test_update_biases_false_keeps_biases_and_makes_no_bias_buffers():
    net = NETS["tanh-identity"]()
    opt = Adam()
    new = opt.step(net, _grads(net), update_biases=False)
    assert all(np.array_equal(new.b[l], net.b[l]) for l in net.b)
    assert all(v is None for v in opt.state["exp_avg"].b.values())


def test_a_state_can_be_set_and_is_checked():
    net = NETS["tanh-identity"]()
    opt = SGD(0.1, momentum=0.9)
    buf = {l: np.ones_like(net.W[l]) for l in net.W}
    opt.state = OptimizerState(3, {"momentum_buffer": Buffers(LayerDict(buf), LayerDict({1: None, 2: None}))})
    opt.step(net, _grads(net))
    opt.state = OptimizerState(1, {"momentum_buffer": Buffers(LayerDict({1: np.ones((2, 2))}), LayerDict())})
    with pytest.raises(InputError, match=r"state\['momentum_buffer'\]\.W\[1\]: expected shape \(4, 3\)"):
        opt.step(net, _grads(net))
    opt.state = OptimizerState(1, {"exp_avg": Buffers(LayerDict(), LayerDict())})
    with pytest.raises(InputError, match="unknown buffer 'exp_avg'"):
        opt.step(net, _grads(net))


def test_a_step_that_overflows_is_refused_and_leaves_the_state_as_it_was():
    net = _one(1e308)
    opt = SGD(1.0, weight_decay=1e308)
    with pytest.raises(InputError, match=r"W\^\(1\)"):
        _step(opt, net, 1.0)
    assert opt.state.step == 0


# --- bad settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("make", "match"), [
    (lambda: SGD(0.0), "lr: expected a positive"),
    (lambda: SGD(0.1, momentum=-0.1), "momentum: expected a number >= 0"),
    (lambda: SGD(0.1, dampening=2.0), "dampening: expected a number with 0 <= dampening <= 1"),
    (lambda: SGD(0.1, nesterov=True), "nesterov: Nesterov momentum needs momentum > 0"),
    (lambda: SGD(0.1, momentum=0.9, dampening=0.1, nesterov=True), "dampening = 0"),
    (lambda: SGD(0.1, nesterov="yes"), "nesterov: expected True or False"),
    (lambda: Adam(betas=(0.9, 1.0)), "beta2: expected a number with 0 <= beta2 < 1"),
    (lambda: Adam(betas=0.9), "betas: expected a list"),
    (lambda: Adam(betas=(0.9,)), "betas: expected two numbers"),
    (lambda: Adam(eps=-1e-8), "eps: expected a number >= 0"),
    (lambda: AdamW(weight_decay=float("nan")), "weight_decay: expected a number >= 0"),
    (lambda: Adam(amsgrad=1), "amsgrad: expected True or False"),
    (lambda: RMSprop(alpha=1.5), "alpha: expected a number with 0 <= alpha <= 1"),
    (lambda: RMSprop(centered="no"), "centered: expected True or False"),
])
def test_bad_settings_are_refused_naming_the_argument(make, match):
    with pytest.raises(InputError, match=match):
        make()


def test_train_refuses_two_learning_rates_and_a_non_optimizer():
    net = NETS["one-layer"]()
    x, y = _data(net, 2)
    with pytest.raises(InputError, match=r"lr: 0\.5 differs from the optimizer's lr=0\.1"):
        train(net, x, y, 0.5, 1, optimizer=SGD(0.1))
    with pytest.raises(InputError, match=r"optimizer: expected an optimizer of manual_bp\.optimizers"):
        train(net, x, y, None, 1, optimizer="adam")


# --- settings, defaults (torch.optim's) and messages, in full -----------------------------------


@pytest.mark.parametrize(("make", "text"), [
    (lambda: SGD(0.1), "SGD(lr=0.1, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False)"),
    (lambda: Adam(), "Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0, amsgrad=False, maximize=False)"),
    (lambda: Adam(maximize=True), "Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0, amsgrad=False, "
                                  "maximize=True)"),
    (lambda: AdamW(), "AdamW(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01, amsgrad=False, "
                      "maximize=False)"),
    (lambda: AdamW(amsgrad=False, maximize=True), "AdamW(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01, "
                                                  "amsgrad=False, maximize=True)"),
    (lambda: RMSprop(), "RMSprop(lr=0.01, alpha=0.99, eps=1e-08, weight_decay=0.0, momentum=0.0, centered=False, "
                        "maximize=False)"),
    (lambda: RMSprop(maximize=True), "RMSprop(lr=0.01, alpha=0.99, eps=1e-08, weight_decay=0.0, momentum=0.0, "
                                     "centered=False, maximize=True)"),
    (lambda: Optimizer(0.5), "Optimizer(lr=0.5, maximize=False)"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_repr_shows_every_setting_and_torchs_defaults(make, text):
    assert repr(make()) == text


def _no_bias_grads(net):
    g = _grads(net)
    return replace(g, db=LayerDict({l: None for l in net.W}))


@pytest.mark.parametrize(("call", "message"), [
    (lambda: Adam(maximize="no"), "maximize: expected True or False, got 'no'"),
    (lambda: SGD(0.1, weight_decay=-1), "weight_decay: expected a number >= 0, got -1"),
    (lambda: RMSprop(eps=-1), "eps: expected a number >= 0, got -1"),
    (lambda: RMSprop(weight_decay=-1), "weight_decay: expected a number >= 0, got -1"),
    (lambda: RMSprop(momentum=-1), "momentum: expected a number >= 0, got -1"),
    (lambda: Adam(betas=(1.0, 0.999)), "beta1: expected a number with 0 <= beta1 < 1, got 1.0"),
    (lambda: Adam().step(_one(), _grads(_one()), update_biases="no"),
     "update_biases: expected True or False, got 'no'"),
    (lambda: Adam().step(_one(), _no_bias_grads(_one())), "grads.db[1]: expected shape (1,), got nothing"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_bad_settings_and_steps_have_the_whole_message(call, message):
    with pytest.raises(InputError) as info:
        call()
    assert str(info.value) == message


def _state_message(opt, state, net=None):
    opt.state = state
    with pytest.raises(InputError) as info:
        opt.step(net or _one(), _grads(net or _one()))
    return str(info.value)


def test_a_bad_state_has_the_whole_message():
    empty = Buffers(LayerDict(), LayerDict())
    assert _state_message(SGD(0.1), "junk") == "state: expected an OptimizerState, got str"
    assert _state_message(SGD(0.1), OptimizerState(-1)) == "state.step: expected an integer >= 0, got -1"
    assert _state_message(SGD(0.1), OptimizerState(1, {"exp_avg": empty})) == (
        "state: unknown buffer 'exp_avg' for SGD(lr=0.1, momentum=0.0, dampening=0.0, weight_decay=0.0, "
        "nesterov=False, maximize=False); it keeps no buffers")
    assert _state_message(Adam(), OptimizerState(1, {"momentum_buffer": empty})).endswith(
        "; it keeps exp_avg, exp_avg_sq")
    no_bias = Network([[[1.0]]], None, "identity")
    bias_buf = Buffers(LayerDict({1: np.zeros((1, 1))}), LayerDict({1: np.zeros(1)}))
    assert _state_message(Adam(), OptimizerState(1, {"exp_avg": bias_buf}), no_bias) == (
        "state['exp_avg'].b[1]: expected None (the layer has no bias), got an array")
    assert _state_message(Adam(), OptimizerState(1, {"exp_avg": Buffers(LayerDict({1: np.zeros(3)}), LayerDict())})) \
        == "state['exp_avg'].W[1]: expected shape (1, 1) (the parameter's), got (3,)"
    nan = Buffers(LayerDict({1: np.full((1, 1), np.nan)}), LayerDict())
    assert _state_message(Adam(), OptimizerState(1, {"exp_avg": nan})) == (
        "state['exp_avg'].W[1]: expected finite values, got nan at index [0, 0]")


def test_a_missing_buffer_has_the_whole_message():
    with pytest.raises(KeyError, match=r"no buffer 'exp_avg'; this state has: none yet \(the first step creates"):
        OptimizerState()["exp_avg"]
    opt = Adam()
    _step(opt, _one(), 1.0)
    with pytest.raises(KeyError) as info:
        opt.state["momentum_buffer"]
    assert info.value.args[0] == "no buffer 'momentum_buffer'; this state has: exp_avg, exp_avg_sq"


# --- the rules' remaining branches, by hand -------------------------------------------------------


def test_sgd_weight_decay_without_momentum_by_hand():
    # g' = g + 1.0 theta = 2 + 1 = 3, theta = 1 - 0.1 x 3 = 0.7
    assert _step(SGD(0.1, weight_decay=1.0), _one(), 2.0).W[1][0, 0] == pytest.approx(0.7, abs=1e-15)


def test_adam_weight_decay_of_one_by_hand():
    # g' = 0 + 1.0 x 2 = 2: the first step is 0.01 g' / (|g'| + 1e-8)
    assert _step(Adam(0.01, weight_decay=1.0), _one(2.0), 0.0).W[1][0, 0] == pytest.approx(2 - 0.01 * 2 / (2 + 1e-8),
                                                                                          abs=1e-15)


@pytest.mark.parametrize("weight_decay", [0.5, 1.0])
def test_rmsprop_plain_with_weight_decay_by_hand(weight_decay):
    # g' = 1 + wd x 2, v = 0.1 g'^2, theta = 2 - 0.01 g' / (sqrt(v) + 1e-8)
    opt, g = RMSprop(0.01, alpha=0.9, weight_decay=weight_decay), 1.0 + weight_decay * 2.0
    net = _step(opt, _one(2.0), 1.0)
    assert opt.state["square_avg"].W[1][0, 0] == pytest.approx(0.1 * g * g, rel=1e-15)
    assert net.W[1][0, 0] == pytest.approx(2 - 0.01 * g / (math.sqrt(0.1 * g * g) + 1e-8), abs=1e-15)


def test_rmsprop_centered_grad_avg_keeps_the_sign_of_g():
    opt = RMSprop(0.01, alpha=0.9, centered=True)
    _step(opt, _one(), 2.0)
    assert opt.state["grad_avg"].W[1][0, 0] == pytest.approx(0.2, abs=1e-16)  # (1 - 0.9) x 2


def test_bias_buffers_carry_from_step_to_step():
    # dL/db = 1 twice: m_1 = 0.1, m_2 = 0.9 x 0.1 + 0.1 = 0.19; a step that leaves the biases
    # alone carries their buffers over as they were.
    opt, net = Adam(), _one()
    grads = Gradients(0.0, LayerDict(), LayerDict(), LayerDict({1: np.zeros((1, 1))}), LayerDict({1: np.ones(1)}))
    net = opt.step(opt.step(net, grads), grads)
    assert opt.state["exp_avg"].b[1][0] == pytest.approx(0.19, abs=1e-16)
    opt.step(net, grads, update_biases=False)
    assert opt.state["exp_avg"].b[1][0] == pytest.approx(0.19, abs=1e-16)


def test_sgd_with_momentum_and_update_biases_false_keeps_biases():
    net = NETS["tanh-identity"]()
    new = SGD(0.1, momentum=0.9).step(net, _grads(net), update_biases=False)
    assert all(np.array_equal(new.b[l], net.b[l]) for l in net.b)


@pytest.mark.parametrize("make", [lambda: SGD(0.1, momentum=0.9), Adam, lambda: RMSprop(momentum=0.5, centered=True)])
def test_float32_buffers_stay_float32(make):
    net, opt = Network.random([3, 2], seed=1, dtype="float32"), make()
    grads = _grads(net)
    opt.step(opt.step(net, grads), grads)
    assert all(v.dtype == np.float32 for buf in opt.state.buffers.values() for v in (*buf.W.values(),
                                                                                      *buf.b.values()))


@pytest.mark.parametrize(("opt", "g"), [
    (lambda: SGD(1e300, momentum=0.5), 1e10),    # lr g overflows
    (lambda: RMSprop(centered=True), 1e200),     # g^2 overflows, v - g_ave^2 is inf - inf
    (lambda: RMSprop(eps=0.0), 1e-170),          # g^2 underflows to 0: g / 0
])
def test_a_step_that_overflows_is_refused_without_numpy_warnings(opt, g):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InputError, match=r"^W\^\(1\): expected finite values, got "):
            _step(opt(), _one(), g)


def test_a_buffer_that_overflows_is_refused_at_its_own_step_and_the_state_stays():
    # weight decay 1e308 makes g = dL/dW + 1e308 W, and g^2 in exp_avg_sq overflows to inf: found by the
    # fuzz harness, where the step used to succeed and the next one blamed the state.
    net = Network([[[0.4]]], [[0.1]])
    grads = backward(net, forward(net, [0.5]), [1.0])
    opt = Adam(lr=0.01, weight_decay=1e308)
    with pytest.raises(InputError, match=r"^step: the buffer 'exp_avg_sq' of W\^\(1\) overflowed"):
        opt.step(net, grads)
    assert opt.state.step == 0 and not opt.state.buffers


def test_the_overflowing_buffer_of_a_bias_is_named_as_the_bias():
    net = Network([[[0.0]]], [[0.1]])  # weight decay of a zero weight is 0: only b's buffer overflows
    opt = Adam(lr=0.01, weight_decay=1e308)
    with pytest.raises(InputError, match=r"^step: the buffer 'exp_avg_sq' of b\^\(1\) overflowed"):
        opt.step(net, backward(net, forward(net, [0.5]), [1.0]))
