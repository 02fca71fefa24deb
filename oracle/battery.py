"""The mutation score: does the project's own check catch every catalogued mistake?

The battery is the check the project runs on itself (oracle.compare.compare_properties of a
case's properties against torch autograd, oracle.autograd.torch_properties, under the
tolerance policy oracle.tolerance.policy_for) applied to a fixed set of cases:

* the document's 2-2-1 example (oracle.cases.document_case);
* hand-picked shapes that give every shape-dependent mistake a chance to run and show:
  square layers (W^(l) instead of W^(l+1), the missing transpose, a^(l) instead of
  a^(l-1) and a transposed dL/dW^(l) only run where n_(l-1) = n_l = n_(l+1)), a batch of
  one and batches of m >= 2 (the bias gradient's sum over the batch), mean and sum
  reductions, a softmax output with half_sse and mse (softmax treated as elementwise),
  bce and cross-entropy, shared and absent biases;
* seeded random networks (oracle.cases.random_case with a small SweepSpec).

Each mistake of oracle.mistakes.MISTAKES is *caught* when at least one record of at least one
case fails; a mistake whose code cannot run on a case's shapes is simply not run there.
The correct algorithm must pass the same battery, or "caught" would mean nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from manual_bp.network import Network
from oracle.autograd import torch_properties
from oracle.cases import SweepSpec, document_case, random_case
from oracle.compare import Case, Record, compare_properties, manual_properties
from oracle.mistakes import CORRECT, MISTAKES, Mistake, NotApplicableError
from oracle.tolerance import policy_for

RANDOM_SPEC = SweepSpec(depth=(1, 4), width=(1, 6), batch=(1, 4))
RANDOM_CASES = 20


def _hand_case(case_id: str, sizes: list[int], activations: list[str], loss: str, reduction: str, batch: int | None,
               seed: int, bias: str = "per_unit", labels: bool = False) -> Case:
    """A seeded network of the given shape; ``batch=None`` means one example given as a vector (n_0,)."""
    rng = np.random.default_rng(seed)
    net = Network.random(sizes, activations, init="glorot", seed=seed, bias=bias)
    shape_x = (sizes[0],) if batch is None else (sizes[0], batch)
    shape_y = (sizes[-1],) if batch is None else (sizes[-1], batch)
    x = rng.normal(size=shape_x)
    if labels:  # cross-entropy with class indices
        y = rng.integers(0, sizes[-1], size=() if batch is None else (batch,))
    elif loss == "bce":
        y = rng.uniform(0.0, 1.0, size=shape_y)
    else:
        y = rng.normal(size=shape_y)
    return Case(case_id, net, x, y, loss, reduction, lr=0.1, seed=seed)


def hand_picked_cases() -> list[Case]:
    """Shapes chosen so that every catalogued mistake can run and show somewhere."""
    return [
        _hand_case("square-3-3-3-3-batch3-mean", [3, 3, 3, 3], ["sigmoid", "tanh", "sigmoid"], "half_sse", "mean",
                   3, 11),
        _hand_case("square-3-3-3-3-single-sum", [3, 3, 3, 3], ["tanh", "sigmoid", "tanh"], "sse", "sum", None, 12),
        _hand_case("square-4-4-4-batch1-mean", [4, 4, 4], ["elu", "sigmoid"], "mse", "mean", 1, 13),
        _hand_case("square-3-3-3-batch2-shared-bias", [3, 3, 3], ["gelu", "silu"], "half_sse", "sum", 2, 14,
                   bias="shared"),
        _hand_case("square-3-3-3-batch4-no-bias", [3, 3, 3], ["softplus", "leaky_relu"], "half_sse", "mean", 4, 15,
                   bias="none"),
        _hand_case("softmax-half_sse-3-4-3-batch2", [3, 4, 3], ["tanh", "softmax"], "half_sse", "mean", 2, 16),
        _hand_case("softmax-mse-4-4-4-batch3-sum", [4, 4, 4], ["sigmoid", "softmax"], "mse", "sum", 3, 17),
        _hand_case("bce-3-3-2-batch4", [3, 3, 2], ["tanh", "sigmoid"], "bce", "mean", 4, 18),
        _hand_case("cross_entropy-4-5-3-batch4", [4, 5, 3], ["relu", "softmax"], "cross_entropy", "mean", 4, 19,
                   labels=True),
    ]


def battery_cases(random_cases: int = RANDOM_CASES) -> list[Case]:
    """The document's example, the hand-picked shapes and ``random_cases`` seeded random networks."""
    return [document_case(), *hand_picked_cases(), *(random_case(seed, RANDOM_SPEC) for seed in range(random_cases))]


