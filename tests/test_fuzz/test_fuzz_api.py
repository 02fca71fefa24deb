"""Fuzz manual_bp's public functions with good and hostile arguments: a checked result or one clean InputError."""

from __future__ import annotations

import datetime
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from fuzzing import HANG_LIMIT_S, RUN, assert_counted, skip_known, strict, time_limit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import agree

import manual_bp
from manual_bp import (
    ACTIVATIONS,
    SGD,
    Adam,
    AdamW,
    Cache,
    Gradients,
    InputError,
    Network,
    RMSprop,
    backward,
    forward,
    sgd_step,
    train,
)
from oracle.cases import Case

API_CALLS = 1500  # default tier: calls of Network, Network.random, forward, backward, sgd_step, train, .step
API_GRADIENT_CHECKS = 100  # default tier: good tiny networks whose backward is checked by finite differences
SLOW_API_CALLS = 13000  # slow tier
SLOW_API_GRADIENT_CHECKS = 1200

QUICK = settings(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
SLOW = settings(deadline=None, suppress_health_check=list(HealthCheck))
SMOOTH = ("sigmoid", "tanh", "identity", "softplus", "silu", "gelu", "softmax")  # no kink for central differences
ERROR_NAME = re.compile(r"^(?P<name>[^:\n]+): [^\n]+$")


def _torch() -> Any:
    import torch  # the suite has it (conftest imports it); manual_bp must refuse or take its tensors

    return torch


def _masked() -> Any:
    return np.ma.masked_array([1.0, 2.0], mask=[True, False])


def _generator() -> Any:
    return (v for v in [0.5, 0.5])


# Hostile values, as functions so each call gets a fresh one (a generator is spent once read).
HOSTILE: dict[str, Callable[[], Any]] = {
    "None": lambda: None, "dict": lambda: {"a": 1.0}, "empty dict": dict, "string": lambda: "0.5",
    "empty string": lambda: "", "bytes": lambda: b"\x00\x01", "True": lambda: True, "complex": lambda: 1 + 2j,
    "masked": _masked, "datetime64": lambda: np.datetime64("2020-01-01"),
    "timedelta64": lambda: np.timedelta64(3, "s"), "datetime": lambda: datetime.datetime(2020, 1, 1),
    "structured": lambda: np.zeros(2, dtype=[("a", "f8"), ("b", "i4")]),
    "object array": lambda: np.array([1.0, "a"], dtype=object), "ragged": lambda: [[1.0], [1.0, 2.0]],
    "generator": _generator, "0-d": lambda: np.array(0.5), "huge int": lambda: 10**400,
    "huge int list": lambda: [10**400, 1], "nan": lambda: float("nan"), "inf": lambda: float("inf"),
    "-inf": lambda: -float("inf"), "nan array": lambda: np.array([np.nan, 0.5]), "1e308": lambda: [1e308, 1e308],
    "float16": lambda: np.ones(2, dtype=np.float16), "longdouble": lambda: np.ones(2, dtype=np.longdouble),
    "complex array": lambda: np.ones(2, dtype=complex), "bool array": lambda: np.ones(2, dtype=bool),
    "string list": lambda: ["0.5", "1"], "None list": lambda: [None, None], "empty list": list,
    "empty array": lambda: np.zeros((0,)), "3-d": lambda: np.ones((2, 2, 2)), "torch": lambda: _torch().ones(2),
    "torch grad": lambda: _torch().ones(2, requires_grad=True), "negative": lambda: -1, "zero": lambda: 0,
    "float": lambda: 1.5, "huge float": lambda: 1e300, "int64 max": lambda: np.int64(2**63 - 1),
    "uint64": lambda: np.uint64(2**64 - 1), "set": lambda: {1.0}, "object": object, "type": lambda: float,
    "function": lambda: print, "nested": lambda: [[[[[[0.5]]]]]], "list of arrays": lambda: [np.ones(2), np.ones(3)],
    "Fraction": lambda: __import__("fractions").Fraction(1, 3), "Decimal": lambda: __import__("decimal").Decimal("0.5"),
    "memoryview": lambda: memoryview(b"ab"), "range": lambda: range(2),
}
HOSTILE_LABELS = sorted(HOSTILE)
# train(steps=10**400) is a valid request that runs ~forever (like sweep --networks 10**30): not for steps.
COUNT_LABELS = [k for k in HOSTILE_LABELS if k not in ("huge int", "int64 max", "uint64")]


@dataclass
class Scene:
    """A good setting for one call: a network, its data and loss, and a forward pass of it."""

    net: Network
    x: np.ndarray
    y: Any
    loss: str
    reduction: str
    sizes: list[int]
    acts: list[str]
    weights: list[np.ndarray]
    biases: list[np.ndarray | float | None]
    other: Network  # a network of other sizes, for a Cache or Gradients that do not belong
    rnd: random.Random


@st.composite
def scenes(draw: st.DrawFn, smooth: bool = False) -> Scene:
    rnd = random.Random(draw(st.integers(0, 2**64)))  # cheaper than st.randoms(): a draw for every number
    L = draw(st.integers(1, 3))
    sizes = draw(st.lists(st.integers(1, 3), min_size=L + 1, max_size=L + 1))
    pool = SMOOTH if smooth else tuple(ACTIVATIONS)
    acts = [rnd.choice(pool) for _ in range(L)]
    loss = draw(st.sampled_from(tuple(manual_bp.LOSSES)))
    if loss == "bce":
        acts[-1] = rnd.choice(("sigmoid", "softmax"))
    elif loss == "cross_entropy":
        acts[-1] = rnd.choice(("softmax", "softmax", "sigmoid"))
    dtype = rnd.choice((np.float64, np.float64, np.float32))
    weights = [np.array([[rnd.uniform(-1.5, 1.5) for _ in range(sizes[l - 1])] for _ in range(sizes[l])])
               for l in range(1, L + 1)]
    biases: list[Any] = []
    for l in range(1, L + 1):
        kind = rnd.choice(("unit", "unit", "shared", "none"))
        biases.append(np.array([rnd.uniform(-1, 1) for _ in range(sizes[l])]) if kind == "unit"
                      else rnd.uniform(-1, 1) if kind == "shared" else None)
    net = Network(weights, biases, acts, dtype)
    m = rnd.choice((None, 1, 2, 3))
    x = np.array([rnd.uniform(-2, 2) for _ in range(sizes[0])]) if m is None else \
        np.array([[rnd.uniform(-2, 2) for _ in range(m)] for _ in range(sizes[0])])
    cols, nL = 1 if m is None else m, sizes[-1]
    if loss == "cross_entropy" and rnd.random() < 0.4:
        idx = np.array([rnd.randrange(nL) for _ in range(cols)])
        y: Any = idx[0] if m is None else idx
    elif loss in ("bce", "cross_entropy"):
        Y = np.zeros((nL, cols))
        for k in range(cols):
            Y[rnd.randrange(nL), k] = 1.0
        y = Y[:, 0] if m is None else Y
    else:
        y = np.array([[rnd.uniform(-1, 1) for _ in range(cols)] for _ in range(nL)])
        y = y[:, 0] if m is None else y
    other = Network.random([s + 1 for s in sizes], "tanh", seed=rnd.randrange(100))
    return Scene(net, x, y, loss, rnd.choice(("mean", "sum")), sizes, acts, weights, biases, other, rnd)


def _wrong_shapes(scene: Scene, value: Any) -> list[Callable[[], Any]]:
    """Variants of a good array: transposed, another length, a batch axis too many, float32, int, torch."""
    a = np.asarray(value)
    out: list[Callable[[], Any]] = [lambda: a.T, lambda: a[..., None], lambda: np.append(a.ravel(), 0.5),
                                    lambda: a.astype(np.float32), lambda: np.rint(a).astype(np.int64),
                                    lambda: a.tolist(), lambda: np.asfortranarray(a), lambda: a.reshape(-1)[::-1]]
    if a.dtype.kind == "f":
        out.append(lambda: _torch().tensor(a))
        out.append(lambda: _torch().tensor(a, requires_grad=True))
    return out


def _numeric(value: Any) -> bool:
    if value is None or isinstance(value, str | bool | Network | Cache | Gradients):
        return False
    try:
        return np.asarray(value).dtype.kind in "fiu"
    except ValueError:  # a list of arrays of different shapes
        return False


def _value(scene: Scene, good: Any, hostile_rate: int, labels: Sequence[str] | None = None) -> tuple[Any, str | None]:
    """``good``, or (1 time in hostile_rate) a hostile value (one of ``labels``) or a variant of it, with its label."""
    rnd = scene.rnd
    if rnd.randrange(hostile_rate) != 0:
        return good, None
    if _numeric(good) and rnd.random() < 0.5:
        variants = _wrong_shapes(scene, good)
        i = rnd.randrange(len(variants))
        return variants[i](), f"variant {i}"
    label = rnd.choice(labels or HOSTILE_LABELS)
    return HOSTILE[label](), label


OPTIMIZERS = {
    "SGD": (SGD, {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.01, "nesterov": False,
                  "maximize": False}),
    "Adam": (Adam, {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": True,
                    "maximize": False}),
    "AdamW": (AdamW, {"lr": 0.01, "betas": (0.9, 0.99), "eps": 1e-8, "weight_decay": 0.01, "amsgrad": False,
                      "maximize": True}),
    "RMSprop": (RMSprop, {"lr": 0.01, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.5,
                          "centered": True, "maximize": False}),
}
CALLS = ("Network", "Network.random", "forward", "backward", "sgd_step", "train", "optimizer")
SETTINGS_HOSTILE = ("0", "hinge", "", "Sigmoid", "SUM", "glorot ", "he", "uniform", "per_unit", "none", "shared")


@dataclass
class Call:
    name: str
    fn: Callable[..., Any]
    kwargs: dict[str, Any]
    hostile: dict[str, str]  # argument -> label of what replaced the good value
    scene: Scene


@st.composite
def calls(draw: st.DrawFn, hostile_rate: int = 6) -> Call:
    scene = draw(scenes())
    name = draw(st.sampled_from(CALLS))
    net, hostile, rnd = scene.net, {}, scene.rnd

    def arg(key: str, good: Any, extra: tuple[Any, ...] = ()) -> Any:
        if extra and rnd.randrange(2 * hostile_rate) == 0:
            value = rnd.choice(extra)
            hostile[key] = repr(value)
            return value
        value, label = _value(scene, good, hostile_rate, COUNT_LABELS if key == "steps" else None)
        if label is not None:
            hostile[key] = label
        return value

    cache = forward(net, scene.x)
    loss_names = (*SETTINGS_HOSTILE, *manual_bp.LOSSES)
    if name == "Network":
        weights = arg("weights", scene.weights)
        if not hostile and rnd.randrange(3) == 0:  # one layer's matrix hostile
            l = rnd.randrange(len(scene.weights))
            v, label = _value(scene, scene.weights[l], 1)
            weights = [*scene.weights[:l], v, *scene.weights[l + 1:]]
            hostile["weights"] = f"W[{l}] {label}"
        kwargs = {"weights": weights, "biases": arg("biases", scene.biases),
                  "activations": arg("activations", scene.acts, ("sigmoid", "nope", ["sigmoid"] * 9, [1], "")),
                  "dtype": arg("dtype", np.dtype(net.dtype).name, ("float16", "int64", np.float32, float, "f8")),
                  "copy": arg("copy", rnd.random() < 0.5)}
        fn: Callable[..., Any] = Network
    elif name == "Network.random":
        kwargs = {"sizes": arg("sizes", scene.sizes, ([1], [0, 1], [True, 1], [2.0, 1], [10**400, 1], [-1, 2],
                                                      [np.int64(2), np.int8(1)])),
                  "activations": arg("activations", scene.acts, ("softmax", "nope")),
                  "init": arg("init", rnd.choice(("uniform", "glorot", "he")), SETTINGS_HOSTILE),
                  "seed": arg("seed", rnd.randint(0, 2**32), (None, -1, 10**400, 2**64, np.uint64(7), 1.0)),
                  "dtype": arg("dtype", "float64", ("float32", "float16")),
                  "bias": arg("bias", rnd.choice(("per_unit", "shared", "none")), SETTINGS_HOSTILE)}
        fn = Network.random
    elif name == "forward":
        kwargs = {"net": arg("net", net), "x": arg("x", scene.x)}
        fn = forward
    elif name == "backward":
        other_cache = forward(scene.other, np.zeros(scene.other.sizes[0]))
        twin = Network.random(net.sizes, [net.activations[l] for l in net.W], seed=1, dtype=net.dtype)
        twin_cache = forward(twin, scene.x)  # the same sizes, other weights: not this network's cache
        kwargs = {"net": arg("net", net), "cache": arg("cache", cache, (other_cache, twin_cache, None, "cache")),
                  "y": arg("y", scene.y), "loss": arg("loss", scene.loss, loss_names),
                  "reduction": arg("reduction", scene.reduction, SETTINGS_HOSTILE)}
        fn = backward
    elif name in ("sgd_step", "optimizer"):
        grads = _good_grads(scene)
        if grads is None:
            name, fn, kwargs = "forward", forward, {"net": net, "x": scene.x}
        else:
            other_grads = backward(scene.other, forward(scene.other, np.zeros(scene.other.sizes[0])),
                                   np.zeros(scene.other.sizes[-1]))
            common = {"net": arg("net", net), "grads": arg("grads", grads, (other_grads, None, cache)),
                      "update_biases": arg("update_biases", rnd.random() < 0.5, (1, "no", None, np.bool_(True)))}
            if name == "sgd_step":
                kwargs = {**common, "lr": arg("lr", 0.1, (0, -0.1, 1e308, 10**400, True, "0.1", np.float32(0.1)))}
                fn = sgd_step
            else:
                kind = rnd.choice(sorted(OPTIMIZERS))
                cls, good = OPTIMIZERS[kind]
                hyper = {k: arg(k, v, (-1.0, 0.0, 1.0, 2.0, 1e308, (0.9,), (1.0, 0.5), "0.9", None))
                         for k, v in good.items() if (k == "lr" and kind == "SGD") or rnd.random() < 0.5}
                steps = rnd.randint(1, 3)
                switch = (scene.other, other_grads) if rnd.randrange(8) == 0 else None
                if switch:
                    hostile["state"] = "a last step on another network"
                kwargs = {**common, "_optimizer": (cls, hyper), "_steps": steps, "_switch": switch}
                fn = _optimizer_steps
    else:  # train
        opt = None
        if rnd.random() < 0.5:
            kind = rnd.choice(sorted(OPTIMIZERS))
            opt = OPTIMIZERS[kind][0](lr=0.05)
        kwargs = {"net": arg("net", net), "x": arg("x", scene.x), "y": arg("y", scene.y),
                  "lr": arg("lr", None if opt is not None else 0.1, (0.05, 0.2, -1.0, "0.1")),
                  "steps": arg("steps", rnd.randint(0, 3), (-1, 1.5, True, -(10**400), np.int64(2))),
                  "loss": arg("loss", scene.loss, loss_names),
                  "reduction": arg("reduction", scene.reduction, SETTINGS_HOSTILE),
                  "update_biases": arg("update_biases", True, ("yes", 0)),
                  "optimizer": arg("optimizer", opt, (SGD, "adam", Adam(lr=0.05)))}
        fn = train
    return Call(name, fn, kwargs, hostile, scene)


def _good_grads(scene: Scene) -> Gradients | None:
    try:
        return backward(scene.net, forward(scene.net, scene.x), scene.y, scene.loss, scene.reduction)
    except InputError:
        return None


def _optimizer_steps(net: Network, grads: Gradients, update_biases: Any, _optimizer: Any, _steps: int,
                     _switch: tuple[Network, Gradients] | None) -> Network:
    """An optimizer made with the given hyper-parameters, stepped ``_steps`` times on the same
    gradients (its state moves on), and maybe once more on another network with its state."""
    cls, hyper = _optimizer
    opt = cls(**hyper)
    out = net
    for _ in range(_steps):
        out = opt.step(net, grads, update_biases)
    if _switch is not None:
        opt.step(*_switch)  # the state's buffers have this network's shapes, not the other's
    return out


# Which names an InputError may start with when an argument was hostile (besides generic ones).
ARG_NAMES = {
    "weights": ("weights", "W^("), "biases": ("biases", "b^("), "activations": ("activations", "activation of layer"),
    "dtype": ("dtype",), "sizes": ("sizes",), "init": ("init",), "seed": ("seed",), "bias": ("bias",),
    "net": ("net",), "x": ("x",), "cache": ("cache",), "y": ("y",), "loss": ("loss",), "reduction": ("reduction",),
    "grads": ("grads",), "lr": ("lr",), "update_biases": ("update_biases",), "steps": ("steps",),
    "optimizer": ("optimizer",), "copy": ("copy",), "momentum": ("momentum",), "dampening": ("dampening",),
    "weight_decay": ("weight_decay",), "nesterov": ("nesterov",), "maximize": ("maximize",),
    "betas": ("betas", "beta1", "beta2"),
    "eps": ("eps",), "amsgrad": ("amsgrad",), "alpha": ("alpha",), "centered": ("centered",), "state": ("state",),
}
# A good call may still be refused for what its (good) values do: an overflow, a non-probability, an
# update that leaves the network non-finite; these name the quantity instead of an argument.
COMPUTED = ("forward", "backward", "a^(", "W^(", "b^(", "lr", "betas", "momentum", "nesterov", "dampening")


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict | list | tuple):
        return [x for v in (value.values() if isinstance(value, dict) else value) for x in [v, *_leaves(v)]]
    return [value]


