"""Sandbox throughput over loopback, from this (separate) client process.

Starts ``python -m lagoform sandbox serve --port 0`` as a subprocess with a temporary state
file, then measures (bounded in count and time):

* configuration requests/s — a mix of reads and writes on metrics, plans, customers and
  subscriptions, sent by a pool of keep-alive connections;
* events/s — ``POST /events/batch`` with 100 events per request, a few requests in flight.

Writes the "Sandbox throughput" section of ``benchmarks/RESULTS.md`` (other sections kept).
Run: ``.venv/bin/python benchmarks/sandbox_throughput.py [--events 300000] [--config 4000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
from _harness import machine, sandbox_server, write_section

SECTION = "## Sandbox throughput"
KEY = "bench-key"
HEADERS = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
TIME_LIMIT = 60.0  # per phase, seconds


class RawConnection:
    """A minimal keep-alive HTTP/1.1 client on asyncio streams.

    httpx spends more CPU per request than the sandbox does; on a 2-core machine that measures
    the client. This connection does the least a client can (pre-encoded requests, status line
    and Content-Length parsing) so the numbers show what the server sustains. The httpx rows
    show what a real Python client gets.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, method: str, path: str, body: bytes = b"") -> int:
        assert self.reader is not None and self.writer is not None
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(status_line.split()[1])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def config_request(worker: int, i: int) -> tuple[str, str, bytes]:
    match i % 5:
        case 0:
            return "GET", "/api/v1/plans/pro", b""
        case 1:
            return "GET", "/api/v1/billable_metrics/tokens", b""
        case 2:
            body = {"billable_metric": {"name": f"Tokens {worker}-{i}"}}
            return "PUT", "/api/v1/billable_metrics/tokens", orjson.dumps(body)
        case 3:
            body = {"customer": {"external_id": f"cust-{worker}-{i % 50}", "name": "Bench"}}
            return "POST", "/api/v1/customers", orjson.dumps(body)
        case _:
            return "GET", "/api/v1/subscriptions/sub-1", b""


async def raw_phase(
    url: str, requests: list[tuple[str, str, bytes]], connections: int
) -> dict[str, Any]:
    host, port = url.removeprefix("http://").split(":")
    queue: asyncio.Queue[tuple[str, str, bytes]] = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    latencies: list[float] = []
    failures = 0
    deadline = time.monotonic() + TIME_LIMIT

    async def worker() -> None:
        nonlocal failures
        conn = RawConnection(host, int(port))
        await conn.open()
        try:
            while not queue.empty() and time.monotonic() < deadline:
                method, path, body = queue.get_nowait()
                sent = time.perf_counter()
                status = await conn.request(method, path, body)
                latencies.append(time.perf_counter() - sent)
                if status != 200:
                    failures += 1
        finally:
            conn.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "requests": len(latencies),
        "failures": failures,
        "seconds": elapsed,
        "rate": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
    }


def seed(client: httpx.Client) -> None:
    metric = client.post(
        "/api/v1/billable_metrics",
        json={
            "billable_metric": {
                "name": "Tokens",
                "code": "tokens",
                "aggregation_type": "sum_agg",
                "field_name": "n",
                "filters": [{"key": "model", "values": ["small", "large"]}],
            }
        },
    ).json()["billable_metric"]
    client.post(
        "/api/v1/plans",
        json={
            "plan": {
                "name": "Pro",
                "code": "pro",
                "interval": "monthly",
                "amount_cents": 1000,
                "amount_currency": "USD",
                "pay_in_advance": False,
                "charges": [
                    {
                        "billable_metric_id": metric["lago_id"],
                        "charge_model": "graduated",
                        "properties": {
                            "graduated_ranges": [
                                {
                                    "from_value": 0,
                                    "to_value": 100,
                                    "per_unit_amount": "0.01",
                                    "flat_amount": "0",
                                },
                                {
                                    "from_value": 101,
                                    "to_value": None,
                                    "per_unit_amount": "0.005",
                                    "flat_amount": "1",
                                },
                            ]
                        },
                    }
                ],
            }
        },
    ).raise_for_status()
    client.post(
        "/api/v1/subscriptions",
        json={
            "subscription": {
                "external_customer_id": "c1",
                "plan_code": "pro",
                "external_id": "sub-1",
            }
        },
    ).raise_for_status()


