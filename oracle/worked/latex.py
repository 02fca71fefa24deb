"""The lines of a worked solution in LaTeX: each formula with its numbers put in, for one
unit of one example, in the document's notation (units and examples 1-based)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from manual_bp.losses import LOSSES, expand_class_indices
from oracle.worked.format import WorkedExample
from oracle.worked.rounding import half_up, text_of


class Writer:
    """Formats the numbers of one solution."""

    def __init__(self, ex: WorkedExample, digits: int, fed: dict[str, np.ndarray]) -> None:
        self.ex, self.digits, self.fed = ex, digits, fed
        self.single, self.m = ex.single, ex.batch

    def num(self, value: float) -> str:
        """A computed value at the solution's digits (a value that rounds to zero shows no sign)."""
        return text_of(half_up(value, -self.digits))

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


def matrix(values: np.ndarray, fmt: Callable[[float], str]) -> str:
    rows = np.atleast_2d(values)
    body = r" \\ ".join(" & ".join(fmt(v) for v in row) for row in rows)
    return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"


def dL(symbol: str) -> str:
    return rf"\frac{{\partial L}}{{\partial {symbol}}}"


def activation_line(w: Writer, name: str, l: int, i: int, k: int) -> str:
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


def sigma_prime_line(w: Writer, name: str, l: int, i: int, k: int) -> str:
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


def loss_lines(w: Writer) -> list[str]:
    """Each example's loss term with the outputs put in (its value by manual_bp's own loss from the
    fed a^(L)), then the batch loss."""
    ex, L = w.ex, w.ex.net.L
    n = ex.net.sizes[-1]
    Y = expand_class_indices(ex.y, ex.loss, n).reshape(n, w.m).astype(np.float64)
    values = LOSSES[ex.loss].per_example(np.asarray(w.fed[f"a{L}"], dtype=np.float64).reshape(n, w.m), Y)[0]
    lines = []
    for k in range(w.m):
        a = [w.shown(f"a{L}", i, k) for i in range(n)]
        y = [w.given(Y[i, k]) for i in range(n)]
        if ex.loss in ("half_sse", "sse", "mse"):
            squares = " + ".join(f"({y[i]} - {a[i]})^2" for i in range(n))
            pre = {"half_sse": r"\frac{1}{2}", "sse": "", "mse": rf"\frac{{1}}{{{n}}}" if n > 1 else ""}[ex.loss]
            body = f"{pre}\\left[{squares}\\right]" if pre else squares
        elif ex.loss == "bce":
            terms = " + ".join(rf"{y[i]} \ln {a[i]} + (1 - {y[i]}) \ln(1 - {a[i]})" for i in range(n))
            pre = "" if n == 1 else rf"\frac{{1}}{{{n}}}"
            body = rf"-{pre}\left[{terms}\right]"
        else:
            terms = " + ".join(rf"{y[i]} \ln {a[i]}" for i in range(n) if Y[i, k] != 0)
            body = rf"-\left[{terms}\right]"
        lhs = "L" if w.m == 1 else f"\\ell_{{{k + 1}}}"
        lines.append(f"$${lhs} = {body} = {w.num(float(values[k]))}$$")
    if w.m > 1:
        total = " + ".join(f"\\ell_{{{k + 1}}}" for k in range(w.m))
        pre = rf"\frac{{1}}{{{w.m}}}" if ex.reduction == "mean" else ""
        lines.append(f"$$L = {pre}({total}) = {w.num(float(w.fed['L']))}$$" if pre else
                     f"$$L = {total} = {w.num(float(w.fed['L']))}$$")
    return lines


def loss_formula(ex: WorkedExample) -> str:
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


def output_gradient_line(w: Writer, i: int, k: int) -> str:
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
    return f"$${dL(w.sym('a', L, i, k))} = {forms[ex.loss]} = {w.num(w.value(f'dL_da{L}', i, k))}$$"


def delta_line(w: Writer, l: int, i: int, k: int, eq: str) -> str:
    dl = w.shown(f"dL_da{l}", i, k)
    lhs = rf"\delta^{{({l})}}_{{{w.sub(i, k)}}}"
    value = w.num(w.value(f"delta{l}", i, k))
    if w.ex.net.activations[l] == "softmax":
        n = w.ex.net.sizes[l]
        sp = w.fed[f"sigma_prime{l}"]
        J = (lambda r, c: sp[r, c]) if w.single else (lambda r, c: sp[r, c, k])
        terms = " + ".join(f"{w.paren(w.num(J(r, i)))} \\times {w.paren(w.shown(f'dL_da{l}', r, k))}"
                           for r in range(n))
        return f"$${lhs} = \\sum_r J_{{r{i + 1}}} {dL(f'a_r^{{({l})}}')} = {terms} = {value} \\quad \\text{{({eq})}}$$"
    sp = w.shown(f"sigma_prime{l}", i, k)
    return (f"$${lhs} = {dL(w.sym('a', l, i, k))} \\cdot \\sigma'({w.sym('z', l, i, k)}) = "
            f"{w.paren(dl)} \\times {w.paren(sp)} = {value} \\quad \\text{{({eq})}}$$")