def _check_error(call: Call, exc: InputError) -> None:
    message = str(exc)
    match = ERROR_NAME.match(message)
    assert match, f"{call.name}: the InputError is not one line 'name: what': {message!r}"
    names = COMPUTED + tuple(n for key in call.hostile for n in ARG_NAMES.get(key, (key,)))
    # An argument can make a good one wrong: other weights or sizes another number of layers (then the
    # activations or biases do not fit), another loss or x another shape of target (then y does not fit).
    for key, others in (("weights", ("biases", "activations")), ("sizes", ("activations",)),
                        ("loss", ("y",)), ("x", ("y",))):
        if key in call.hostile:
            names += others
    assert call.hostile or message.startswith(COMPUTED), f"{call.name} with good arguments refused: {message}"
    assert message.startswith(names), f"{call.name}: hostile {call.hostile}, but the error names: {message}"


def _finite(a: Any) -> bool:
    return a is None or bool(np.isfinite(np.asarray(a, dtype=np.float64)).all())


def _check_network(net: Any, sizes: tuple[int, ...] | None = None) -> None:
    assert isinstance(net, Network)
    for l in range(1, net.L + 1):
        assert net.W[l].shape == (net.sizes[l], net.sizes[l - 1]) and _finite(net.W[l])
        assert net.b[l] is None or (net.b[l].shape in ((), (net.sizes[l],)) and _finite(net.b[l]))
        assert net.W[l].dtype in (np.float64, np.float32)
    if sizes is not None:
        assert net.sizes == tuple(sizes)


