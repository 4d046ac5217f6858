"""Apply at scale: 1,000 changed plans under Lago Cloud's 50 requests/s, killed and re-run.

Starts ``lagoform sandbox serve`` (its own process, loopback), seeds it with ``--plans`` plans
(one charge each) before turning on Lago Cloud's rate limits (50 req/s for configuration
endpoints: a 429 with ``X-RateLimit-*`` past the budget), then runs ``lagoform apply
--auto-approve`` as a user does, from a project whose catalog changes every plan's price:

1. **one apply**, uninterrupted: wall time against the pacing floor (every request the apply
   makes, at 50 per second), the 429s it met (from its own retry warnings), its progress lines
   (``[i/N] … (elapsed, ~ETA left)``);
2. **killed and re-run** (``--kills``, default 2): the catalog changes every price again; apply
   is killed with SIGKILL at a random moment, run again, killed again, …, then run to the end;
   ``lagoform plan --detailed-exitcode`` must then find nothing to change (exit 0).

The alternative a user would otherwise pick — the same apply without client pacing — is run too
(``--compare-unpaced``, on) on a third price change: it trips the rate limit and pays for it in
429s and back-off. Writes the "Apply at scale" section of RESULTS.md.
Run: ``.venv/bin/python benchmarks/apply_scale.py [--plans 1000] [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
from _harness import REPO, SandboxServer, load, machine, sandbox_server, write_section

SECTION = "## Apply at scale"
KEY = "bench-apply-key"
CONFIG_RATE = 50.0
PER_PAGE = 100


def write_project(root: Path, url: str, plans: int, price: str, paced: bool) -> None:
    (root / "catalog").mkdir(parents=True, exist_ok=True)
    (root / "overrides").mkdir(exist_ok=True)
    pacing = "{config: 50, events: 500, usage: 200}" if paced else "{config: null}"
    (root / "lagoform.yaml").write_text(
        f"version: 1\nenvironments:\n  bench:\n    api_url: {url}\n    api_key_env: "
        f"BENCH_LAGO_KEY\n    pacing: {pacing}\n"
        "    retry: {max_attempts: 8, base_delay: 0.5, max_delay: 20}\n"
        "audit:\n  sinks:\n    - kind: jsonl\n      path: audit/{env}.jsonl\n"
    )
    lines = [
        "billable_metrics:\n  - {code: api_calls, name: API calls, aggregation: count}\n",
        "plans:\n",
    ]
    for i in range(plans):
        lines.append(
            f"  - code: plan_{i:04d}\n    name: Plan {i}\n    interval: monthly\n"
            f"    amount: {10 + i % 50} USD\n    charges:\n"
            f'      - {{metric: api_calls, model: standard, properties: {{amount: "{price}"}}}}\n'
        )
    (root / "catalog" / "catalog.yaml").write_text("".join(lines))


def seed(url: str, plans: int, price: str) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=60) as http:
        body = {"code": "api_calls", "name": "API calls", "aggregation_type": "count_agg"}
        made = http.post("/billable_metrics", json={"billable_metric": body}).raise_for_status()
        metric_id = made.json()["billable_metric"]["lago_id"]

        def create(i: int) -> None:
            plan = {
                "code": f"plan_{i:04d}", "name": f"Plan {i}", "interval": "monthly",
                "amount_cents": (10 + i % 50) * 100, "amount_currency": "USD",
                "pay_in_advance": False,
                "charges": [{"billable_metric_id": metric_id, "code": "api_calls",
                             "charge_model": "standard", "properties": {"amount": price}}],
            }  # fmt: skip
            http.post("/plans", json={"plan": plan}).raise_for_status()

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(create, range(plans)))


@dataclass
class Outcome:
    seconds: float
    code: int
    applied: int  # changes reported done
    throttled: int  # 429s met (the client's retry warnings)
    eta_lines: list[str]
    killed: bool = False


def apply(root: Path, url: str, kill_after: float | None = None) -> Outcome:
    env = {**os.environ, "BENCH_LAGO_KEY": KEY}
    command = [sys.executable, "-m", "lagoform", "apply", "-e", "bench", "--auto-approve",
               "--root", str(root)]  # fmt: skip
    began = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO
    )
    killed = False
    try:
        out, err = process.communicate(timeout=kill_after if kill_after is not None else 1800)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)  # by PID: only the apply this benchmark started
        out, err = process.communicate(timeout=30)
        killed = True
    seconds = time.perf_counter() - began
    # one line per change done: "~ plan plan_0001: updated (0.0 s) [1/1000, ~40s left]"
    done = [
        line for line in out.decode(errors="replace").splitlines()
        if re.search(r"\[\d+/\d+(, ~\S+ left)?\]$", line)
    ]  # fmt: skip
    with_eta = [line for line in done if "left]" in line]
    return Outcome(
        seconds,
        process.returncode,
        len(done),
        err.decode(errors="replace").count("HTTP 429"),
        with_eta[:: max(1, len(with_eta) // 4)][:4],
        killed,
    )


def pending_changes(root: Path, url: str) -> int:
    env = {**os.environ, "BENCH_LAGO_KEY": KEY}
    done = subprocess.run(
        [sys.executable, "-m", "lagoform", "plan", "-e", "bench", "--detailed-exitcode",
         "--format", "json", "--root", str(root)],
        capture_output=True, env=env, cwd=REPO, timeout=600,
    )  # fmt: skip
    if done.returncode not in (0, 2):
        raise SystemExit(f"lagoform plan failed: {done.stderr.decode()[-2000:]}")
    return done.returncode


def floor(plans: int) -> tuple[int, float]:
    """Requests of one apply (each change: PUT + read-back GET; the plan's reads and apply's
    stale check: the lists, plans in pages of 100) and the seconds they take at 50 req/s."""
    reads = 2 * (8 + max(0, -(-plans // PER_PAGE) - 1))
    requests = 2 * plans + reads
    return requests, requests / CONFIG_RATE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=2)
    parser.add_argument("--seed", type=int, default=None, help="for the kill moments")
    parser.add_argument("--quick", action="store_true", help="100 plans, one kill, no unpaced")
    parser.add_argument("--compare-unpaced", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.plans, args.kills, args.compare_unpaced = 100, 1, False
    seed_value = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed_value)
    requests, floor_s = floor(args.plans)
    with tempfile.TemporaryDirectory(prefix="lagoform-apply-bench-") as tmp:
        root = Path(tmp) / "project"
        with sandbox_server(Path(tmp) / "sandbox.json", KEY, stop_timeout=60) as server:
            began = time.perf_counter()
            seed(server.url, args.plans, "0.01")
            seeded = time.perf_counter() - began
            server.set_faults(rate_limit=True)
            write_project(root, server.url, args.plans, "0.02", paced=True)
            one_load = load()
            one = apply(root, server.url)
            if one.code != 0 or pending_changes(root, server.url) != 0:
                raise SystemExit(f"the uninterrupted apply did not converge (exit {one.code})")
            print(f"one apply: {one.seconds:.1f} s, {one.throttled} 429s", file=sys.stderr)
            kills, kill_load = killed_runs(root, server, args, rng, floor_s)
            unpaced = None
            if args.compare_unpaced:
                write_project(root, server.url, args.plans, "0.04", paced=False)
                unpaced_load = load()
                unpaced = apply(root, server.url)
                if unpaced.code != 0:
                    raise SystemExit(f"the unpaced apply failed (exit {unpaced.code})")
    info = machine()
    total = sum(k.seconds for k in kills)
    kill_rows = "; ".join(
        f"{'killed' if k.killed else 'finished'} after {k.seconds:.1f} s ({k.applied} applied, "
        f"{k.throttled} 429s)"
        for k in kills
    )
    rows = [
        f"| `lagoform apply`, paced at 50 req/s (default) | {one.seconds:.1f} s | "
        f"{floor_s:.1f} s ({requests} requests) | {one.seconds / floor_s:.2f}× | "
        f"**{one.throttled}** | {one_load} |",
    ]
    if unpaced is not None:
        rows.append(
            f"| the same apply without client pacing | {unpaced.seconds:.1f} s | {floor_s:.1f} s "
            f"| {unpaced.seconds / floor_s:.2f}× | {unpaced.throttled} | {unpaced_load} |"
        )
    text = "\n".join(
        [
            SECTION,
            "",
            f"`benchmarks/apply_scale.py --plans {args.plans}`: {args.plans} plans (one charge "
            f"each) seeded into `lagoform sandbox serve` in {seeded:.1f} s, then Lago Cloud's "
            "rate limits turned on (50 req/s on configuration endpoints, 429 past it); `lagoform "
            "apply -e bench --auto-approve` (a subprocess, as users run it, audit to JSONL) with "
            f"a catalog that changes every plan's price. Run {time.strftime('%Y-%m-%d %H:%M')}; "
            f"machine: {info.cpu or 'unknown CPU'}, nproc {info.nproc}, Python {info.python}, "
            "shared with other engineers' test suites (load average at each start).",
            "",
            "| run | wall time | pacing floor | vs floor | 429s | load (1/5/15 min) |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
            f"- The floor: each change is a `PUT /plans/{{code}}` and its read-back `GET`, plus "
            f"the plan's and apply's stale-check reads (lists, plans in pages of {PER_PAGE}): "
            f"{requests} requests at 50 req/s.",
            f"- Killed and re-run (SIGKILL at random moments, seed {seed_value}; load at start "
            f"{kill_load}): {kill_rows}; {total:.1f} s in all, then `lagoform plan "
            "--detailed-exitcode` found nothing to change (converged).",
            "- Progress with ETA, as apply printed it: "
            + " · ".join(f"`{line.strip()}`" for line in one.eta_lines),
            "",
        ]
    )
    print(text)
    if not args.no_write:
        write_section(SECTION, text)


def killed_runs(
    root: Path, server: SandboxServer, args: argparse.Namespace, rng: random.Random, floor_s: float
) -> tuple[list[Outcome], str]:
    write_project(root, server.url, args.plans, "0.03", paced=True)
    started_load = load()
    runs: list[Outcome] = []
    for _ in range(args.kills):
        runs.append(apply(root, server.url, kill_after=rng.uniform(2.0, max(3.0, floor_s / 2))))
    runs.append(apply(root, server.url))
    if runs[-1].code != 0:
        raise SystemExit(f"the re-run after the kills failed (exit {runs[-1].code})")
    if pending_changes(root, server.url) != 0:
        raise SystemExit("after the kills and a re-run, the plan still has changes")
    return runs, started_load


if __name__ == "__main__":
    main()
