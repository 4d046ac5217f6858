"""Run every benchmark in turn (``make bench``); each writes its section of RESULTS.md.

The benchmarks start their own ``lagoform sandbox serve`` on loopback and are bounded in count
and time; together they take several minutes on a 2-core machine, which is why they live here
and not in ``make test``. Pass benchmark names to run a subset: ``run_all.py plan_scale``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = (
    "sandbox_throughput",
    "client_pacing",
    "plan_scale",
    "impact_scale",
    "dispatch_throughput",
    "price_tables",
    "policies_margin",
)


def main(argv: list[str]) -> int:
    chosen = argv or list(BENCHMARKS)
    unknown = sorted(set(chosen) - set(BENCHMARKS))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    failed: list[str] = []
    for name in chosen:
        print(f"== {name}", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(HERE / f"{name}.py")])
        print(f"== {name}: exit {code} in {time.monotonic() - started:.0f} s", flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    print(f"all done; results in {HERE / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
