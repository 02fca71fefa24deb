"""A complete worked solution of a worked-example file, in Markdown with LaTeX.

The solution follows the document's order: the forward pass layer by layer, the loss, the
backward pass (the output error, Eq. 1; the output layer's gradients, Eq. 3 and Eq. 4; then
for each hidden layer its error, Eq. 2, and its gradients), the update, Eq. 5, and the loss
after the update. Every line shows the formula with the numbers put in, like the document
(the lines themselves are oracle.worked.latex).

Two ways to round (``digits`` decimal places, half away from zero):
* exact (default): every number is computed in float64 and rounded only for display, so each
  printed value is the exact value at those digits;
* ``carry_rounding``: every quantity is rounded as soon as it is computed and the rounded value
  is what the next step uses, the way hand calculations go; the solution then ends with the
  drift, every value that differs from the exact one at those digits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np

from manual_bp.errors import InputError
from oracle import notation
from oracle.worked.format import WorkedExample, parse_key, quantity_keys
from oracle.worked.latex import (
    Writer,
    activation_line,
    bias_gradient_lines,
    delta_line,
    dL,
    examples,
    loss_formula,
    loss_lines,
    matrix,
    output_gradient_line,
    per_example,
    sigma_prime_line,
    softmax_cross_entropy,
    softmax_cross_entropy_lines,
    softmax_jacobian_lines,
    weight_gradient_lines,
)
from oracle.worked.replay import replay
from oracle.worked.rounding import half_up, text_of
from oracle.worked.values import exact_values

MAX_DIGITS = 12


@dataclass
class Solution:
    """The Markdown text, the value shown for every quantity (strings at ``digits`` decimals,
    in the layout of a worked-example file's [claimed]), and, with carried rounding, the drift:
    (element, carried, exact at the same digits) wherever the two differ."""

    markdown: str
    printed: dict[str, np.ndarray]
    drift: list[tuple[str, str, str]]


def _forward_section(w: Writer) -> list[str]:
    ex, net = w.ex, w.ex.net
    out = ["## Phase 1: forward propagation"]
    for l in range(1, net.L + 1):
        src = "input" if l == 1 else f"hidden layer {l - 1}"
        dst = "output" if l == net.L else f"hidden layer {l}"
        name = net.activations[l]
        out += [f"### Layer {l}: {src} → {dst} ({name})",
                f"$$z^{{({l})}} = W^{{({l})}} {'x' if l == 1 else f'a^{{({l - 1})}}'}"
                f"{'' if net.b[l] is None else f' + b^{{({l})}}'}, \\qquad a^{{({l})}} = \\sigma(z^{{({l})}})$$"]
        W, b = net.W[l], net.b[l]
        for k in examples(w):
            lines = []
            for i in range(W.shape[0]):
                terms = " + ".join(f"{w.paren(w.given(W[i, j]))} \\times {w.paren(w.shown(f'a{l - 1}', j, k))}"
                                   for j in range(W.shape[1]))
                bias = "" if b is None else f" + {w.paren(w.given(b if b.ndim == 0 else b[i]))}"
                lines.append(f"$${w.sym('z', l, i, k)} = {terms}{bias} = {w.num(w.value(f'z{l}', i, k))}$$")
            for i in range(W.shape[0]):
                lines.append(activation_line(w, name, l, i, k))
            out += per_example(w, k, lines)
    out += ["### Loss", f"$$L = {loss_formula(ex)}$$", *loss_lines(w)]
    return out


def _backward_section(w: Writer) -> list[str]:
    net, L = w.ex.net, w.ex.net.L
    out = ["## Phase 2: backward propagation"]
    step = 1
    for l in range(L, 0, -1):
        name = net.activations[l]
        if l == L:
            form = (rf"a^{{({L})}} - y" if softmax_cross_entropy(w.ex) else
                    rf"J^T {dL(f'a^{{({L})}}')}" if name == "softmax" else
                    rf"{dL(f'a^{{({L})}}')} \odot \sigma'(z^{{({L})}})")
            out += [f"### Step {step}: output layer error (Eq. 1)", rf"$$\delta^{{({L})}} = {form}$$"]
        else:
            out += [f"### Step {step}: hidden layer {l} error (Eq. 2)",
                    rf"$$\delta^{{({l})}} = (W^{{({l + 1})}})^T \delta^{{({l + 1})}} \odot \sigma'(z^{{({l})}})$$"]
        step += 1
        n = net.sizes[l]
        if l == L and softmax_cross_entropy(w.ex):
            out += softmax_cross_entropy_lines(w)
        for k in examples(w) if not (l == L and softmax_cross_entropy(w.ex)) else ():
            lines = []
            if name == "softmax":
                lines += softmax_jacobian_lines(w, l, k)
            else:
                lines += [sigma_prime_line(w, name, l, i, k) for i in range(n)]
            for i in range(n):
                if l == L:
                    lines.append(output_gradient_line(w, i, k))
                else:
                    W = net.W[l + 1]
                    terms = " + ".join(f"{w.paren(w.given(W[r, i]))} \\times {w.paren(w.shown(f'delta{l + 1}', r, k))}"
                                       for r in range(W.shape[0]))
                    lines.append(f"$${dL(w.sym('a', l, i, k))} = \\sum_r w^{{({l + 1})}}_{{r{i + 1}}} "
                                 f"\\delta^{{({l + 1})}}_r = {terms} = {w.num(w.value(f'dL_da{l}', i, k))}$$")
            lines += [delta_line(w, l, i, k, "Eq. 1" if l == L else "Eq. 2") for i in range(n)]
            out += per_example(w, k, lines)
        src = "x" if l == 1 else f"a^{{({l - 1})}}"
        out += [f"### Step {step}: layer {l} weight and bias gradients (Eq. 3, Eq. 4)",
                rf"$${dL(f'W^{{({l})}}')} = \delta^{{({l})}} ({src})^T, \qquad {dL(f'b^{{({l})}}')} = "
                rf"\delta^{{({l})}}$$" + ("" if w.m == 1 else " (each summed over the examples of the batch)"),
                *weight_gradient_lines(w, l), *bias_gradient_lines(w, l)]
        step += 1
    return out


def _update_section(w: Writer) -> list[str]:
    ex, net = w.ex, w.ex.net
    eta = w.given(ex.lr)
    out = [f"## Parameter update (Eq. 5, learning rate $\\eta = {eta}$)",
           r"$$W^{(l)} \leftarrow W^{(l)} - \eta \frac{\partial L}{\partial W^{(l)}}, \qquad "
           r"b^{(l)} \leftarrow b^{(l)} - \eta \frac{\partial L}{\partial b^{(l)}}$$"]
    for l in range(net.L, 0, -1):
        W = net.W[l]
        for i in range(W.shape[0]):
            for j in range(W.shape[1]):
                out.append(f"$$w'^{{({l})}}_{{{i + 1}{j + 1}}} = {w.given(W[i, j])} - {eta} \\times "
                           f"{w.paren(w.num(w.fed[f'dW{l}'][i, j]))} = {w.num(w.fed[f'W{l}_new'][i, j])}$$")
        b = net.b[l]
        if b is None:
            continue
        if not ex.update_biases:
            out.append(f"$$b'^{{({l})}} = b^{{({l})}} = {matrix(b, w.given) if b.ndim else w.given(b)}"
                       r" \quad \text{(the biases are not updated)}$$")
            continue
        db, new = w.fed[f"db{l}"], w.fed[f"b{l}_new"]
        items = [((), "")] if b.ndim == 0 else [((i,), f"_{{{i + 1}}}") for i in range(len(b))]
        for index, sub in items:
            out.append(f"$$b'^{{({l})}}{sub} = {w.given(b[index])} - {eta} \\times {w.paren(w.num(db[index]))} = "
                       f"{w.num(new[index])}$$")
    out += ["### Loss after the update",
            f"The forward pass with $W'$, $b'$ on the same data gives $L' = {w.num(float(w.fed['L_new']))}$ "
            f"(before the update $L = {w.num(float(w.fed['L']))}$)."]
    return out


def _given_section(w: Writer) -> list[str]:
    ex, net = w.ex, w.ex.net
    lines = ["## Given"]
    x = np.asarray(ex.x)
    y = np.asarray(ex.y)
    items = [f"$x = {matrix(x if x.ndim == 2 else x[:, None], w.given)}$",
             f"$y = {matrix(y if y.ndim == 2 else y.reshape(-1, 1), w.given)}$"]
    for l in range(1, net.L + 1):
        items.append(f"$W^{{({l})}} = {matrix(net.W[l], w.given)}$")
        b = net.b[l]
        if b is None:
            items.append(f"no $b^{{({l})}}$")
        elif b.ndim == 0:
            items.append(f"$b^{{({l})}} = {w.given(b)}$ (shared by the layer's units)")
        else:
            items.append(f"$b^{{({l})}} = {matrix(b[:, None], w.given)}$")
    return [*lines, ", ".join(items[:2]) + ";", "; ".join(items[2:]) + "."]


def _latex_element(ex: WorkedExample, key: str, index: tuple[int, ...]) -> str:
    prop, l = parse_key(key)
    return notation.latex(prop, l, index, softmax=l is not None and ex.net.activations[l] == "softmax")


def _printed(ex: WorkedExample, values: dict[str, np.ndarray], digits: int) -> dict[str, np.ndarray]:
    out = {}
    for key in quantity_keys(ex.net):
        arr = np.asarray(values[key], dtype=np.float64)
        text = np.empty(arr.shape, dtype=object)
        for index in np.ndindex(arr.shape):
            text[index] = text_of(half_up(arr[index], -digits))
        out[key] = text
    return out


def solve(ex: WorkedExample, digits: int = 4, carry_rounding: bool = False) -> Solution:
    """The worked solution of ``ex`` at ``digits`` decimal places (see the module docstring)."""
    if not isinstance(digits, int) or isinstance(digits, bool) or not 0 <= digits <= MAX_DIGITS:
        raise InputError(f"--digits: expected a whole number of decimal places 0..{MAX_DIGITS}, got {digits!r}")
    if ex.lr is None:
        raise InputError("network.learning_rate: missing; a worked solution ends with the update (Eq. 5)")

    def round_all(key: str, value: np.ndarray) -> np.ndarray:
        return np.vectorize(lambda v: float(half_up(v, -digits)), otypes=[np.float64])(value)

    # A solution is computed through the document's quantities only: the parts an example happens
    # to print (the terms of a sum) would otherwise be rounded and carried without being shown.
    rep = replay(replace(ex, claimed={}), round_all if carry_rounding else None)
    fed = dict(rep.fed)
    w = Writer(ex, digits, fed)
    net = ex.net
    exact = exact_values(ex)
    printed = _printed(ex, fed, digits)
    exact_printed = _printed(ex, exact, digits)
    drift = [(_latex_element(ex, k, idx), printed[k][idx], exact_printed[k][idx])
             for k in quantity_keys(ex.net) for idx in np.ndindex(printed[k].shape)
             if Decimal(printed[k][idx]) != Decimal(exact_printed[k][idx])]

    how = (f"Every quantity is rounded to {digits} decimal places (half away from zero) as soon as it is computed, "
           "and the rounded value is what the next step uses, the way a hand calculation goes."
           if carry_rounding else
           f"Every number is computed exactly (float64) and rounded to {digits} decimal places (half away from zero) "
           "only for display, so each value shown is the exact value at those digits.")
    acts = ", ".join(f"{net.activations[l]} in layer {l}" for l in range(1, net.L + 1))
    batch = ("one example" if ex.single else
             f"a batch of {ex.batch} examples, the columns of $x$ ({ex.reduction} over the batch); a subscript "
             "$i,k$ is unit $i$ of example $k$")
    parts = [f"# {ex.title}: worked solution",
             f"Network {'-'.join(map(str, net.sizes))} with {acts}; loss `{ex.loss}`; {batch}; learning rate "
             f"$\\eta = {w.given(ex.lr)}$. Layers, units and examples are numbered from 1, as in the document. {how}",
             *_given_section(w), *_forward_section(w), *_backward_section(w), *_update_section(w)]
    if carry_rounding:
        parts.append("## Drift: carried rounding against the exact values")
        if drift:
            rows = "\n".join(f"| ${name}$ | {c} | {e} | {int((Decimal(c) - Decimal(e)).scaleb(digits)):+d} |"
                             for name, c, e in drift)
            parts.append(f"{len(drift)} values differ from the exact value at {digits} decimals because rounded "
                         f"values were carried:\n\n| quantity | carried | exact at {digits} decimals | "
                         f"difference (units of the last digit) |\n| --- | ---: | ---: | ---: |\n{rows}")
        else:
            parts.append(f"None: at {digits} decimals, every carried value equals the exact one.")
    return Solution("\n\n".join(parts) + "\n", printed, drift)
