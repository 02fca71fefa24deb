"""The benchmark: how fast the reference is, next to torch and next to the hardware floor.

Four measurements, all in this one process:

* **step**: one full training step (forward, loss, backward Eq. 1-4, SGD update Eq. 5) by
  manual_bp, the same step by torch eager on the CPU with the same thread count, and the
  floor: that step's matrix products alone, in numpy. The three are timed interleaved: every
  round runs each of them once, in an order that rotates from round to round, and the median
  of the rounds after a warm-up round is reported.
* **sweep**: the cross-check of random networks (oracle.compare.cross_check.run_sweep), in networks per
  second, and where its time goes: drawing the cases, manual_bp, torch, the comparison, and
  writing the report of its records.
* **memory**: the peak memory of a forward pass against what its Cache must hold.
* **import**: ``import manual_bp`` in a fresh interpreter (``python -X importtime``).

Shared machines are noisy: read the ratios, which are measured side by side in one run, not
the absolute times, which move from run to run.

    python3 benchmarks/bench.py                # every size, writes reports/benchmarks.md
    python3 benchmarks/bench.py --quick        # without the 2048-2048-2048-2048 network
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, installed or not

from manual_bp import Network, backward, forward, sgd_step
from manual_bp.errors import InputError
from oracle.cli.args import count_at_least

# (layer sizes n_0..n_L, batch m, rounds): the four networks, fewer rounds where a
# step takes long (2048-2048-2048-2048 at batch 512 is ~35 GFLOP, about a second on 2 cores).
STEP_SIZES: tuple[tuple[tuple[int, ...], int, int], ...] = (
    ((2, 2, 1), 1, 15),
    ((784, 128, 10), 32, 15),
    ((784, 512, 512, 10), 256, 9),
    ((2048, 2048, 2048, 2048), 512, 3),
)
QUICK_SKIPS = ((2048, 2048, 2048, 2048),)  # --quick leaves these out
DTYPES = ("float64", "float32")
ACTIVATION = "sigmoid"  # every layer, output included (the document's network)
LOSS = "half_sse"  # the document's L = 1/2 (y - y_hat)^2, mean over the batch
LR = 0.01
SAMPLE_SECONDS = 0.02  # one timed sample repeats the step until it lasts at least this long
# After a call, OpenBLAS's worker threads spin for 2^28 cycles (~0.1 s at 2.5 GHz) before they
# sleep, and torch's OpenMP threads spin too; on 2 cores a spinning pool of one library takes a
# core from the other. A pause this long before each sample lets the previous one's pool settle.
SETTLE_SECONDS = 0.12
SWEEP_NETWORKS = 100  # per dtype, as the default report (oracle.cli.report_cmd.DEFAULT_NETWORKS)
IMPORT_RUNS = 5

# The targets.
TARGET_VS_TORCH = 1.0  # manual / torch, every size and dtype
TARGET_VS_FLOOR = 1.3  # manual / floor, the two largest sizes
FLOOR_TARGET_SIZES = ((784, 512, 512, 10), (2048, 2048, 2048, 2048))
TARGET_SWEEP_PER_S = 100.0
TARGET_IMPORT_S = 0.3
TARGET_REPORT_S = 30.0


# ---------------------------------------------------------------------------------------------
# The machine


def blas_info() -> list[dict[str, Any]]:
    """threadpoolctl's view of the thread pools loaded in this process (numpy's BLAS, OpenMP)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return threadpool_info()


def numpy_blas_threads() -> int | None:
    """How many threads numpy's BLAS uses (threadpoolctl), None if it cannot be told."""
    for pool in blas_info():
        if pool.get("user_api") == "blas" and "numpy" in str(pool.get("filepath", "")):
            return int(pool["num_threads"])
    blas = [p for p in blas_info() if p.get("user_api") == "blas"]
    return int(blas[0]["num_threads"]) if blas else None


@contextmanager
def blas_threads(n: int | None) -> Iterator[None]:
    """Limit numpy's BLAS to n threads inside the block (no-op for None or without threadpoolctl)."""
    if n is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=n, user_api="blas"):
        yield


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


