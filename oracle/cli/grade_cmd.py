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
from oracle.cli.args import count_at_least, name_list, out_file, write_output


def _import_file(path: Path) -> ModuleType:
    from oracle.grading.runner import exception_line  # torch loads only once a command runs, not for --help

    require(path.exists(), f"{path}: no such file")
    what = "a directory" if path.is_dir() else "a device or pipe"
    require(path.is_file(), f"{path}: expected a Python file, got {what}")
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
    from oracle.grading.runner import exception_line

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


def _sizes(text: str) -> tuple[tuple[int, ...], ...]:
    """'4-8-1,2-5-3-1' -> ((4, 8, 1), (2, 5, 3, 1))."""
    try:
        sizes = tuple(tuple(int(n) for n in part.split("-")) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes such as 4-8-1 or 4-8-1,2-5-3-1, got {text!r}") from None
    if not sizes or any(len(s) < 2 or min(s) < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"expected sizes n_0-n_1-...-n_L, each >= 1, got {text!r}")
    return sizes


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value == value or value in (float("inf"), float("-inf")) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def options(args: argparse.Namespace) -> dict[str, Any]:
    """The grading options given on the command line (those left out keep GradeSpec's defaults)."""
    names = ("sizes", "hidden", "output", "depth", "width", "batch", "layout", "bias_shape", "labels", "reduction",
             "output_reduction", "l2", "dtype", "step", "timeout", "reference")
    return {n: getattr(args, n) for n in names if getattr(args, n) is not None}


def run(args: argparse.Namespace) -> int:
    """Grade and print the report; 0 all correct, 1 any wrong tensor or failed call."""
    from oracle.grading import grade

    func = load_function(args.target)
    result = grade(func, args.activations, args.losses, args.networks, args.seed, **options(args))
    print(result.report(verbose=args.verbose))
    if args.json:
        print(f"wrote {write_output('--json', args.json, result.json())}")
    return 0 if result.passed else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``manual-bp grade``."""
    from oracle.cli.args import parse_range

    p = subparsers.add_parser(
        "grade", help="grade your own backprop(weights, biases, activations, loss, x, y) -> (dW, db)",
        description="Grade backprop(weights, biases, activations, loss, x, y) -> (dW, db) on the document's 2-2-1 "
        "example, square networks and random networks of the architecture you declare, in the layout you declare, "
        "and name the mistake a wrong dL/dW or dL/db matches. Losses: half_sse = 1/2 sum (a - y)^2 and sse = sum "
        "(a - y)^2 sum over the outputs; mse and bce average over the outputs unless --output-reduction sum; "
        "cross_entropy = -sum y log a on a softmax output. Exit 0 all correct, 1 any mismatch or failed call, 2 bad "
        "usage.")
    p.add_argument("target", help="module:function (from the current directory or PYTHONPATH) or "
                   "path/to/file.py:function")
    _architecture(p.add_argument_group("architecture"), parse_range)
    _conventions(p.add_argument_group("conventions"))
    _the_run(p.add_argument_group("the run"))
    p.set_defaults(run=run)


def _architecture(arch: Any, parse_range: Callable[[str], tuple[int, int]]) -> None:
    arch.add_argument("--sizes", type=_sizes, metavar="4-8-1[,2-5-3-1]", help="fixed layer sizes n_0-...-n_L")
    arch.add_argument("--activations", type=name_list(tuple(ACTIVATIONS), "activation"), metavar="a,b",
                      help="with --sizes: one activation per layer (or one for all); otherwise a pool drawn from "
                      "for every layer (default: all)")
    arch.add_argument("--hidden", choices=tuple(ACTIVATIONS), help="a fixed pattern: this activation in every "
                      "hidden layer ...")
    arch.add_argument("--output", choices=tuple(ACTIVATIONS), help="... and this one in the output layer, any depth")
    arch.add_argument("--depth", type=parse_range, metavar="LO-HI", help="layers L of random networks (default 1-3)")
    arch.add_argument("--width", type=parse_range, metavar="LO-HI", help="units per layer (default 1-5)")
    arch.add_argument("--batch", type=parse_range, metavar="LO-HI", help="examples per call (default 1-4)")


def _conventions(conv: Any) -> None:
    conv.add_argument("--layout", choices=("columns", "rows"), help="columns (default): x (n_0, m), W^(l) "
                      "(n_l, n_(l-1)); rows: x (m, n_0), y (m, n_L), W^(l) (n_(l-1), n_l), in and out")
    conv.add_argument("--bias-shape", dest="bias_shape", choices=("flat", "column", "row", "none"),
                      help="b^(l) as (n_l,) (default), (n_l, 1), (1, n_l), or no biases at all")
    conv.add_argument("--labels", choices=("one_hot", "indices"), help="cross_entropy targets: one-hot (default) or "
                      "class indices of shape (m,)")
    conv.add_argument("--losses", type=name_list(tuple(LOSSES), "loss"), metavar="a,b",
                      help="losses the function supports (default: all the activations allow)")
    conv.add_argument("--reduction", choices=("mean", "sum"), help="over the batch (default mean)")
    conv.add_argument("--output-reduction", dest="output_reduction", choices=("mean", "sum"),
                      help="mse and bce over the output units (default mean)")
    conv.add_argument("--l2", type=_number, metavar="LAMBDA", help="pass l2=LAMBDA and grade the gradient of "
                      "L + (LAMBDA/2) sum_l ||W^(l)||^2 (biases not regularised)")
    conv.add_argument("--dtype", choices=("float64", "float32"), help="the arrays' dtype and the tolerance "
                      "(default float64)")
    conv.add_argument("--step", type=_number, metavar="LR", help="pass lr=LR and grade the updated (weights, "
                      "biases) after one SGD step instead of the gradients")


def _the_run(run_group: Any) -> None:
    run_group.add_argument("--networks", type=count_at_least(0), default=20, help="random networks (default 20)")
    run_group.add_argument("--seed", type=count_at_least(0), default=0, help="their seed (default 0)")
    run_group.add_argument("--timeout", type=_number, metavar="S", help="seconds per call (default 10)")
    run_group.add_argument("--reference", choices=("manual", "torch"), help="manual_bp (default, itself checked "
                           "against torch by this project) or torch autograd (loads torch)")
    run_group.add_argument("--verbose", action="store_true", help="list every wrong tensor and problem")
    run_group.add_argument("--json", type=out_file("--json"), metavar="FILE",
                           help="also write the whole grade as JSON (schema manual-bp/grade/1)")
