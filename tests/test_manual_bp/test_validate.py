"""Bad input raises InputError naming the argument, the expected and the actual value."""

from __future__ import annotations

import warnings
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
from support import X, Y, document_network

from manual_bp import SGD, InputError, Network, RMSprop, backward, forward, sgd_step, train, validate
from manual_bp.activations import get_activation
from manual_bp.errors import LayerDict

EPS = np.finfo(np.float64).eps


# ---------------------------------------------------------------------------------------------
# Bad input raises InputError naming the argument


def _doc_cache():
    net = document_network()
    return net, forward(net, X)


def _overflowing_forward():
    # numpy's matmul warns about the overflow before the package turns it into an InputError;
    # the warning is not under test, the error is.
    with np.errstate(over="ignore"):
        return forward(Network([[[1e300, 1e300]]]), [1e300, 1e300])


def _sgd_with_grads_of(net_bias: str, grads_bias: str):
    net = Network.random([2, 3, 1], bias=net_bias, seed=1)
    other = Network.random([2, 3, 1], bias=grads_bias, seed=1)
    return sgd_step(net, backward(other, forward(other, X), Y), 0.5)


def _softmax_net():
    return Network.random([2, 3], "softmax", seed=1)


NAN, INF = float("nan"), float("inf")

BAD_INPUTS = {
    # Network construction
    "no layers": (lambda: Network([]), r"^weights: .*at least one layer"),
    "layer of zero units": (lambda: Network([np.zeros((0, 2))]), r"^W\^\(1\): .*at least one unit"),
    "1-d weight": (lambda: Network([[1.0, 2.0]]), r"^W\^\(1\): expected a 2-d array"),
    "shapes do not chain": (lambda: Network([np.ones((3, 2)), np.ones((1, 4))]), r"^W\^\(2\): expected 3 columns"),
    "NaN weight": (lambda: Network([[[NAN, 1.0]]]), r"^W\^\(1\): expected finite values"),
    "inf weight": (lambda: Network([np.ones((2, 2)), [[1.0, -INF]]]), r"^W\^\(2\): expected finite values"),
    "non-numeric weight": (lambda: Network([[["a", "b"]]]), r"^W\^\(1\): expected real numbers, got strings"),
    "NaN bias": (lambda: Network([np.ones((2, 2))], [[0.0, NAN]]), r"^b\^\(1\): expected finite values"),
    "wrong bias shape": (lambda: Network([np.ones((3, 2))], [[1.0, 2.0]]), r"^b\^\(1\): expected shape \(3,\)"),
    "2-d bias": (lambda: Network([np.ones((2, 2))], [np.ones((2, 1))]), r"^b\^\(1\): expected shape"),
    "bias count": (lambda: Network([np.ones((2, 2))], [None, None]), r"^biases: expected 1 entries"),
    "unknown activation": (lambda: Network([np.ones((2, 2))], None, "swish"), r"unknown activation 'swish'"),
    "unknown activation in layer 2": (lambda: Network([np.ones((2, 2))] * 2, None, ["tanh", "swish"]),
                                      r"^activation of layer 2: unknown activation 'swish'"),
    "activation count": (lambda: Network([np.ones((2, 2))], None, ["tanh", "tanh"]), r"^activations: expected 1"),
    "bad dtype": (lambda: Network([np.ones((2, 2))], dtype=np.float16), r"^dtype: "),
    "too few sizes": (lambda: Network.random([3]), r"^sizes: "),
    "zero size": (lambda: Network.random([3, 0]), r"^sizes\[1\]: "),
    "non-integer size": (lambda: Network.random([3, 2.0]), r"^sizes\[1\]: "),
    "unknown init": (lambda: Network.random([3, 2], init="xavier"), r"^init: "),
    "unknown bias kind": (lambda: Network.random([3, 2], bias="some"), r"^bias: "),
    # forward
    "NaN in x": (lambda: forward(document_network(), [NAN, 1.0]), r"^x: expected finite values"),
    "inf in x": (lambda: forward(document_network(), np.array([[1.0, 2.0], [3.0, INF]])), r"^x: expected finite"),
    "x wrong length": (lambda: forward(document_network(), [1.0, 2.0, 3.0]), r"^x: expected 2 rows"),
    "x 3-d": (lambda: forward(document_network(), np.ones((2, 1, 1))), r"^x: expected shape"),
    "x no examples": (lambda: forward(document_network(), np.ones((2, 0))), r"^x: expected at least one example"),
    "x not numbers": (lambda: forward(document_network(), ["a", "b"]), r"^x: expected real numbers, got strings"),
    "z overflows": (_overflowing_forward, r"^forward: z\^\(1\) overflowed"),
    # backward
    "NaN in y": (lambda: backward(*_doc_cache(), [NAN]), r"^y: expected finite values"),
    "y wrong shape": (lambda: backward(*_doc_cache(), [1.0, 0.0]), r"^y: expected shape \(1,\)"),
    "unknown loss": (lambda: backward(*_doc_cache(), Y, loss="hinge"), r"^loss: unknown loss 'hinge'"),
    "bad reduction": (lambda: backward(*_doc_cache(), Y, reduction="avg"), r"^reduction: .*'avg'"),
    "bce target above 1": (lambda: backward(*_doc_cache(), [1.5], loss="bce"), r"^y: bce targets must lie in \[0, 1\]"),
    "bce target below 0": (lambda: backward(*_doc_cache(), [-0.1], loss="bce"), r"^y: bce targets"),
    "cross_entropy target above 1": (lambda: backward(_softmax_net(), forward(_softmax_net(), [1.0, 2.0]),
                                                      [0.0, 2.0, -1.0], loss="cross_entropy"),
                                     r"^y: cross_entropy targets"),
    "class index too large": (lambda: backward(_softmax_net(), forward(_softmax_net(), [1.0, 2.0]), 3,
                                               loss="cross_entropy"), r"^y: class index out of range 0\.\.2"),
    "negative class index": (lambda: backward(_softmax_net(), forward(_softmax_net(), np.ones((2, 2))),
                                              np.array([0, -1]), loss="cross_entropy"),
                             r"^y: class index out of range"),
    "class indices wrong shape": (lambda: backward(_softmax_net(), forward(_softmax_net(), np.ones((2, 2))),
                                                   np.array([0, 1, 2]), loss="cross_entropy"), r"^y: class indices"),
    "cache of another network": (lambda: backward(Network.random([3, 2, 1]), forward(document_network(), X), Y),
                                 r"^cache: "),
    # Same depth and n_0, other hidden size: used to return a dW^(2) of the wrong shape silently.
    "cache with other hidden sizes": (lambda: backward(Network.random([2, 3, 1]), forward(Network.random([2, 1, 1]), X),
                                                       Y), r"^cache: .*sizes \(2, 3, 1\).*sizes \(2, 1, 1\)"),
    "cache of a deeper network": (lambda: backward(document_network(), forward(Network.random([2, 2, 2, 1]), X), Y),
                                  r"^cache: "),
    # sgd_step and train
    "zero lr": (lambda: sgd_step(document_network(), backward(*_doc_cache(), Y), 0.0), r"^lr: "),
    "negative lr": (lambda: sgd_step(document_network(), backward(*_doc_cache(), Y), -0.5), r"^lr: "),
    "NaN lr": (lambda: sgd_step(document_network(), backward(*_doc_cache(), Y), NAN), r"^lr: "),
    "inf lr": (lambda: sgd_step(document_network(), backward(*_doc_cache(), Y), INF), r"^lr: "),
    "non-numeric lr": (lambda: sgd_step(document_network(), backward(*_doc_cache(), Y), "fast"), r"^lr: "),
    "grads of another network": (lambda: sgd_step(Network.random([2, 3, 1]), backward(*_doc_cache(), Y), 0.5),
                                 r"^grads\.dW\[1\]: "),
    # Bias gradients of another bias kind: used to turn a shared bias into a per-unit one
    # silently, or to fail with a bare TypeError when db is None.
    "per-unit db for a shared bias": (lambda: _sgd_with_grads_of("shared", "per_unit"), r"^grads\.db\[1\]: .*\(\)"),
    "no db for a per-unit bias": (lambda: _sgd_with_grads_of("per_unit", "none"), r"^grads\.db\[1\]: .*nothing"),
    "train lr": (lambda: train(document_network(), X, Y, lr=0.0, steps=1), r"^lr: "),
    "train steps": (lambda: train(document_network(), X, Y, lr=0.5, steps=-1), r"^steps: "),
    "train reduction": (lambda: train(document_network(), X, Y, lr=0.5, steps=1, reduction="max"), r"^reduction: "),
    "train loss": (lambda: train(document_network(), X, Y, lr=0.5, steps=1, loss="l1"), r"^loss: "),
    # Values that numpy would take as numbers, wrongly (item 1 of the hostile-input issue)
    "complex weights": (lambda: Network([np.array([[1 + 2j, 1.0]])]), r"^W\^\(1\): expected real numbers, got complex"),
    "complex x": (lambda: forward(document_network(), np.array([0.5 + 1j, 1.0])), r"^x: expected real numbers"),
    "complex y": (lambda: backward(*_doc_cache(), [1.0 + 5j]), r"^y: expected real numbers, got complex"),
    "masked weights": (lambda: Network([np.ma.masked_array([[1.0, 2.0]], mask=True)]), r"^W\^\(1\): .*masked array"),
    "datetime x": (lambda: forward(document_network(), np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[D]")),
                   r"^x: expected real numbers, got datetimes"),
    "timedelta x": (lambda: forward(document_network(), np.array([1, 2], dtype="timedelta64[s]")),
                    r"^x: expected real numbers, got timedeltas"),
    "structured x": (lambda: forward(document_network(), np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")])),
                     r"^x: expected real numbers, got structured records"),
    "cache of another network with the same sizes": (
        lambda: backward(document_network(), forward(Network.random([2, 2, 1], seed=5), X), Y),
        r"^cache: computed by forward\(\) for another network"),
    "lr as a string": (lambda: sgd_step(document_network(), backward(*_doc_cache(), Y), "0.5"),
                       r"^lr: expected a positive finite number, got '0.5'"),
    "steps=True": (lambda: train(document_network(), X, Y, lr=0.5, steps=True), r"^steps: expected an integer"),
    "update_biases='no'": (lambda: train(document_network(), X, Y, lr=0.5, steps=1, update_biases="no"),
                           r"^update_biases: expected True or False, got 'no'"),
    "cross_entropy on outputs that are not probabilities": (
        lambda: backward(Network([[[1.0, 2.0], [3.0, 4.0]]], None, "identity"),
                         forward(Network([[[1.0, 2.0], [3.0, 4.0]]], None, "identity"), [1.0, 1.0]), [1.0, 0.0],
                         loss="cross_entropy"), r"^a\^\(1\): cross_entropy needs outputs that are probabilities"),
    "bce on a tanh output": (lambda: backward(Network([[[1.0], [2.0]]], None, "tanh"),
                                              forward(Network([[[1.0], [2.0]]], None, "tanh"), [-1.0]), [1.0, 0.0],
                                              loss="bce"), r"^a\^\(1\): bce needs outputs that are probabilities"),
    # Arguments that used to end in a traceback from inside numpy (item 4)
    "no cache": (lambda: backward(document_network(), None, Y), r"^cache: expected the Cache"),
    "a dict as cache": (lambda: backward(document_network(), {"z": 1}, Y), r"^cache: expected the Cache"),
    "loss as a list": (lambda: backward(*_doc_cache(), Y, loss=["mse"]), r"^loss: unknown loss \['mse'\]"),
    "ragged y": (lambda: backward(Network([np.ones((2, 2))]), forward(Network([np.ones((2, 2))]), np.ones((2, 2))),
                                  [[1.0, 0.0], [1.0]]), r"^y: expected an array of numbers"),
    "activations None": (lambda: Network([[[1.0]]], [[0.0]], None), r"^activations: expected a list"),
    "weights None": (lambda: Network(None), r"^weights: expected a list"),
    "weights from a generator": (lambda: Network(np.ones((1, 1)) for _ in range(2)), r"^weights: expected a list"),
    "biases=5": (lambda: Network([[[1.0]]], 5), r"^biases: expected a list"),
    "10**400 in W": (lambda: Network([[[10**400]]]), r"^W\^\(1\): expected finite numbers, .*too large for a float"),
    "10**400 in x": (lambda: forward(document_network(), [10**400, 1]), r"^x: expected finite numbers"),
    "10**400 in y": (lambda: backward(*_doc_cache(), [10**400]), r"^y: expected finite numbers"),
    "10**400 as lr": (lambda: sgd_step(document_network(), backward(*_doc_cache(), Y), 10**400), r"^lr: "),
    "no gradients": (lambda: sgd_step(document_network(), None, 0.5), r"^grads: expected the Gradients"),
    # Found by the fuzz harness (tests/test_fuzz)
    "no network to forward": (lambda: forward(None, [0.5]), r"^net: expected a manual_bp Network, got None$"),
    "an array as the network": (lambda: backward(np.zeros(0), forward(document_network(), X), Y),
                                r"^net: expected a manual_bp Network, got array\(\[\], dtype=float64\)$"),
    "a string as the network": (lambda: sgd_step("net", backward(*_doc_cache(), Y), 0.1), r"^net: .*got 'net'$"),
    "0-d weights": (lambda: Network(np.array(1.0)), r"^weights: expected a list"),
    "copy not a bool": (lambda: Network([[[0.4]]], copy=np.ones(2)), r"^copy: expected True or False"),
    "a timedelta as steps": (lambda: train(document_network(), X, Y, 0.1, np.timedelta64(2, "s")), r"^steps: "),
    "a timedelta as a size": (lambda: Network.random([np.timedelta64(2, "s"), 1]),
                              r"^sizes\[0\]: expected a positive integer, got np.timedelta64\(2,'s'\)$"),
    "an lr beyond float32": (lambda: sgd_step(Network([[[0.4]]], dtype="float32"),
                                              backward(Network([[[0.4]]], dtype="float32"),
                                                       forward(Network([[[0.4]]], dtype="float32"), [0.5]), [1.0]),
                                              1e308), r"^lr: 1e\+308 is too large for float32"),
    "sizes too large to draw": (lambda: Network.random([10**12, 1]), r"^sizes: a layer of 1,000,000,000,000 weights "
                                r"is more than this package draws \(1,000,000,000, 8 GB in float64\); got sizes "
                                r"\[1000000000000, 1\]$"),
    "a negative lr, quoted": (lambda: sgd_step(document_network(), backward(*_doc_cache(), Y), -0.5),
                              r"^lr: expected a positive finite number, got -0\.5$"),
    "an array as the dtype, on one line": (lambda: Network([[[0.4]]], dtype=np.ones((2, 2))),
                                           r"^dtype: expected float64 or float32, got array\(\[\[1\., 1\.\], \[1"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_raises_input_error_naming_the_argument(case):
    call, pattern = BAD_INPUTS[case]
    with pytest.raises(InputError, match=pattern):
        call()


def test_input_error_is_a_value_error():
    assert issubclass(InputError, ValueError)


def test_missing_layer_key_names_the_layers():
    net = document_network()
    with pytest.raises(KeyError, match=r"layers are numbered 1\.\.2"):
        net.W[3]


def test_a_tensor_that_requires_grad_is_refused_naming_the_argument():
    torch = pytest.importorskip("torch")  # manual_bp never imports torch; a user may pass its tensors
    with pytest.raises(InputError, match=r"^W\^\(1\): expected an array of numbers, got Tensor"):
        Network([torch.ones(1, 2, requires_grad=True)])
    with pytest.raises(InputError, match=r"^x: expected an array of numbers, got Tensor"):
        forward(document_network(), torch.ones(2, requires_grad=True))


# --- the whole message, typed in from the format each check documents --------------------------


class _Unconvertible:
    """An object whose conversion to an array fails with a two-line (or an empty) message."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __array__(self, *args, **kwargs):
        raise ValueError(self.message)


def _doc_backward(y, loss="half_sse", net=None):
    net = net or document_network()
    return backward(net, forward(net, X), y, loss)


def _identity_net(W):
    return Network([W], None, "identity")


def _relu_identity():
    return Network([[[-1.0]], [[1e300]]], None, ["relu", "identity"])


def _two_layers(W1, W2, b1=None):
    return Network([W1, W2], None if b1 is None else [b1, None], "identity")


LONG = "x" * 59  # repr is 61 characters, one over _describe's limit of 60
EXACT = {
    "masked array": (lambda: Network([np.ma.masked_array([[1.0]], mask=[[True]])]),
                     "W^(1): expected a plain array of numbers, got a masked array (fill the masked entries first, "
                     "e.g. with .filled())"),
    "string x": (lambda: forward(document_network(), "ab"), "x: expected an array of numbers, got the string 'ab'"),
    "conversion fails": (lambda: forward(document_network(), _Unconvertible("first line\nsecond line")),
                         "x: expected an array of numbers, got _Unconvertible (first line)"),
    "conversion fails silently": (lambda: forward(document_network(), _Unconvertible("")),
                                  "x: expected an array of numbers, got _Unconvertible (ValueError)"),
    "int too large for a float": (lambda: forward(document_network(), [10**400, 1]),
                                  "x: expected finite numbers, got int 1" + "0" * 49 + "... at index [0] "
                                  "(too large for a float)"),
    "ragged object array": (lambda: forward(document_network(), np.array([[1.0, 2.0], [3.0]], dtype=object)),
                            "x: expected a rectangular array of numbers, got nested lists of different lengths "
                            "(array([list([1.0, 2.0]), list([3.0])], dtype=object))"),
    "bool among objects": (lambda: forward(document_network(), np.array([1.5, True], dtype=object)),
                           "x: expected real numbers, got True at index [1]"),
    "string among objects": (lambda: forward(document_network(), np.array([1.5, "a"], dtype=object)),
                             "x: expected real numbers, got 'a' at index [1]"),
    "0-d object bias": (lambda: Network([np.ones((2, 2))], [np.array("a", dtype=object)]),
                        "b^(1): expected real numbers, got 'a'"),
    "NaN weight": (lambda: Network([[[1.0, NAN]]]), "W^(1): expected finite values, got nan at index [0, 1]"),
    "NaN shared bias": (lambda: Network([np.ones((2, 2))], [NAN]), "b^(1): expected finite values, got nan"),
    "too large for float32": (lambda: Network([[[1.0, 1e300]]], dtype="float32"),
                              "W^(1): 1e+300 at index [0, 1] is too large for float32"),
    "weights not a list": (lambda: Network("abc"), "weights: expected a list (one per layer), got 'abc'"),
    "biases not a list": (lambda: Network([np.ones((2, 2))], "ab"),
                          "biases: expected a list (1 entries, one per layer), got 'ab'"),
    "1-d weight": (lambda: Network([[1.0, 2.0]]), "W^(1): expected a 2-d array (n_1, n_0), got shape (2,)"),
    "1-d second weight": (lambda: Network([np.ones((2, 2)), [1.0, 2.0]]),
                          "W^(2): expected a 2-d array (n_2, n_1), got shape (2,)"),
    "shapes do not chain": (lambda: Network([np.ones((3, 2)), np.ones((1, 4))]),
                            "W^(2): expected 3 columns to match n_1 = 3 rows of W^(1), got shape (1, 4)"),
    "lr a string": (lambda: sgd_step(document_network(), _doc_backward(Y), "fast"),
                    "lr: expected a positive finite number, got 'fast'"),
    "lr a bool": (lambda: sgd_step(document_network(), _doc_backward(Y), True),
                  "lr: expected a positive finite number, got True"),
    "lr too large for a float": (lambda: sgd_step(document_network(), _doc_backward(Y), 10**400),
                                 "lr: expected a positive finite number, got int 1" + "0" * 49 + "..."),
    "lr of 60 characters": (lambda: sgd_step(document_network(), _doc_backward(Y), LONG[1:]),
                            f"lr: expected a positive finite number, got '{LONG[1:]}'"),
    "lr of 61 characters": (lambda: sgd_step(document_network(), _doc_backward(Y), LONG),
                            f"lr: expected a positive finite number, got str '{LONG[:49]}..."),
    "strings": (lambda: forward(document_network(), ["a", "b"]), "x: expected real numbers, got strings (['a', 'b'])"),
    "momentum": (lambda: SGD(0.1, momentum=-1), "momentum: expected a number >= 0, got -1"),
    "steps": (lambda: train(document_network(), X, Y, lr=0.5, steps=-1), "steps: expected an integer >= 0, got -1"),
    "sgd_step update_biases": (lambda: sgd_step(document_network(), _doc_backward(Y), 0.5, update_biases="no"),
                               "update_biases: expected True or False, got 'no'"),
    "train update_biases": (lambda: train(document_network(), X, Y, 0.5, 1, update_biases="no"),
                            "update_biases: expected True or False, got 'no'"),
    "init": (lambda: Network.random([3, 2], init="xavier"), "init: expected one of uniform, glorot, he, got 'xavier'"),
    "sizes not a list": (lambda: Network.random("32"), "sizes: expected a list (one per layer), got '32'"),
    "seed": (lambda: Network.random([3, 2], seed=-1), "seed: expected an integer >= 0, got -1"),
    "unknown activation": (lambda: Network([np.ones((2, 2))] * 2, None, ["tanh", "swish"]),
                           "activation of layer 2: unknown activation 'swish'; known: sigmoid, tanh, relu, "
                           "leaky_relu, identity, softplus, elu, silu, gelu, softmax"),
    "unknown loss": (lambda: _doc_backward(Y, "hinge"), "loss: unknown loss 'hinge'; known: half_sse, sse, mse, bce, "
                     "cross_entropy"),
    "reduction": (lambda: backward(*_doc_cache(), Y, reduction="avg"),
                  "reduction: expected one of mean, sum, got 'avg'"),
    "class index": (lambda: _doc_backward(3, "cross_entropy", _softmax_net()),
                    "y: class index out of range 0..2: got 3"),
    "bce output above 1": (lambda: _doc_backward([0.0, 1.0], "bce", _identity_net([[1.0, 0.0], [1.0, 1.0]])),
                           "a^(1): bce needs outputs that are probabilities in [0, 1], got 1.5 at index [1, 0]; end "
                           "the network in a sigmoid (bce) or softmax (cross_entropy) layer"),
    "cross_entropy output below 0": (lambda: _doc_backward([0.0, 1.0], "cross_entropy",
                                                           _identity_net([[1.0, 0.0], [-1.0, 0.0]])),
                                     "a^(1): cross_entropy needs outputs that are probabilities in [0, 1], got -0.5 "
                                     "at index [1, 0]; end the network in a sigmoid (bce) or softmax (cross_entropy) "
                                     "layer"),
    "cache of a network with other weights": (
        lambda: backward(Network([[[1.0, 2.0]]], [[0.5]]), forward(Network([[[1.0, 3.0]]], [[0.5]]), X), Y),
        "cache: computed by forward() for another network (Network(sizes=2-1, activations=sigmoid, bias=per_unit, "
        "dtype=float64)), not this one (Network(sizes=2-1, activations=sigmoid, bias=per_unit, dtype=float64)); "
        "run forward(net, x) with the network you pass to backward"),
    # numpy would warn of the overflow (and of inf - inf) on the way: the checks say it instead
    # z^(1) = -inf, and silu(-inf) = -inf x sigma(-inf) = -inf x 0: invalid
    "z overflows": (lambda: forward(Network([[[1e300, 1e300]]], None, "silu"), [-1e300, -1e300]),
                    "forward: z^(1) overflowed to inf; inputs or weights are too large"),
    # dL/da^(1) = 1e300 x 1e10 = inf, relu'(z^(1) < 0) = 0: delta^(1) = inf x 0 (and dW^(1) with it)
    "delta is NaN": (lambda: backward(_relu_identity(), forward(_relu_identity(), [1e-300]), [-1e10]),
                     "backward: delta^(1) overflowed to inf or NaN; inputs, weights or targets are too large"),
    "loss overflows": (lambda: _doc_backward([0.0], net=Network([[[1e200, 0.0]]], None, "identity")),
                       "backward: the loss L overflowed to inf; outputs or targets are too large"),
    # dW^(1) = 5e149 (1e200 - 1e200): inf - inf
    "dW is NaN": (lambda: backward(_identity_net([[1e-200]]), forward(_identity_net([[1e-200]]), [[1e200, -1e200]]),
                                   [[-1e150, -1e150]]),
                  "backward: dL/dW^(1) overflowed to inf or NaN; inputs, weights or targets are too large"),
    # dW^(2) = delta^(2) a^(1) = 1e150 x 1e160 and dW^(1) = 1e10 x 1e300: layer L is named first
    "dW overflows in two layers": (lambda: backward(_two_layers([[1e-140]], [[1e-140]]),
                                                    forward(_two_layers([[1e-140]], [[1e-140]]), [1e300]), [-1e150]),
                                   "backward: dL/dW^(2) overflowed to inf or NaN; inputs, weights or targets are too "
                                   "large"),
    # delta^(1) = W^(2) = 1e308 for each of 2 examples (reduction sum): only their sum db^(1) overflows
    "db overflows": (lambda: backward(_two_layers([[1.0]], [[1e308]], [0.0]),
                                      forward(_two_layers([[1.0]], [[1e308]], [0.0]), [[1e-300, 1e-300]]),
                                      [[1e8 - 1, 1e8 - 1]], reduction="sum"),
                     "backward: dL/db^(1) overflowed to inf or NaN; inputs, weights or targets are too large"),
    # dW^(1) = 1e100 x 1e100, lr 1e200
    "sgd_step overflows": (lambda: sgd_step(_identity_net([[1.0]]), backward(_identity_net([[1.0]]), forward(
        _identity_net([[1.0]]), [1e100]), [0.0]), 1e200), "W^(1): expected finite values, got -inf at index [0, 0]"),
    "dW missing": (lambda: sgd_step(document_network(), replace(_doc_backward(Y), dW=LayerDict({1: np.ones((2, 2))})),
                                    0.5), "grads.dW[2]: expected shape (1, 2), got nothing"),
    "dW of another shape": (lambda: sgd_step(document_network(), replace(_doc_backward(Y), dW=LayerDict(
        {1: np.ones((2, 3)), 2: np.ones((1, 2))})), 0.5), "grads.dW[1]: expected shape (2, 2), got (2, 3)"),
    "db missing": (lambda: sgd_step(document_network(), replace(_doc_backward(Y), db=LayerDict({2: np.ones(1)})), 0.5),
                   "grads.db[1]: expected shape (2,), got nothing"),
    "db of another shape": (lambda: _sgd_with_grads_of("shared", "per_unit"),
                            "grads.db[1]: expected shape (), got (3,)"),
    "optimizer": (lambda: train(document_network(), X, Y, None, 1, optimizer="adam"),
                  "optimizer: expected an optimizer of manual_bp.optimizers (SGD, Adam, AdamW, RMSprop), got str"),
    "not a cache": (lambda: backward(document_network(), {"z": {}}, Y),
                    "cache: expected the Cache that forward(net, x) returns, got dict"),
    "not gradients": (lambda: sgd_step(document_network(), {"dW": {}}, 0.5),
                      "grads: expected the Gradients that backward() returns, got dict"),
}


@pytest.mark.parametrize("case", sorted(EXACT))
def test_the_whole_message(case):
    call, message = EXACT[case]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the checks turn what numpy would warn about into the message
        with pytest.raises(InputError) as info:
            call()
    assert str(info.value) == message


# --- what the checks let through ---------------------------------------------------------------


def test_exact_fractions_in_an_object_array_are_numbers():
    x = np.array([Fraction(1, 2), Fraction(1, 1)], dtype=object)  # 1/2 and 1 are exact doubles
    np.testing.assert_array_equal(forward(document_network(), x).z[1], forward(document_network(), X).z[1])


def test_complex_lr_is_refused():
    with pytest.raises(InputError, match=r"^lr: expected a positive finite number, got "):
        sgd_step(document_network(), _doc_backward(Y), np.complex128(0.5))


def test_a_closed_range_includes_its_upper_end():
    assert SGD(0.1, momentum=0.5, dampening=1.0).dampening == 1.0 and RMSprop(alpha=1.0).alpha == 1.0


def test_float_array_copies_by_default_and_choice_returns_the_choice():
    a = np.ones(2)
    assert validate.float_array("a", a, np.float64) is not a and validate.float_array("a", a, np.float64, False) is a
    assert validate.choice("init", "he", ("uniform", "he")) == "he"


def test_forward_keeps_x_of_the_networks_dtype_without_a_copy():
    x = np.array([[0.5], [1.0]])
    assert forward(document_network(), x).a[0] is x


def test_integer_targets_are_numbers_for_every_loss_but_cross_entropy():
    assert _doc_backward([1]).loss == _doc_backward([1.0]).loss


@pytest.mark.parametrize("other", [
    lambda: Network([[[1.0, 2.0]]], [[0.25]]),  # another bias
    lambda: Network([[[1.0, 2.0]]], [[0.5]], "tanh"),  # another activation
])
def test_a_cache_of_a_network_with_other_parameters_is_refused(other):
    with pytest.raises(InputError, match=r"^cache: computed by forward\(\) for another network"):
        backward(Network([[[1.0, 2.0]]], [[0.5]]), forward(other(), X), Y)


def test_a_cache_of_an_equal_network_is_accepted():
    make = lambda: Network([[[1.0, 2.0]]], [[0.5]])  # noqa: E731
    assert backward(make(), forward(make(), X), Y).loss == backward(make(), forward(make(), X), Y).loss


@pytest.mark.parametrize(("out", "y"), [(0.0, 0.0), (1.0, 1.0)])
def test_bce_accepts_outputs_of_exactly_0_and_1(out, y):
    # a = y: the loss is 0 (the clamped log is multiplied by 0) and so is the gradient a - y
    g = _doc_backward([y], "bce", Network([[[0.0, 0.0]]], [[out]], "identity"))
    assert g.loss == 0.0 and g.dW[1].tolist() == [[0.0, 0.0]]


def test_float32_class_indices_are_the_float32_one_hot_bit_for_bit():
    net = Network.random([2, 3], "softmax", seed=1, dtype="float32")
    x = np.ones((2, 2), dtype=np.float32)
    one_hot = np.array([[0, 0], [1, 0], [0, 1]], dtype=np.float32)
    a, b = backward(net, forward(net, x), np.array([1, 2]), "cross_entropy"), backward(net, forward(net, x), one_hot,
                                                                                        "cross_entropy")
    assert a.loss == b.loss and np.array_equal(a.dW[1], b.dW[1])


def test_get_activation_names_an_activation_by_default():
    with pytest.raises(InputError, match=r"^activation: unknown activation 'swish'"):
        get_activation("swish")


def test_a_missing_layer_names_the_span_or_none():
    with pytest.raises(KeyError, match=r"layers are numbered 1\.\.3"):
        Network.random([2, 2, 2, 2]).W[4]
    with pytest.raises(KeyError, match=r"no layer 1 here; layers are numbered none \(1-based"):
        LayerDict()[1]


def test_the_largest_float32_is_still_a_learning_rate(monkeypatch):
    net = Network([[[0.0]]], None, "identity", dtype="float32")  # dL/dW = 0: the step moves nothing
    grads = backward(net, forward(net, [0.0]), [0.0])
    top = float(np.finfo(np.float32).max)
    assert sgd_step(net, grads, top).W[1].tolist() == [[0.0]]
    with pytest.raises(InputError, match=r"^lr: .* is too large for float32"):
        sgd_step(net, grads, top * 1.0000001)


def test_network_random_draws_up_to_its_bound(monkeypatch):
    monkeypatch.setattr("manual_bp.network.MAX_LAYER_ELEMENTS", 6)
    assert Network.random([2, 3]).sizes == (2, 3)  # exactly the bound: drawn
    with pytest.raises(InputError, match=r"^sizes: a layer of 8 weights"):
        Network.random([2, 4])
