"""Where one manual_bp training step spends its time: cProfile by function, and the kernel's share.

    python3 benchmarks/profile_step.py 784-512-512-10 256 float64
    python3 benchmarks/profile_step.py 2048-2048-2048-2048 512 float64 --steps 3
    NUMPY_MADVISE_HUGEPAGE=0 python3 benchmarks/profile_step.py 2048-2048-2048-2048 512 float64 --steps 3

Prints the functions with the most time of their own (a matrix product shows up as the time of
the function that contains the ``@``) and, per step, the wall time, the CPU time spent in the
kernel (page faults, madvise, munmap) and the minor page faults: the part of a step that is
memory management, not arithmetic.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", help="layer sizes, e.g. 784-512-512-10")
    parser.add_argument("batch", type=int)
    parser.add_argument("dtype", choices=bench.DTYPES)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    sizes = tuple(int(n) for n in args.sizes.split("-"))
    net, x, y = bench.step_data(sizes, args.batch, args.dtype)
    step = bench.manual_step(net, x, y)
    step()
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for _ in range(args.steps):
        step()
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    n = args.steps
    print(f"{args.sizes} batch {args.batch} {args.dtype}: {wall / n * 1e3:.1f} ms per step, of which "
          f"{(after.ru_stime - before.ru_stime) / n * 1e3:.1f} ms CPU in the kernel; "
          f"{(after.ru_minflt - before.ru_minflt) / n:.0f} minor page faults per step\n")
    profile = cProfile.Profile()
    profile.runcall(lambda: [step() for _ in range(n)])
    pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
