"""Plan at scale: 5,000 plans × 10 charges (with filters) against a sandbox with 50 ms latency.

Starts ``python -m lagoform sandbox serve --port 0`` (temporary state, loopback), seeds it
without latency, then turns on 50 ms per request and measures (bounded in count and time):

* ``lagoform plan`` as the engine runs it: list endpoints only (the pages of a list read
  concurrently once page 1 gives the count), then the pure diff;
* the alternatives, each optional: lagoform reading pages one after another
  (``--compare-sequential-pages``, on), one GET per object with Terraform's default parallelism
  of 10 (``--compare-per-object``, on) or sequentially (``--compare-sequential``, off), and
  DeepDiff on the keyed comparison form against lagoform's keyed walk (``--compare-diff``, off).
  ``--no-compare-…`` turns one off; ``--quick`` runs 200 plans with no comparison.

Writes the "Plan at scale" section of ``benchmarks/RESULTS.md`` (other sections kept).
Run: ``.venv/bin/python benchmarks/plan_scale.py [--plans 5000] [--charges 10] [--quick]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from _harness import load, machine, sandbox_server, write_section

from lagoform.engine.desired import desired_state
from lagoform.engine.diff import diff
from lagoform.engine.live import fetch_live
from lagoform.engine.plan import build_plan, hints_for
from lagoform.lago import LagoClient
from lagoform.lago.client import DEFAULT_PAGE_CONCURRENCY

SECTION = "## Plan at scale"
KEY = "bench-key"
HEADERS = {"Authorization": f"Bearer {KEY}"}
LATENCY_MS = 50.0
METRICS = 10
CHANGED_PLANS = 5  # the catalog differs from Lago on a few plans, as in a real review


def metric_body(i: int) -> dict[str, Any]:
    return {
        "code": f"metric_{i}",
        "name": f"Metric {i}",
        "aggregation_type": "sum_agg",
        "field_name": "value",
        "filters": [
            {"key": "type", "values": ["input", "output"]},
            {"key": "modality", "values": ["audio", "text"]},
        ],
    }


def plan_body(i: int, charges: int, bump: bool = False) -> dict[str, Any]:
    rate = "0.000003" if bump else "0.000002"
    return {
        "code": f"plan_{i:04d}",
        "name": f"Plan {i}",
        "interval": "monthly",
        "amount_cents": 1000 * (i % 50),
        "amount_currency": "USD",
        "pay_in_advance": False,
        "trial_period": 0,
        "tax_codes": [],
        "charges": [
            {
                "code": f"charge_{j}",
                "billable_metric_code": f"metric_{j % METRICS}",
                "charge_model": "standard",
                "pay_in_advance": False,
                "invoiceable": True,
                "prorated": False,
                "min_amount_cents": 0,
                "tax_codes": [],
                "properties": {"amount": rate if j == 0 else f"0.00000{j % 9 + 1}"},
                "filters": [
                    {"values": {"type": ["input"], "modality": ["text"]},
                     "properties": {"amount": "0.000001"}},
                    {"values": {"type": ["output"], "modality": ["audio"]},
                     "properties": {"amount": "0.00004"}},
                ],
            }
            for j in range(charges)
        ],
    }  # fmt: skip


def seed(url: str, plans: int, charges: int) -> None:
    with httpx.Client(base_url=f"{url}/api/v1", headers=HEADERS, timeout=60) as http:
        ids = {}
        for i in range(METRICS):
            created = http.post("/billable_metrics", json={"billable_metric": metric_body(i)})
            created.raise_for_status()
            ids[f"metric_{i}"] = created.json()["billable_metric"]["lago_id"]

        def create(i: int) -> None:
            body = plan_body(i, charges)
            for c in body["charges"]:
                c["billable_metric_id"] = ids[c.pop("billable_metric_code")]
            http.post("/plans", json={"plan": body}).raise_for_status()

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(create, range(plans)))


def counting_client(url: str, page_concurrency: int) -> tuple[LagoClient, list[int]]:
    count = [0]

    def on_request(request: httpx.Request) -> None:
        count[0] += 1

    client = LagoClient(
        url,
        KEY,
        pacing=None,
        event_hooks={"request": [on_request]},
        page_concurrency=page_concurrency,
    )
    return client, count


def run_plan(url: str, plans: int, charges: int, page_concurrency: int) -> dict[str, Any]:
    desired = desired_state(
        {
            "billable_metric": [metric_body(i) for i in range(METRICS)],
            "plan": [plan_body(i, charges, bump=i < CHANGED_PLANS) for i in range(plans)],
        }
    )
    client, count = counting_client(url, page_concurrency)
    with client:
        load_before = load()
        started = time.perf_counter()
        cpu = time.process_time()
        live = fetch_live(client, hints_for(desired))
        fetched = time.perf_counter()
        plan = build_plan(desired, live)
        done = time.perf_counter()
        cpu = time.process_time() - cpu
    assert plan.counts()["update"] == min(CHANGED_PLANS, plans), plan.counts()
    return {
        "requests": count[0],
        "seconds": done - started,
        "fetch": fetched - started,
        "diff": done - fetched,
        "cpu": cpu,
        "updates": plan.counts()["update"],
        "load": load_before,
    }


def run_per_object(url: str, plans: int, parallelism: int) -> dict[str, Any]:
    paths = [f"/billable_metrics/metric_{i}" for i in range(METRICS)]
    paths += [f"/plans/plan_{i:04d}" for i in range(plans)]
    limits = httpx.Limits(max_connections=parallelism, max_keepalive_connections=parallelism)
    with httpx.Client(base_url=f"{url}/api/v1", headers=HEADERS, timeout=60, limits=limits) as http:
        load_before = load()
        started = time.perf_counter()

        def get(path: str) -> int:
            return http.get(path).status_code

        with ThreadPoolExecutor(max_workers=parallelism) as pool:
            statuses = list(pool.map(get, paths))
        seconds = time.perf_counter() - started
    assert all(s == 200 for s in statuses)
    return {"requests": len(paths), "seconds": seconds, "load": load_before}


def compare_diff(plans: int, charges: int) -> dict[str, float]:
    from deepdiff import DeepDiff

    desired = desired_state(
        {"plan": [plan_body(i, charges, bump=i < CHANGED_PLANS) for i in range(plans)]}
    )
    live = desired_state({"plan": [plan_body(i, charges) for i in range(plans)]})
    want = {k: o.normal for k, o in desired.objects["plan"].items()}
    have = {k: o.normal for k, o in live.objects["plan"].items()}
    started = time.perf_counter()
    walk = sum(len(diff(have[k], want[k])) for k in want)
    walk_s = time.perf_counter() - started
    started = time.perf_counter()
    deep = DeepDiff(have, want, verbose_level=2)
    deep_s = time.perf_counter() - started
    deep_count = sum(len(v) for v in deep.values())
    assert walk == deep_count == min(CHANGED_PLANS, plans), (walk, deep_count)
    return {"walk": walk_s, "deepdiff": deep_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=5000)
    parser.add_argument("--charges", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="200 plans, comparisons off")
    parser.add_argument(
        "--compare-per-object",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="one GET per object, 10 in parallel (~plans × 5 ms)",
    )
    parser.add_argument(
        "--compare-sequential-pages",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="lagoform reading one page after another (its behaviour before concurrent pages)",
    )
    parser.add_argument(
        "--compare-sequential",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="one GET per object, sequential (~plans × 50 ms)",
    )
    parser.add_argument(
        "--compare-diff",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="DeepDiff against the keyed walk (minutes at 5,000 plans)",
    )
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.plans = 200
        args.compare_per_object = args.compare_sequential = args.compare_diff = False
        args.compare_sequential_pages = False
    with (
        tempfile.TemporaryDirectory() as tmp,
        sandbox_server(Path(tmp) / "sandbox.json", KEY) as server,
    ):
        url = server.url
        started = time.perf_counter()
        seed(url, args.plans, args.charges)
        seeded = time.perf_counter() - started
        server.set_faults(latency_ms=LATENCY_MS)
        server_cpu = server.cpu()
        ours = run_plan(url, args.plans, args.charges, DEFAULT_PAGE_CONCURRENCY)
        ours["server_cpu"] = server.cpu() - server_cpu
        pages = (
            run_plan(url, args.plans, args.charges, 1) if args.compare_sequential_pages else None
        )
        parallel = run_per_object(url, args.plans, 10) if args.compare_per_object else None
        sequential = run_per_object(url, args.plans, 1) if args.compare_sequential else None
    info = machine()
    diffs = compare_diff(args.plans, args.charges) if args.compare_diff else None
    verdict = "met" if ours["seconds"] < 5 else "NOT met"
    rows = [
        f"| `lagoform plan` (list endpoints, 100 per page, up to {DEFAULT_PAGE_CONCURRENCY} "
        f"pages at once) | {ours['requests']} | **{ours['seconds']:.2f} s** (fetch "
        f"{ours['fetch']:.2f} s, diff+plan {ours['diff']:.2f} s; client CPU {ours['cpu']:.1f} s,"
        f" server CPU {ours['server_cpu']:.1f} s) | 1× | {ours['load']} | < 5 s ({verdict}) |",
    ]
    for name, other in (
        ("`lagoform plan`, pages one after another", pages),
        ("one GET per object, 10 in parallel (Terraform default)", parallel),
        ("one GET per object, sequential", sequential),
    ):
        if other is not None:
            rows.append(
                f"| {name} | {other['requests']} | {other['seconds']:.2f} s | "
                f"{other['seconds'] / ours['seconds']:.1f}× slower | {other['load']} | |"
            )
    text = (
        f"{SECTION}\n\n"
        f"`benchmarks/plan_scale.py --plans {args.plans}`: {args.plans} plans × {args.charges} "
        f"charges, each charge with 2 filters, {METRICS} metrics; `lagoform sandbox serve` in its "
        f"own process with {LATENCY_MS:.0f} ms of latency added to every request (seeded before "
        f"the latency was turned on, in {seeded:.1f} s); unpaced client. The catalog differs "
        f"from Lago on {min(CHANGED_PLANS, args.plans)} plans; the plan found exactly those "
        f"{ours['updates']} updates. Run {time.strftime('%Y-%m-%d %H:%M')}; machine: "
        f"{info.cpu or 'unknown CPU'}, nproc {info.nproc}, Python {info.python}, shared with "
        "other jobs (load = 1/5/15-minute load average when each row started).\n\n"
        "| how live state is read | requests | wall time | vs lagoform | load | target |\n"
        "|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )
    if parallel is not None:
        text += (
            f"\n**{parallel['requests'] / ours['requests']:.0f}× fewer requests** than one GET "
            "per object.\n"
        )
    if diffs is not None:
        text += (
            f"\nDiff engine on the same keyed comparison form ({args.plans} plans, "
            f"{min(CHANGED_PLANS, args.plans)} changed): lagoform's keyed walk "
            f"{diffs['walk'] * 1000:.0f} ms, DeepDiff {diffs['deepdiff'] * 1000:.0f} ms "
            f"({diffs['deepdiff'] / max(diffs['walk'], 1e-9):.0f}× slower) — hence the walk "
            "(`src/lagoform/engine/diff.py`).\n"
        )
    print(text)
    if not args.no_write:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
