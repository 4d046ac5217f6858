"""HTTP clients for the event hot path: client CPU per 100-event ``POST /events/batch``.

The same pre-built batches go to ``lagoform sandbox serve`` (loopback, its own process) through:

1. ``AsyncLagoClient`` on ``lagoform.dispatch.http.EventTransport`` (aiohttp, sent without
   httpx's models): what the worker uses;
2. ``AsyncLagoClient`` on the hand-written HTTP/1.1 transport the worker used before
   (``benchmarks/reference_http.py``; ``--no-hand-written`` leaves it out);
3. ``AsyncLagoClient`` on httpx's own transport (httpcore + h11; ``--no-httpx``);
4. a bare ``aiohttp.ClientSession.post`` with no lagoform client around it (the floor).

Each client sends ``--batches`` requests with ``--in-flight`` open at once, in rounds that
alternate the clients (so a burst of load elsewhere on the machine hits them all alike); the
median round counts. CPU is this process's (user + system) per request; the server's CPU is
reported too. Writes the "HTTP clients for delivery" section of ``benchmarks/RESULTS.md``.
Run: ``.venv/bin/python benchmarks/http_clients.py [--batches 2000] [--rounds 3] [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
from _harness import load, machine, sandbox_server, write_section

from lagoform.lago import NO_RETRY, AsyncLagoClient, PacingConfig

SECTION = "## HTTP clients for delivery"
KEY = "bench-http-key"
UNPACED = PacingConfig(None, None, None)


def batches(tag: str, count: int) -> list[list[dict[str, Any]]]:
    return [
        [
            {
                "transaction_id": f"{tag}-{b}-{i}",
                "external_subscription_id": "sub-1",
                "code": "tokens",
                "timestamp": 1767225600 + i,
                "properties": {"tokens": 100 + i, "model": "atlas-1", "type": "input"},
            }
            for i in range(100)
        ]
        for b in range(count)
    ]


async def _drive(send: Callable[[list[dict[str, Any]]], Awaitable[None]],
                 work: list[list[dict[str, Any]]], in_flight: int) -> None:  # fmt: skip
    queue = iter(work)

    async def lane() -> None:
        for batch in queue:
            await send(batch)

    await asyncio.gather(*(lane() for _ in range(in_flight)))


def lagoform_client(url: str, transport: httpx.AsyncBaseTransport | None, n: int) -> Any:
    return AsyncLagoClient(
        url, KEY, retry=NO_RETRY, pacing=UNPACED, transport=transport, max_connections=n
    )


async def run_client(name: str, url: str, work: list[list[dict[str, Any]]], n: int) -> None:
    if name.startswith("aiohttp, bare session"):
        import aiohttp

        connector = aiohttp.TCPConnector(limit=n)
        headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

            async def send_bare(batch: list[dict[str, Any]]) -> None:
                body = orjson.dumps({"events": batch})
                async with session.post(f"{url}/api/v1/events/batch", data=body) as response:
                    data = orjson.loads(await response.read())
                    assert response.status == 200 and len(data["events"]) == len(batch)

            await _drive(send_bare, work, n)
        return
    transport: httpx.AsyncBaseTransport | None
    if name.startswith("hand-written"):
        from reference_http import EventTransport as HandWritten

        transport = HandWritten(max_connections=n)
    elif name.startswith("aiohttp"):
        from lagoform.dispatch.http import EventTransport

        transport = EventTransport(max_connections=n)
    else:
        transport = None
    async with lagoform_client(url, transport, n) as client:

        async def send(batch: list[dict[str, Any]]) -> None:
            result = await client.post_events_batch(batch)
            assert len(result.events) == len(batch)

        await _drive(send, work, n)


CLIENTS = (
    "aiohttp (`lagoform.dispatch.http`, what the worker uses), under AsyncLagoClient",
    "hand-written HTTP/1.1 (`benchmarks/reference_http.py`, the worker's until now), under "
    "AsyncLagoClient",
    "httpx's own transport, under AsyncLagoClient",
    "aiohttp, bare session (no lagoform client: the floor)",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=2000, help="requests per client per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--in-flight", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="200 batches, 1 round")
    parser.add_argument(
        "--hand-written", action=argparse.BooleanOptionalAction, default=True,
        help="include the hand-written transport lagoform used before aiohttp",
    )  # fmt: skip
    parser.add_argument(
        "--httpx", action=argparse.BooleanOptionalAction, default=True,
        help="include httpx's own transport",
    )  # fmt: skip
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.batches, args.rounds = 200, 1
    chosen = [
        c
        for c in CLIENTS
        if (args.hand_written or "hand-written" not in c) and (args.httpx or "httpx" not in c)
    ]
    cpu: dict[str, list[float]] = {c: [] for c in chosen}
    wall: dict[str, list[float]] = {c: [] for c in chosen}
    server_cpu: dict[str, list[float]] = {c: [] for c in chosen}
    loads: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, sandbox_server(Path(tmp) / "s.json", KEY) as server:
        for r in range(args.rounds):
            loads.append(load())
            for name in chosen:
                httpx.post(f"{server.url}/__sandbox/reset", timeout=60).raise_for_status()
                work = batches(f"r{r}{name[:8]}", args.batches)
                s0, c0, w0 = server.cpu(), time.process_time(), time.perf_counter()
                asyncio.run(run_client(name, server.url, work, args.in_flight))
                wall[name].append(time.perf_counter() - w0)
                cpu[name].append(time.process_time() - c0)
                server_cpu[name].append(server.cpu() - s0)
                print(f"round {r + 1} {name}: {cpu[name][-1]:.2f} s CPU", file=sys.stderr)
    info = machine()
    base = statistics.median(cpu[chosen[0]]) / args.batches * 1000
    rows = []
    for name in chosen:
        ms = statistics.median(cpu[name]) / args.batches * 1000
        all_ms = ", ".join(f"{c / args.batches * 1000:.3f}" for c in cpu[name])
        rate = args.batches * 100 / statistics.median(wall[name])
        srv = statistics.median(server_cpu[name]) / args.batches * 1000
        rows.append(
            f"| {name} | **{ms:.3f}** ({all_ms}) | {ms / base:.2f}× | {rate:,.0f} | {srv:.2f} |"
        )
    text = "\n".join(
        [
            SECTION,
            "",
            f"`benchmarks/http_clients.py`: {args.batches:,} requests of 100 events per client "
            f"per round, {args.in_flight} in flight, {args.rounds} rounds alternating the "
            f"clients, against `lagoform sandbox serve` on loopback. Run "
            f"{time.strftime('%Y-%m-%d %H:%M')}; machine: {info.cpu or 'unknown CPU'}, nproc "
            f"{info.nproc}, Python {info.python}, httpx {httpx.__version__}"
            + f", aiohttp {_aiohttp_version()}"
            + f"; load average (1/5/15 min) at each round: {'; '.join(loads)}.",
            "",
            "| client | client CPU ms per request, median (rounds) | vs aiohttp | "
            "events/s (wall, median) | server CPU ms per request |",
            "|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
    print(text)
    if not args.no_write:
        write_section(SECTION, text)


def _aiohttp_version() -> str:
    import aiohttp

    return str(aiohttp.__version__)


if __name__ == "__main__":
    main()
