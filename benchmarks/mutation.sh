#!/usr/bin/env bash
# Mutation testing of manual_bp/ with mutmut 3.x (opt-in: not part of `pytest`, not installed).
#
#   bash benchmarks/mutation.sh            # run (resumes where a previous run stopped), then the counts
#   bash benchmarks/mutation.sh --fresh    # delete mutants/ first: every mutant is tested again
#   MUTMUT_CHILDREN=4 bash benchmarks/mutation.sh
#
# The configuration is [tool.mutmut] in pyproject.toml: mutate manual_bp/ only, run the fast core
# tests under tests/test_manual_bp/. mutmut works in mutants/ (git-ignored). Afterwards
# `mutmut results` lists the survivors and `mutmut show NAME` shows one; see docs/mutation.md.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v mutmut >/dev/null || { echo "mutmut is not installed: python3 -m pip install 'mutmut>=3,<4'" >&2; exit 2; }
if [[ "${1:-}" == "--fresh" ]]; then
    rm -rf mutants
fi
# mutmut runs the tests in-process; one torch/BLAS thread per child keeps N children on N cores.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
status=0
mutmut run --max-children "${MUTMUT_CHILDREN:-2}" || status=$?  # survivors alone are not a failure here
mutmut export-cicd-stats >/dev/null || exit "$status"
python3 - <<'PY'
import json

s = json.load(open("mutants/mutmut-cicd-stats.json"))
keys = ("killed", "survived", "timeout", "suspicious", "skipped", "no_tests", "segfault", "total")
print("mutation: " + ", ".join(f"{k} {s[k]}" for k in keys))
PY
exit "$status"
