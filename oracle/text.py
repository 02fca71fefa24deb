"""Tables as text, for the terminal and for Markdown, and CSV: plain Python, so the commands
that only print a table never load pandas."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any


def _cell(value: object) -> str:
    return str(value).replace("\n", " ")


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[object]], right: Sequence[int] = ()) -> str:
    """A GitHub Markdown table, columns padded to their widest cell; ``right`` lists the columns
    aligned right. Every '|' inside a cell is escaped (a rule '|diff| <= ...' stays one cell)."""
    body = [[_cell(v).replace("|", "\\|") for v in row] for row in rows]
    head = [_cell(h).replace("|", "\\|") for h in headers]
    widths = [max([len(head[i]), 3, *(len(r[i]) for r in body)]) for i in range(len(head))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.rjust(w) if i in right else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths, strict=True))) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if i in right else (":" + "-" * (w + 1))
                          for i, w in enumerate(widths)) + "|"
    return "\n".join([line(head), rule, *(line(r) for r in body)])


def plain_table(headers: Sequence[str], rows: Iterable[Sequence[object]], right: Sequence[int] = ()) -> str:
    """A table for the terminal: columns padded and separated by two spaces, a dashed rule."""
    body = [[_cell(v) for v in row] for row in rows]
    head = [_cell(h) for h in headers]
    widths = [max([len(head[i]), *(len(r[i]) for r in body)]) for i in range(len(head))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return "\n".join([line(head), "  ".join("-" * w for w in widths), *(line(r) for r in body)])


def csv_text(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV with a header row; floats as Python's repr, the shortest digits that read back as the same float."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if v is None else repr(v) if isinstance(v, float) else v for v in row])
    return out.getvalue()
