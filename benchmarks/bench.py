"""The benchmark script: the same as ``manual-bp bench`` (oracle/bench.py), runnable from a checkout.

    python3 benchmarks/bench.py                # every size, writes reports/benchmarks.md
    python3 benchmarks/bench.py --quick        # without the 2048-2048-2048-2048 network
    python3 benchmarks/bench.py --help
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from oracle.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