def config_phase(url: str, total: int, workers: int) -> dict[str, Any]:  # httpx clients
    """Mixed configuration traffic from ``workers`` threads, one keep-alive client each."""
    from concurrent.futures import ThreadPoolExecutor

    def work(worker: int) -> tuple[int, int]:
        ok = errors = 0
        with httpx.Client(base_url=url, headers=HEADERS, timeout=10) as client:
            for i in range(total // workers):
                match i % 5:
                    case 0:
                        r = client.get("/api/v1/plans/pro")
                    case 1:
                        r = client.get("/api/v1/billable_metrics/tokens")
                    case 2:
                        r = client.put(
                            "/api/v1/billable_metrics/tokens",
                            json={"billable_metric": {"name": f"Tokens {worker}-{i}"}},
                        )
                    case 3:
                        r = client.post(
                            "/api/v1/customers",
                            json={
                                "customer": {
                                    "external_id": f"cust-{worker}-{i % 50}",
                                    "name": "Bench",
                                }
                            },
                        )
                    case _:
                        r = client.get("/api/v1/subscriptions/sub-1")
                if r.status_code == 200:
                    ok += 1
                else:
                    errors += 1
        return ok, errors

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(work, range(workers)))
    elapsed = time.perf_counter() - start
    ok = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    return {
        "requests": ok + errors,
        "errors": errors,
        "seconds": elapsed,
        "rate": (ok + errors) / elapsed,
    }


def event_bodies(total_events: int, tag: str) -> list[bytes]:
    batches = total_events // 100
    return [
        orjson.dumps(
            {
                "events": [
                    {
                        "transaction_id": f"{tag}{b}-e{e}",
                        "external_subscription_id": "sub-1",
                        "code": "tokens",
                        "timestamp": 1_760_000_000 + b,
                        "properties": {"n": e % 7, "model": "small" if e % 2 else "large"},
                    }
                    for e in range(100)
                ]
            }
        )
        for b in range(batches)
    ]


