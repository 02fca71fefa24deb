"""Grading a user's backprop: ``grade(backprop, **spec)`` runs it on cases of the declared kind,
compares every returned tensor, and says what is wrong and where.

    from oracle.grading import grade
    result = grade(my_backprop, hidden="relu", output="sigmoid", losses=["bce"], layout="columns")
    print(result.report()); assert result.passed

The contract and its options are in oracle.grading.spec (and docs/mistakes-and-grading.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from manual_bp.errors import InputError, require
from oracle.cases import Case
from oracle.compare.records import Record, compare_properties
from oracle.compare.tolerance import FLOAT32, FLOAT64
from oracle.grading import contract, diagnose, reference, runner
from oracle.grading.cases import grading_cases
from oracle.grading.result import GradeResult, Match, Problem, divergence, divergence_text, only_with
from oracle.grading.spec import GradeSpec

__all__ = ["GradeResult", "GradeSpec", "grade"]


def _facets(case: Case) -> dict[str, str]:
    acts = [case.net.activations[l] for l in case.net.W]
    return {"loss": case.loss, "output activation": acts[-1], "hidden activations": ",".join(acts[:-1]) or "-"}


def _compare(case: Case, spec: GradeSpec, user: dict[str, Any]) -> list[Record]:
    want, scales = reference.expected(case, spec)
    props = ("W_new", "b_new") if spec.step is not None else ("dW", "db", *(["L"] if "L" in user else []))
    tol = FLOAT32 if spec.dtype == "float32" else FLOAT64
    name = "torch" if spec.reference == "torch" else "manual_bp"
    return compare_properties(case, user, want, name, tol, properties=props, scales=scales)


def _run(backprop: Callable[..., Any], case: Case, spec: GradeSpec, isolate: bool
         ) -> tuple[dict[str, Any] | None, set[str], str | None]:
    """The function's result on one case in the document's layout, the dtypes it returned, or a problem."""
    args, kwargs = contract.arguments(case, spec)
    outcome = runner.call(backprop, args, kwargs, spec.timeout) if isolate else runner.call_here(backprop, args,
                                                                                                 kwargs)
    if outcome.problem is not None:
        shapes = outcome.problem.startswith("raised ValueError") and any(
            w in outcome.problem for w in ("matmul", "shape", "aligned", "broadcast", "dimension"))
        hint = (f"; a shape did not fit: is the function written for another --layout (now {spec.layout}) or "
                f"--bias-shape (now {spec.bias_shape})?") if shapes else ""
        return None, set(), outcome.problem + hint
    try:
        user, dtypes = contract.read_result(outcome.value, case, spec)
    except InputError as exc:
        return None, set(), str(exc)
    return user, dtypes, None


def _diagnose(results: dict[str, tuple[Case, dict[str, Any], list[Record]]], spec: GradeSpec
              ) -> tuple[list[Match], list[tuple[str, str, int]]]:
    """Each wrong tensor's matching variants, and the variants that agree everywhere they run."""
    matches: list[Match] = []
    hits: Counter[str] = Counter()
    runs: Counter[str] = Counter()
    ran_on: dict[str, set[str]] = {}
    failing = {c for c, (_, _, records) in results.items() if any(not r.passed for r in records)}
    described: dict[str, str] = {}
    explains: set[str] = set()
    for case, user, records in results.values():
        keys = [(r.property, r.layer) for r in records]
        found: dict[tuple[str, int | None], list[diagnose.Variant]] = {k: [] for k in keys}
        for v in diagnose.variants(case, spec):
            values = diagnose.variant_values(v, case, spec)
            if values is None:
                continue
            runs[v.name] += 1
            ran_on.setdefault(v.name, set()).add(case.case_id)
            described[v.name] = f"{v.equation}: {v.description}"
            agree = [k for k in keys if diagnose.same(_value(user, k), _value(values, k), spec.dtype)]
            hits[v.name] += len(agree) == len(keys)
            for k in agree:
                found[k].append(v)
        for r in records:
            if not r.passed:
                vs = found[(r.property, r.layer)]
                whole = {v.name for v in vs if v.mistake is not None and v.name == v.mistake.name}
                vs = [v for v in vs if v.mistake is None or v.name == v.mistake.name or v.mistake.name not in whole]
                matches.append(Match(r.case, r.symbol, tuple(v.name for v in vs), tuple(v.description for v in vs)))
                explains.update(v.name for v in vs)
    everywhere = [(n, described[n], runs[n]) for n in runs
                  if hits[n] == runs[n] and n in explains and failing <= ran_on[n]]
    return matches, everywhere[:3]


