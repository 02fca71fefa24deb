"""Adapters from the grading contract, backprop(weights, biases, activations, loss, x, y), to real
public code kept in fixtures/ (each file says where it comes from). An adapter only hands the
arguments over in the form that code takes them: it converts no layout and divides by no m;
the declared spec (layout, bias shape, reduction, step) does that work."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def load(path: Path, name: str | None = None) -> ModuleType:
    """A fixture file (or a mutated copy of one) as a module."""
    name = name or f"fixture_{path.stem}_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def examples(x: np.ndarray, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Columns as Nielsen's mini_batch: a list of (x, y) pairs of (n, 1) columns."""
    return [(x[:, [k]], y[:, [k]]) for k in range(x.shape[1])]


# --- style 1: Nielsen network.py (columns, biases (n, 1), sigmoid, quadratic cost) ----------


def nielsen_backprop(module: ModuleType):
    """Network.backprop(x, y) -> (nabla_b, nabla_w), one example; grade with batch 1."""
    def backprop(weights, biases, activations, loss, x, y):
        net = module.Network([weights[0].shape[1], *(w.shape[0] for w in weights)])
        net.weights, net.biases = weights, biases
        nabla_b, nabla_w = net.backprop(x, y)
        return nabla_w, nabla_b

    return backprop


def nielsen_step(module: ModuleType):
    """Network.update_mini_batch(mini_batch, eta): one SGD step on the batch's mean gradient."""
    def step(weights, biases, activations, loss, x, y, lr):
        net = module.Network([weights[0].shape[1], *(w.shape[0] for w in weights)])
        net.weights, net.biases = weights, biases
        net.update_mini_batch(examples(x, y), lr)
        return net.weights, net.biases

    return step


# --- style 5: Nielsen network2.py (a loop summing per-example gradients, cross-entropy, L2) ---


def nielsen2_step(module: ModuleType):
    """Network.update_mini_batch(mini_batch, eta, lmbda, n) with n = 1: weight decay lmbda,
    the step along the batch's summed gradient divided by its size."""
    def step(weights, biases, activations, loss, x, y, lr, l2):
        net = module.Network([weights[0].shape[1], *(w.shape[0] for w in weights)], cost=module.CrossEntropyCost)
        net.weights, net.biases = weights, biases
        net.update_mini_batch(examples(x, y), lr, l2, 1)
        return net.weights, net.biases

    return step


def nielsen2_backprop(module: ModuleType):
    """Network.backprop(x, y): one example's gradient of the cross-entropy summed over outputs."""
    def backprop(weights, biases, activations, loss, x, y):
        net = module.Network([weights[0].shape[1], *(w.shape[0] for w in weights)], cost=module.CrossEntropyCost)
        net.weights, net.biases = weights, biases
        nabla_b, nabla_w = net.backprop(x, y)
        return nabla_w, nabla_b

    return backprop
