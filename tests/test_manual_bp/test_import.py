"""manual_bp is the numpy-only reference: importing it must not pull in torch, pandas, matplotlib
or tomllib (the oracle's)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Under mutation testing (benchmarks/mutation.sh) every manual_bp module imports mutmut's
# trampoline, which reads its configuration with tomllib: not the package's own import.
TOML = () if "MUTANT_UNDER_TEST" in os.environ or "mutants" in ROOT.parts else ("tomllib",)


def _modules_after(code: str) -> set[str]:
    """Run ``code`` in a fresh interpreter and return the names in its sys.modules."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=120,
    )
    return set(out.stdout.split())


def test_import_manual_bp_leaves_torch_out():
    modules = _modules_after("import manual_bp")
    assert "manual_bp" in modules  # the probe really imported the package
    assert "numpy" in modules
    for heavy in ("torch", "pandas", "matplotlib", *TOML):
        assert heavy not in modules, heavy


def test_every_submodule_leaves_torch_out():
    names = ["activations", "backprop", "errors", "losses", "network", "optimizers", "sgd", "validate"]
    modules = _modules_after("\n".join(f"import manual_bp.{n}" for n in names))
    assert {f"manual_bp.{n}" for n in names} <= modules
    heavy = ("torch", "pandas", "matplotlib", "scipy", *TOML)
    assert not {m for m in modules if m.split(".")[0] in heavy}
