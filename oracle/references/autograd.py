"""The PyTorch reference: the same network rebuilt from its numbers with torch's own layers,
activations, losses and optimizer, differentiated by autograd. Nothing here calls manual_bp's
math; only the Network's arrays and activation names are read.

torch works in its own row layout (one example per row, ``F.linear(a, W, b) = a W^T + b``);
every property is transposed back to the document's columns before it is returned.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from manual_bp.network import Network

# softplus: torch switches to the identity above `threshold` (default 20), where the true
# value differs by log1p(e^-20) = 2e-9. Above 40, e^-z is below half an ulp of z in float64,
# so threshold=40 makes torch's softplus the exact function in float64 and float32 alike.
SOFTPLUS_THRESHOLD = 40.0

TORCH_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": F.relu,
    "leaky_relu": F.leaky_relu,  # negative_slope 0.01
    "identity": lambda z: z,
    "softplus": lambda z: F.softplus(z, beta=1.0, threshold=SOFTPLUS_THRESHOLD),
    "elu": F.elu,  # alpha 1
    "silu": F.silu,
    "gelu": F.gelu,  # approximate='none': the erf form
    "softmax": lambda z: torch.softmax(z, dim=1),  # rows are examples, so over dim 1
}


def _targets(y: object, n_out: int, m: int, loss: str, dtype: torch.dtype) -> torch.Tensor:
    """Targets in torch's row layout: (m, n_out) floats, or (m,) class indices."""
    Y = np.asarray(y)
    if loss == "cross_entropy" and Y.dtype.kind in "iu":
        return torch.as_tensor(Y.reshape(m), dtype=torch.long)
    return torch.as_tensor(Y.reshape(n_out, m).T.copy(), dtype=dtype)


def torch_loss(a: torch.Tensor, t: torch.Tensor, loss: str, reduction: str) -> torch.Tensor:
    """manual_bp's loss definitions, written with torch's own loss functions.

    a: (m, n) outputs; per example l_k as in manual_bp.losses; mean or sum over the m rows."""
    m, n = a.shape
    per_batch = m if reduction == "mean" else 1
    if loss == "half_sse":
        return F.mse_loss(a, t, reduction="sum") / (2 * per_batch)
    if loss == "sse":
        return F.mse_loss(a, t, reduction="sum") / per_batch
    if loss == "mse":
        return F.mse_loss(a, t, reduction="sum") / (n * per_batch)
    if loss == "bce":
        return F.binary_cross_entropy(a, t, reduction="sum") / (n * per_batch)
    if loss == "cross_entropy":
        if t.dtype == torch.long:
            return F.nll_loss(torch.log(a), t, reduction="sum") / per_batch
        return -(t * torch.log(a)).sum() / per_batch
    raise ValueError(f"loss: unknown loss {loss!r}")


def torch_loss_at_logit(z: torch.Tensor, t: torch.Tensor, activation: str, loss: str, reduction: str
                        ) -> torch.Tensor | None:
    """The loss from the logits z (m, n) for a sigmoid with bce and a softmax with cross_entropy,
    by torch's exact forms (binary_cross_entropy_with_logits, cross_entropy), as manual_bp
    computes them; None for any other output and loss (then :func:`torch_loss` on a)."""
    m, n = z.shape
    per_batch = m if reduction == "mean" else 1
    if (activation, loss) == ("sigmoid", "bce"):
        return F.binary_cross_entropy_with_logits(z, t, reduction="sum") / (n * per_batch)
    if (activation, loss) == ("softmax", "cross_entropy"):
        return F.cross_entropy(z, t, reduction="sum") / per_batch  # class indices or probabilities
    return None


def _output_loss(z: torch.Tensor, a: torch.Tensor, t: torch.Tensor, activation: str, loss: str, reduction: str
                 ) -> torch.Tensor:
    """The loss of the output layer: at the logit where torch has the exact form, else on a."""
    at_logit = torch_loss_at_logit(z, t, activation, loss, reduction)
    return torch_loss(a, t, loss, reduction) if at_logit is None else at_logit


def _cols(t: torch.Tensor, single: bool) -> np.ndarray:
    """A (m, n) row-layout tensor as the document's (n, m) columns, or (n,) for one example."""
    out = t.detach().T.numpy().copy()
    return out[:, 0] if single else out


def _sigma_primes(activations: dict[int, str], z: dict[int, torch.Tensor], single: bool) -> dict[int, np.ndarray]:
    """sigma'(z^(l)) of every layer by autograd: for the elementwise layers d sum_l sum(sigma(z^(l)))
    / dz^(l), all in one backward pass (the layers' terms are independent); the Jacobian for softmax."""
    zz = {l: z[l].detach().clone().requires_grad_(True) for l in z}
    elementwise = [l for l in zz if activations[l] != "softmax"]
    out: dict[int, np.ndarray] = {}
    if elementwise:
        total = sum(TORCH_ACTIVATIONS[activations[l]](zz[l]).sum() for l in elementwise)
        grads = torch.autograd.grad(total, [zz[l] for l in elementwise])
        out = {l: _cols(g, single) for l, g in zip(elementwise, grads, strict=True)}
    for l in zz:
        if activations[l] == "softmax":
            out[l] = _softmax_jacobian(zz[l], single)
    return {l: out[l] for l in sorted(out)}


