"""`make bench`: every benchmark module's main(), in turn. `python -m bench generate simulator` picks some."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

available = sorted(p.stem.removeprefix("bench_") for p in Path(__file__).parent.glob("bench_*.py"))
chosen = sys.argv[1:] or available
unknown = sorted(set(chosen) - set(available))
if unknown:
    sys.exit(f"unknown benchmark(s) {unknown}; available: {available}")
for name in chosen:
    print(f"\n=== bench_{name} ===", flush=True)
    importlib.import_module(f"bench.bench_{name}").main()
