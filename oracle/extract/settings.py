"""What a document says about its network besides the numbers: each layer's activation, the
loss, the learning rate (read from its formulas first, its prose second), and the reader's
options from a front-matter block or the command line.

Front matter (Markdown; in a notebook, its first Markdown cell)::

    ---
    manual-bp:
      notation: net=z, out=a, E=L
      given: w_3 = 0.25; w_4 = 0.30
      loss: half_sse
    ---

A LaTeX or Markdown comment line ``% manual-bp notation: net=z`` or
``<!-- manual-bp given: w_3 = 0.25 -->`` says the same."""

from __future__ import annotations

import re

from manual_bp.activations import ACTIVATIONS
from manual_bp.errors import InputError
from manual_bp.losses import LOSSES

OPTION_KEYS = ("notation", "given", "loss", "activations", "learning_rate", "update_biases", "layout",
               "delta_sign", "output_reduction", "softmax_shift", "layers", "terms", "title")
_FRONT = re.compile(r"\A\s*---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.S)
_COMMENT = re.compile(r"^\s*(?:%+|<!--)\s*manual-bp\s+(\w+)\s*:\s*(.*?)\s*(?:-->)?\s*$", re.M)
_ACTIVATION_FORMS = (
    ("sigmoid", r"\\frac\s*\{\s*1\s*\}\s*\{\s*1\s*\+\s*e\s*\^|1\s*/\s*\(\s*1\s*\+\s*e\s*\^|sigmoid|logistic"),
    ("tanh", r"\\tanh|tanh"),
    ("relu", r"relu|max\s*\(\s*0\s*,"),
    ("softmax", r"softmax|\\frac\s*\{\s*e\s*\^.*\\sum|\\sum\S*\s*e\s*\^"),
    ("identity", r"\bidentity\b|\blinear\b"))
_WORDS = {"sigmoid": r"sigmoid|logistic", "tanh": r"\btanh\b|hyperbolic tangent", "relu": r"\brelu\b",
          "softmax": r"softmax", "identity": r"linear activation|identity activation|no activation"}


def front_matter(text: str) -> dict[str, str]:
    """The reader's options written in the document, by key."""
    out: dict[str, str] = {}
    m = _FRONT.match(text)
    if m and re.search(r"^manual-bp\s*:", m.group(1), re.M):
        block = m.group(1).split("manual-bp", 1)[1]
        for line in block.splitlines()[1:]:
            kv = re.match(r"^\s+([\w-]+)\s*:\s*(.*?)\s*$", line)
            if kv is None:
                break
            out[kv[1].replace("-", "_")] = kv[2]
    for key, value in _COMMENT.findall(text):
        out[key] = value
    for key in out:
        if key not in OPTION_KEYS:
            raise InputError(f"front matter manual-bp.{key}: unknown option; expected one of {', '.join(OPTION_KEYS)}")
    return out


def check_options(options: dict[str, str], where: str) -> None:
    """Refuse a loss or activation this project does not know, naming where it was written."""
    if "loss" in options and options["loss"] not in LOSSES:
        raise InputError(f"{where} loss: expected one of {', '.join(LOSSES)}, got {options['loss']!r}")
    for name in re.split(r"[,\s]+", options.get("activations", "").strip()):
        if name and name not in ACTIVATIONS:
            raise InputError(f"{where} activations: expected names of {', '.join(ACTIVATIONS)}, got {name!r}")
    for key, allowed in _CHOICES.items():
        if key in options and str(options[key]).strip().lower() not in allowed:
            raise InputError(f"{where} {key}: expected one of {', '.join(allowed)}, got {options[key]!r}")
    if "learning_rate" in options and not re.fullmatch(r"\s*(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*",
                                                       str(options["learning_rate"])):
        raise InputError(f"{where} learning_rate: expected a positive number, got {options['learning_rate']!r}")


_CHOICES = {"layout": ("out_in", "in_out"), "layers": ("subscript", "superscript"), "terms": ("true", "false"),
            "update_biases": ("true", "false"), "delta_sign": ("dl_dz", "target_minus_output"),
            "output_reduction": ("mean", "sum"), "softmax_shift": ("none", "max")}


def activation_in(text: str) -> str | None:
    """The activation a formula's text names or writes out (1/(1+e^{-x}) is sigmoid)."""
    found = [name for name, pattern in _ACTIVATION_FORMS if re.search(pattern, text, re.I)]
    return found[0] if len(found) == 1 else None


def activations_from_prose(prose: str, depth: int) -> tuple[dict[int, str], str | None]:
    """Activations the prose names for the hidden layers or the output layer, and the one it
    names throughout (when it names exactly one besides softmax)."""
    per_layer: dict[int, str] = {}
    for name, pattern in _WORDS.items():
        for m in re.finditer(r"(hidden|output)[^.\n]{0,60}?(?:" + pattern + r")|(?:" + pattern
                             + r")[^.\n]{0,40}?(hidden|output)", prose, re.I):
            where = (m.group(1) or m.group(2)).lower()
            for layer in ([depth] if where == "output" else range(1, depth)):
                per_layer.setdefault(layer, name)
    named = [n for n, p in _WORDS.items() if n != "softmax" and re.search(p, prose, re.I)]
    return per_layer, (named[0] if len(named) == 1 else None)


def loss_in(text: str) -> str | None:
    """The loss a formula writes out: 1/2 (y - y_hat)^2 is half_sse, (1/n) sum (..)^2 mse,
    sum (..)^2 sse, -sum y log y_hat cross_entropy, with a (1 - y) log(1 - y_hat) term bce."""
    t = text.replace(" ", "")
    if re.search(r"\\log|\\ln|log\(|ln\(", t):
        return "bce" if re.search(r"\(1-[^()]*\)(?:\\cdot|\*)?\\?(?:log|ln)\(?\{?\(?1-", t) else "cross_entropy"
    if not re.search(r"\^\{?2\}?|²", t):
        return None
    if re.search(r"\\frac\{1\}\{2\}|\\tfrac\{1\}\{2\}|\\dfrac\{1\}\{2\}|(?<![\d.])1/2|½|(?<![\d.])0\.5\(", t):
        return "half_sse"
    if re.search(r"\\frac\{1\}\{[nNmk]\}|1/[nNm]\b|\\frac\{1\}\{\d+\}|mean", t):
        return "mse"
    return "sse" if re.search(r"\\sum|E_\{?o\d|\+", t) else None


def loss_from_prose(prose: str) -> str | None:
    if re.search(r"binary cross.?entropy|\blog loss\b", prose, re.I):
        return "bce"
    if re.search(r"cross.?entropy|negative log.?likelihood", prose, re.I):
        return "cross_entropy"
    if re.search(r"mean squared error|\bMSE\b", prose):
        return "mse"
    if re.search(r"sum of (?:the )?squared errors|\bSSE\b", prose):
        return "sse"
    return None


def learning_rate_from_prose(prose: str) -> str | None:
    m = re.search(r"learning rate[^0-9\n.]{0,60}?(\d+(?:\.\d+)?|\.\d+)", prose, re.I)
    return m.group(1) if m else None