def _softmax_jacobian(zz: torch.Tensor, single: bool) -> np.ndarray:
    """J[i, j, k] = d a_ik / d z_jk, one example k per row of zz: row i of J is the
    vector-Jacobian product of e_i, all n of them in one batched autograd call."""
    a = TORCH_ACTIVATIONS["softmax"](zz)
    m, n = a.shape
    unit = torch.eye(n, dtype=a.dtype).unsqueeze(1).expand(n, m, n)  # unit[i, k, :] = e_i
    (g,) = torch.autograd.grad(a, zz, unit, is_grads_batched=True)  # g[i, k, j] = d a_ik / d z_kj
    out = g.permute(0, 2, 1).numpy().copy()
    return out[..., 0] if single else out


def _parameters(net: Network, dtype: torch.dtype) -> tuple[dict[int, torch.Tensor], dict[int, torch.Tensor | None]]:
    """W^(l) and b^(l) as leaf tensors that require grad (b^(l) None for a layer without bias)."""
    W = {l: torch.tensor(net.W[l], dtype=dtype, requires_grad=True) for l in net.W}
    b = {l: None if net.b[l] is None else torch.tensor(net.b[l], dtype=dtype, requires_grad=True) for l in net.b}
    return W, b


def _torch_forward(W: dict[int, torch.Tensor], b: dict[int, torch.Tensor | None], a0: torch.Tensor,
                   activations: dict[int, str], retain: bool = False
                   ) -> tuple[dict[int, torch.Tensor], dict[int, torch.Tensor]]:
    """z^(l) = F.linear(a^(l-1), W^(l), b^(l)) and a^(l) = sigma(z^(l)) in rows; with retain,
    every z and a keeps its .grad so autograd reports delta^(l) and dL/da^(l)."""
    z, a = {}, {0: a0}
    for l in sorted(W):
        per_unit = b[l] is not None and b[l].ndim == 1
        z[l] = F.linear(a[l - 1], W[l], b[l] if per_unit else None)
        if b[l] is not None and not per_unit:
            z[l] = z[l] + b[l]  # one bias shared by the layer's units
        a[l] = TORCH_ACTIVATIONS[activations[l]](z[l])
        if retain:
            z[l].retain_grad()
            a[l].retain_grad()
    return z, a


# torch splits a kernel's work between threads only above 32768 elements (at::internal::GRAIN_SIZE),
# but some kernels (softmax, several backward ones) enter a parallel region whatever their size,
# and that wakes the other OpenMP threads: on a busy 2-core machine a wait of milliseconds per
# operation (the sweep ran 4-8x slower on 2 threads than on 1). Networks whose every tensor is
# below this size therefore run on one thread. Measured on 600 sweep networks per dtype: float64
# results are bit for bit those of 2 threads; float32 ones differ by at most 1 ulp in some
# layers at and below a softmax (torch's float32 softmax backward sums in another order).
ONE_THREAD_BELOW = 32768


@contextmanager
def _threads_for(net: Network, m: int) -> Iterator[None]:
    """One torch thread inside the block when every tensor of this network is small, else as set."""
    sizes = net.sizes
    largest = max(max(a * b for a, b in itertools.pairwise(sizes)), max(sizes) ** 2 * m)  # W^(l); a softmax J
    before = torch.get_num_threads()
    if largest >= ONE_THREAD_BELOW or before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def torch_properties(net: Network, x: object, y: object, loss: str = "half_sse", reduction: str = "mean",
                     lr: float | None = None, update_biases: bool = True,
                     dtype: torch.dtype | None = None) -> dict[str, Any]:
    """Every property manual_bp computes, by torch autograd, keyed by name and 1-based layer.

    Returns {'z': {l: z^(l)}, 'a': {0..L}, 'sigma_prime': {l}, 'L': float, 'dL_da': {l},
    'delta': {l}, 'dW': {l}, 'db': {l: array or None}} and, when lr is given, 'W_new' and
    'b_new' after one step of torch.optim.SGD. dtype defaults to the network's own."""
    with _threads_for(net, np.shape(x)[1] if np.ndim(x) == 2 else 1):
        return _torch_properties(net, x, y, loss, reduction, lr, update_biases, dtype)


