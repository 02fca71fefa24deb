"""Fuzz `manual-bp` argument lists drawn from each subparser's real options, good values and bad, in-process."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fuzzing import RUN, SLOW_HANG_LIMIT_S, assert_clean_cli, assert_counted, run_cli_known, snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oracle.cli import build_parser
from oracle.worked.format import packaged_examples

CLI_ARGS = 400  # default tier: argument lists for check, solve, example, sweep (tiny) and grade (bad targets)
SLOW_CLI_ARGS = 4000  # slow tier: also report and mutants (tiny), grade of a real function, check --torch
QUICK_COMMANDS = ("check", "solve", "example", "sweep", "grade")  # each run here under ~0.05 s (measured)
SLOW_COMMANDS = (*QUICK_COMMANDS * 8, "report", "mutants")  # those two ~0.65 s a run: 1 in 42 each

QUICK = settings(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
SLOW = settings(deadline=None, suppress_health_check=list(HealthCheck))
SENTINEL = b"a file that was here before the run\n"

# What a command may print on stderr with exit 0 or 1: `example --csv` sends its summary there.
STDERR_ALLOWED = (re.compile(r"^$"), re.compile(r"^\d+ of \d+ printed numbers equal "),
                  re.compile(r"^manual_bp agrees with torch autograd "), re.compile(r"^\d+/\d+ networks checked"))

HUGE = str(10**30)
# The sizes of the commands that check many networks, always given and kept tiny (with a few bad values).
TINY = {"sweep": {"networks": ("1", "2", "0", "-1", "x"), "depth": ("1-2", "1", "0-1"), "width": ("1-3", "2", "3-1"),
                  "batch": ("1-2", "1", "")},
        "report": {"networks": ("0", "1", "-1")}, "mutants": {"random_cases": ("0", "1", "x")}}
BAD_COUNTS = ("-1", "-" + HUGE, "abc", "", "1.5", "1e3", "0x10", "nan", "٣")
BAD_RANGES = ("0", "3-1", "a-b", "-1", "1-", "", "1-2-3", "0-2", "1.5-2", "-" + HUGE)
BAD_NUMBERS = ("-1", "nan", "inf", "-inf", "abc", "", "1e400", "-0.5", "1e-400", "0x1")
SIZE_OPTIONS = {"--networks", "--random-cases", "--depth", "--width", "--batch", "--sizes", "--digits"}

PARSER = build_parser()
SUBPARSERS: dict[str, argparse.ArgumentParser] = next(
    a for a in PARSER._actions if isinstance(a, argparse._SubParsersAction)).choices


def _paths(root: Path, kind: str) -> st.SearchStrategy[str]:
    """A path of the workspace (see _workspace): for inputs, for output folders, for output files."""
    common = ["/dev/null", str(root / "missing" / "deeper"), str(root / "a-file.txt"), str(root / "a-file.txt" / "x"),
              str(root), str(root / "out"), ".", ""]
    if kind == "file":
        return st.sampled_from([str(root / "seed.toml"), str(root / "tiny.toml"), str(root / "tiny.toml"),
                                str(root / "binary.toml"), str(root / "empty.toml"), str(root / "nope.toml"),
                                "seed.toml", *common])
    if kind == "dir":
        return st.sampled_from([str(root / "out"), str(root / "out"), str(root / "new-out"),
                                str(root / "out" / "sub"), *common])
    return st.sampled_from([str(root / "out" / "result.json"), str(root / "out" / "result.md"),
                            str(root / "out" / "sentinel.txt"), str(root / "new" / "x.json"), *common])


BAD_TARGETS = ("nonexistent_module_xyz:f", "math:pi", "math:", ":f", "", "::", "os.path:nope", "a-file.txt:f",
               "nope.py:f", "/dev/null:f", "missing/deeper.py:f", "tiny.toml:f", "grade_target.py:nothing",
               "grade_target.py:NOT_A_FUNCTION", "broken_target.py:backprop")
GOOD_TARGETS = ("grade_target.py:backprop", "sys:exit", "json:loads")  # grade runs these: ~0.1-0.5 s each


_STRATEGIES: dict[tuple[int, Path, bool], st.SearchStrategy[list[str]]] = {}
_PATHS: dict[Path, st.SearchStrategy[str]] = {}


def _option_values(action: argparse.Action, root: Path, slow: bool) -> st.SearchStrategy[list[str]]:
    """The argument strings for one option (empty for a flag), good or bad; built once per option."""
    key = (id(action), root, slow)
    if key not in _STRATEGIES:
        _STRATEGIES[key] = _build_option_values(action, root, slow)
    return _STRATEGIES[key]


def _build_option_values(action: argparse.Action, root: Path, slow: bool) -> st.SearchStrategy[list[str]]:
    if action.nargs == 0:
        return st.just([])
    kind = getattr(action.type, "__name__", "")
    dest = action.dest
    huge = () if (set(action.option_strings) & SIZE_OPTIONS) else (HUGE,)  # a valid huge size runs ~forever
    if action.choices is not None:
        good = st.sampled_from(list(action.choices))
        bad = st.sampled_from(["X", "", "FLOAT64", "sum ", "both,float64"])
    elif kind == "count":
        limit = ("1", "2") if dest in ("networks", "random_cases") and not slow else ("0", "1", "2", "3")
        good, bad = st.sampled_from([*limit, *huge]), st.sampled_from(BAD_COUNTS)
    elif kind == "parse_range":
        good, bad = st.sampled_from(["1", "1-2", "2", "1-3"]), st.sampled_from(BAD_RANGES)
    elif kind in ("activation", "loss", "format"):
        known = {"activation": ["sigmoid", "tanh", "relu", "softmax", "gelu", "identity"],
                 "loss": ["half_sse", "mse", "bce", "cross_entropy", "sse"],
                 "format": ["csv", "md", "json"] + (["png"] if slow else [])}[kind]
        good = st.lists(st.sampled_from(known), min_size=1, max_size=3, unique=True).map(",".join)
        bad = st.sampled_from(["nope", "", ",", "sigmoid,,tanh", "Sigmoid", "png,nope", "csv;md"])
    elif kind == "_number":
        good, bad = st.sampled_from(["0", "0.5", "1", "2", "1e-3"]), st.sampled_from(BAD_NUMBERS)
    elif kind == "_sizes":
        good = st.sampled_from(["2-2-1", "1-1", "3-2-1,2-1"])
        bad = st.sampled_from(["", "1", "0-1", "a-b", "1-" + HUGE])
    elif kind == "out_dir" or (dest == "out" and "--out" in action.option_strings and action.metavar == "DIR"):
        good = bad = _paths(root, "dir")
    elif dest in ("json", "out"):
        good = bad = _paths(root, "out-file")
    elif dest == "example":  # check takes 0.07-0.5 s on a shipped example (solve 0.01 s): rarer in the default tier
        good = st.sampled_from(packaged_examples() if slow else ["seed-2-2-1"])
        bad = st.sampled_from(["nope", "", "../seed-2-2-1", "seed-2-2-1.toml", "SEED-2-2-1", "/etc/passwd"])
        return (st.one_of(good, good, bad) if slow else st.one_of(good, bad, bad, bad)).map(lambda v: [v])
    else:
        good = bad = st.sampled_from(["x", "", "-1", HUGE])
    return st.one_of(good, good, bad).map(lambda v: [v])


@st.composite
def argument_lists(draw: st.DrawFn, root: Path, commands: tuple[str, ...], slow: bool) -> list[str]:
    """A subcommand and some of its options, each with a value good or bad, in any order."""
    command = draw(st.sampled_from(commands))
    parser = SUBPARSERS[command]
    argv: list[list[str]] = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if not action.option_strings:  # a positional: FILE.toml of check and solve, the target of grade
            if action.dest == "target":
                targets = BAD_TARGETS + (GOOD_TARGETS if slow else ())
                if draw(st.integers(0, 9)) > 0:
                    argv.append([draw(st.sampled_from(targets))])
            elif draw(st.booleans()):
                argv.append([draw(_PATHS.setdefault(root, _paths(root, "file")))])
            continue
        if action.dest in TINY.get(command, {}):
            continue  # always given (below), kept tiny
        if not draw(st.integers(0, 9)) < 3:
            continue
        if command == "check" and action.dest == "torch" and not slow:
            continue  # check --torch: a second or so of torch per file
        option = draw(st.sampled_from(action.option_strings))
        argv.append([option, *draw(_option_values(action, root, slow))])
    for dest, values in TINY.get(command, {}).items():
        argv.append([f"--{dest.replace('_', '-')}", draw(st.sampled_from(values))])
    if draw(st.integers(0, 19)) == 0:
        argv.append([draw(st.sampled_from(["--bogus", "extra", "-x", "--out=", "--", "--json"]))])
    order = draw(st.permutations(range(len(argv))))
    return [command, *(s for i in order for s in argv[i])]


GRADE_TARGET = '''"""A correct backprop for manual-bp grade: manual_bp itself."""
from manual_bp import Network, backward, forward
NOT_A_FUNCTION = 3
def backprop(weights, biases, activations, loss, x, y):
    net = Network(weights, biases, activations)
    g = backward(net, forward(net, x), y, loss)
    return [g.dW[l] for l in sorted(g.dW)], [g.db[l] for l in sorted(g.db)]
'''


@contextmanager
def _workspace() -> Iterator[Path]:
    """A temporary folder, the current directory for the run, with the files the paths name."""
    root = Path(tempfile.mkdtemp(prefix="fuzz-cli-"))
    cwd = os.getcwd()
    try:
        os.chdir(root)
        yield root
    finally:
        os.chdir(cwd)
        shutil.rmtree(root, ignore_errors=True)


def _fill(root: Path) -> None:
    for p in root.iterdir():
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    from importlib import resources

    seed = (resources.files("oracle.worked") / "examples" / "seed-2-2-1.toml").read_bytes()
    (root / "seed.toml").write_bytes(seed)
    (root / "tiny.toml").write_text('[network]\nactivations = ["tanh"]\nloss = "mse"\nx = [0.5]\ny = [1.0]\n'
                                    'W1 = [[0.4]]\n[claimed]\nz1 = ["0.2"]\nL = "0.6"\n')
    (root / "binary.toml").write_bytes(bytes(range(256)))
    (root / "empty.toml").write_bytes(b"")
    (root / "a-file.txt").write_bytes(SENTINEL)
    (root / "grade_target.py").write_text(GRADE_TARGET)
    (root / "broken_target.py").write_text("import nonexistent_module_xyz\n")
    (root / "out").mkdir()
    (root / "out" / "sentinel.txt").write_bytes(SENTINEL)


def _run_args(name: str, count: int, config: settings, commands: tuple[str, ...], slow: bool) -> None:
    with _workspace() as root:
        @settings(config, max_examples=count)
        @given(argv=argument_lists(root, commands, slow))
        def run(argv: list[str]) -> None:
            RUN[name] += 1
            try:
                result = run_cli_known(argv, SLOW_HANG_LIMIT_S if slow else 10.0)
            finally:
                after = snapshot(root)
                if after != before:
                    _fill(root)
            assert_clean_cli(result, STDERR_ALLOWED)
            if result.code == 2:
                changed = sorted(k for k in set(before) | set(after) if before.get(k, 0) != after.get(k, 0)
                                 and "__pycache__" not in k)  # grade imported the target file
                assert not changed, f"{argv}: exit 2 ({result.err.strip()}) but files changed: {changed}"

        _fill(root)
        before = snapshot(root)
        run()


def test_cli_fuzzed_arguments() -> None:
    _run_args("cli", CLI_ARGS, QUICK, QUICK_COMMANDS, slow=False)
    assert_counted("cli", CLI_ARGS)


@pytest.mark.slow
def test_cli_fuzzed_arguments_slow() -> None:
    _run_args("cli slow", SLOW_CLI_ARGS, SLOW, SLOW_COMMANDS, slow=True)
    assert_counted("cli slow", SLOW_CLI_ARGS)
