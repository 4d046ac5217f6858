"""Run every benchmark in turn (``make bench``); each writes its section of RESULTS.md.

The benchmarks start their own ``lagoform sandbox serve`` on loopback and are bounded in count
and time. At full scale they take well over half an hour on a 2-core machine (the 10-million-
event memory run alone ~25 minutes), which is why they live here and not in ``make test``.
``--quick`` runs each at a small scale in a few minutes and prints its results without
recording them, so RESULTS.md keeps the full-scale run (``make bench QUICK=1``); pass
benchmark names to run a subset: ``run_all.py plan_scale``. Any other ``--option`` is passed
to every benchmark chosen.
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
    "http_clients",
    "plan_scale",
    "apply_scale",
    "impact_scale",
    "dispatch_throughput",
    "dispatch_memory",
    "price_tables",
)


def main(argv: list[str]) -> int:
    options = [a for a in argv if a.startswith("-")]
    if "--quick" in options and "--no-write" not in options:
        options.append("--no-write")  # RESULTS.md records full-scale runs only
    chosen = [a for a in argv if not a.startswith("-")] or list(BENCHMARKS)
    unknown = sorted(set(chosen) - set(BENCHMARKS))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    failed: list[str] = []
    for name in chosen:
        print(f"== {name}", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(HERE / f"{name}.py"), *options])
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