def _on_output(zL: torch.Tensor, t: torch.Tensor, activation: str, loss: str, reduction: str
               ) -> dict[str, torch.Tensor]:
    """dL/da^(L) and delta^(L) by torch's loss on the output a (binary_cross_entropy, -y log a):
    what nn.BCELoss on a sigmoid, or NLL on log(softmax), would give; it clamps and rounds where
    the logit form does not (oracle.compare.torch_limits says where)."""
    z = zL.detach().clone().requires_grad_(True)
    a = TORCH_ACTIVATIONS[activation](z)
    a.retain_grad()
    torch_loss(a, t, loss, reduction).backward()
    return {"dL_da": a.grad, "delta": z.grad}


def _torch_properties(net: Network, x: object, y: object, loss: str, reduction: str, lr: float | None,
                      update_biases: bool, dtype: torch.dtype | None) -> dict[str, Any]:
    """torch_properties, on whatever thread count is set."""
    if dtype is None:
        dtype = torch.float64 if net.dtype == np.float64 else torch.float32
    X = np.asarray(x, dtype=np.float64)
    single = X.ndim == 1
    X2 = X[:, None] if single else X
    m = X2.shape[1]
    L = net.L
    W, b = _parameters(net, dtype)

    z, a = _torch_forward(W, b, torch.as_tensor(X2.T.copy(), dtype=dtype), net.activations, retain=True)
    t = _targets(y, net.sizes[-1], m, loss, dtype)
    loss_value = _output_loss(z[L], a[L], t, net.activations[L], loss, reduction)
    loss_value.backward()
    on_a = {}
    if a[L].grad is None:  # the loss was taken at the logit: dL/da^(L) and delta^(L) as torch's loss on a gives them
        on_a = _on_output(z[L], t, net.activations[L], loss, reduction)

    out: dict[str, Any] = {
        "z": {l: _cols(z[l], single) for l in z},
        "a": {l: _cols(a[l], single) for l in a},
        "sigma_prime": _sigma_primes(net.activations, z, single),
        "L": float(loss_value.detach()),
        "dL_da": {l: _cols(on_a["dL_da"] if l == L and on_a else a[l].grad, single) for l in z},
        "delta": {l: _cols(z[l].grad, single) for l in z},
        "dW": {l: W[l].grad.numpy().copy() for l in W},
        "db": {l: None if b[l] is None else b[l].grad.numpy().copy() for l in b},
    }
    if on_a:
        out["delta_on_a"] = {L: _cols(on_a["delta"], single)}
    if lr is not None:
        params = list(W.values())
        if update_biases:
            params += [p for p in b.values() if p is not None]
        torch.optim.SGD(params, lr=lr).step()
        out["W_new"] = {l: W[l].detach().numpy().copy() for l in W}
        out["b_new"] = {l: None if b[l] is None else b[l].detach().numpy().copy() for l in b}
    return out


def torch_trajectory(net: Network, x: object, y: object, lr: float, steps: int, loss: str = "half_sse",
                     reduction: str = "mean") -> list[dict[int, np.ndarray]]:
    """W^(l) after each of ``steps`` full-batch steps of torch.optim.SGD (index 0 is the start)."""
    history = optimizer_trajectory(net, x, y, lambda params: torch.optim.SGD(params, lr=lr), steps, loss, reduction)
    return [W for W, _ in history]


def optimizer_trajectory(net: Network, x: object, y: object,
                         make_optimizer: Callable[[list[torch.Tensor]], torch.optim.Optimizer], steps: int,
                         loss: str = "half_sse", reduction: str = "mean"
                         ) -> list[tuple[dict[int, np.ndarray], dict[int, np.ndarray | None]]]:
    """(W^(l), b^(l)) after each of ``steps`` full-batch steps of the torch optimizer that
    ``make_optimizer(params)`` builds over [W^(1), b^(1), W^(2), ...] (index 0 is the start)."""
    dtype = torch.float64 if net.dtype == np.float64 else torch.float32
    X = np.asarray(x, dtype=np.float64)
    X2 = X[:, None] if X.ndim == 1 else X
    m = X2.shape[1]
    L = net.L
    W, b = _parameters(net, dtype)
    opt = make_optimizer([p for l in W for p in (W[l], b[l]) if p is not None])
    inputs = torch.as_tensor(X2.T.copy(), dtype=dtype)
    targets = _targets(y, net.sizes[-1], m, loss, dtype)

    def now() -> tuple[dict[int, np.ndarray], dict[int, np.ndarray | None]]:
        return ({l: W[l].detach().numpy().copy() for l in W},
                {l: None if b[l] is None else b[l].detach().numpy().copy() for l in b})

    history = [now()]
    for _ in range(steps):
        opt.zero_grad()
        z, a = _torch_forward(W, b, inputs, net.activations)
        _output_loss(z[L], a[L], targets, net.activations[L], loss, reduction).backward()
        opt.step()
        history.append(now())
    return history
