"""manual_bp: the backpropagation derivation (Eq. 1-5) coded by hand in numpy.

    from manual_bp import Network, forward, backward, sgd_step
    net = Network([[[0.4, 0.6], [0.3, 0.5]], [[0.7, 0.8]]], [[0.1, 0.2], [0.3]], "sigmoid")
    cache = forward(net, [0.5, 1.0])          # cache.z[1], cache.a[2], cache.sigma_prime[1]
    grads = backward(net, cache, [1.0])       # grads.delta[2], grads.dW[1], grads.db[2]
    net2 = sgd_step(net, grads, lr=0.5)       # Eq. 5, a new Network
    opt = Adam(lr=1e-3); net3 = opt.step(net, grads)   # or an optimizer: opt.state["exp_avg"].W[1]

The algorithm itself, one method per step of the document, is ``manual_bp.Backprop``; the
optimizers (SGD with momentum, Adam, AdamW, RMSprop) are in ``manual_bp.optimizers``.
"""

from manual_bp.activations import ACTIVATIONS
from manual_bp.backprop import BACKPROP, Backprop, Cache, Gradients, Quantities, backward, forward
from manual_bp.errors import InputError
from manual_bp.losses import LOSSES, REDUCTIONS
from manual_bp.network import Network
from manual_bp.optimizers import SGD, Adam, AdamW, Buffers, Optimizer, OptimizerState, RMSprop
from manual_bp.sgd import TrainResult, sgd_step, train

__all__ = [
    "ACTIVATIONS",
    "BACKPROP",
    "LOSSES",
    "REDUCTIONS",
    "SGD",
    "Adam",
    "AdamW",
    "Backprop",
    "Buffers",
    "Cache",
    "Gradients",
    "InputError",
    "Network",
    "Optimizer",
    "OptimizerState",
    "Quantities",
    "RMSprop",
    "TrainResult",
    "backward",
    "forward",
    "sgd_step",
    "train",
]
__version__ = "0.2.0"