def check_properties(case: Case, properties: dict[str, Any], reference: dict[str, Any]) -> list[Record]:
    """The project's own check: every property against torch autograd under the tolerance policy."""
    return compare_properties(case, properties, reference, "torch", policy_for(case.net.dtype))


def _reference(case: Case) -> dict[str, Any]:
    return torch_properties(case.net, case.x, case.y, case.loss, case.reduction, case.lr, case.update_biases)


@dataclass
class MutantResult:
    """How the battery fared against one mistake."""

    name: str
    description: str
    equation: str
    cases_run: int = 0
    cases_not_applicable: int = 0
    cases_caught: int = 0
    records_failed: int = 0
    first_catch: str = ""  # "case: symbol" of the first failing record
    caught_in: list[str] = field(default_factory=list)  # the properties that failed, in report order

    @property
    def caught(self) -> bool:
        """At least one record of at least one case failed."""
        return self.cases_caught > 0

    def as_row(self) -> dict[str, Any]:
        """One table row."""
        return {
            "mistake": self.name,
            "equation": self.equation,
            "description": self.description,
            "caught": "yes" if self.caught else "NO",
            "cases run": self.cases_run,
            "cases caught": self.cases_caught,
            "not applicable": self.cases_not_applicable,
            "failed records": self.records_failed,
            "first caught by": self.first_catch,
            "properties that fail": ", ".join(self.caught_in),
        }


@dataclass
class MutationScore:
    """Every mistake's result, and the correct algorithms' failures on the same battery (none expected)."""

    results: list[MutantResult]
    cases: list[str]
    baseline_failures: list[Record]

    @property
    def caught(self) -> int:
        """How many mistakes the battery catches."""
        return sum(r.caught for r in self.results)

    @property
    def total(self) -> int:
        """How many mistakes the catalogue holds."""
        return len(self.results)

    def summary(self) -> str:
        """One line: the score, and whether the correct implementations pass."""
        base = "passes" if not self.baseline_failures else f"FAILS ({len(self.baseline_failures)} records)"
        return (f"mutation score: {self.caught}/{self.total} catalogued mistakes caught "
                f"({100.0 * self.caught / max(self.total, 1):.0f}%) on {len(self.cases)} cases; "
                f"the correct implementation {base}")


_ORDER = ("z", "a", "sigma_prime", "L", "dL_da", "delta", "dW", "db", "W_new", "b_new")
_LABEL = {"z": "z", "a": "a", "sigma_prime": "sigma'", "L": "L", "dL_da": "dL/da", "delta": "delta", "dW": "dL/dW",
          "db": "dL/db", "W_new": "W'", "b_new": "b'"}


def _computation_order(record: Record) -> tuple[int, int, int]:
    """Where a record's quantity is computed: forward l = 1..L, the loss, backward l = L..1, the update."""
    prop, layer = _ORDER.index(record.property), record.layer or 0
    if record.property in ("z", "a", "sigma_prime"):
        return (0, layer, prop)
    if record.property == "L":
        return (1, 0, 0)
    if record.property in ("dL_da", "delta", "dW", "db"):
        return (2, -layer, prop)
    return (3, layer, prop)


def _score_one(mistake: Mistake, cases: list[Case], references: list[dict[str, Any]]) -> MutantResult:
    result = MutantResult(mistake.name, mistake.description, mistake.equation)
    failed_props: set[str] = set()
    for case, ref in zip(cases, references, strict=True):
        try:
            props = mistake.run(case)
        except NotApplicableError:
            result.cases_not_applicable += 1
            continue
        result.cases_run += 1
        failed = [r for r in check_properties(case, props, ref) if not r.passed]
        if failed:
            result.cases_caught += 1
            result.records_failed += len(failed)
            failed_props.update(r.property for r in failed)
            if not result.first_catch:
                first = min(failed, key=_computation_order)
                result.first_catch = f"{case.case_id}: {first.symbol}"
    result.caught_in = [_LABEL[p] for p in _ORDER if p in failed_props]
    return result


def mutation_score(cases: list[Case] | None = None, mistakes: dict[str, Mistake] | None = None) -> MutationScore:
    """Run every catalogued mistake through the battery; also the correct implementations
    (manual_bp itself and the catalogue's own correct baseline), which must pass it."""
    cases = battery_cases() if cases is None else cases
    mistakes = MISTAKES if mistakes is None else mistakes
    references = [_reference(case) for case in cases]
    baseline: list[Record] = []
    for case, ref in zip(cases, references, strict=True):
        for props in (manual_properties(case), CORRECT.run(case)):
            baseline += [r for r in check_properties(case, props, ref) if not r.passed]
    results = [_score_one(m, cases, references) for m in mistakes.values()]
    return MutationScore(results, [c.case_id for c in cases], baseline)
