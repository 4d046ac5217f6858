"""Revenue impact at scale: 1,000 affected subscriptions against a sandbox with 50 ms latency.

Starts ``python -m lagoform sandbox serve --port 0`` (temporary state, loopback), seeds it
without latency — one plan (graduated tokens, standard calls, ``cascade_updates``), 1,000
customers each with one subscription (100 of them overridden on ``calls``), one usage event per
subscription — then turns on 50 ms per request and measures ``lagoform.impact.analyze`` for a
raise of the tokens tier price, which reaches every subscription (the overridden ones through
the cascade). The client paces like Lago Cloud's limits (``PacingConfig()``: 50 req/s config,
200 req/s usage) with at most 10 requests in flight. Bounded: one run, a fixed number of
requests, a 60 s ceiling on the measured run.

Writes the "Revenue impact at scale" section of ``benchmarks/RESULTS.md`` (others kept).
Run: ``.venv/bin/python benchmarks/impact_scale.py [--subscriptions 1000] [--overridden 100]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from _harness import machine, sandbox_server, write_section

from lagoform.engine.desired import desired_state
from lagoform.impact import RevenueImpact, analyze
from lagoform.lago import AsyncLagoClient, PacingConfig

SECTION = "## Revenue impact at scale"
KEY = "bench-key"
HEADERS = {"Authorization": f"Bearer {KEY}"}
LATENCY_MS = 50.0
TARGET_S = 10.0
IN_FLIGHT = 10  # requests at once (the client's default pool size and the CLI default)
CEILING_S = 60.0


def plan_body(tier_price: str, metric_ids: dict[str, str] | None = None) -> dict[str, Any]:
    """The plan as Lago takes it (metric ids) or as the catalog states it (metric codes)."""

    def metric(code: str) -> dict[str, str]:
        if metric_ids is None:
            return {"billable_metric_code": code}
        return {"billable_metric_id": metric_ids[code]}

    ranges = [
        {"from_value": 0, "to_value": 1000, "per_unit_amount": "0", "flat_amount": "0"},
        {"from_value": 1001, "to_value": None, "per_unit_amount": tier_price, "flat_amount": "0"},
    ]
    return {
        "code": "growth",
        "name": "Growth",
        "interval": "monthly",
        "amount_cents": 5000,
        "amount_currency": "USD",
        "pay_in_advance": False,
        "cascade_updates": True,
        "charges": [
            {"code": "tokens", "charge_model": "graduated",
             "properties": {"graduated_ranges": ranges}, **metric("tokens")},
            {"code": "calls", "charge_model": "standard", "properties": {"amount": "0.10"},
             **metric("calls")},
        ],
    }  # fmt: skip


def seed(url: str, subscriptions: int, overridden: int) -> None:
    with httpx.Client(base_url=f"{url}/api/v1", headers=HEADERS, timeout=30) as http:
        ids = {}
        for code, agg in (("tokens", "sum_agg"), ("calls", "count_agg")):
            body = {"code": code, "name": code, "aggregation_type": agg}
            if agg == "sum_agg":
                body["field_name"] = "tokens"
            made = http.post("/billable_metrics", json={"billable_metric": body})
            ids[code] = made.raise_for_status().json()["billable_metric"]["lago_id"]
        plan = http.post("/plans", json={"plan": plan_body("0.01", ids)}).raise_for_status()
        calls_id = plan.json()["plan"]["charges"][1]["lago_id"]

        def subscribe(i: int) -> None:
            body: dict[str, Any] = {
                "external_customer_id": f"tenant-{i:04d}",
                "external_id": f"sub-{i:04d}",
                "plan_code": "growth",
            }
            if i < overridden:  # negotiated calls price: the tokens change still cascades
                body["plan_overrides"] = {
                    "charges": [{"id": calls_id, "properties": {"amount": "0.05"}}]
                }
            http.post("/subscriptions", json={"subscription": body}).raise_for_status()

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(subscribe, range(subscriptions)))
        events = [
            {"transaction_id": f"t-{i}", "external_subscription_id": f"sub-{i:04d}",
             "code": "tokens", "properties": {"tokens": 1000 + 100 * (i % 50 + 1)}}
            for i in range(subscriptions)
        ]  # fmt: skip
        for start in range(0, len(events), 100):
            batch = {"events": events[start : start + 100]}
            http.post("/events/batch", json=batch).raise_for_status()


async def measure(url: str) -> tuple[RevenueImpact, float, dict[str, int]]:
    counts: dict[str, int] = {}

    async def on_request(request: httpx.Request) -> None:
        path = request.url.path
        kind = (
            "usage" if "usage" in path else "subscription" if "/subscriptions/" in path else "list"
        )
        counts[kind] = counts.get(kind, 0) + 1

    desired = desired_state({"plan": [plan_body("0.012")]})
    client = AsyncLagoClient(
        url,
        KEY,
        pacing=PacingConfig(),
        event_hooks={"request": [on_request]},
        max_connections=IN_FLIGHT,
    )
    started = time.perf_counter()
    try:
        impact = await asyncio.wait_for(analyze(desired, client, concurrency=IN_FLIGHT), CEILING_S)
    finally:
        await client.aclose()
    return impact, time.perf_counter() - started, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--overridden", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3, help="measured runs (the median counts)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    walls: list[float] = []
    cpu: list[tuple[float, float]] = []  # (client, server) CPU seconds per run
    loads: list[float] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        sandbox_server(Path(tmp) / "sandbox.json", KEY) as server,
    ):
        url = server.url
        started = time.perf_counter()
        seed(url, args.subscriptions, args.overridden)
        seeded = time.perf_counter() - started
        server.set_faults(latency_ms=LATENCY_MS)
        for _ in range(max(1, min(args.runs, 5))):
            loads.append(os.getloadavg()[0])
            mine, server_cpu = time.process_time(), server.cpu()
            impact, seconds, counts = asyncio.run(measure(url))
            walls.append(seconds)
            cpu.append((time.process_time() - mine, server.cpu() - server_cpu))
    info = machine()
    total = impact.total("current", "USD")
    priced = len(impact.subscriptions)
    cascaded = sum(1 for s in impact.subscriptions if s.causes == ("cascade",))
    assert total is not None and not impact.unreliable, "every subscription must be priced"
    assert priced == args.subscriptions, f"priced {priced} of {args.subscriptions}"
    requests = sum(counts.values())
    median = statistics.median(walls)
    verdict = "met" if median < TARGET_S else "NOT met"
    runs = ", ".join(
        f"{w:.2f} s (CPU client {c:.1f} s, server {v:.1f} s; load {load:.1f})"
        for w, (c, v), load in zip(walls, cpu, loads, strict=True)
    )
    client_ms = statistics.median(c for c, _ in cpu) / requests * 1000
    server_ms = statistics.median(v for _, v in cpu) / requests * 1000
    text = (
        f"{SECTION}\n\n"
        f"`benchmarks/impact_scale.py`: one plan, {args.subscriptions} subscriptions (one "
        f"customer each; {args.overridden} overridden), one usage event each; a raise of a "
        f"graduated tier price reaches all of them ({cascaded} through `cascade_updates`). "
        f"`lagoform sandbox serve` in its own process with {LATENCY_MS:.0f} ms of latency added "
        f"to every request (seeded before the latency was turned on, in {seeded:.1f} s). "
        f"Async client paced at Lago Cloud's limits (50 req/s config, 200 req/s usage), at most "
        f"{IN_FLIGHT} requests in flight. Run {time.strftime('%Y-%m-%d')}; machine: nproc "
        f"{info.nproc}, Python {info.python}, shared with other jobs "
        f"(1-minute load average at each run below).\n\n"
        f"| subscriptions priced | requests (lists / effective plans / usage) | wall time "
        f"(median of {len(walls)}) | target |\n|---|---|---|---|\n"
        f"| {priced} | {requests} ({counts.get('list', 0)} / {counts.get('subscription', 0)} / "
        f"{counts.get('usage', 0)}) | **{median:.2f} s** | < {TARGET_S:.0f} s ({verdict}) |\n\n"
        f"Runs: {runs}.\n\n"
        f"Estimated change: {total.delta_cents / 100:+,.2f} USD over {total.customers} "
        f"customers ({total.customers_more} pay more). The floor is the usage budget: "
        f"{counts.get('usage', 0)} usage reads at 200 req/s take "
        f"{counts.get('usage', 0) / 200:.1f} s however many run in parallel; above it, the time "
        f"is CPU on a shared machine: per request, {client_ms:.1f} ms in the client (httpx and "
        f"its connection pool; lagoform's parsing and pricing are about a tenth of it) and "
        f"{server_ms:.1f} ms in the server.\n"
    )
    print(text)
    if not args.no_write:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
