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


# --- style 2: Skalski's numpy net, the deeplearning.ai API (dicts W1/b1, dW1/db1; columns;
#     biases (n, 1); relu or sigmoid per layer; the cost's 1/m inside dW and db) -------------


def skalski_backprop(module: ModuleType):
    """full_forward_propagation then full_backward_propagation on the nn_architecture list and
    params_values dict that code builds; its grads_values dict (dW1, db1, ...) is returned as is."""
    def backprop(weights, biases, activations, loss, x, y):
        nn_architecture = [{"input_dim": w.shape[1], "output_dim": w.shape[0], "activation": a}
                           for w, a in zip(weights, activations, strict=True)]
        params_values = {}
        for l, (w, b) in enumerate(zip(weights, biases, strict=True), 1):
            params_values["W" + str(l)], params_values["b" + str(l)] = w, b
        Y_hat, memory = module.full_forward_propagation(x, params_values, nn_architecture)
        return module.full_backward_propagation(Y_hat, y, memory, params_values, nn_architecture)

    return backprop


# --- style 3: Saitoh's MultiLayerNet, CS231n style (rows, W (D, H), b (H,), relu, softmax
#     cross-entropy mean over N, weight decay 0.5 lambda sum W^2) ------------------------------


def saitoh_backprop(module: ModuleType):
    """MultiLayerNet(..., weight_decay_lambda=l2).gradient(x, t): its params are written in place
    (its Affine layers hold references to them), its grads dict W1, b1, ... read back."""
    def backprop(weights, biases, activations, loss, x, y, l2):
        net = module.MultiLayerNet(weights[0].shape[0], [w.shape[1] for w in weights[:-1]], weights[-1].shape[1],
                                   activation=activations[0], weight_decay_lambda=l2)
        for l, (w, b) in enumerate(zip(weights, biases, strict=True), 1):
            net.params["W" + str(l)][...] = w
            net.params["b" + str(l)][...] = b
        grads = net.gradient(x, y)
        L = len(weights)
        return [grads["W" + str(l)] for l in range(1, L + 1)], [grads["b" + str(l)] for l in range(1, L + 1)]

    return backprop


# --- style 4: Linder-Norén's ML-From-Scratch, a class per layer (rows, W (n_in, n_out), w0
#     (1, n_out)); Dense.backward_pass updates its own weights through its SGD optimizer --------

LINDERNOREN_LOSSES = {"half_sse": "SquareLoss", "bce": "CrossEntropy"}


def lindernoren_step(module: ModuleType):
    """NeuralNetwork.train_on_batch by hand, as neural_network.py does it: Dense layers (each
    followed by Activation(name); an identity layer is a Dense alone), initialised with
    StochasticGradientDescent(lr), forward_pass, loss.gradient(y, y_pred), backward_pass in
    reverse; the Dense layers' W, w0 after the step."""
    def step(weights, biases, activations, loss, x, y, lr):
        layers, dense = [], []
        for w, b, a in zip(weights, biases, activations, strict=True):
            layer = module.Dense(w.shape[1], input_shape=(w.shape[0],))
            layer.initialize(module.StochasticGradientDescent(learning_rate=lr))
            layer.W, layer.w0 = w, b
            dense.append(layer)
            layers += [layer] if a == "identity" else [layer, module.Activation(a)]
        y_pred = x
        for layer in layers:
            y_pred = layer.forward_pass(y_pred, training=True)
        loss_grad = getattr(module, LINDERNOREN_LOSSES[loss])().gradient(y, y_pred)
        for layer in reversed(layers):
            loss_grad = layer.backward_pass(loss_grad)
        return [layer.W for layer in dense], [layer.w0 for layer in dense]

    return step
