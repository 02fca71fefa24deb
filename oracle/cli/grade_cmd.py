"""``manual-bp grade module:function``: grade a user's backpropagation against torch autograd.

The function is found as ``module:function`` (imported from the current directory or
PYTHONPATH) or ``path/to/file.py:function``. Exit 0 when every dL/dW^(l) and dL/db^(l) is
right, 1 when any is wrong or the function fails on a case, 2 for bad usage (unknown module,
missing function, unknown activation or loss names).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from manual_bp.activations import ACTIVATIONS
from manual_bp.errors import InputError, require
from manual_bp.losses import LOSSES
from oracle.cli.args import count_at_least, name_list


def _import_file(path: Path) -> ModuleType:
    from oracle.mistakes.grading import exception_line  # torch loads only once a command runs, not for --help

    require(path.is_file(), f"{path}: no such file")
    name = f"_manual_bp_graded_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    require(spec is not None and spec.loader is not None, f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(path.resolve().parent))  # so the file can import its neighbours
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except (Exception, SystemExit) as exc:
        raise InputError(f"{path}: importing it raised {exception_line(exc)}") from None
    return module


def _import_module(name: str) -> ModuleType:
    from oracle.mistakes.grading import exception_line

    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            raise InputError(f"module {name!r} not found (looked in the current directory and PYTHONPATH)") from None
        raise InputError(f"module {name!r}: importing it raised {exception_line(exc)}") from None
    except (Exception, SystemExit) as exc:
        raise InputError(f"module {name!r}: importing it raised {exception_line(exc)}") from None


def load_function(target: str) -> Callable[..., Any]:
    """The function named by 'module:function' or 'path/to/file.py:function'."""
    module_part, sep, func_name = target.rpartition(":")
    require(bool(sep) and bool(module_part) and bool(func_name),
            f"target: expected module:function or path/to/file.py:function, got {target!r}")
    if module_part.endswith(".py") or os.sep in module_part or "/" in module_part:
        module = _import_file(Path(module_part))
    else:
        module = _import_module(module_part)
    require(hasattr(module, func_name), f"{module_part}: has no function {func_name!r}")
    func = getattr(module, func_name)
    require(callable(func), f"{module_part}:{func_name}: expected a function, got {type(func).__name__}")
    return func


def run(args: argparse.Namespace) -> int:
    """Grade and print the report; 0 all correct, 1 any wrong tensor or failed call."""
    from oracle.mistakes.grading import grade

    func = load_function(args.target)
    result = grade(func, args.activations, args.losses, args.networks, args.seed)
    print(result.report())
    return 0 if result.passed else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``manual-bp grade``."""
    p = subparsers.add_parser(
        "grade", help="grade your own backprop(weights, biases, activations, loss, x, y) -> (dW, db)",
        description="Grade backprop(weights, biases, activations, loss, x, y) -> (dW, db) against torch autograd "
        "on the document's 2-2-1 example, square networks and random networks, and name the classic mistake a "
        "wrong dL/dW or dL/db matches. weights[l-1] is W^(l) of shape (n_l, n_(l-1)), biases[l-1] b^(l) of shape "
        "(n_l,), x (n_0, m) with examples as columns, y (n_L, m), mean over the batch. Exit 0 all correct, 1 any "
        "mismatch, 2 bad usage.")
    p.add_argument("target", help="module:function (from the current directory or PYTHONPATH) or "
                   "path/to/file.py:function")
    p.add_argument("--activations", type=name_list(tuple(ACTIVATIONS), "activation"), metavar="a,b",
                   help="comma-separated activations the function supports (default: all of "
                   "sigmoid, tanh, relu, leaky_relu, identity, softplus, elu, silu, gelu, softmax)")
    p.add_argument("--losses", type=name_list(tuple(LOSSES), "loss"), metavar="a,b",
                   help="comma-separated losses the function supports (default: all of half_sse, "
                   "sse, mse, bce, cross_entropy that the activations allow)")
    p.add_argument("--networks", type=count_at_least(0), default=20, help="random networks to grade on (default: 20)")
    p.add_argument("--seed", type=count_at_least(0), default=0, help="seed of the random networks (default: 0)")
    p.set_defaults(run=run)