def _check_result(call: Call, result: Any) -> None:
    kw = call.kwargs
    if call.name == "Network.random":
        _check_network(result, tuple(int(s) for s in kw["sizes"]))
    elif call.name == "Network":
        _check_network(result)
        assert result.L == len(kw["weights"])
    elif call.name == "forward":
        assert isinstance(result, Cache)
        net = kw["net"]
        for l in range(1, net.L + 1):
            assert result.z[l].shape[0] == net.sizes[l] and _finite(result.z[l]) and _finite(result.a[l])
    elif call.name == "backward":
        assert isinstance(result, Gradients) and np.isfinite(result.loss)
        net = kw["net"]
        for l in range(1, net.L + 1):
            assert result.dW[l].shape == net.W[l].shape and _finite(result.dW[l])
            assert (result.db[l] is None) == (net.b[l] is None) and _finite(result.db[l])
    elif call.name == "sgd_step":
        net, grads = kw["net"], kw["grads"]
        _check_network(result, net.sizes)
        for l in range(1, net.L + 1):  # Eq. 5, recomputed here
            want = net.W[l].astype(np.float64) - float(kw["lr"]) * grads.dW[l].astype(np.float64)
            tol = 1e-5 if net.dtype == np.float32 else 1e-12
            assert np.allclose(result.W[l], want, rtol=tol, atol=tol * (1 + np.abs(want).max()))
    elif call.name == "optimizer":
        _check_network(result, kw["net"].sizes)
    elif call.name == "train":
        steps = int(kw["steps"])
        assert len(result.losses) == steps + 1 and len(result.networks) == steps + 1
        assert all(np.isfinite(v) for v in result.losses)
        for n in result.networks:
            _check_network(n, kw["net"].sizes)


