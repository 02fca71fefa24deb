"""Worked examples: the file format, the shipped examples, judging every printed number, and solutions.

    from oracle.worked import judge_example, judge_file
    result = judge_example("seed-2-2-1")       # or judge_file("my_example.toml")
    result.exit_code, result.counts()          # 0, {'correct': 16, 'rounding carried': 15, 'wrong': 0}
"""

from oracle.worked.format import WorkedExample, load_example, loads_example, packaged_example, packaged_examples
from oracle.worked.judge import judge, judge_example, judge_file
from oracle.worked.result import VERDICTS, Judgement, Row

__all__ = [
    "VERDICTS",
    "Judgement",
    "Row",
    "WorkedExample",
    "judge",
    "judge_example",
    "judge_file",
    "load_example",
    "loads_example",
    "packaged_example",
    "packaged_examples",
]
