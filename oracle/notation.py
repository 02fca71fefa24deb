"""The document's notation, written once: every quantity's name in code (``dW``), in files
(``dW1``), in text (``dL/dW^(1)``), in LaTeX, and the equation that produces it.

Layers are 1-based, as in the document; element indices are 0-based, as in numpy.
"""

from __future__ import annotations

import re

# Every quantity in the document's order: the forward pass, the loss, the backward pass, the
# update, and the loss after the update.
PROPERTIES = ("z", "a", "sigma_prime", "L", "dL_da", "delta", "dW", "db", "W_new", "b_new")
QUANTITIES = (*PROPERTIES, "L_new")
PER_EXAMPLE = ("z", "a", "sigma_prime", "dL_da", "delta", "z_terms", "dL_da_terms", "L_terms", "exp_z", "sum_exp_z",
               "a_new")  # one column per example of the batch
# What worked examples print inside a step: the terms of a sum, the softmax's parts, the outputs
# after the update.
INTERMEDIATES = ("z_terms", "dL_da_terms", "L_terms", "exp_z", "sum_exp_z", "a_new")
EQUATIONS = ("forward", "loss", "Eq. 1", "Eq. 2", "Eq. 3", "Eq. 4", "Eq. 5")

_TEXT = {"z": "z^({l})", "a": "a^({l})", "sigma_prime": "sigma'(z^({l}))", "dL_da": "dL/da^({l})",
         "delta": "delta^({l})", "dW": "dL/dW^({l})", "db": "dL/db^({l})", "W_new": "W'^({l})", "b_new": "b'^({l})",
         "L": "L", "L_new": "L'", "z_terms": "z^({l}) terms", "dL_da_terms": "dL/da^({l}) terms",
         "L_terms": "L terms", "exp_z": "exp(z^({l}))", "sum_exp_z": "sum exp(z^({l}))", "a_new": "a'^({l})"}
_SHORT = {"z": "z", "a": "a", "sigma_prime": "sigma'", "L": "L", "dL_da": "dL/da", "delta": "delta", "dW": "dL/dW",
          "db": "dL/db", "W_new": "W'", "b_new": "b'", "L_new": "L'", "z_terms": "z terms",
          "dL_da_terms": "dL/da terms", "L_terms": "L terms", "exp_z": "exp(z)", "sum_exp_z": "sum exp(z)",
          "a_new": "a'"}
_LATEX = {"z": "z^{{({l})}}_{{{s}}}", "a": "a^{{({l})}}_{{{s}}}", "sigma_prime": "\\sigma'(z^{{({l})}})_{{{s}}}",
          "dL_da": "\\partial L/\\partial a^{{({l})}}_{{{s}}}", "delta": "\\delta^{{({l})}}_{{{s}}}",
          "dW": "\\partial L/\\partial w^{{({l})}}_{{{s}}}", "db": "\\partial L/\\partial b^{{({l})}}_{{{s}}}",
          "W_new": "w'^{{({l})}}_{{{s}}}", "b_new": "b'^{{({l})}}_{{{s}}}"}

_KEY = re.compile(r"^(?:(?P<prop>z|a|sigma_prime|dL_da|delta|dW|db|exp_z|sum_exp_z)(?P<layer>[1-9]\d*)"
                  r"|(?P<param>W|b|a)(?P<player>[1-9]\d*)_new|(?P<terms>z|dL_da)(?P<tlayer>[1-9]\d*)_terms"
                  r"|(?P<loss>L|L_new|L_terms))$")
KEY_FORMS = ("z{l}, a{l}, sigma_prime{l}, L, dL_da{l}, delta{l}, dW{l}, db{l}, W{l}_new, b{l}_new, L_new; and the "
             "intermediates z{l}_terms, dL_da{l}_terms, L_terms, exp_z{l}, sum_exp_z{l}, a{l}_new")


def symbol(prop: str, layer: int | None = None) -> str:
    """A quantity as the document writes it: z^(1), sigma'(z^(2)), dL/dW^(1), W'^(2), L, L'."""
    return _TEXT[prop].format(l=layer)


def short(prop: str) -> str:
    """A quantity's name without its layer: sigma', dL/dW, W'."""
    return _SHORT[prop]


def element(prop: str, layer: int | None, index: tuple[int, ...], size: int) -> str:
    """One element as a user reads it: a^(1)[0], dL/dW^(1)[0,1]; a one-element quantity has no index."""
    return symbol(prop, layer) + (f"[{','.join(map(str, index))}]" if size > 1 else "")


def latex(prop: str, layer: int | None, index: tuple[int, ...], softmax: bool = False) -> str:
    """One element in LaTeX, units and examples 1-based: w'^{(1)}_{12}, \\delta^{(1)}_{2,1}, L'."""
    if layer is None:
        return "L" if prop == "L" else "L'"
    glue = "" if prop in ("dW", "W_new") else ","
    sub = glue.join(str(i + 1) for i in index)
    if prop == "sigma_prime" and softmax:
        return f"J^{{({layer})}}_{{{sub}}}"
    return _LATEX[prop].format(l=layer, s=sub).replace("_{}", "")


def equation(prop: str, layer: int | None, L: int) -> str:
    """The document's equation that produces a quantity: forward, loss, Eq. 1 .. Eq. 5."""
    if prop in ("z", "a", "sigma_prime", "z_terms", "exp_z", "sum_exp_z"):
        return "forward"
    if prop in ("L", "L_new", "L_terms"):
        return "loss"
    if prop in ("dL_da", "delta", "dL_da_terms"):
        return "Eq. 1" if layer == L else "Eq. 2"
    return {"dW": "Eq. 3", "db": "Eq. 4", "W_new": "Eq. 5", "b_new": "Eq. 5", "a_new": "Eq. 5"}[prop]


def parse_key(key: str) -> tuple[str, int | None]:
    """A file key as (quantity, 1-based layer): 'dW1' -> ('dW', 1), 'W2_new' -> ('W_new', 2),
    'L' -> ('L', None). Returns ('', None) for a key that is none of these."""
    match = _KEY.match(key) if isinstance(key, str) else None
    if match is None:
        return "", None
    if match["loss"]:
        return match["loss"], None
    if match["param"]:
        return match["param"] + "_new", int(match["player"])
    if match["terms"]:
        return match["terms"] + "_terms", int(match["tlayer"])
    return match["prop"], int(match["layer"])


def key(prop: str, layer: int | None) -> str:
    """The file key of a quantity: ('dW', 1) -> 'dW1', ('W_new', 2) -> 'W2_new', ('L', None) -> 'L'."""
    if layer is None:
        return prop
    if prop in ("W_new", "b_new", "a_new"):
        return f"{prop[0]}{layer}_new"
    if prop in ("z_terms", "dL_da_terms"):
        return f"{prop[:-6]}{layer}_terms"
    return f"{prop}{layer}"


def computation_order(prop: str, layer: int | None) -> tuple[int, int, int]:
    """Where a quantity is computed: forward l = 1..L, the loss, backward l = L..1, the update."""
    rank, l = QUANTITIES.index(prop), layer or 0
    if prop in ("z", "a", "sigma_prime"):
        return (0, l, rank)
    if prop == "L":
        return (1, 0, 0)
    if prop in ("dL_da", "delta", "dW", "db"):
        return (2, -l, rank)
    return (3, l, rank)
