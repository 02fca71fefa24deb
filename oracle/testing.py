"""For anyone's pytest: one assertion that their backprop is right.

    from oracle.testing import assert_backprop_correct

    def test_my_backprop():
        assert_backprop_correct(my_backprop, hidden="relu", output="sigmoid", losses=["bce"])

It grades the function as ``manual-bp grade`` does (the same options) and, when anything is
wrong, raises AssertionError with a short message: how many tensors disagree, the worst one with
its case and index, yours against the reference, and the named mistake or where the error enters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from oracle.grading import GradeResult, grade


def failure_message(result: GradeResult) -> str:
    """The short message: counts, the worst tensor, the named mistake or the location."""
    wrong = result.failed_records
    lines = [f"backprop is wrong: {len(wrong)} of {len(result.records)} tensors disagree with the reference"
             + (f", and the function failed on {len(result.problems)} of {len(result.cases)} cases"
                if result.problems else "")]
    if wrong:
        worst = max(wrong, key=lambda r: r.max_abs_err / r.allowed_abs_err if r.allowed_abs_err > 0 else float("inf"))
        lines.append(f"worst: {worst.symbol} ({worst.equation}) in case {worst.case} ({result.cases[worst.case]}) at "
                     f"index {worst.worst_index}: yours {worst.manual_value:.6g}, reference "
                     f"{worst.reference_value:.6g} (|diff| {worst.max_abs_err:.3e}, "
                     f"allowed {worst.allowed_abs_err:.3e})")
    if result.problems:
        message, group = result.problem_groups()[0]
        lines.append(f"the function: {message} (case {group[0].case}, {group[0].about}"
                     f"{f'; and {len(group) - 1} more' if len(group) > 1 else ''})")
    lines += [f"mistake: {description} [{name}]" for name, description, _ in result.diagnosis[:1]]
    lines += [f"where: {f}" for f in result.findings[:2]] if not result.diagnosis else []
    if not result.records and not result.problems:
        lines = ["backprop was not graded: no case ran (nothing compared is not a pass)"]
    return "\n".join(lines)


def assert_backprop_correct(backprop: Callable[..., Any], **options: Any) -> GradeResult:
    """Grade ``backprop`` (options as oracle.grading.grade) and raise AssertionError unless it passes."""
    result = grade(backprop, **options)
    if not result.passed:
        raise AssertionError(failure_message(result))
    return result
