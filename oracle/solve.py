"""A complete worked solution of a worked-example file, in Markdown with LaTeX.

The solution follows the document's order: the forward pass layer by layer, the loss, the
backward pass (the output error, Eq. 1; the output layer's gradients, Eq. 3 and Eq. 4; then
for each hidden layer its error, Eq. 2, and its gradients), the update, Eq. 5, and the loss
after the update. Every line shows the formula with the numbers put in, like the document.

Two ways to round (``digits`` decimal places, half away from zero):
* exact (default): every number is computed in float64 and rounded only for display, so each
  printed value is the exact value at those digits;
* ``carry_rounding``: every quantity is rounded as soon as it is computed and the rounded value
  is what the next step uses, the way hand calculations go; the solution then ends with the
  drift, every value that differs from the exact one at those digits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from manual_bp.errors import InputError
from manual_bp.losses import expand_class_indices
from manual_bp.worked import WorkedExample, parse_key, replay
from oracle.worked import exact_values, half_up

MAX_DIGITS = 12


def _text(value: Decimal) -> str:
    """A rounded value as text; -0.0000 is written 0.0000."""
    return str(value.copy_abs() if value.is_zero() else value)


@dataclass
class Solution:
    """The Markdown text, the value shown for every quantity (strings at ``digits`` decimals,
    in the layout of a worked-example file's [claimed]), and, with carried rounding, the drift:
    (element, carried, exact at the same digits) wherever the two differ."""

    markdown: str
    printed: dict[str, np.ndarray]
    drift: list[tuple[str, str, str]]


class _Writer:
    """Formats the numbers of one solution."""

    def __init__(self, ex: WorkedExample, digits: int, fed: dict[str, np.ndarray]) -> None:
        self.ex, self.digits, self.fed = ex, digits, fed
        self.single, self.m = ex.single, ex.batch

    def num(self, value: float) -> str:
        """A computed value at the solution's digits (a value that rounds to zero shows no sign)."""
        return _text(half_up(value, -self.digits))

    @staticmethod
    def given(value: float) -> str:
        """A number given in the file (weights, inputs, targets), as short as it is."""
        v = float(value)
        return f"{v:.1f}" if v.is_integer() else f"{v:.12g}"

    @staticmethod
    def paren(text: str) -> str:
        """A factor in a product: negative numbers in parentheses."""
        return f"({text})" if text.startswith("-") else text

    def value(self, key: str, *index: int) -> float:
        """The value of a per-example quantity fed to later steps, for unit i (and example k)."""
        arr = self.fed[key]
        if key == "a0":
            arr = np.asarray(self.ex.x, dtype=np.float64)
        return float(arr[index[:-1]] if self.single and len(index) > arr.ndim else arr[index])

    def shown(self, key: str, *index: int) -> str:
        """A fed value as the solution shows it (inputs x as given)."""
        v = self.value(key, *index)
        return self.given(v) if key == "a0" else self.num(v)

    def sub(self, i: int, k: int) -> str:
        """The subscript of unit i (0-based) of example k: '1' for one example, '1,2' for a batch."""
        return f"{i + 1}" if self.single else f"{i + 1},{k + 1}"

    def sym(self, name: str, l: int, i: int, k: int) -> str:
        """A per-example symbol in LaTeX: z^{(1)}_{1}, a^{(0)} is x."""
        if name == "a" and l == 0:
            return f"x_{{{self.sub(i, k)}}}"
        return f"{name}^{{({l})}}_{{{self.sub(i, k)}}}"


def _matrix(values: np.ndarray, fmt: Callable[[float], str]) -> str:
    rows = np.atleast_2d(values)
    body = r" \\ ".join(" & ".join(fmt(v) for v in row) for row in rows)
    return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"


def _dL(symbol: str) -> str:
    return rf"\frac{{\partial L}}{{\partial {symbol}}}"


def _activation_line(w: _Writer, name: str, l: int, i: int, k: int) -> str:
    z = w.shown(f"z{l}", i, k)
    a = w.num(w.value(f"a{l}", i, k)) if f"a{l}" in w.fed else ""
    forms = {
        "sigmoid": rf"\sigma({z}) = \frac{{1}}{{1 + e^{{-{w.paren(z)}}}}}",
        "tanh": rf"\tanh({z})",
        "relu": rf"\max(0, {z})",
        "leaky_relu": rf"\max({z}, 0.01 \times {w.paren(z)})",
        "identity": z,
        "softplus": rf"\ln(1 + e^{{{z}}})",
        "elu": rf"\mathrm{{elu}}({z})",
        "silu": rf"{w.paren(z)}\,\sigma({z})",
        "gelu": rf"\mathrm{{gelu}}({z})",
    }
    if name == "softmax":
        n = w.ex.net.sizes[l]
        terms = " + ".join(f"e^{{{w.shown(f'z{l}', j, k)}}}" for j in range(n))
        form = rf"\frac{{e^{{{z}}}}}{{{terms}}}"
    else:
        form = forms[name]
    return f"$${w.sym('a', l, i, k)} = {form} = {a}$$"


def _sigma_prime_line(w: _Writer, name: str, l: int, i: int, k: int) -> str:
    a = w.shown(f"a{l}", i, k)
    z = w.shown(f"z{l}", i, k)
    value = w.num(w.value(f"sigma_prime{l}", i, k))
    lhs = rf"\sigma'({w.sym('z', l, i, k)})"
    positive = float(a) > 0
    relation = ">" if positive else r"\le"
    where = rf"\quad (a {relation} 0)"
    forms = {
        "sigmoid": f"a(1 - a) = {a}(1 - {a})",
        "tanh": f"1 - a^2 = 1 - {w.paren(a)}^2",
        "identity": "1",
        "relu": f"{'1' if positive else '0'} {where}",
        "leaky_relu": f"{'1' if positive else '0.01'} {where}",
    }
    form = forms.get(name, rf"\mathrm{{{name}}}'({z})")
    return f"$${lhs} = {form} = {value}$$"


def _loss_lines(w: _Writer) -> list[str]:
    ex, L = w.ex, w.ex.net.L
    n = ex.net.sizes[-1]
    Y = expand_class_indices(ex.y, ex.loss, n).reshape(n, w.m)
    lines = []
    for k in range(w.m):
        a = [w.shown(f"a{L}", i, k) for i in range(n)]
        y = [w.given(Y[i, k]) for i in range(n)]
        av = [w.value(f"a{L}", i, k) for i in range(n)]
        if ex.loss in ("half_sse", "sse", "mse"):
            squares = " + ".join(f"({y[i]} - {a[i]})^2" for i in range(n))
            value = sum((Y[i, k] - av[i]) ** 2 for i in range(n))
            factor = {"half_sse": (r"\frac{1}{2}", 0.5), "sse": ("", 1.0),
                      "mse": (rf"\frac{{1}}{{{n}}}" if n > 1 else "", 1.0 / n)}
            pre, f = factor[ex.loss]
            body = f"{pre}\\left[{squares}\\right]" if pre else squares
            value *= f
        elif ex.loss == "bce":
            terms = " + ".join(rf"{y[i]} \ln {a[i]} + (1 - {y[i]}) \ln(1 - {a[i]})" for i in range(n))
            pre = "" if n == 1 else rf"\frac{{1}}{{{n}}}"
            body = rf"-{pre}\left[{terms}\right]"
            value = -sum(Y[i, k] * max(np.log(av[i]), -100.0) + (1 - Y[i, k]) * max(np.log1p(-av[i]), -100.0)
                         for i in range(n)) / n
        else:
            terms = " + ".join(rf"{y[i]} \ln {a[i]}" for i in range(n) if Y[i, k] != 0)
            body = rf"-\left[{terms}\right]"
            value = -sum(Y[i, k] * np.log(av[i]) for i in range(n) if Y[i, k] != 0)
        lhs = "L" if w.m == 1 else f"\\ell_{{{k + 1}}}"
        lines.append(f"$${lhs} = {body} = {w.num(value)}$$")
    if w.m > 1:
        total = " + ".join(f"\\ell_{{{k + 1}}}" for k in range(w.m))
        pre = rf"\frac{{1}}{{{w.m}}}" if ex.reduction == "mean" else ""
        lines.append(f"$$L = {pre}({total}) = {w.num(float(w.fed['L']))}$$" if pre else
                     f"$$L = {total} = {w.num(float(w.fed['L']))}$$")
    return lines


def _loss_formula(ex: WorkedExample) -> str:
    n = ex.net.sizes[-1]
    per_output = rf"\frac{{1}}{{{n}}}" if n > 1 else ""
    inner = {"half_sse": r"\frac{1}{2}\sum_i (y_i - a_i)^2", "sse": r"\sum_i (y_i - a_i)^2",
             "mse": rf"{per_output}\sum_i (y_i - a_i)^2",
             "bce": rf"-{per_output}\sum_i \left[y_i \ln a_i + (1 - y_i)\ln(1 - a_i)\right]",
             "cross_entropy": r"-\sum_i y_i \ln a_i"}[ex.loss]
    if ex.batch == 1:
        return inner
    return (r"\frac{1}{m}\sum_{k=1}^{m} \ell_k" if ex.reduction == "mean" else r"\sum_{k=1}^{m} \ell_k") + \
        rf", \quad \ell_k = {inner}"


def _output_gradient_line(w: _Writer, i: int, k: int) -> str:
    ex, L = w.ex, w.ex.net.L
    n = ex.net.sizes[-1]
    a = w.shown(f"a{L}", i, k)
    y = w.given(expand_class_indices(ex.y, ex.loss, n).reshape(n, w.m)[i, k])
    batch = rf"\frac{{1}}{{{w.m}}}" if ex.reduction == "mean" and w.m > 1 else ""
    times_n = rf"{n} \times " if n > 1 else ""
    two_n = rf"\frac{{2}}{{{n}}}" if n > 1 else "2"
    forms = {
        "half_sse": f"a - y = {a} - {w.paren(y)}" if not batch else f"{batch}(a - y) = {batch}({a} - {w.paren(y)})",
        "sse": f"{batch}2(a - y) = {batch}2({a} - {w.paren(y)})",
        "mse": rf"{batch}{two_n}(a - y) = {batch}{two_n}({a} - {w.paren(y)})",
        "bce": rf"{batch}\frac{{a - y}}{{{n if n > 1 else ''}a(1 - a)}} = "
               rf"{batch}\frac{{{a} - {w.paren(y)}}}{{{times_n}{a}(1 - {a})}}",
        "cross_entropy": rf"-{batch}\frac{{y}}{{a}} = -{batch}\frac{{{y}}}{{{a}}}",
    }
    return f"$${_dL(w.sym('a', L, i, k))} = {forms[ex.loss]} = {w.num(w.value(f'dL_da{L}', i, k))}$$"


def _delta_line(w: _Writer, l: int, i: int, k: int, eq: str) -> str:
    dl = w.shown(f"dL_da{l}", i, k)
    lhs = rf"\delta^{{({l})}}_{{{w.sub(i, k)}}}"
    value = w.num(w.value(f"delta{l}", i, k))
    if w.ex.net.activations[l] == "softmax":
        n = w.ex.net.sizes[l]
        sp = w.fed[f"sigma_prime{l}"]
        J = (lambda r, c: sp[r, c]) if w.single else (lambda r, c: sp[r, c, k])
        terms = " + ".join(f"{w.paren(w.num(J(r, i)))} \\times {w.paren(w.shown(f'dL_da{l}', r, k))}"
                           for r in range(n))
        return f"$${lhs} = \\sum_r J_{{r{i + 1}}} {_dL(f'a_r^{{({l})}}')} = {terms} = {value} \\quad \\text{{({eq})}}$$"
    sp = w.shown(f"sigma_prime{l}", i, k)
    return (f"$${lhs} = {_dL(w.sym('a', l, i, k))} \\cdot \\sigma'({w.sym('z', l, i, k)}) = "
            f"{w.paren(dl)} \\times {w.paren(sp)} = {value} \\quad \\text{{({eq})}}$$")


def _softmax_jacobian_lines(w: _Writer, l: int, k: int) -> list[str]:
    sp = w.fed[f"sigma_prime{l}"]
    J = sp if w.single else sp[..., k]
    where = "" if w.single else f" for example {k + 1}"
    return [f"The softmax Jacobian{where}, $J_{{ij}} = a_i(\\delta_{{ij}} - a_j)$:",
            f"$$J = {_matrix(J, w.num)}$$"]


def _weight_gradient_lines(w: _Writer, l: int) -> list[str]:
    lines = []
    W = w.ex.net.W[l]
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            products = " + ".join(f"{w.paren(w.shown(f'delta{l}', i, k))} \\times {w.paren(w.shown(f'a{l - 1}', j, k))}"
                                  for k in range(w.m))
            terms = " + ".join(rf"\delta^{{({l})}}_{{{w.sub(i, k)}}} {w.sym('a', l - 1, j, k)}" for k in range(w.m))
            lines.append(f"$${_dL(f'w^{{({l})}}_{{{i + 1}{j + 1}}}')} = {terms} = {products} = "
                         f"{w.num(w.fed[f'dW{l}'][i, j])}$$")
    return lines


def _bias_gradient_lines(w: _Writer, l: int) -> list[str]:
    b = w.ex.net.b[l]
    if b is None:
        return [f"Layer {l} has no bias."]
    n = w.ex.net.sizes[l]
    db = w.fed[f"db{l}"]
    if b.ndim == 0:
        terms = " + ".join(w.paren(w.shown(f"delta{l}", i, k)) for i in range(n) for k in range(w.m))
        return [f"One bias shared by the {n} units of layer {l}: its gradient sums their deltas.",
                f"$${_dL(f'b^{{({l})}}')} = \\sum_i \\delta^{{({l})}}_i = {terms} = {w.num(float(db))}$$"]
    lines = []
    for i in range(n):
        if w.m == 1:
            lines.append(f"$${_dL(f'b^{{({l})}}_{{{i + 1}}}')} = \\delta^{{({l})}}_{{{i + 1}}} = {w.num(db[i])}$$")
        else:
            terms = " + ".join(w.paren(w.shown(f"delta{l}", i, k)) for k in range(w.m))
            lines.append(f"$${_dL(f'b^{{({l})}}_{{{i + 1}}}')} = \\sum_k \\delta^{{({l})}}_{{{i + 1},k}} = {terms} = "
                         f"{w.num(db[i])}$$")
    return lines


def _examples(w: _Writer) -> list[int]:
    return list(range(w.m))


def _per_example(w: _Writer, k: int, lines: list[str]) -> list[str]:
    return lines if w.single else [f"*Example {k + 1}* (column {k + 1} of $x$):", *lines]


def _forward_section(w: _Writer) -> list[str]:
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
        for k in _examples(w):
            lines = []
            for i in range(W.shape[0]):
                terms = " + ".join(f"{w.paren(w.given(W[i, j]))} \\times {w.paren(w.shown(f'a{l - 1}', j, k))}"
                                   for j in range(W.shape[1]))
                bias = "" if b is None else f" + {w.paren(w.given(b if b.ndim == 0 else b[i]))}"
                lines.append(f"$${w.sym('z', l, i, k)} = {terms}{bias} = {w.num(w.value(f'z{l}', i, k))}$$")
            for i in range(W.shape[0]):
                lines.append(_activation_line(w, name, l, i, k))
            out += _per_example(w, k, lines)
    out += ["### Loss", f"$$L = {_loss_formula(ex)}$$", *_loss_lines(w)]
    return out


def _backward_section(w: _Writer) -> list[str]:
    net, L = w.ex.net, w.ex.net.L
    out = ["## Phase 2: backward propagation"]
    step = 1
    for l in range(L, 0, -1):
        name = net.activations[l]
        if l == L:
            out += [f"### Step {step}: output layer error (Eq. 1)",
                    rf"$$\delta^{{({L})}} = {_dL(f'a^{{({L})}}')} \odot \sigma'(z^{{({L})}})$$"]
        else:
            out += [f"### Step {step}: hidden layer {l} error (Eq. 2)",
                    rf"$$\delta^{{({l})}} = (W^{{({l + 1})}})^T \delta^{{({l + 1})}} \odot \sigma'(z^{{({l})}})$$"]
        step += 1
        n = net.sizes[l]
        for k in _examples(w):
            lines = []
            if name == "softmax":
                lines += _softmax_jacobian_lines(w, l, k)
            else:
                lines += [_sigma_prime_line(w, name, l, i, k) for i in range(n)]
            for i in range(n):
                if l == L:
                    lines.append(_output_gradient_line(w, i, k))
                else:
                    W = net.W[l + 1]
                    terms = " + ".join(f"{w.paren(w.given(W[r, i]))} \\times {w.paren(w.shown(f'delta{l + 1}', r, k))}"
                                       for r in range(W.shape[0]))
                    lines.append(f"$${_dL(w.sym('a', l, i, k))} = \\sum_r w^{{({l + 1})}}_{{r{i + 1}}} "
                                 f"\\delta^{{({l + 1})}}_r = {terms} = {w.num(w.value(f'dL_da{l}', i, k))}$$")
            lines += [_delta_line(w, l, i, k, "Eq. 1" if l == L else "Eq. 2") for i in range(n)]
            out += _per_example(w, k, lines)
        src = "x" if l == 1 else f"a^{{({l - 1})}}"
        out += [f"### Step {step}: layer {l} weight and bias gradients (Eq. 3, Eq. 4)",
                rf"$${_dL(f'W^{{({l})}}')} = \delta^{{({l})}} ({src})^T, \qquad {_dL(f'b^{{({l})}}')} = "
                rf"\delta^{{({l})}}$$" + ("" if w.m == 1 else " (each summed over the examples of the batch)"),
                *_weight_gradient_lines(w, l), *_bias_gradient_lines(w, l)]
        step += 1
    return out


def _update_section(w: _Writer) -> list[str]:
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
            out.append(f"$$b'^{{({l})}} = b^{{({l})}} = {_matrix(b, w.given) if b.ndim else w.given(b)}"
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


def _given_section(w: _Writer) -> list[str]:
    ex, net = w.ex, w.ex.net
    lines = ["## Given"]
    x = np.asarray(ex.x)
    y = np.asarray(ex.y)
    items = [f"$x = {_matrix(x if x.ndim == 2 else x[:, None], w.given)}$",
             f"$y = {_matrix(y if y.ndim == 2 else y.reshape(-1, 1), w.given)}$"]
    for l in range(1, net.L + 1):
        items.append(f"$W^{{({l})}} = {_matrix(net.W[l], w.given)}$")
        b = net.b[l]
        if b is None:
            items.append(f"no $b^{{({l})}}$")
        elif b.ndim == 0:
            items.append(f"$b^{{({l})}} = {w.given(b)}$ (shared by the layer's units)")
        else:
            items.append(f"$b^{{({l})}} = {_matrix(b[:, None], w.given)}$")
    return [*lines, ", ".join(items[:2]) + ";", "; ".join(items[2:]) + "."]


def _latex_element(ex: WorkedExample, key: str, index: tuple[int, ...]) -> str:
    """One element in the solution's notation, 1-based: w'^{(1)}_{12}, \\delta^{(1)}_{2,1}, L'."""
    prop, l = parse_key(key)
    if l is None:
        return "L" if prop == "L" else "L'"
    sub = ",".join(str(i + 1) for i in index)
    if prop in ("dW", "W_new"):
        sub = "".join(str(i + 1) for i in index)
    forms = {"z": "z^{{({l})}}_{{{s}}}", "a": "a^{{({l})}}_{{{s}}}", "sigma_prime": "\\sigma'(z^{{({l})}})_{{{s}}}",
             "dL_da": "\\partial L/\\partial a^{{({l})}}_{{{s}}}", "delta": "\\delta^{{({l})}}_{{{s}}}",
             "dW": "\\partial L/\\partial w^{{({l})}}_{{{s}}}", "db": "\\partial L/\\partial b^{{({l})}}_{{{s}}}",
             "W_new": "w'^{{({l})}}_{{{s}}}", "b_new": "b'^{{({l})}}_{{{s}}}"}
    if prop == "sigma_prime" and ex.net.activations[l] == "softmax":
        return f"J^{{({l})}}_{{{sub}}}"
    text = forms[prop].format(l=l, s=sub)
    return text.replace("_{}", "")


def _printed(ex: WorkedExample, values: dict[str, np.ndarray], digits: int) -> dict[str, np.ndarray]:
    out = {}
    for key in ex.quantities():
        arr = np.asarray(values[key], dtype=np.float64)
        text = np.empty(arr.shape, dtype=object)
        for index in np.ndindex(arr.shape):
            text[index] = _text(half_up(arr[index], -digits))
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

    rep = replay(ex, round_all if carry_rounding else None)
    fed = dict(rep.fed)
    w = _Writer(ex, digits, fed)
    net = ex.net
    exact = exact_values(ex)
    printed = _printed(ex, fed, digits)
    exact_printed = _printed(ex, exact, digits)
    drift = [(_latex_element(ex, k, idx), printed[k][idx], exact_printed[k][idx])
             for k in ex.quantities() for idx in np.ndindex(printed[k].shape)
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