def softmax_cross_entropy(ex: WorkedExample) -> bool:
    """A softmax output with cross-entropy, whose delta^(L) is simply a - y."""
    return ex.loss == "cross_entropy" and ex.net.activations[ex.net.L] == "softmax"


def softmax_cross_entropy_lines(w: Writer) -> list[str]:
    """delta^(L) = (a - y) (/ m), with one line on why it equals the Jacobian form J^T dL/da."""
    ex, L = w.ex, w.ex.net.L
    n = ex.net.sizes[-1]
    Y = expand_class_indices(ex.y, ex.loss, n).reshape(n, w.m)
    batch = rf"\frac{{1}}{{{w.m}}}" if ex.reduction == "mean" and w.m > 1 else ""
    lines = ["For a softmax output with cross-entropy the two factors of Eq. 1 simplify: with "
             "$J_{ij} = a_i(\\delta_{ij} - a_j)$ and $\\partial L/\\partial a_j = -y_j / a_j$, "
             "$\\sum_j J_{ji}\\,(-y_j / a_j) = a_i \\sum_j y_j - y_i = a_i - y_i$, the targets summing to 1. "
             "So $\\delta^{(L)} = a^{(L)} - y$" + (" (over the batch, divided by $m$)." if batch else ".")]
    for k in examples(w):
        rows = []
        for i in range(n):
            lhs = rf"\delta^{{({L})}}_{{{w.sub(i, k)}}}"
            a, y, value = w.shown(f"a{L}", i, k), w.paren(w.given(Y[i, k])), w.num(w.value(f"delta{L}", i, k))
            rows.append(rf"$${lhs} = {batch}(a - y) = {batch}({a} - {y}) = {value} \quad \text{{(Eq. 1)}}$$")
        lines += per_example(w, k, rows)
    return lines


def softmax_jacobian_lines(w: Writer, l: int, k: int) -> list[str]:
    sp = w.fed[f"sigma_prime{l}"]
    J = sp if w.single else sp[..., k]
    where = "" if w.single else f" for example {k + 1}"
    return [f"The softmax Jacobian{where}, $J_{{ij}} = a_i(\\delta_{{ij}} - a_j)$:",
            f"$$J = {matrix(J, w.num)}$$"]


def weight_gradient_lines(w: Writer, l: int) -> list[str]:
    lines = []
    W = w.ex.net.W[l]
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            products = " + ".join(f"{w.paren(w.shown(f'delta{l}', i, k))} \\times {w.paren(w.shown(f'a{l - 1}', j, k))}"
                                  for k in range(w.m))
            terms = " + ".join(rf"\delta^{{({l})}}_{{{w.sub(i, k)}}} {w.sym('a', l - 1, j, k)}" for k in range(w.m))
            lines.append(f"$${dL(f'w^{{({l})}}_{{{i + 1}{j + 1}}}')} = {terms} = {products} = "
                         f"{w.num(w.fed[f'dW{l}'][i, j])}$$")
    return lines


def bias_gradient_lines(w: Writer, l: int) -> list[str]:
    b = w.ex.net.b[l]
    if b is None:
        return [f"Layer {l} has no bias."]
    n = w.ex.net.sizes[l]
    db = w.fed[f"db{l}"]
    if b.ndim == 0:
        terms = " + ".join(w.paren(w.shown(f"delta{l}", i, k)) for i in range(n) for k in range(w.m))
        return [f"One bias shared by the {n} units of layer {l}: its gradient sums their deltas.",
                f"$${dL(f'b^{{({l})}}')} = \\sum_i \\delta^{{({l})}}_i = {terms} = {w.num(float(db))}$$"]
    lines = []
    for i in range(n):
        if w.m == 1:
            lines.append(f"$${dL(f'b^{{({l})}}_{{{i + 1}}}')} = \\delta^{{({l})}}_{{{i + 1}}} = {w.num(db[i])}$$")
        else:
            terms = " + ".join(w.paren(w.shown(f"delta{l}", i, k)) for k in range(w.m))
            lines.append(f"$${dL(f'b^{{({l})}}_{{{i + 1}}}')} = \\sum_k \\delta^{{({l})}}_{{{i + 1},k}} = {terms} = "
                         f"{w.num(db[i])}$$")
    return lines


def examples(w: Writer) -> list[int]:
    return list(range(w.m))


def per_example(w: Writer, k: int, lines: list[str]) -> list[str]:
    return lines if w.single else [f"*Example {k + 1}* (column {k + 1} of $x$):", *lines]
