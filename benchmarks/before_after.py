"""Before and after: an older manual_bp (and oracle.references.autograd) against the working tree's, side by side.

    python3 benchmarks/before_after.py --rev 18f61c4            # steps and sweep
    python3 benchmarks/before_after.py --rev 18f61c4 --quick    # without the 2048 network

The package at ``--rev`` is copied out of git into a temporary directory under another name
(manual_bp_before, oracle_autograd_before), so both versions live in one process and are
timed interleaved, with the torch step and the floor of benchmarks/bench.py: the ratios compare
numbers measured in the same run. Nothing in the working tree is touched.
"""

from __future__ import annotations

import argparse
import importlib
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bench  # noqa: E402


def export_before(rev: str, into: Path) -> None:
    """manual_bp at ``rev`` as package manual_bp_before, oracle/autograd.py as oracle_autograd_before."""
    files = subprocess.run(["git", "ls-tree", "-r", "--name-only", rev, "manual_bp", "oracle"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    # oracle's torch reference moved (oracle/autograd.py, later oracle/references/autograd.py)
    autograd = [f for f in files if f.endswith("autograd.py")]
    for name in [f for f in files if f.startswith("manual_bp/") and f.endswith(".py")] + autograd:
        text = subprocess.run(["git", "show", f"{rev}:{name}"], cwd=ROOT, check=True, capture_output=True,
                              text=True).stdout
        text = re.sub(r"\bmanual_bp\b", "manual_bp_before", text)
        target = into / ("oracle_autograd_before.py" if name in autograd else name.replace("manual_bp/",
                                                                                             "manual_bp_before/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def step_of(mbp: Any, net: Any, x: Any, y: Any) -> Any:
    """One training step by the given manual_bp package, continuing from its own network."""
    state = [mbp.Network([net.W[l] for l in net.W], [net.b[l] for l in net.b], list(net.activations.values()),
                         net.dtype)]

    def step() -> None:
        grads = mbp.backward(state[0], mbp.forward(state[0], x), y, bench.LOSS)
        state[0] = mbp.sgd_step(state[0], grads, bench.LR)

    return step


def steps(before: Any, quick: bool, repeats: int | None, settle: float) -> None:
    import manual_bp

    print("| network | batch | dtype | before ms | after ms | torch ms | floor ms | before/torch | after/torch "
          "| before/floor | after/floor | after/before |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for dtype in bench.DTYPES:
        for sizes, m, rounds in bench.STEP_SIZES:
            if quick and sizes in bench.QUICK_SKIPS:
                continue
            net, x, y = bench.step_data(sizes, m, dtype)
            t = bench.time_interleaved({"before": step_of(before, net, x, y), "after": step_of(manual_bp, net, x, y),
                                        "torch": bench.torch_step(net, x, y),
                                        "floor": bench.floor_step(sizes, m, dtype)}, repeats or rounds, settle).median
            print(f"| {bench._net(sizes)} | {m} | {dtype} | {bench._ms(t['before'])} | {bench._ms(t['after'])} | "
                  f"{bench._ms(t['torch'])} | {bench._ms(t['floor'])} | {t['before'] / t['torch']:.2f}x | "
                  f"{t['after'] / t['torch']:.2f}x | {t['before'] / t['floor']:.2f}x | {t['after'] / t['floor']:.2f}x "
                  f"| {t['after'] / t['before']:.2f}x |", flush=True)


def sweep(old_autograd: Any, networks: int, rounds: int) -> None:
    """cross_check with the old torch_properties against the current one, interleaved by rounds."""
    import oracle.cases
    import oracle.compare.cross_check as cases

    new_tp = cases.torch_properties
    spec = oracle.cases.SweepSpec()
    print("\n| dtype | networks | before networks/s | after networks/s | after/before time |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for dtype in bench.DTYPES:
        spec_d = bench.replace(spec, dtype=dtype)
        all_cases = [oracle.cases.random_case(i, spec_d) for i in range(networks)]
        times: dict[str, list[float]] = {"before": [], "after": []}
        for r in range(rounds + 1):
            for name in (["before", "after"] if r % 2 else ["after", "before"]):
                cases.torch_properties = old_autograd.torch_properties if name == "before" else new_tp
                try:
                    start = time.perf_counter()
                    for case in all_cases:
                        cases.cross_check(case)
                    if r:
                        times[name].append(time.perf_counter() - start)
                finally:
                    cases.torch_properties = new_tp
        b, a = (bench.statistics.median(times[k]) for k in ("before", "after"))
        print(f"| {dtype} | {networks} | {networks / b:.0f} | {networks / a:.0f} | {a / b:.2f}x |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", required=True, help="the git revision to compare with, e.g. 18f61c4")
    parser.add_argument("--quick", action="store_true", help="leave out the 2048-2048-2048-2048 network")
    parser.add_argument("--repeats", type=int, default=None, help="rounds per size (default: bench.py's)")
    parser.add_argument("--settle", type=float, default=bench.SETTLE_SECONDS)
    parser.add_argument("--networks", type=int, default=100, help="networks per dtype for the sweep (0: no sweep)")
    parser.add_argument("--no-steps", action="store_true")
    args = parser.parse_args()
    import torch

    threads = bench.numpy_blas_threads() or torch.get_num_threads()
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        export_before(args.rev, Path(tmp))
        sys.path.insert(0, tmp)
        before = importlib.import_module("manual_bp_before")
        old_autograd = importlib.import_module("oracle_autograd_before")
        print(f"before: {args.rev}, after: the working tree; {threads} threads\n")
        if not args.no_steps:
            steps(before, args.quick, args.repeats, args.settle)
        if args.networks:
            sweep(old_autograd, args.networks, 3)


if __name__ == "__main__":
    main()
