"""Published worked examples, transcribed faithfully (oracle/worked/examples/, provenance in each
file's header), judged by a careful reader *before* the checker ran: published/<name>.expected.csv
holds that reader's verdict for every claimed number, the cause in words, and for each wrong
one the catalogue or slip name it comes down to (``root``, a carried error traced to its source).

The checker must give the same verdict for every number and the same root cause for every wrong
one. Where the reader and the checker could both be argued (melfm's L terms: carried within the
rounding of a wrong print, or truncated), the pinned root is the checker's and the file's
``cause`` column keeps the reader's words.
"""

from __future__ import annotations

import csv
from dataclasses import replace
from functools import cache
from pathlib import Path

import pytest

from oracle.worked import Judgement, judge
from oracle.worked.format import packaged_example

HERE = Path(__file__).resolve().parent / "published"
PUBLISHED = sorted(p.name.removesuffix(".expected.csv") for p in HERE.glob("*.expected.csv"))


LONG = 1000  # [[step]] tables past this many steps are judged in the slow run only (Mazur's 10,000: ~8 s)


def is_long(name: str) -> bool:
    return any(t.step > LONG for t in packaged_example(name).steps)


@cache
def judged(name: str, with_long_steps: bool = False) -> Judgement:
    ex = packaged_example(name)
    if is_long(name) and not with_long_steps:
        ex = replace(ex, steps=tuple(t for t in ex.steps if t.step <= LONG))
    return judge(ex)


def expected(name: str, with_long_steps: bool = False) -> list[dict[str, str]]:
    with open(HERE / f"{name}.expected.csv", newline="", encoding="utf-8") as f:
        rows = [dict(row, element=row["element"] or "[0]") for row in csv.DictReader(f)]
    if is_long(name) and not with_long_steps:
        rows = [r for r in rows if not r["key"].startswith("step") or int(r["key"][4:].split(".")[0]) <= LONG]
    return rows


def tool_rows(name: str, with_long_steps: bool = False) -> dict[tuple[str, str], object]:
    """The checker's rows by (key, element); a one-element quantity's element is [0] (the tool prints none)."""
    return {(r.key, r.element or "[0]"): r for r in judged(name, with_long_steps).rows}


def test_every_published_example_is_shipped_and_pinned():
    assert len(PUBLISHED) >= 7
    for name in PUBLISHED:
        assert packaged_example(name).source, name  # provenance stated in the file


@pytest.mark.parametrize("name", PUBLISHED)
def test_verdicts_are_the_careful_readers(name: str, with_long_steps: bool = False):
    rows = tool_rows(name, with_long_steps)
    want = expected(name, with_long_steps)
    assert len(rows) == len(want), f"{name}: the tool judged {len(rows)} numbers, the reader {len(want)}"
    differ = [(w["key"], w["element"], w["text"], w["verdict"], rows[(w["key"], w["element"])].verdict)
              for w in want if rows[(w["key"], w["element"])].verdict != w["verdict"]]
    assert differ == [], differ


@pytest.mark.parametrize("name", [n for n in PUBLISHED if any(w["root"] for w in expected(n, True))])
def test_every_wrong_number_gets_the_readers_root_cause(name: str, with_long_steps: bool = False):
    rows = tool_rows(name, with_long_steps)
    want = expected(name, with_long_steps)
    differ = [(w["key"], w["element"], w["root"], rows[(w["key"], w["element"])].root, rows[(w["key"], w["element"])]
               .cause) for w in want if w["verdict"] == "wrong" and rows[(w["key"], w["element"])].root != w["root"]]
    assert differ == [], differ
    assert all(w["root"] for w in want if w["verdict"] == "wrong"), "a wrong number without a root"


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in PUBLISHED if is_long(n)])
def test_long_step_tables_too(name: str):
    test_verdicts_are_the_careful_readers(name, with_long_steps=True)
    test_every_wrong_number_gets_the_readers_root_cause(name, with_long_steps=True)


def test_the_report_leads_with_the_cause_of_most_wrong_numbers():
    lines = judged("softmax-xW-dlp2").cause_lines()
    assert lines[0].startswith("5 of 5 wrong values follow from truncation instead of rounding [truncated], "
                               "first at exp(z^(1))[0] (4 carried on from there)"), lines
    assert judged("brownlee-backprop").cause_lines()[0].startswith("5 of 5 wrong values follow from one term of a "
                                                                   "sum left out [term_dropped]")


def test_the_published_conventions_and_intermediates_are_all_covered():
    examples = [packaged_example(n) for n in PUBLISHED]
    conventions = {(k, getattr(ex.conventions, k)) for ex in examples for k in ("layout", "delta_sign")}
    assert {("layout", "in_out"), ("delta_sign", "target_minus_output")} <= conventions
    assert any(ex.schedule == "per_example" and ex.steps for ex in examples)
    assert any(ex.steps and ex.schedule == "full_batch" for ex in examples)
    claimed = {key.rstrip("0123456789") if key[-1].isdigit() else key for ex in examples for key in ex.claimed}
    kinds = {k.replace("1", "").replace("2", "") for k in claimed}
    assert {"z_terms", "dL_da_terms", "L_terms", "exp_z", "sum_exp_z", "a_new"} <= kinds, kinds


def test_a_full_precision_print_from_float64_code_is_correct():
    # Brownlee prints repr() of his float64 values: every one of them that is right is correct
    rows = judged("brownlee-training").rows + judged("brownlee-forward").rows
    long = [r for r in rows if r.digits >= 15]
    assert long and all(r.verdict == "correct" for r in long)


def test_check_writes_the_judgement_as_json(tmp_path):
    import json

    from oracle.cli import main

    path = tmp_path / "deep" / "check.json"
    assert main(["check", "--example", "softmax-xW-dlp2", "--json", str(path)]) == 1
    data = json.loads(path.read_text())
    assert data["schema"] == "manual-bp/check/1" and data["exit_code"] == 1
    assert data["counts"] == {"correct": 20, "rounding carried": 1, "wrong": 5}  # the reader's counts
    assert data["causes"] == [{"root_cause": "truncated", "wrong_values": 5, "first_at": "exp(z^(1))[0]"}]
    wrong = [v for v in data["values"] if v["verdict"] == "wrong"]
    assert [v["key"] for v in wrong] == ["exp_z1", "a1", "delta1", "dW1", "dW1"]
    assert all(v["root_cause"] == "truncated" and v["cause"] for v in wrong)
    assert all(v["torch"] is None for v in data["values"])  # not asked for: null, not NaN


@pytest.mark.parametrize("name", ["softmax-xW-dlp2", "hkp-3-2-1-blog", "mazur-step-by-step"])
def test_torch_gives_every_claimed_quantity_intermediates_too(name: str):
    # in_out layout, target_minus_output, softmax parts, terms of sums: PyTorch autograd's value of
    # each, in the file's convention, is manual_bp's to a few ulps (float64, networks of 2 layers:
    # 1e-14 relative is ~45 ulps, room for a few roundings in different orders)
    ex = replace(packaged_example(name), steps=())
    rows = judge(ex, with_torch=True).rows
    far = [(r.name, r.exact, r.torch) for r in rows if not abs(r.torch - r.exact) <= 1e-14 * max(abs(r.exact), 1e-300)]
    assert far == []
