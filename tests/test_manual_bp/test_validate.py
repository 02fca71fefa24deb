"""Bad input raises InputError naming the argument, the expected and the actual value."""

from __future__ import annotations

import numpy as np
import pytest
from support import X, Y, document_network

from manual_bp import InputError, Network, backward, forward, sgd_step, train

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
    "no network to forward": (lambda: forward(None, [0.5]), r"^net: expected a manual_bp Network, got None"),
    "an array as the network": (lambda: backward(np.zeros(0), forward(document_network(), X), Y), r"^net: "),
    "a string as the network": (lambda: sgd_step("net", backward(*_doc_cache(), Y), 0.1), r"^net: "),
    "0-d weights": (lambda: Network(np.array(1.0)), r"^weights: expected a list"),
    "copy not a bool": (lambda: Network([[[0.4]]], copy=np.ones(2)), r"^copy: expected True or False"),
    "a timedelta as steps": (lambda: train(document_network(), X, Y, 0.1, np.timedelta64(2, "s")), r"^steps: "),
    "a timedelta as a size": (lambda: Network.random([np.timedelta64(2, "s"), 1]), r"^sizes\[0\]: "),
    "an lr beyond float32": (lambda: sgd_step(Network([[[0.4]]], dtype="float32"),
                                              backward(Network([[[0.4]]], dtype="float32"),
                                                       forward(Network([[[0.4]]], dtype="float32"), [0.5]), [1.0]),
                                              1e308), r"^lr: 1e\+308 is too large for float32"),
    "sizes too large to draw": (lambda: Network.random([10**400, 1]), r"^sizes: a layer of .* weights is more"),
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
