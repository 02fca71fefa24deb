"""A torch model read as the document's network: which nn.Linear layers, in which order, with
which activation after each.

Any module whose forward is a chain of nn.Linear layers and supported activations, however
it is written: an nn.Sequential (nested ones too), an nn.Module subclass, activations as
modules (nn.ReLU()), functions (F.relu, torch.relu) or methods (x.relu()). The forward is
traced with torch.fx (which goes through nested Sequentials and submodules), and read node
by node. Besides Linear layers and activations a chain may hold what changes nothing in the
arithmetic: nn.Flatten / torch.flatten(x, 1) / x.view(m, -1) on the input (manual_bp is given
the first Linear layer's input), nn.Identity, nn.Dropout (checked to be in eval mode or to
have p = 0 whenever the model runs), .contiguous(), and .detach(), which changes no number
but cuts the gradient (kept, so a check can say where the graph was cut).

A graph that is not a chain (a residual x + f(x), a concatenation, one value used twice) is
refused naming the first node that breaks it; a layer outside the model (nn.Conv2d,
nn.BatchNorm1d, ...) is refused saying what to do instead.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.fx as fx
import torch.nn.functional as F
from torch import nn

from manual_bp.network import Network
from oracle.training.errors import UnsupportedError

TORCH_DTYPES = {torch.float64: np.float64, torch.float32: np.float32}
OUTSIDE = ("outside what manual_bp models: an MLP of nn.Linear layers, each followed by at most one activation; "
           "check the MLP part on its own (wrap its Linear layers and activations in their own module)")
ACTIVATIONS = ("nn.Sigmoid, nn.Tanh, nn.ReLU, nn.LeakyReLU(0.01), nn.ELU(1.0), nn.Softplus(beta=1), nn.SiLU, "
               "nn.GELU('none'), nn.Softmax(dim=1), nn.LogSoftmax(dim=1) before nn.NLLLoss, or their functions")


@dataclass(frozen=True)
class Op:
    """One node of the chain: kind is 'linear', 'activation', 'reshape', 'identity', 'dropout'
    or 'detach'; ``name`` the manual_bp activation ('log_softmax' for a LogSoftmax output), or
    for a reshape 'flatten', 'view' or 'reshape'."""

    kind: str
    where: str
    name: str = ""
    module: nn.Module | None = None


@dataclass(frozen=True)
class ModelMap:
    """The model as the document's network: its Linear layers, one activation per layer (the
    last may be 'log_softmax'), the Dropout modules to check, and the .detach() cuts (after
    which layer, and where)."""

    linears: tuple[nn.Linear, ...]
    activations: tuple[str, ...]
    names: tuple[str, ...]
    dropouts: tuple[tuple[str, nn.Dropout], ...]
    cuts: tuple[tuple[int, str], ...]
    dtype: torch.dtype

    @property
    def L(self) -> int:
        return len(self.linears)

    def params(self) -> dict[str, dict[int, torch.Tensor | None]]:
        """{'W': {l: weight of layer l}, 'b': {l: its bias or None}}, layers 1-based."""
        return {"W": {l: lin.weight for l, lin in enumerate(self.linears, start=1)},
                "b": {l: lin.bias for l, lin in enumerate(self.linears, start=1)}}

    def network(self, values: dict[str, dict[int, np.ndarray | None]], activations: list[str]) -> Network:
        """The manual_bp Network with these parameter values (as ``params`` lays them out)."""
        layers = range(1, self.L + 1)
        return Network([values["W"][l] for l in layers], [values["b"][l] for l in layers], activations,
                       dtype=TORCH_DTYPES[self.dtype])

    def inactive_dropouts(self) -> str | None:
        """None, or why a Dropout makes this forward pass random (training mode with p > 0)."""
        for where, module in self.dropouts:
            if module.training and module.p > 0:
                return (f"{where}: nn.Dropout(p={module.p:g}) in training mode drops random units, which manual_bp "
                        "does not model; check with model.eval() or p=0")
        return None


def _arg(node: fx.Node, index: int, name: str, default: Any) -> Any:
    """A call's argument by position or keyword (a call_method's position 0 is the tensor)."""
    offset = 1 if node.op == "call_method" else 0
    if len(node.args) > index + offset:
        return node.args[index + offset]
    return node.kwargs.get(name, default)


def _fixed(where: str, what: str, value: Any, wanted: tuple, fix: str) -> None:
    if value not in wanted:
        raise UnsupportedError(f"{where}: {what}={value!r} {fix}")


FIX = {"leaky_relu": "(manual_bp's leaky_relu has slope 0.01: use negative_slope=0.01)",
       "elu": "(manual_bp's elu has alpha 1: use alpha=1.0)",
       "gelu": "(manual_bp's gelu is the exact erf form: use approximate='none')",
       "softplus": "(manual_bp's softplus has beta 1: use beta=1)",
       "softmax": "(manual_bp's softmax is over the units of each example: use dim=1)",
       "flatten": "(manual_bp flattens each example: use start_dim=1, as nn.Flatten does)"}
FIX["log_softmax"] = FIX["softmax"]
SIMPLE_FUNCTIONS = {F.relu: "relu", torch.relu: "relu", torch.sigmoid: "sigmoid", F.sigmoid: "sigmoid",
                    torch.tanh: "tanh", F.tanh: "tanh", F.silu: "silu"}
SIMPLE_METHODS = {"relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh"}
SIMPLE_MODULES = {nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.ReLU: "relu", nn.SiLU: "silu"}


# functions with a setting manual_bp fixes: (position, keyword, torch's default, values manual_bp has)
SETTINGS = {"leaky_relu": (1, "negative_slope", 0.01, (0.01,)), "elu": (1, "alpha", 1.0, (1.0,)),
            "gelu": (99, "approximate", "none", ("none",)), "softplus": (1, "beta", 1.0, (1.0, 1)),
            "softmax": (1, "dim", 1, (1, -1, None)), "log_softmax": (1, "dim", 1, (1, -1, None))}


def _function_op(node: fx.Node, where: str) -> Op:
    """A call_function or call_method node as an Op; UnsupportedError for anything else."""
    fn = node.target
    method = node.op == "call_method"
    simple = SIMPLE_METHODS.get(fn) if method else SIMPLE_FUNCTIONS.get(fn)
    if simple:
        return Op("activation", where, simple)
    name = fn if method else getattr(fn, "__name__", str(fn))
    if name in SETTINGS and (not method or name in ("softmax", "log_softmax")):
        position, keyword, default, allowed = SETTINGS[name]
        _fixed(where, keyword, _arg(node, position - method, keyword, default), allowed, FIX[name])
        return Op("activation", where, name)
    return _shape_op(node, where, name, method)


def _shape_op(node: fx.Node, where: str, name: str, method: bool) -> Op:
    """Reshapes and no-ops: flatten, view, reshape, detach, contiguous, F.dropout with p = 0."""
    if name == "flatten":
        _fixed(where, "start_dim", _arg(node, 0 if method else 1, "start_dim", 0), (1,), FIX["flatten"])
        return Op("reshape", where, "flatten")
    if method and name in ("view", "reshape"):
        return Op("reshape", where, name)
    if method and name in ("detach", "contiguous"):
        return Op("detach" if name == "detach" else "identity", where)
    if name == "dropout" and not method:
        p, training = _arg(node, 1, "p", 0.5), _arg(node, 2, "training", True)
        if p == 0 or training is False:
            return Op("identity", where)
        raise UnsupportedError(f"{where}: F.dropout(p={p}, training=True) drops random units, which manual_bp does "
                               "not model; use nn.Dropout (switched off by model.eval()) or p=0")
    raise UnsupportedError(f"{where} is {OUTSIDE}")


def _module_op(module: nn.Module, where: str) -> Op:
    """A call_module node (a leaf module of torch.nn) as an Op."""
    kind = type(module)
    if isinstance(module, nn.Linear):
        return Op("linear", where, module=module)
    if kind in SIMPLE_MODULES:
        return Op("activation", where, SIMPLE_MODULES[kind])
    checks = {nn.LeakyReLU: ("negative_slope", (0.01,), "leaky_relu", FIX["leaky_relu"]),
              nn.ELU: ("alpha", (1.0,), "elu", FIX["elu"]),
              nn.GELU: ("approximate", ("none",), "gelu", FIX["gelu"]),
              nn.Softplus: ("beta", (1.0, 1), "softplus", FIX["softplus"]),
              nn.Softmax: ("dim", (1, -1, None), "softmax", FIX["softmax"]),
              nn.LogSoftmax: ("dim", (1, -1, None), "log_softmax", FIX["softmax"])}
    if kind in checks:
        attr, wanted, name, fix = checks[kind]
        _fixed(where, attr, getattr(module, attr), wanted, fix)
        return Op("activation", where, name)
    if kind is nn.Flatten:
        _fixed(where, "start_dim", module.start_dim, (1,), FIX["flatten"])
        return Op("reshape", where, "flatten")
    if kind is nn.Identity:
        return Op("identity", where)
    if kind is nn.Dropout:
        return Op("dropout", where, module=module)
    raise UnsupportedError(f"{where} is {OUTSIDE}")


def _trace(model: nn.Module) -> fx.Graph:
    try:
        return fx.symbolic_trace(model).graph
    except Exception as exc:  # torch.fx raises many kinds; all mean the forward is not a plain chain
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UnsupportedError(f"model: torch.fx cannot trace {type(model).__name__}.forward ({first}); write the "
                               "forward as a plain chain of layer calls, without data-dependent if/for") from None


SHAPE_QUERIES = ("size", "dim")
OPERATORS = {operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/", operator.matmul: "@"}


def _where(model: nn.Module, node: fx.Node) -> str:
    """A node as the user wrote it: model.fc1 (nn.Linear), F.relu(...), x.detach(), x + y."""
    if node.op == "call_module":
        return f"model.{node.target} (nn.{type(model.get_submodule(node.target)).__name__})"
    if node.op == "call_method":
        return f"x.{node.target}() (node '{node.name}')"
    fn = node.target
    if fn in OPERATORS:
        return f"'{OPERATORS[fn]}' (node '{node.name}')"
    name = getattr(fn, "__name__", str(fn))
    prefix = "F." if getattr(F, name, None) is fn else "torch." if getattr(torch, name, None) is fn else ""
    return f"{prefix}{name}() (node '{node.name}')"


def _is_shape_query(node: fx.Node, shapes: set[fx.Node]) -> bool:
    """x.size(0), x.shape, x.shape[0], x.size(0) * 2: numbers about the input, not the chain."""
    if node.op == "call_method" and node.target in SHAPE_QUERIES:
        return True
    if node.op == "call_function" and node.target is getattr and node.args[1] == "shape":
        return True
    arith = (operator.getitem, operator.mul, operator.floordiv, operator.add, operator.sub)
    return node.op == "call_function" and node.target in arith and \
        all(a in shapes for a in node.all_input_nodes) and bool(node.all_input_nodes)


def chain_ops(model: nn.Module) -> list[Op]:
    """The forward pass as a list of Ops, in order; UnsupportedError at the first node that is
    not a supported link of one chain."""
    graph = _trace(model)
    inputs = [n for n in graph.nodes if n.op == "placeholder"]
    if len(inputs) != 1:
        raise UnsupportedError(f"model: forward takes {len(inputs)} inputs ({', '.join(n.name for n in inputs)}); "
                               "manual_bp's network takes one, x")
    ops: list[Op] = []
    current, shapes = inputs[0], set()
    for node in graph.nodes:
        if node.op == "placeholder":
            continue
        where = _where(model, node)
        if node.op == "output":
            if node.args[0] is not current:
                raise UnsupportedError(f"model: forward returns {node.args[0]}, not the end of one chain")
            return ops
        if _is_shape_query(node, shapes):
            shapes.add(node)
            continue
        if node.op == "get_attr":
            raise UnsupportedError(f"{where}: the forward reads the tensor '{node.target}' itself; manual_bp reads "
                                   "nn.Linear layers: keep weights and biases in nn.Linear modules")
        tensors = [a for a in node.all_input_nodes if a not in shapes]
        if tensors != [current]:
            got = ", ".join(a.name for a in tensors) or "no tensor"
            raise UnsupportedError(f"model: {where} breaks the chain: it takes {got} where a chain takes only "
                                   f"'{current.name}', the value before it; residual connections, concatenations and "
                                   f"branches are {OUTSIDE}")
        ops.append(_module_op(model.get_submodule(node.target), where) if node.op == "call_module"
                   else _function_op(node, where))
        current = node
    raise UnsupportedError("model: forward has no output")  # pragma: no cover - fx graphs always have one


def read_model(model: nn.Module) -> ModelMap:
    """The ModelMap of a torch model; UnsupportedError says what is outside and what to do."""
    if not isinstance(model, nn.Module):
        raise UnsupportedError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    linears: list[nn.Linear] = []
    acts: list[str | None] = []
    names: list[str] = []
    dropouts, cuts = [], []
    for op in chain_ops(model):
        if op.kind == "linear":
            if any(op.module is lin for lin in linears):
                raise UnsupportedError(f"{op.where}: the same nn.Linear is called twice; shared weights are {OUTSIDE}")
            linears.append(op.module)
            acts.append(None)
            names.append(op.where)
        elif op.kind == "activation":
            _check_activation(op, linears, acts)
            acts[-1] = op.name
        elif op.kind == "reshape" and linears and op.name != "flatten":  # flatten(1) of (m, n) changes nothing
            raise UnsupportedError(f"{op.where}: a view or reshape after the first Linear layer changes the layout "
                                   "of the examples; manual_bp's layers keep it: reshape only the input")
        elif op.kind == "dropout":
            dropouts.append((op.where, op.module))
        elif op.kind == "detach" and linears:
            cuts.append((len(linears), op.where))
    if not linears:
        raise UnsupportedError(f"model: no nn.Linear layer; manual_bp's network is a chain of them ({ACTIVATIONS})")
    if any(a == "log_softmax" for a in acts[:-1]):
        raise UnsupportedError("model: LogSoftmax before a hidden layer; it belongs at the output, before nn.NLLLoss")
    return ModelMap(tuple(linears), tuple(a or "identity" for a in acts), tuple(names), tuple(dropouts), tuple(cuts),
                    _dtype(linears))


def _check_activation(op: Op, linears: list[nn.Linear], acts: list[str | None]) -> None:
    if not linears:
        raise UnsupportedError(f"{op.where}: an activation on the input, before the first Linear layer; manual_bp's "
                               "layer is z = W a + b, a = sigma(z): activations come after a Linear layer")
    if acts[-1] is not None:
        raise UnsupportedError(f"{op.where}: a second activation ({op.name}) after {acts[-1]} on one Linear layer; "
                               "manual_bp's layer has one activation: put a Linear layer between them, or drop one")


def _dtype(linears: list[nn.Linear]) -> torch.dtype:
    dtypes = {p.dtype for lin in linears for p in lin.parameters()}
    if len(dtypes) != 1 or next(iter(dtypes)) not in TORCH_DTYPES:
        raise UnsupportedError(f"model: expected float32 or float64 parameters of one dtype, got "
                               f"{sorted(map(str, dtypes))}; call model.double() or model.float()")
    return next(iter(dtypes))