def _call(call: Call, limit: float) -> None:
    try:
        with strict(), time_limit(limit):
            result = call.fn(**call.kwargs)
    except InputError as exc:
        _check_error(call, exc)
        return
    except Exception as exc:
        skip_known(exc)
    _check_result(call, result)


def test_api_fuzzed_calls() -> None:
    _run("api", API_CALLS, QUICK, calls(), lambda call: _call(call, HANG_LIMIT_S))
    assert_counted("api", API_CALLS)


@pytest.mark.slow
def test_api_fuzzed_calls_slow() -> None:
    _run("api slow", SLOW_API_CALLS, SLOW, calls(), lambda call: _call(call, HANG_LIMIT_S))
    assert_counted("api slow", SLOW_API_CALLS)


# --- backward against central differences, on good tiny float64 networks of smooth activations ---


def _gradient_check(scene: Scene) -> None:
    """The project's own finite-difference comparison (tests/support.agree), not a second one."""
    net = Network(scene.weights, scene.biases, scene.acts, np.float64)
    with strict(), time_limit(HANG_LIMIT_S):
        try:
            agree(Case("fuzzed", net, np.asarray(scene.x), scene.y, scene.loss, scene.reduction), "finite differences")
        except InputError as exc:
            raise AssertionError(f"a good network refused: {exc}") from None


def _run(name: str, count: int, config: settings, strategy: Any, check: Callable[[Any], None]) -> None:
    """``count`` inputs drawn from ``strategy``, each counted and given to ``check``."""

    @settings(config, max_examples=count)
    @given(value=strategy)
    def run(value: Any) -> None:
        RUN[name] += 1
        check(value)

    run()


def test_backward_agrees_with_central_differences() -> None:
    _run("gradients", API_GRADIENT_CHECKS, QUICK, scenes(smooth=True), _gradient_check)
    assert_counted("gradients", API_GRADIENT_CHECKS)


@pytest.mark.slow
def test_backward_agrees_with_central_differences_slow() -> None:
    _run("gradients slow", SLOW_API_GRADIENT_CHECKS, SLOW, scenes(smooth=True), _gradient_check)
    assert_counted("gradients slow", SLOW_API_GRADIENT_CHECKS)