ENV_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
            "MKL_NUM_THREADS", "OMP_WAIT_POLICY", "NUMPY_MADVISE_HUGEPAGE", "MALLOC_TOP_PAD_",
            "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_")


def machine_info() -> dict[str, str]:
    """The machine, the library versions, numpy's BLAS configuration and torch's thread count."""
    import torch

    cpus = os.cpu_count() or 0
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = cpus
    info = {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "platform": platform.platform(),
        "CPU": f"{_cpu_model()} ({cpus} logical CPUs, {usable} usable by this process)",
        "load average (1 min) at start": f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "n/a",
        "Python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
    }
    pools = blas_info()
    if not pools:
        info["numpy BLAS (threadpoolctl)"] = "threadpoolctl not installed"
    for pool in pools:
        name = Path(str(pool.get("filepath", "?"))).name
        if pool.get("user_api") == "blas":
            info[f"BLAS: {name}"] = (f"{pool.get('internal_api')} {pool.get('version')}, kernel "
                                     f"{pool.get('architecture', 'n/a')}, {pool.get('num_threads')} threads, "
                                     f"threading layer {pool.get('threading_layer', 'n/a')}")
        else:
            info[f"{pool.get('user_api')} pool: {name}"] = f"{pool.get('num_threads')} threads"
    info["torch threads"] = f"{torch.get_num_threads()} intra-op, {torch.get_num_interop_threads()} inter-op"
    thp = {}
    for setting in ("enabled", "defrag"):
        try:
            thp[setting] = Path(f"/sys/kernel/mm/transparent_hugepage/{setting}").read_text().strip()
        except OSError:
            thp[setting] = "n/a"
    info["transparent hugepages (enabled; defrag)"] = f"{thp['enabled']}; {thp['defrag']}"
    toggle = _numpy_hugepage_toggle()
    info["numpy madvise(MADV_HUGEPAGE) on arrays >= 4 MB"] = "n/a" if toggle is None else str(toggle[0]())
    for var in ENV_VARS:
        info[var] = os.environ.get(var, "(unset)")
    return info


# ---------------------------------------------------------------------------------------------
# Timing


@dataclass
class Timing:
    """Median seconds per call of each contender, and the samples they come from."""

    median: dict[str, float]
    samples: dict[str, list[float]]
    calls_per_sample: dict[str, int]


