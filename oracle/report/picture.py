"""errors.png: every check's greatest error relative to its scale, per quantity, against its tolerance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from oracle import notation
from oracle.compare.records import PROPERTIES
from oracle.references.numeric import FD_REFERENCE
from oracle.report.tables import _group_rank


def _axis_label(prop: str) -> str:
    return {"sigma_prime": "σ'(z)", "delta": "δ"}.get(prop, notation.short(prop))


def _axis_equations(prop: str) -> str:
    """The equations a property comes from, for any layer: dL/da and delta are Eq. 1 or Eq. 2."""
    return "Eq. 1, 2" if prop in ("dL_da", "delta") else notation.equation(prop, 1, 1)


def _panel_title(reference: str, dtype: str) -> str:
    if reference == FD_REFERENCE:
        return f"{dtype} networks: manual_bp vs central finite differences (in float64)"
    if reference == "torch":
        return f"{dtype} networks: manual_bp vs PyTorch autograd, both in {dtype}"
    if reference == "torch float64" and dtype == "float32":
        return "float32 networks: manual_bp in float32 vs PyTorch autograd in float64 (what float32 rounding costs)"
    return f"{dtype} networks: manual_bp vs {reference}"


def _panel(ax: Any, g: pd.DataFrame, reference: str, dtype: str, rng: np.random.Generator) -> None:
    """One (reference, dtype) panel: per property, each record's error / S, the tolerance band."""
    props = [p for p in PROPERTIES if p in set(g["property"])]
    scale = g["scale"].where(g["scale"] > 0)
    err = g["max_abs_err"].to_numpy(dtype=float)
    # error / S; an error of exactly 0 stays 0 even where S is 0 (an all-zero tensor computed exactly)
    rel = np.where(err == 0, 0.0, (g["max_abs_err"] / scale).fillna(np.inf).to_numpy(dtype=float))
    rtol = (g["allowed_abs_err"] / scale).to_numpy(dtype=float)
    finite = rel[np.isfinite(rel) & (rel > 0)]
    lows = [np.log10(finite.min())] if finite.size else []
    lows += [np.log10(np.nanmin(rtol[rtol > 0]))] if np.any(rtol > 0) else []
    floor = np.floor(min(lows)) - 1.0 if lows else -18.0
    top = np.log10(finite.max()) if finite.size else floor
    ceiling = max(top, np.nanmax(np.log10(rtol[rtol > 0])) if np.any(rtol > 0) else floor) + 1.0
    for i, prop in enumerate(props):
        sel = (g["property"] == prop).to_numpy()
        r, t, ok = rel[sel], rtol[sel], g["passed"].to_numpy()[sel]
        x = i + rng.uniform(-0.3, 0.3, size=r.size)
        zero = r == 0
        y = np.where(zero, floor, np.log10(np.where(zero | ~np.isfinite(r), 1.0, r)))
        y = np.where(np.isfinite(r), y, ceiling)  # an infinite error (NaN, no reference) at the top
        # Line2D markers (plot) draw far faster than a scatter's PathCollection for 10^4 points.
        ax.plot(x[ok & ~zero], y[ok & ~zero], "o", ms=2.6, mew=0, color="tab:blue", alpha=0.35)
        ax.plot(x[zero & ok], y[zero & ok], "v", ms=3, mew=0, color="0.55", alpha=0.35)
        ax.plot(x[~ok], y[~ok], "x", ms=5, mew=1.0, color="tab:red")
        good = t[t > 0]
        if good.size:
            lo, hi = np.log10(good.min()), np.log10(good.max())
            ax.fill_between([i - 0.42, i + 0.42], lo, max(hi, lo + 0.03), color="tab:orange", alpha=0.35,
                            linewidth=0)
            ax.plot([i - 0.42, i + 0.42], [hi, hi], color="tab:orange", linewidth=1.6)
    ax.set_xticks(range(len(props)))
    ax.set_xticklabels([f"{_axis_label(p)}\n({_axis_equations(p)})" for p in props])
    ax.set_xlim(-0.6, len(props) - 0.4)
    ax.set_ylim(floor - 0.6, ceiling + 0.4)
    ax.set_ylabel("relative error, log10\nmax |manual - ref| / S")
    ax.axhline(floor + 0.5, color="0.6", linewidth=0.8, linestyle=":")  # zeros below, logarithms above
    fails = int((~g["passed"]).sum())
    ax.set_title(f"{_panel_title(reference, dtype)}: {g['case'].nunique()} cases, {len(g)} checks, "
                 f"{fails} failed", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ticks = [t for t in range(int(floor) + 2, int(np.ceil(ceiling)) + 1) if t % 2 == 0]
    ax.set_yticks([floor, *ticks])
    ax.set_yticklabels(["exact 0", *map(str, ticks)])


def plot_errors(df: pd.DataFrame, path: Path) -> Path:
    """errors.png: for each (reference, dtype) one panel; per property, every record's greatest error
    relative to its comparison scale S (log10), the tolerance band, failures in red, exact zeros
    drawn at a floor below the data."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    groups = list(df.groupby(["reference", "dtype"], sort=False))
    groups.sort(key=lambda item: _group_rank(*item[0]))
    n = max(len(groups), 1)
    fig, axes = plt.subplots(n, 1, figsize=(12, 3.6 * n + 1.2), squeeze=False)
    rng = np.random.default_rng(0)  # jitter only; fixed so the picture is reproducible
    for ax, ((reference, dtype), g) in zip(axes[:, 0], groups, strict=False):
        _panel(ax, g, reference, dtype, rng)
    handles = [
        Line2D([], [], marker="o", linestyle="", color="tab:blue", alpha=0.6, label="one check (one layer of one "
               "network), passed"),
        Line2D([], [], marker="x", linestyle="", color="tab:red", label="failed: above its own check's "
               "tolerance (where S = 0: at the top)"),
        Line2D([], [], marker="v", linestyle="", color="0.55", label="error exactly 0 (no logarithm: drawn at the "
               "bottom, 'exact 0')"),
        Patch(color="tab:orange", alpha=0.5, label="tolerance allowed / S: its range over the checks (it depends on "
              "the depth L,\nand against finite differences on h and the loss); top line: the loosest"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=8.5, frameon=False)
    fig.suptitle("manual_bp's errors per quantity, against its references and tolerance\n"
                 "S = comparison scale: the larger of max |reference| and the size of the terms the value is "
                 "computed from", fontsize=11)
    fig.tight_layout(rect=(0, 0.05, 1, 0.975))
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path