async def events_phase(url: str, total_events: int, in_flight: int) -> dict[str, Any]:
    bodies = event_bodies(total_events, "h")
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    latencies: list[float] = []
    failures = 0
    deadline = time.monotonic() + TIME_LIMIT

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal failures
        while not queue.empty() and time.monotonic() < deadline:
            body = queue.get_nowait()
            sent = time.perf_counter()
            response = await client.post("/api/v1/events/batch", content=body)
            latencies.append(time.perf_counter() - sent)
            if response.status_code != 200:
                failures += 1

    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    async with httpx.AsyncClient(base_url=url, headers=HEADERS, timeout=30, limits=limits) as c:
        start = time.perf_counter()
        await asyncio.gather(*(worker(c) for _ in range(in_flight)))
        elapsed = time.perf_counter() - start
    sent_events = len(latencies) * 100
    latencies.sort()
    return {
        "events": sent_events,
        "failures": failures,
        "seconds": elapsed,
        "rate": sent_events / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--config", type=int, default=5_000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--in-flight", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="event rounds (median reported)")
    parser.add_argument(
        "--compare-httpx", action=argparse.BooleanOptionalAction, default=True,
        help="also measure httpx clients on the same server",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="30,000 events, 1 round, no httpx")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.events, args.config, args.rounds, args.compare_httpx = 30_000, 500, 1, False
    config_requests = [config_request(i % 4, i) for i in range(args.config)]
    per_round = args.events // args.rounds
    rounds_events = [
        [("POST", "/api/v1/events/batch", b) for b in event_bodies(per_round, f"r{n}-")]
        for n in range(args.rounds)
    ]
    with (
        tempfile.TemporaryDirectory() as tmp,
        sandbox_server(Path(tmp) / "sandbox.json", KEY, stop_timeout=60) as server,
    ):
        url = server.url
        with httpx.Client(base_url=url, headers=HEADERS, timeout=10) as client:
            seed(client)
        cpu0 = server.cpu()
        raw_config = asyncio.run(raw_phase(url, config_requests, args.connections))
        cpu1 = server.cpu()
        ev_rounds = [
            asyncio.run(raw_phase(url, batch, args.connections)) for batch in rounds_events
        ]
        cpu2 = server.cpu()
        config_cpu_ms = (cpu1 - cpu0) * 1000 / max(raw_config["requests"], 1)
        sent_batches = sum(r["requests"] for r in ev_rounds)
        batch_cpu_ms = (cpu2 - cpu1) * 1000 / max(sent_batches, 1)
        raw_ev = sorted(ev_rounds, key=lambda r: r["rate"])[len(ev_rounds) // 2]
        httpx_rows = ""
        if args.compare_httpx:
            httpx_config = config_phase(url, args.config // 2, args.connections)
            httpx_events = asyncio.run(events_phase(url, args.events // 3, args.in_flight))
            httpx_rows = (
                f"| configuration, httpx sync clients ({args.connections} threads) "
                f"| {httpx_config['requests']} req | {httpx_config['errors']} "
                f"| {httpx_config['seconds']:.2f} | {httpx_config['rate']:.0f} req/s | | |\n"
                f"| events in 100-event batches, httpx AsyncClient ({args.in_flight} in flight) "
                f"| {httpx_events['events']} events | {httpx_events['failures']} "
                f"| {httpx_events['seconds']:.2f} | {httpx_events['rate']:.0f} events/s "
                f"| {httpx_events['p50_ms']:.1f} / {httpx_events['p99_ms']:.1f} ms | |\n"
            )
    info = machine()
    ev_rate = raw_ev["rate"] * 100
    all_rounds = ", ".join(f"{r['rate'] * 100:.0f}" for r in ev_rounds)
    text = (
        f"{SECTION}\n\n"
        "`benchmarks/sandbox_throughput.py`: the server is `lagoform sandbox serve` (uvicorn with "
        "httptools + uvloop, raw ASGI app, orjson) in its own process; the client is the "
        'benchmark process, on loopback. "lean client" rows use a minimal asyncio HTTP/1.1 '
        'client (pre-encoded requests) so they measure the server; "httpx" rows show what a '
        f"real Python client reaches on the same machine. Run {time.strftime('%Y-%m-%d')}.\n\n"
        f"Machine: nproc {info.nproc}, CPU {info.cpu or 'unknown'}, Python {info.python}, "
        f"{info.os}; shared with other jobs (load average {os.getloadavg()[0]:.1f} at the "
        "end of the run), so numbers are noisy.\n\n"
        "| phase | volume | non-200 | seconds | throughput | p50 / p99 per request | target |\n"
        "|---|---|---|---|---|---|---|\n"
        f"| configuration, lean client ({args.connections} keep-alive connections, mixed "
        f"GET/PUT/POST) | {raw_config['requests']} req | {raw_config['failures']} "
        f"| {raw_config['seconds']:.2f} | **{raw_config['rate']:.0f} req/s** "
        f"| {raw_config['p50_ms']:.1f} / {raw_config['p99_ms']:.1f} ms | ≥ 500 req/s |\n"
        f"| events in 100-event batches, lean client ({args.connections} connections), median "
        f"of {args.rounds} rounds (all: {all_rounds}) "
        f"| {raw_ev['requests'] * 100} events | {raw_ev['failures']} | {raw_ev['seconds']:.2f} "
        f"| **{ev_rate:.0f} events/s** | {raw_ev['p50_ms']:.1f} / {raw_ev['p99_ms']:.1f} ms "
        f"| ≥ 50,000 events/s |\n"
        + httpx_rows
        + "\nServer CPU time (from /proc, independent of other load on the machine): "
        f"{config_cpu_ms:.2f} ms per configuration request (capacity of one core ≈ "
        f"{1000 / config_cpu_ms:.0f} req/s), {batch_cpu_ms:.2f} ms per 100-event batch "
        f"(≈ {100_000 / batch_cpu_ms:.0f} events/s per core). The server is one process on "
        "one core; the client runs on the other.\n"
    )
    print(text)
    if not args.no_write:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
