"""`python -m benchmarks`: run `main()` of every `benchmarks/*_bench.py` module, in name order.

`python -m benchmarks loop policy` runs only the named ones. Benchmarks print figures; they never fail a build.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path


def bench_modules() -> list[str]:
    """Names of the benchmark modules (without the `_bench` suffix)."""
    here = Path(__file__).parent
    return sorted(m.name.removesuffix("_bench") for m in pkgutil.iter_modules([str(here)]) if m.name.endswith("_bench"))


def main(argv: list[str]) -> int:
    """Run the selected (default: all) benchmarks; 1 if one crashed."""
    wanted = argv or bench_modules()
    unknown = sorted(set(wanted) - set(bench_modules()))
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {bench_modules()}", file=sys.stderr)
        return 2
    crashed = 0
    for name in wanted:
        started = time.perf_counter()
        print(f"== {name}")
        try:
            importlib.import_module(f"benchmarks.{name}_bench").main()
        except Exception:  # one broken benchmark must not hide the others' figures
            crashed += 1
            traceback.print_exc()
        print(f"   ({time.perf_counter() - started:.1f} s)\n")
    return 1 if crashed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
