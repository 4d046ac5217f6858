"""Revenue impact at scale: 10,000 affected subscriptions at Lago Cloud's pacing, 50 ms latency.

Starts ``python -m lagoform sandbox serve --port 0`` (temporary state, loopback), seeds it
without latency — one plan (graduated tokens, standard calls, ``cascade_updates``), 10,000
customers each with one subscription (10% of them overridden on ``calls``), one usage event per
subscription — then turns on 50 ms per request and measures ``lagoform.impact.analyze`` for a
raise of the tokens tier price, which reaches every subscription (the overridden ones through
the cascade). The client paces like Lago Cloud's limits (``PacingConfig()``: 50 req/s config,
200 req/s usage) with ``--concurrency`` (default: analyze's) requests in flight per budget.
The floor is the usage budget: one current-usage read per subscription at 200 req/s.

The alternative, in the same run (``--compare-serial``, on): the same reads one at a time (a
script looping over subscriptions), bounded to ``--serial-limit`` seconds and extrapolated.
Writes the "Revenue impact at scale" section of ``benchmarks/RESULTS.md`` (others kept).
Run: ``.venv/bin/python benchmarks/impact_scale.py [--subscriptions 10000] [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from _harness import load, machine, sandbox_server, write_section

from lagoform.dispatch.http import EventTransport
from lagoform.engine.desired import desired_state
from lagoform.impact import RevenueImpact, analyze
from lagoform.impact.analyze import DEFAULT_CONCURRENCY
from lagoform.lago import AsyncLagoClient, PacingConfig

SECTION = "## Revenue impact at scale"
KEY = "bench-key"
HEADERS = {"Authorization": f"Bearer {KEY}"}
LATENCY_MS = 50.0
TARGET_S = 60.0
USAGE_RATE = 200.0  # Lago Cloud's usage budget, req/s
CEILING_S = 300.0


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
                "external_customer_id": f"tenant-{i:05d}",
                "external_id": f"sub-{i:05d}",
                "plan_code": "growth",
            }
            if i < overridden:  # negotiated calls price: the tokens change still cascades
                body["plan_overrides"] = {
                    "charges": [{"id": calls_id, "properties": {"amount": "0.05"}}]
                }
            http.post("/subscriptions", json={"subscription": body}).raise_for_status()

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(subscribe, range(subscriptions)))
        events = [
            {"transaction_id": f"t-{i}", "external_subscription_id": f"sub-{i:05d}",
             "code": "tokens", "properties": {"tokens": 1000 + 100 * (i % 50 + 1)}}
            for i in range(subscriptions)
        ]  # fmt: skip
        for start in range(0, len(events), 100):
            batch = {"events": events[start : start + 100]}
            http.post("/events/batch", json=batch).raise_for_status()


class Counting(EventTransport):
    """The transport ``lagoform impact`` uses against a remote Lago, counting requests by kind
    (event hooks would make the client build httpx's models, which users' runs do not)."""

    def __init__(self, max_connections: int) -> None:
        super().__init__(max_connections=max_connections)
        self.counts: dict[str, int] = {}

    async def send_direct(self, method: str, url: str, *args: Any) -> Any:
        path = url.split("?", 1)[0]
        kind = (
            "usage" if "usage" in path else "subscription" if "/subscriptions/" in path else "list"
        )
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return await super().send_direct(method, url, *args)


async def measure(url: str, concurrency: int) -> tuple[RevenueImpact, float, dict[str, int]]:
    desired = desired_state({"plan": [plan_body("0.012")]})
    transport = Counting(2 * concurrency)
    counts = transport.counts
    client = AsyncLagoClient(
        url, KEY, pacing=PacingConfig(), transport=transport, max_connections=2 * concurrency
    )
    started = time.perf_counter()
    try:
        impact = await asyncio.wait_for(
            analyze(desired, client, concurrency=concurrency), CEILING_S
        )
    finally:
        await client.aclose()
    return impact, time.perf_counter() - started, counts


def serial_usage(url: str, subscriptions: int, limit: float) -> tuple[int, float]:
    """Current usage read one subscription after another (no lagoform), bounded in time."""
    done, began = 0, time.perf_counter()
    with httpx.Client(base_url=f"{url}/api/v1", headers=HEADERS, timeout=30) as http:
        for i in range(subscriptions):
            http.get(
                f"/customers/tenant-{i:05d}/current_usage",
                params={"external_subscription_id": f"sub-{i:05d}"},
            ).raise_for_status()
            done += 1
            if time.perf_counter() - began > limit:
                break
    return done, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--overridden", type=int, default=None, help="default: 10%%")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--runs", type=int, default=1, help="measured runs (the median counts)")
    parser.add_argument("--quick", action="store_true", help="1,000 subscriptions, no serial")
    parser.add_argument("--compare-serial", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--serial-limit", type=float, default=20.0, help="seconds")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.subscriptions, args.compare_serial = 1000, False
    overridden = args.overridden if args.overridden is not None else args.subscriptions // 10
    walls: list[float] = []
    cpu: list[tuple[float, float]] = []  # (client, server) CPU seconds per run
    loads: list[str] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        sandbox_server(Path(tmp) / "sandbox.json", KEY, stop_timeout=60) as server,
    ):
        url = server.url
        started = time.perf_counter()
        seed(url, args.subscriptions, overridden)
        seeded = time.perf_counter() - started
        server.set_faults(latency_ms=LATENCY_MS)
        for _ in range(max(1, min(args.runs, 5))):
            loads.append(load())
            mine, server_cpu = time.process_time(), server.cpu()
            impact, seconds, counts = asyncio.run(measure(url, args.concurrency))
            walls.append(seconds)
            cpu.append((time.process_time() - mine, server.cpu() - server_cpu))
        serial = serial_usage(url, args.subscriptions, args.serial_limit) if (
            args.compare_serial) else None  # fmt: skip
        serial_load = load()
        httpx.post(f"{url}/__sandbox/reset", timeout=60).raise_for_status()
    info = machine()
    total = impact.total("current", "USD")
    priced = len(impact.subscriptions)
    cascaded = sum(1 for s in impact.subscriptions if s.causes == ("cascade",))
    assert total is not None and not impact.unreliable, "every subscription must be priced"
    assert priced == args.subscriptions, f"priced {priced} of {args.subscriptions}"
    requests = sum(counts.values())
    median = statistics.median(walls)
    floor = counts.get("usage", 0) / USAGE_RATE
    verdict = "met" if median < TARGET_S else "NOT met"
    runs = ", ".join(
        f"{w:.1f} s (CPU client {c:.1f} s, server {v:.1f} s; load {load_})"
        for w, (c, v), load_ in zip(walls, cpu, loads, strict=True)
    )
    client_ms = statistics.median(c for c, _ in cpu) / requests * 1000
    server_ms = statistics.median(v for _, v in cpu) / requests * 1000
    rows = [
        f"| `lagoform impact` (analyze), {args.concurrency} in flight per budget, paced | "
        f"{priced:,} | {requests:,} ({counts.get('list', 0)} / {counts.get('subscription', 0)} "
        f"/ {counts.get('usage', 0):,}) | **{median:.1f} s** | {floor:.1f} s | 1× | "
        f"< {TARGET_S:.0f} s ({verdict}) |"
    ]
    if serial is not None:
        done, seconds = serial
        whole = seconds / done * args.subscriptions
        rows.append(
            f"| usage read one subscription after another (a script), usage only | "
            f"{done:,} in {seconds:.0f} s | {done:,} | ~{whole:.0f} s for all "
            f"(extrapolated) | | {whole / median:.1f}× slower | |"
        )
    text = (
        f"{SECTION}\n\n"
        f"`benchmarks/impact_scale.py --subscriptions {args.subscriptions}`: one plan, "
        f"{args.subscriptions:,} subscriptions (one customer each; {overridden:,} overridden), "
        f"one usage event each; a raise of a graduated tier price reaches all of them "
        f"({cascaded:,} through `cascade_updates`). `lagoform sandbox serve` in its own process "
        f"with {LATENCY_MS:.0f} ms of latency added to every request (seeded before the latency "
        f"was turned on, in {seeded:.1f} s). Client paced at Lago Cloud's limits (50 req/s "
        f"config, 200 req/s usage). Run {time.strftime('%Y-%m-%d %H:%M')}; machine: "
        f"{info.cpu or 'unknown CPU'}, nproc {info.nproc}, Python {info.python}, shared with "
        "other engineers' test suites.\n\n"
        "| how | subscriptions priced | requests (lists / effective plans / usage) | wall time"
        " | floor | vs lagoform | target |\n|---|---|---|---|---|---|---|\n"
        + "\n".join(rows)
        + f"\n\nRuns: {runs}; the serial comparison started at load {serial_load}.\n\n"
        f"Estimated change: {total.delta_cents / 100:+,.2f} USD over {total.customers:,} "
        f"customers ({total.customers_more:,} pay more). **The floor is the usage budget**: "
        f"{counts.get('usage', 0):,} current-usage reads at {USAGE_RATE:.0f} req/s take "
        f"{floor:.1f} s however many run in parallel; the {counts.get('subscription', 0):,} "
        "effective-plan reads (50 req/s) and the lists overlap them. Above the floor, the time "
        f"is CPU on a shared machine: per request, {client_ms:.1f} ms in the client and "
        f"{server_ms:.1f} ms in the server.\n"
    )
    print(text)
    if not args.no_write:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
