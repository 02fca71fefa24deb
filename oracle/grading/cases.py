"""The cases a function is graded on, drawn from what its spec says it supports: the document's
2-2-1 example where it fits, square networks (where a missing transpose gives wrong numbers
rather than a crash) and seeded random networks of the declared architecture."""

from __future__ import annotations

import numpy as np

from manual_bp.activations import ACTIVATIONS
from manual_bp.errors import InputError, require
from manual_bp.losses import LOSSES
from oracle.cases import Case, hand_case
from oracle.grading.spec import PROBABILITY_OUTPUT, GradeSpec

SQUARE = ((3, 3, 3, 3), (2, 2, 2))


def _activations(spec: GradeSpec, L: int, rng: np.random.Generator, loss: str) -> list[str]:
    """One activation per layer: the declared list or pattern, else drawn from the pool."""
    pool = [a for a in (spec.activations or tuple(ACTIVATIONS)) if a != "softmax"] or ["sigmoid"]
    if spec.output is not None:
        hidden = [spec.hidden] * (L - 1) if spec.hidden else [str(rng.choice(pool)) for _ in range(L - 1)]
        return [*hidden, spec.output]
    if spec.activations is not None and spec.sizes is not None and len(spec.activations) > 1:
        return list(spec.activations)
    if spec.activations is not None and len(spec.activations) == 1:
        return [spec.activations[0]] * L
    names = [str(rng.choice(pool)) for _ in range(L)]
    if loss in PROBABILITY_OUTPUT:
        names[-1] = PROBABILITY_OUTPUT[loss]
    elif spec.activations is not None and "softmax" in spec.activations and rng.integers(0, 2):
        names[-1] = "softmax"
    return names


def _allows_sigmoid_everywhere(spec: GradeSpec) -> bool:
    """Whether a network with sigmoid in both layers (the document's) is one the function supports."""
    if spec.output is not None:
        return spec.output == "sigmoid" and spec.hidden in (None, "sigmoid")
    if spec.activations is not None and spec.sizes is not None and len(spec.activations) > 1:
        return spec.activations == ("sigmoid", "sigmoid")  # one name per layer
    return spec.activations is None or "sigmoid" in spec.activations


def usable_losses(spec: GradeSpec) -> list[str]:
    """The declared losses (default: every loss the declared output activations allow)."""
    outputs = ({spec.output} if spec.output else
               {spec.activations[-1]} if spec.activations and spec.sizes and len(spec.activations) > 1 else
               set(spec.activations or ACTIVATIONS))
    losses = list(spec.losses or LOSSES)
    usable = [loss for loss in losses if PROBABILITY_OUTPUT.get(loss, next(iter(outputs))) in outputs]
    if spec.losses is not None and len(usable) < len(losses):
        bad = next(loss for loss in losses if loss not in usable)
        raise InputError(f"losses: {bad} needs a {PROBABILITY_OUTPUT[bad]} output layer, but the output is "
                         f"{' or '.join(sorted(outputs))}")
    require(len(usable) > 0, "losses: none of the losses can be used with these activations")
    return usable


def _case(case_id: str, spec: GradeSpec, sizes: list[int], acts: list[str], loss: str, m: int, seed: int) -> Case:
    if loss == "cross_entropy":
        require(sizes[-1] >= 2, f"sizes: cross_entropy needs at least 2 output units, got {sizes[-1]}")
    return hand_case(case_id, sizes, acts, loss, spec.reduction, m, seed,
                     bias="none" if spec.bias_shape == "none" else "per_unit",
                     labels="indices" if spec.labels == "indices" else "one_hot",
                     lr=spec.step if spec.step is not None else 0.1, dtype=spec.dtype)


def _sizes(spec: GradeSpec, rng: np.random.Generator, loss: str) -> list[int]:
    if spec.sizes is not None:
        return list(spec.sizes[int(rng.integers(0, len(spec.sizes)))])
    L = int(rng.integers(spec.depth[0], spec.depth[1] + 1))
    sizes = [int(rng.integers(spec.width[0], spec.width[1] + 1)) for _ in range(L + 1)]
    if loss == "cross_entropy":
        sizes[-1] = max(sizes[-1], 2)  # a one-unit softmax is constant 1
    return sizes


def grading_cases(spec: GradeSpec) -> list[Case]:
    """The document's example (when the spec allows sigmoid, half_sse, 2-2-1 and a batch of one),
    two square networks per loss (when the architecture is free), and ``spec.networks`` random
    networks; batches from ``spec.batch``, the first random one with a single example."""
    losses = usable_losses(spec)
    cases: list[Case] = []
    lo, hi = spec.batch
    fits_document = (spec.sizes is None or (2, 2, 1) in spec.sizes) and lo == 1 and "half_sse" in losses
    if fits_document and _allows_sigmoid_everywhere(spec) and (spec.sizes or spec.depth[0] <= 2 <= spec.depth[1]):
        from oracle.cases import document_case

        doc = document_case()
        cases.append(_document(doc, spec))
    if spec.sizes is None:
        for i, loss in enumerate(losses):
            for sizes in SQUARE:
                if not spec.depth[0] <= len(sizes) - 1 <= spec.depth[1]:
                    continue
                rng = np.random.default_rng(spec.seed + 100 * (1 + len(sizes)) + i)
                m = hi if len(sizes) == 4 else lo
                acts = _activations(spec, len(sizes) - 1, rng, loss)
                cases.append(_case(f"square-{'-'.join(map(str, sizes))}-{loss}-batch{m}", spec, list(sizes), acts,
                                   loss, m, spec.seed + 100 * len(sizes) + i))
    for k in range(spec.networks):
        rng = np.random.default_rng([spec.seed, k])
        loss = losses[k % len(losses)]
        sizes = _sizes(spec, rng, loss)
        m = lo if k == 0 else int(rng.integers(lo, hi + 1))
        acts = _activations(spec, len(sizes) - 1, rng, loss)
        cases.append(_case(f"random-{spec.seed}-{k}", spec, sizes, acts, loss, m, spec.seed * 1000 + k))
    return cases


def _document(doc: Case, spec: GradeSpec) -> Case:
    """The document's example as a batch of one column, in the spec's dtype and reduction."""
    from manual_bp import Network

    net = doc.net
    layers = range(1, net.L + 1)
    biases = [None if spec.bias_shape == "none" else net.b[l] for l in layers]
    net = Network([net.W[l] for l in layers], biases, [net.activations[l] for l in layers], spec.dtype)
    x = np.asarray(doc.x, dtype=np.float64).reshape(-1, 1)
    y = np.asarray(doc.y, dtype=np.float64).reshape(-1, 1)
    return Case(doc.case_id, net, x, y, "half_sse", spec.reduction,
                spec.step if spec.step is not None else doc.lr, seed=doc.seed)
