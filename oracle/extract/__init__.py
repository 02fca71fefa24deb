"""Reading worked examples straight from Markdown, LaTeX and notebooks: a document's network and
every printed number, drafted as a worked-example file (docs/extract.md).

    from oracle.extract import extract, judge_document
    draft = extract("notes.md")               # draft.toml(), draft.not_placed
    result = judge_document("notes.md")       # a Judgement whose rows cite their lines
"""

from __future__ import annotations

from pathlib import Path

from oracle.extract.document import extract_text
from oracle.extract.draft import Draft
from oracle.extract.toml_text import toml_text
from oracle.worked.format import WorkedExample, loads_example
from oracle.worked.result import Judgement


def _score(draft: Draft) -> int:
    """How many printed numbers a reading makes correct or rounding carried."""
    from oracle.worked.judge import judge

    if draft.judged is None:
        draft.judged = judge(as_example(draft))
    c = draft.judged.counts()
    return c["correct"] + c["rounding carried"]


def extract(path: str | Path, options: dict[str, str] | None = None) -> Draft:
    """A document's draft. Where the document leaves its matrices' layout open (square matrices,
    no option), the reading that more printed numbers agree with is taken, and said; so is the
    target (or input, or learning rate) where it prints several (y for 'case 1' and 'case 2')."""
    from oracle.worked.format import read_text_file

    path = Path(path)
    text, options = read_text_file(path), dict(options or {})
    draft = _layout(text, path.name, options)
    for key, values in list(draft.options.items()):
        if len(values) < 2 or (key == "lr" and "learning_rate" in options):
            continue
        choose = draft.settings.get("_choose", {})
        trials = [(_score(draft), 0, draft)] + [
            (_score(trial), k, trial) for k in range(1, len(values))
            for trial in [_layout(text, path.name, {**options, "_choose": {**choose, key: k}})]]
        score, k, draft = max(trials, key=lambda t: (t[0], -t[1]))  # ties: the first printed
        draft.notes.append(f"{key} is printed with {len(values)} different values ("
                           + ", ".join(s.where for _, s in values) + f"); the one at {values[k][1].where} is "
                           f"used: {score} printed numbers agree with it"
                           + "".join(f", {sc} with the one at {values[j][1].where}" for sc, j, _ in trials if j != k))
    return draft


def _layout(text: str, name: str, options: dict) -> Draft:
    draft = extract_text(text, name, options)
    if draft.layout_open and "layout" not in options:
        other = extract_text(text, name, {**options, "layout": "in_out"})
        mine, theirs = _score(draft), _score(other)
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

    result = draft.judged if draft.judged is not None and not with_torch else judge(as_example(draft), with_torch)
    for row in result.rows:
        row.line = draft.where.get((row.key, row.index), "")
    result.not_placed = list(draft.not_placed)
    return result


__all__ = ["Draft", "as_example", "extract", "judge_document", "judge_draft", "toml_text"]
