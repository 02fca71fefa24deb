"""Shared test plumbing: one torch thread, and a ``summary_line`` fixture whose lines are
printed after the run, so the sweeps' largest errors show in every test log without ``-s``."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from hypothesis import settings

_SUMMARY = pytest.StashKey[list[str]]()


def pytest_configure(config: pytest.Config) -> None:
    # The oracle's tensors are tiny: a second intra-op thread only adds overhead, and on a busy
    # 2-core machine the threads spin against each other (measured: 100 float32 networks of
    # oracle.cases.run_sweep took 1.6 s with one thread, 12.6 s with two).
    import torch

    torch.set_num_threads(1)


@pytest.fixture
def summary_line(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Call with a line of text to have it printed in the terminal summary."""
    return request.config.stash.setdefault(_SUMMARY, []).append


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    lines = config.stash.get(_SUMMARY, [])
    if lines:
        terminalreporter.section("oracle: largest errors seen")
        for line in lines:
            terminalreporter.write_line(line)


# CI must be reproducible: there hypothesis replays the same examples every run (derandomize)
# instead of exploring new ones; a developer's run keeps exploring and saving what it finds.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
