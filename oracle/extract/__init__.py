"""Reading worked examples straight from Markdown, LaTeX and notebooks: a document's network and
every printed number, drafted as a worked-example file (docs/extract.md).

    from oracle.extract import extract, judge_document
    draft = extract("notes.md")               # draft.toml(), draft.not_placed
    result = judge_document("notes.md")       # a Judgement whose rows cite their lines
"""

from __future__ import annotations

from pathlib import Path

from oracle.extract.document import extract_file
from oracle.extract.draft import Draft
from oracle.extract.toml_text import toml_text
from oracle.worked.format import WorkedExample, loads_example
from oracle.worked.result import Judgement


def _score(draft: Draft) -> tuple[int, Judgement]:
    from oracle.worked.judge import judge

    result = judge(as_example(draft))
    c = result.counts()
    return c["correct"] + c["rounding carried"], result


def extract(path: str | Path, options: dict[str, str] | None = None) -> Draft:
    """A document's draft. Where the document leaves its matrices' layout open (square matrices,
    no option), the reading that more printed numbers agree with is taken, and said; so is the
    target (or input, or learning rate) where it prints several (y for 'case 1' and 'case 2')."""
    draft = _layout(path, options)
    for key, values in list(draft.options.items()):
        if len(values) < 2 or (key == "learning_rate" and "learning_rate" in (options or {})):
            continue
        scores = []
        for k in range(len(values)):
            trial = _layout(path, {**(options or {}), "_choose": {**draft.settings.get("_choose", {}), key: k}})
            scores.append((_score(trial)[0], -k, trial))
        best = max(scores, key=lambda t: t[:2])
        draft = best[2]
        draft.notes.append(f"{key} is printed with {len(values)} different values ("
                           + ", ".join(s.where for _, s in values) + f"); the one at {values[-best[1]][1].where} "
                           f"is used: {best[0]} printed numbers agree with it"
                           + "".join(f", {sc} with the one at {values[-k][1].where}" for sc, k, _ in scores
                                     if k != best[1]))
    return draft


def _layout(path: str | Path, options: dict | None) -> Draft:
    draft = extract_file(path, options)
    if draft.layout_open and "layout" not in (options or {}):
        other = extract_file(path, {**(options or {}), "layout": "in_out"})
        (mine, _), (theirs, _) = _score(draft), _score(other)
        if theirs > mine:
            other.notes.append(f"matrices read transposed (rows are the inputs): {theirs} printed numbers agree "
                               f"with that reading, {mine} with the other")
            return other
        draft.notes.append(f"matrices read as printed (rows are the units): {mine} printed numbers agree with "
                           f"that reading, {theirs} with the transposed one")
    return draft


def as_example(draft: Draft) -> WorkedExample:
    """The draft as the checker reads it: through its own TOML, so what check judges is what
    extract writes."""
    path = Path(draft.source)
    return loads_example(toml_text(draft), f"{path.stem}-{path.suffix.lstrip('.')}" if path.suffix else path.stem)


def judge_document(path: str | Path, options: dict[str, str] | None = None, with_torch: bool = False) -> Judgement:
    """Judge every printed number of a document; each row cites where it was printed."""
    return judge_draft(extract(path, options), with_torch)


def judge_draft(draft: Draft, with_torch: bool = False) -> Judgement:
    """Judge a document's draft (through its TOML, as check reads the file extract writes)."""
    from oracle.worked.judge import judge

    result = judge(as_example(draft), with_torch=with_torch)
    for row in result.rows:
        row.line = draft.where.get((row.key, row.index), "")
    result.not_placed = list(draft.not_placed)
    return result


__all__ = ["Draft", "as_example", "extract", "judge_document", "judge_draft", "toml_text"]
