"""The oracle: references, comparison, worked examples, mistakes and grading, reports, training checks, the CLI.

``oracle.watch`` (check your own training loop, oracle.training.watch) is loaded on first use,
so ``import oracle`` stays light."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "watch":
        from oracle.training.watch import watch

        return watch
    raise AttributeError(f"module 'oracle' has no attribute {name!r}")
