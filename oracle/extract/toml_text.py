"""A draft as worked-example TOML: the network, then every printed number as printed, each
array row followed by a comment with the lines its numbers are on; what could not be placed is
listed at the top, so nothing is dropped silently."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import numpy as np

from oracle.extract.draft import Draft

_TOML_NUMBER = re.compile(r"^[+-]?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$")


def number(text: str) -> str:
    """A printed number as a TOML number with the same digits (".5" -> 0.5, "1." -> 1.0)."""
    if _TOML_NUMBER.match(text):
        return text
    d = Decimal(text)
    out = format(d, "f") if abs(d.adjusted()) < 20 else format(d, "e")
    return out if _TOML_NUMBER.match(out) else format(float(d), "r")


def _line(text: str) -> str:
    """Text for a one-line comment."""
    return " ".join(str(text).split())


def _quote(text: str | None) -> str:
    return json.dumps("?" if text is None else text)


def _comment(lines: list[str]) -> str:
    """Where a row's numbers are printed: one place for all, or each element's in order ('-' for
    one not printed)."""
    unique = list(dict.fromkeys(w for w in lines if w))
    if len(unique) <= 1:
        return f"  # {unique[0]}" if unique else ""
    return "  # " + "; ".join(w or "-" for w in lines)


def _array(key: str, arr: np.ndarray, draft: Draft, as_text: bool) -> list[str]:
    fmt = _quote if as_text else (lambda t: number(t))
    if arr.ndim == 0:
        return [f"{key} = {fmt(arr[()])}" + _comment([draft.where.get((key, ()), "")])]
    if arr.ndim == 1:
        cells = [fmt(t) for t in arr]
        return [f"{key} = [{', '.join(cells)}]" + _comment([draft.where.get((key, (i,)), "") for i in range(len(arr))])]
    out = [f"{key} = ["]
    for i, row in enumerate(arr):
        out.append(f"  [{', '.join(fmt(t) for t in row)}],"
                   + _comment([draft.where.get((key, (i, j)), "") for j in range(len(row))]))
    return [*out, "]"]


def toml_text(draft: Draft) -> str:
    """The worked-example file (docs/worked-examples.md) of a draft."""
    head = [f"# Drafted by manual-bp extract from {draft.source}: {draft.placed()} printed numbers placed, "
            f"{len(draft.not_placed)} not placed, {draft.restated} restatements left out.",
            "# Each comment gives the line (or notebook cell and line) a number was read from."]
    head += [f"# Read: {_line(note)}" for note in draft.notes]
    head += [f"# Not placed: {where}: {_line(why)}: {_line(formula)[:120]}" for where, formula, why in draft.not_placed]
    s = draft.settings
    net = [f"activations = {json.dumps(s['activations'])}", f"loss = {json.dumps(s['loss'])}"]
    if s.get("learning_rate") is not None:
        net.append(f"learning_rate = {number(str(s['learning_rate']))}"
                   + _comment([draft.where.get(("learning_rate", ()), "")]))
    for key in ("update_biases",):
        if key in s:
            net.append(f"{key} = {str(s[key]).lower()}")
    for key in ("delta_sign", "output_reduction", "softmax_shift"):
        if key in s:
            net.append(f"{key} = {json.dumps(s[key])}")
    for key, arr in draft.given.items():
        if isinstance(arr, str):
            net.append(f"{key} = {int(Decimal(arr))}  # a class index")
            continue
        net += _array(key, arr, draft, as_text=False)
    claims = [line for key, arr in draft.claims.items() for line in _array(key, arr, draft, as_text=True)]
    top = [f"title = {json.dumps(draft.title)}", f"source = {json.dumps(draft.source)}"]
    return "\n".join([*head, *top, "", "[network]", *net, "", "[claimed]", *claims]) + "\n"