def _value(props: dict[str, Any], key: tuple[str, int | None]) -> Any:
    prop, layer = key
    return props.get(prop) if layer is None else props.get(prop, {}).get(layer)


def _common_match(matches: list[Match]) -> list[str]:
    """A variant that every wrong tensor matches, though not every tensor (the right ones do not):
    the mistake is confined to the wrong ones."""
    if not matches:
        return []
    counts = Counter(n for m in matches for n in set(m.names))
    common = [n for n, c in counts.items() if c == len(matches)]
    if not common:
        return []
    kinds = sorted({m.symbol.split("^")[0] for m in matches})
    first = next(m for m in matches if common[0] in m.names)
    description = first.descriptions[first.names.index(common[0])]
    return [f"every wrong tensor ({len(matches)}, all of them {', '.join(kinds)}) matches '{common[0]}' "
            f"({description}), where the right ones do not: that mistake, in {', '.join(kinds)} only"]


def _findings(spec: GradeSpec, results: dict[str, tuple[Case, dict[str, Any], list[Record]]],
              dtypes: set[str], diagnosed: bool, matches: list[Match]) -> list[str]:
    failed = {c: [r for r in recs if not r.passed] for c, (_, _, recs) in results.items()}
    failing = {c for c, f in failed.items() if f}
    out = []
    if spec.dtype == "float64" and failing:
        all_float32 = all(r.max_abs_err <= FLOAT32.for_depth(results[c][0].net.L).allowed(r.scale)
                          for c in failing for r in failed[c])
        if "float32" in dtypes or all_float32:
            out.append("your function computes in float32 (" + ("it returns float32 arrays" if "float32" in dtypes
                       else "every difference is float32 rounding") + "): grade it with --dtype float32")
    if failing and not diagnosed:
        keys = Counter(k for c in failing if (k := divergence(failed[c], results[c][0].net.L)) is not None)
        if keys:
            key, n = keys.most_common(1)[0]
            out.append(f"{divergence_text(key, spec.step is not None)} ({n} of {len(failing)} failing cases)")
        out += _common_match(matches)
    out += only_with({c: _facets(case) for c, (case, _, _) in results.items()}, failing,
                     {c: set(case.net.activations.values()) for c, (case, _, _) in results.items()})
    return out


def grade(backprop: Callable[..., Any], activations: Any = None, losses: Any = None, networks: int = 20,
          seed: int = 0, *, isolate: bool = True, **options: Any) -> GradeResult:
    """Grade ``backprop(weights, biases, activations, loss, x, y) -> (dW, db)`` on the cases of its
    spec (options: see GradeSpec); ``isolate`` runs each call in a child process with a timeout."""
    require(callable(backprop), f"backprop: expected a function, got {type(backprop).__name__}")
    unknown = set(options) - set(GradeSpec.__dataclass_fields__)
    require(not unknown, f"{sorted(unknown)[0] if unknown else ''}: unknown option; known: "
            f"{', '.join(f for f in GradeSpec.__dataclass_fields__ if f != 'extra')}")
    spec = GradeSpec(activations=activations, losses=losses, networks=networks, seed=seed, **options).checked()
    cases = grading_cases(spec)
    problems: list[Problem] = []
    results: dict[str, tuple[Case, dict[str, Any], list[Record]]] = {}
    dtypes: set[str] = set()
    for case in cases:
        user, seen, problem = _run(backprop, case, spec, isolate)
        if problem is not None:
            problems.append(Problem(case.case_id, case.about(), problem))
            continue
        dtypes |= seen
        results[case.case_id] = (case, user, _compare(case, spec, user))
    records = [r for _, _, recs in results.values() for r in recs]
    matches, diagnosis = _diagnose(results, spec) if any(not r.passed for r in records) else ([], [])
    findings = _findings(spec, results, dtypes, bool(diagnosis), matches)
    return GradeResult(spec, records, problems, matches, {c.case_id: c.about() for c in cases}, findings, diagnosis)