def _run(fn: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return time.perf_counter() - start


def time_interleaved(contenders: dict[str, Callable[[], object]], rounds: int, settle: float = SETTLE_SECONDS,
                     sample_seconds: float = SAMPLE_SECONDS) -> Timing:
    """Median seconds per call of each contender, timed side by side.

    A warm-up round (one call each, which also sets how many calls make a sample of at least
    ``sample_seconds``, then one untimed sample each) is followed by ``rounds`` rounds; each
    round takes one sample of every contender, in an order rotated by one from the round
    before, each after a pause of ``settle`` seconds."""
    if rounds < 1:
        raise InputError(f"repeats: expected at least 1 round, got {rounds}")
    names = list(contenders)
    calls = {}
    for name in names:
        one = _run(contenders[name], 1)
        calls[name] = max(1, math.ceil(sample_seconds / max(one, 1e-9)))
        _run(contenders[name], calls[name])
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            if settle > 0:
                time.sleep(settle)
            samples[name].append(_run(contenders[name], calls[name]) / calls[name])
    return Timing({n: statistics.median(s) for n, s in samples.items()}, samples, calls)


# ---------------------------------------------------------------------------------------------
# One training step three ways


def step_data(sizes: Sequence[int], m: int, dtype: str, seed: int = 0) -> tuple[Network, np.ndarray, np.ndarray]:
    """A sigmoid network with these sizes, x of shape (n_0, m) ~ N(0, 1), y of shape (n_L, m) ~ U(0, 1)."""
    net = Network.random(list(sizes), ACTIVATION, init="glorot", seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed + 1)
    x = rng.normal(size=(sizes[0], m)).astype(dtype)
    y = rng.uniform(size=(sizes[-1], m)).astype(dtype)
    return net, x, y


def manual_step(net: Network, x: np.ndarray, y: np.ndarray) -> Callable[[], None]:
    """manual_bp's step: forward, backward (Eq. 1-4) and sgd_step (Eq. 5); each call continues
    from the network the previous call produced."""
    state = [net]

    def step() -> None:
        grads = backward(state[0], forward(state[0], x), y, LOSS)
        state[0] = sgd_step(state[0], grads, LR)

    return step


def torch_step(net: Network, x: np.ndarray, y: np.ndarray) -> Callable[[], None]:
    """The same step in torch eager: F.linear and torch.sigmoid per layer, the same loss,
    loss.backward(), torch.optim.SGD.step() and zero_grad(set_to_none=True), on its own copy of
    the parameters, in torch's row layout (x is given as x^T, prepared once)."""
    import torch
    import torch.nn.functional as F

    from oracle.references.autograd import torch_loss

    dtype = torch.float64 if net.dtype == np.float64 else torch.float32
    W = [torch.tensor(net.W[l], dtype=dtype, requires_grad=True) for l in net.W]
    b = [torch.tensor(net.b[l], dtype=dtype, requires_grad=True) for l in net.b]
    opt = torch.optim.SGD(W + b, lr=LR)
    inputs = torch.as_tensor(x.T.copy())
    targets = torch.as_tensor(y.T.copy())

    def step() -> None:
        a = inputs
        for Wl, bl in zip(W, b, strict=True):
            a = torch.sigmoid(F.linear(a, Wl, bl))
        torch_loss(a, targets, LOSS, "mean").backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    return step


def floor_products(sizes: Sequence[int], m: int, dtype: str, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """The step's 3L - 1 matrix products as (left, right) operand pairs, in the step's order:
    W^(l) a^(l-1) for l = 1..L (forward), (W^(l+1))^T delta^(l+1) for l = L-1..1 (Eq. 2) and
    delta^(l) (a^(l-1))^T for l = L..1 (Eq. 3)."""
    rng = np.random.default_rng(seed)
    L = len(sizes) - 1
    W = {l: rng.normal(size=(sizes[l], sizes[l - 1])).astype(dtype) for l in range(1, L + 1)}
    a = {l: rng.normal(size=(sizes[l], m)).astype(dtype) for l in range(0, L)}
    delta = {l: rng.normal(size=(sizes[l], m)).astype(dtype) for l in range(1, L + 1)}
    return ([(W[l], a[l - 1]) for l in range(1, L + 1)]
            + [(W[l + 1].T, delta[l + 1]) for l in range(L - 1, 0, -1)]
            + [(delta[l], a[l - 1].T) for l in range(L, 0, -1)])


def floor_step(sizes: Sequence[int], m: int, dtype: str) -> Callable[[], None]:
    """The floor: the step's matrix products alone, each written into an array allocated once."""
    products = floor_products(sizes, m, dtype)
    outs = [np.empty((left.shape[0], right.shape[1]), dtype=dtype) for left, right in products]

    def step() -> None:
        for (left, right), out in zip(products, outs, strict=True):
            np.matmul(left, right, out=out)

    return step


@dataclass
class StepResult:
    """One network size and dtype: median seconds per step of manual_bp, torch and the floor."""

    sizes: tuple[int, ...]
    batch: int
    dtype: str
    rounds: int
    manual: float
    torch: float
    floor: float
    manual_no_hugepages: float | None = None  # manual_bp with numpy's madvise(MADV_HUGEPAGE) off

    @property
    def vs_torch(self) -> float:
        return self.manual / self.torch

    @property
    def vs_floor(self) -> float:
        return self.manual / self.floor

    @property
    def floor_target(self) -> bool:
        return self.sizes in FLOOR_TARGET_SIZES

    @property
    def meets_targets(self) -> bool:
        return self.vs_torch <= TARGET_VS_TORCH and (not self.floor_target or self.vs_floor <= TARGET_VS_FLOOR)


def _numpy_hugepage_toggle() -> tuple[Callable[[], bool], Callable[[bool], bool]] | None:
    """numpy's runtime switch for madvise(MADV_HUGEPAGE) on arrays of 4 MB and more (the
    switch NUMPY_MADVISE_HUGEPAGE sets at import), as (get, set); None where numpy has none."""
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray  # type: ignore[no-redef]
    get = getattr(multiarray, "_get_madvise_hugepage", None)
    set_ = getattr(multiarray, "_set_madvise_hugepage", None)
    return None if get is None or set_ is None else (get, set_)


def without_numpy_hugepages(step: Callable[[], None]) -> Callable[[], None] | None:
    """``step`` run with numpy's madvise hugepage switch off, and back on after; None when the
    switch is off already (or missing), so there is nothing to compare."""
    toggle = _numpy_hugepage_toggle()
    if toggle is None or not toggle[0]():
        return None
    _, set_ = toggle

    def run() -> None:
        set_(False)
        try:
            step()
        finally:
            set_(True)

    return run


def bench_step(sizes: Sequence[int], m: int, dtype: str, rounds: int, settle: float = SETTLE_SECONDS) -> StepResult:
    """Time manual_bp, torch and the floor side by side on one network size and dtype; also
    manual_bp with numpy's hugepage madvise off, where it is on."""
    net, x, y = step_data(sizes, m, dtype)
    contenders = {"manual": manual_step(net, x, y), "torch": torch_step(net, x, y),
                  "floor": floor_step(sizes, m, dtype)}
    no_hugepages = without_numpy_hugepages(manual_step(net, x, y))
    if no_hugepages is not None:
        contenders["manual_no_hugepages"] = no_hugepages
    t = time_interleaved(contenders, rounds, settle).median
    return StepResult(tuple(sizes), m, dtype, rounds, t["manual"], t["torch"], t["floor"],
                      t.get("manual_no_hugepages"))


# ---------------------------------------------------------------------------------------------
# The sweep


SWEEP_PARTS = ("cases", "manual", "torch", "comparison")
_PATCHED = {"cases": "random_case", "manual": "manual_properties", "torch": "torch_properties",
            "comparison": "compare_properties"}


@dataclass
class SweepResult:
    """One dtype's sweep: its wall time, the time of each part, and the report written from it."""

    dtype: str
    networks: int
    seconds: float
    parts: dict[str, float]
    report_seconds: float | None
    failed: int

    @property
    def per_second(self) -> float:
        return self.networks / self.seconds if self.seconds > 0 else float("inf")


@contextmanager
def _timed_parts(parts: dict[str, float]) -> Iterator[None]:
    """Inside the block, oracle.compare.cross_check's calls to random_case, manual_properties,
    torch_properties and compare_properties add their time to ``parts``; the originals are back
    afterwards (a benchmark may patch modules; nothing in the package does)."""
    import oracle.compare.cross_check as cases

    originals = {part: getattr(cases, name) for part, name in _PATCHED.items()}

    def timed(part: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                parts[part] += time.perf_counter() - start
        return wrapper

    try:
        for part, name in _PATCHED.items():
            setattr(cases, name, timed(part, originals[part]))
        yield
    finally:
        for part, name in _PATCHED.items():
            setattr(cases, name, originals[part])


def _write_report(records: list[Any]) -> float | None:
    """Seconds to write the report tables of these records (oracle.report), None if unavailable."""
    try:
        from oracle.report.write import write_report
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        write_report(Path(tmp), records, None, {})
        return time.perf_counter() - start


def bench_sweep(networks: int, dtype: str, seed: int = 0, with_report: bool = True) -> SweepResult:
    """Run oracle.compare.cross_check.run_sweep on ``networks`` random networks and time its parts."""
    from oracle.cases import SweepSpec
    from oracle.compare.cross_check import run_sweep

    spec = replace(SweepSpec(), dtype=dtype)
    run_sweep(3, seed + 10**6, spec)  # warm-up: torch's first calls are slow
    parts = dict.fromkeys(SWEEP_PARTS, 0.0)
    with _timed_parts(parts):
        start = time.perf_counter()
        records = run_sweep(networks, seed, spec)
        seconds = time.perf_counter() - start
    report = _write_report(records) if with_report and records else None
    return SweepResult(dtype, networks, seconds, parts, report, sum(not r.passed for r in records))


# ---------------------------------------------------------------------------------------------
# Memory of a forward cache


@dataclass
class MemoryResult:
    """Bytes: one activation a^(l) per layer, what the Cache holds, and the peak of forward()."""

    sizes: tuple[int, ...]
    batch: int
    dtype: str
    activations: int
    held: int
    peak: int

    @property
    def peak_vs_held(self) -> float:
        return self.peak / self.held


def cache_arrays(cache: Any, x: np.ndarray) -> list[np.ndarray]:
    """The arrays a Cache holds for Eq. 1-3 (z^(l), a^(l), sigma'(z^(l)) for l = 1..L), without
    a^(0) when that is the caller's own x."""
    arrays = [cache.z[l] for l in cache.z] + [cache.sigma_prime[l] for l in cache.sigma_prime]
    arrays += [cache.a[l] for l in cache.a if not (l == 0 and np.shares_memory(cache.a[0], x))]
    return arrays


def bench_memory(sizes: Sequence[int], m: int, dtype: str) -> MemoryResult:
    """Peak traced memory (tracemalloc, which sees numpy's arrays) while forward() runs, against
    the bytes of the arrays its Cache keeps."""
    net, x, _ = step_data(sizes, m, dtype)
    forward(net, x)  # warm-up
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        cache = forward(net, x)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    itemsize = np.dtype(dtype).itemsize
    activations = sum(n * m * itemsize for n in sizes[1:])
    held = sum(a.nbytes for a in cache_arrays(cache, x))
    return MemoryResult(tuple(sizes), m, dtype, activations, held, peak)


# ---------------------------------------------------------------------------------------------
# import manual_bp


_IMPORT_LINE = re.compile(r"^import time:\s*(\d+)\s*\|\s*(\d+)\s*\|(\s*)(\S+)\s*$")


def import_times(runs: int = IMPORT_RUNS) -> dict[str, float]:
    """Median seconds of ``import manual_bp`` in a fresh interpreter (cumulative, from
    ``python -X importtime``), and of the numpy import inside it."""
    totals: list[float] = []
    numpy_part: list[float] = []
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPROFILEIMPORTTIME"}
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import manual_bp"], capture_output=True,
                             text=True, check=True, timeout=120, env=env)
        cumulative = {}
        for line in out.stderr.splitlines():
            match = _IMPORT_LINE.match(line)
            if match:
                name = match.group(4)
                cumulative[name] = max(cumulative.get(name, 0), int(match.group(2)))
        totals.append(cumulative.get("manual_bp", 0) / 1e6)
        numpy_part.append(cumulative.get("numpy", 0) / 1e6)
    return {"manual_bp": statistics.median(totals), "numpy": statistics.median(numpy_part)}


def report_seconds() -> tuple[float, int]:
    """Wall seconds of the default ``manual-bp report`` (into a temporary directory), and its exit code."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "oracle.cli", "report", "--out", tmp], capture_output=True,
                              text=True, timeout=1800)
        return time.perf_counter() - start, done.returncode


# ---------------------------------------------------------------------------------------------
# Markdown


def _net(sizes: Sequence[int]) -> str:
    return "-".join(map(str, sizes))


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}" if seconds < 0.01 else f"{seconds * 1e3:.1f}"


def _mark(ok: bool) -> str:
    return "yes" if ok else "**no**"


def step_table(results: Sequence[StepResult]) -> str:
    """The step table: times per step, manual/torch and manual/floor, and whether the targets hold."""
    rows = ["| network | batch | dtype | manual_bp ms | torch ms | floor ms | manual/torch | manual/floor "
            "| targets met | no numpy hugepages: manual/torch | manual/floor |",
            "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |"]
    for r in results:
        floor = f"{r.vs_floor:.2f}x" + ("" if r.floor_target else " (no target)")
        nohp = "| - | - |" if r.manual_no_hugepages is None else \
            f"| {r.manual_no_hugepages / r.torch:.2f}x | {r.manual_no_hugepages / r.floor:.2f}x |"
        rows.append(f"| {_net(r.sizes)} | {r.batch} | {r.dtype} | {_ms(r.manual)} | {_ms(r.torch)} | {_ms(r.floor)} "
                    f"| {r.vs_torch:.2f}x | {floor} | {_mark(r.meets_targets)} {nohp}")
    return "\n".join(rows)


def sweep_table(results: Sequence[SweepResult]) -> str:
    """Networks per second and each part's share of the sweep's time (report: of sweep + report)."""
    rows = ["| dtype | networks | seconds | networks/s | cases | manual_bp | torch | comparison | other | "
            "report (writing) | failed checks |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        shares = [f"{100 * r.parts[p] / r.seconds:.0f}%" for p in SWEEP_PARTS]
        other = r.seconds - sum(r.parts.values())
        report = "n/a" if r.report_seconds is None else f"{r.report_seconds:.2f} s"
        rows.append(f"| {r.dtype} | {r.networks} | {r.seconds:.2f} | {r.per_second:.0f} | {' | '.join(shares)} | "
                    f"{100 * other / r.seconds:.0f}% | {report} | {r.failed} |")
    return "\n".join(rows)


def memory_table(results: Sequence[MemoryResult]) -> str:
    """What a forward Cache holds against the peak memory forward() used."""
    rows = ["| network | batch | dtype | activations a^(1..L) MB | Cache holds (z, a, sigma') MB "
            "| peak of forward() MB | peak / held |",
            "| --- | ---: | --- | ---: | ---: | ---: | ---: |"]
    for r in results:
        rows.append(f"| {_net(r.sizes)} | {r.batch} | {r.dtype} | {r.activations / 1e6:.2f} | {r.held / 1e6:.2f} | "
                    f"{r.peak / 1e6:.2f} | {r.peak_vs_held:.2f} |")
    return "\n".join(rows)


@dataclass
class BenchRun:
    """Everything one benchmark run measured."""

    machine: dict[str, str]
    settings: dict[str, str]
    steps: list[StepResult] = field(default_factory=list)
    sweeps: list[SweepResult] = field(default_factory=list)
    memory: list[MemoryResult] = field(default_factory=list)
    imports: dict[str, float] = field(default_factory=dict)
    report: tuple[float, int] | None = None
    seconds: float = 0.0


def targets_table(run: BenchRun) -> str:
    """Each of the issue's targets, what was measured, and whether it holds."""
    rows = ["| target | measured | met |", "| --- | --- | --- |"]
    if run.steps:
        worst = max(run.steps, key=lambda r: r.vs_torch)
        rows.append(f"| manual_bp <= {TARGET_VS_TORCH:.1f}x torch, every size and dtype | worst {worst.vs_torch:.2f}x "
                    f"({_net(worst.sizes)}, {worst.dtype}) | {_mark(worst.vs_torch <= TARGET_VS_TORCH)} |")
        floored = [r for r in run.steps if r.floor_target]
        if floored:
            worst = max(floored, key=lambda r: r.vs_floor)
            rows.append(f"| manual_bp <= {TARGET_VS_FLOOR:.1f}x the floor, two largest sizes | "
                        f"worst {worst.vs_floor:.2f}x ({_net(worst.sizes)}, {worst.dtype}) | "
                        f"{_mark(worst.vs_floor <= TARGET_VS_FLOOR)} |")
    for s in run.sweeps:
        rows.append(f"| sweep >= {TARGET_SWEEP_PER_S:.0f} networks/s ({s.dtype}) | {s.per_second:.0f} networks/s | "
                    f"{_mark(s.per_second >= TARGET_SWEEP_PER_S)} |")
    if run.imports:
        t = run.imports["manual_bp"]
        rows.append(f"| import manual_bp < {TARGET_IMPORT_S} s | {t:.3f} s (numpy {run.imports['numpy']:.3f} s of "
                    f"it) | {_mark(t < TARGET_IMPORT_S)} |")
    if run.report is not None:
        seconds, code = run.report
        rows.append(f"| default manual-bp report < {TARGET_REPORT_S:.0f} s | {seconds:.1f} s (exit code {code}) | "
                    f"{_mark(seconds < TARGET_REPORT_S)} |")
    return "\n".join(rows)


def _kv_table(items: dict[str, str]) -> str:
    return "\n".join(["| | |", "| --- | --- |"] + [f"| {k} | {v} |" for k, v in items.items()])


def bench_markdown(run: BenchRun) -> str:
    """The whole of reports/benchmarks.md."""
    s = run.settings
    parts = [
        "# Benchmarks",
        f"Written by `python3 benchmarks/bench.py{s['arguments']}` in {run.seconds:.0f} s. Everything was measured "
        "in one process; the ratios compare numbers measured side by side in this run. Read the ratios: absolute "
        "times on a shared machine move from run to run.",
        "## Targets", targets_table(run),
    ]
    if run.steps:
        parts += [
            "## One training step: manual_bp, torch and the floor",
            f"The step: forward with {ACTIVATION} on every layer, the {LOSS} loss (mean over the batch), backward "
            "(Eq. 1-4) and the SGD update (Eq. 5, lr 0.01). manual_bp: `forward`, `backward`, `sgd_step`. torch "
            "(eager, CPU): `F.linear` and `torch.sigmoid` per layer, the same loss, `loss.backward()`, "
            "`torch.optim.SGD.step()`, `zero_grad(set_to_none=True)`. floor: the step's 3L - 1 matrix products alone, "
            "numpy `matmul` into arrays allocated once. "
            f"numpy's BLAS and torch both ran {s['threads']} threads. Median of the rounds shown after a warm-up "
            "round; each round times the three once, in an order rotated every round, each sample repeating the step "
            f"for at least {SAMPLE_SECONDS * 1e3:.0f} ms after a {s['settle']} s pause (so the previous library's "
            "spinning worker threads have gone to sleep). Targets: manual/torch <= 1.0 everywhere, manual/floor <= 1.3 "
            "on the two largest networks. The last two columns time manual_bp once more, in the same rounds, with "
            "numpy's madvise(MADV_HUGEPAGE) on arrays of 4 MB and more switched off during its step (what "
            "`NUMPY_MADVISE_HUGEPAGE=0` does for a whole process): where transparent hugepages defragment on a "
            "fault, each new large array can stall in the kernel, and manual_bp, which returns new arrays (z, a, "
            "sigma', delta, dL/dW, a new Network), gets far more new memory per step than torch, which updates its "
            "parameters in place.",
            step_table(run.steps),
        ]
    if run.sweeps:
        parts += [
            "## The sweep",
            "oracle.compare.cross_check.run_sweep: random networks (depth 1-6, width 1-16, batch 1-8, every activation "
            "and loss), "
            "each cross-checked against torch autograd (float32 networks also against torch in float64). The shares "
            "split the sweep's own time: drawing the cases, manual_bp (forward, backward, sgd_step), torch "
            "(torch_properties), the comparison (compare_properties with its comparison scales). 'report' is the "
            "time to write the report tables of the sweep's records afterwards (oracle.report.write.write_report).",
            sweep_table(run.sweeps),
        ]
    if run.memory:
        parts += [
            "## Memory of a forward pass",
            "Peak memory traced (tracemalloc) while `forward` runs, against the arrays its Cache keeps for the "
            "backward pass: z^(l), a^(l) and sigma'(z^(l)) for every layer (x itself is the caller's). "
            "'activations' is one array a^(l) per layer.",
            memory_table(run.memory),
        ]
    parts += ["## Machine", _kv_table(run.machine), "## Settings", _kv_table({k: v for k, v in s.items()})]
    return "\n\n".join(parts) + "\n"


# ---------------------------------------------------------------------------------------------
# The command


def _progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def run_bench(quick: bool = False, repeats: int | None = None, networks: int = SWEEP_NETWORKS,
              dtypes: Sequence[str] = DTYPES, settle: float = SETTLE_SECONDS, threads: int | None = None,
              with_report: bool = False, arguments: str = "") -> BenchRun:
    """Run every measurement; ``repeats`` overrides each size's number of rounds."""
    import torch

    start = time.perf_counter()
    threads = threads or numpy_blas_threads() or torch.get_num_threads()
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with blas_threads(threads):
            run = BenchRun(machine_info(), {"arguments": arguments, "threads": str(threads), "settle": f"{settle:g}",
                                            "repeats": "per size" if repeats is None else str(repeats),
                                            "sweep networks per dtype": str(networks)})
            for dtype in dtypes:
                for sizes, m, rounds in STEP_SIZES:
                    if quick and sizes in QUICK_SKIPS:
                        continue
                    _progress(f"step {_net(sizes)} batch {m} {dtype}")
                    run.steps.append(bench_step(sizes, m, dtype, repeats or rounds, settle))
            if networks > 0:
                for dtype in dtypes:
                    _progress(f"sweep of {networks} {dtype} networks")
                    run.sweeps.append(bench_sweep(networks, dtype))
            _progress("memory of a forward pass")
            for dtype in dtypes:
                for sizes, m, _ in STEP_SIZES:
                    if not (quick and sizes in QUICK_SKIPS):
                        run.memory.append(bench_memory(sizes, m, dtype))
            _progress("import manual_bp")
            run.imports = import_times()
            if with_report:
                _progress("the default manual-bp report")
                run.report = report_seconds()
    finally:
        torch.set_num_threads(old_threads)
    run.machine["load average (1 min) at end"] = f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "n/a"
    run.seconds = time.perf_counter() - start
    return run


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}") from None
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    """Print the tables and write them to --out."""
    dtypes = DTYPES if args.dtype == "both" else (args.dtype,)
    result = run_bench(quick=args.quick, repeats=args.repeats, networks=args.networks, dtypes=dtypes,
                       settle=args.settle, threads=args.threads, with_report=args.with_report,
                       arguments=_echo(args))
    text = bench_markdown(result)
    print(text, end="")
    if args.out is not None:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        _progress(f"wrote {out}")
    return 0


def _echo(args: argparse.Namespace) -> str:
    """The options given, as they would be typed (for the report's first line)."""
    parts = []
    if args.quick:
        parts.append("--quick")
    for flag, value, default in (("--repeats", args.repeats, None), ("--networks", args.networks, SWEEP_NETWORKS),
                                 ("--dtype", args.dtype, "both"), ("--settle", args.settle, SETTLE_SECONDS),
                                 ("--threads", args.threads, None)):
        if value != default:
            parts.append(f"{flag} {value}")
    if args.with_report:
        parts.append("--with-report")
    return "".join(f" {p}" for p in parts)


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's options."""
    p = argparse.ArgumentParser(
        prog="python3 benchmarks/bench.py",
        description="Time one training step (forward, backward, SGD) of manual_bp, of torch eager and of its matrix "
        "products alone (the floor), interleaved in one process, at 2-2-1/1, 784-128-10/32, 784-512-512-10/256 and "
        "2048-2048-2048-2048/512 (network/batch), float64 and float32; the sweep's networks per second and where "
        "its time goes; a forward pass's peak memory; the import time of manual_bp. Prints Markdown tables and "
        "writes them to --out. Read the ratios: they are measured side by side.")
    p.add_argument("--quick", action="store_true", help="leave out the 2048-2048-2048-2048 network")
    p.add_argument("--repeats", type=count_at_least(1), default=None, metavar="N",
                   help="timed rounds for every size (default: 15, 15, 9 and 3, largest network last)")
    p.add_argument("--networks", type=count_at_least(0), default=SWEEP_NETWORKS, metavar="N",
                   help=f"random networks per dtype in the sweep; 0 skips it (default: {SWEEP_NETWORKS})")
    p.add_argument("--dtype", choices=("float64", "float32", "both"), default="both", help="default: both")
    p.add_argument("--settle", type=_seconds, default=SETTLE_SECONDS, metavar="S",
                   help=f"pause before each timed sample, in seconds (default: {SETTLE_SECONDS})")
    p.add_argument("--threads", type=count_at_least(1), default=None, metavar="N",
                   help="threads for numpy's BLAS and torch (default: numpy's BLAS thread count)")
    p.add_argument("--with-report", action="store_true",
                   help="also time the default `manual-bp report` (in a fresh process, into a temporary directory)")
    p.add_argument("--out", default="reports/benchmarks.md", metavar="PATH",
                   help="where to write the Markdown (default: reports/benchmarks.md)")
    return p


if __name__ == "__main__":
    sys.exit(run(build_parser().parse_args()))
