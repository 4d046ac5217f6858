"""Client pacing against Lago Cloud's rate limits, over real sockets.

Starts ``python -m lagoform sandbox serve --port 0`` (temporary state, loopback) with Lago
Cloud's per-organization limits switched on (50 req/s configuration, 500 req/s events, 429 with
``X-RateLimit-*`` headers) and measures, bounded in count and time:

* a configuration run (``GET /taxes`` × N) with lagoform's default pacing, and without pacing
  (the client then relies on 429s and ``X-RateLimit-Reset``);
* the async worker path: 100-event batches, 4 in flight, paced at 500 req/s.

Writes the "Client pacing" section of ``benchmarks/RESULTS.md`` (other sections kept).
Run: ``.venv/bin/python benchmarks/client_pacing.py [--config-requests 200] [--batches 400]``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
from _harness import SandboxServer, machine, sandbox_server, write_section

from lagoform.lago import AsyncLagoClient, LagoClient, PacingConfig, RetryPolicy

SECTION = "## Client pacing"
KEY = "bench-key"
RUN_TIMEOUT = 120.0  # no scenario may run longer than this
RETRY = RetryPolicy(max_attempts=10, max_retry_after=5)


@dataclass
class Outcome:
    name: str
    requests: int
    seconds: float
    statuses: Counter[int]
    events: int = 0

    @property
    def rate(self) -> float:
        return self.statuses[200] / self.seconds if self.seconds else 0.0


def set_limits(server: SandboxServer, on: bool) -> None:
    server.set_faults(rate_limit=on)
    time.sleep(1.1)  # start every scenario in a fresh one-second window


def config_run(url: str, n: int, pacing: PacingConfig | None, name: str) -> Outcome:
    statuses: Counter[int] = Counter()

    def hook(response: httpx.Response) -> None:
        statuses[response.status_code] += 1

    deadline = time.monotonic() + RUN_TIMEOUT
    with LagoClient(url, KEY, pacing=pacing, retry=RETRY,
                    event_hooks={"response": [hook]}) as client:  # fmt: skip
        started = time.monotonic()
        for _ in range(n):
            client.list_taxes()
            if time.monotonic() > deadline:
                break
        elapsed = time.monotonic() - started
    return Outcome(name, sum(statuses.values()), elapsed, statuses)


def events_run(url: str, batches: int, in_flight: int) -> Outcome:
    statuses: Counter[int] = Counter()

    async def hook(response: httpx.Response) -> None:
        statuses[response.status_code] += 1

    async def run() -> tuple[float, int]:
        async with AsyncLagoClient(url, KEY, pacing=PacingConfig(events=500.0), retry=RETRY,
                                   event_hooks={"response": [hook]}) as client:  # fmt: skip
            queue: asyncio.Queue[int] = asyncio.Queue()
            for b in range(batches):
                queue.put_nowait(b)
            delivered = 0

            async def worker() -> None:
                nonlocal delivered
                while not queue.empty():
                    b = queue.get_nowait()
                    events = [
                        {"transaction_id": f"b{b}-{i}", "external_subscription_id": "bench",
                         "code": "tokens", "properties": {"tokens": i}}
                        for i in range(100)
                    ]  # fmt: skip
                    result = await client.post_events_batch(events)
                    delivered += 100 if result.already_delivered else len(result.events)

            started = time.monotonic()
            await asyncio.wait_for(
                asyncio.gather(*(worker() for _ in range(in_flight))), RUN_TIMEOUT
            )
            return time.monotonic() - started, delivered

    elapsed, delivered = asyncio.run(run())
    name = f"events: 100-event batches, {in_flight} in flight, paced 500 req/s"
    return Outcome(name, sum(statuses.values()), elapsed, statuses, delivered)


def render(outcomes: list[Outcome], args: argparse.Namespace) -> str:
    info = machine()
    lines = [
        SECTION,
        "",
        f"`benchmarks/client_pacing.py`: `lagoform sandbox serve` in its own process with Lago "
        f"Cloud's limits on (50 req/s configuration, 500 req/s events; 429 + `X-RateLimit-*`). "
        f"Run {time.strftime('%Y-%m-%d')}; machine: nproc {info.nproc}, Python "
        f"{info.python}, shared with other jobs (noisy).",
        "",
        "| scenario | requests sent | 429s | wall time | achieved rate | events/s |",
        "|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        events = f"{o.events / o.seconds:,.0f}" if o.events else ""
        lines.append(
            f"| {o.name} | {o.requests} | {o.statuses[429]} | {o.seconds:.2f} s "
            f"| {o.rate:.1f} req/s | {events} |"
        )
    lines += [
        "",
        "Paced runs stay under the limit with no 429; unpaced, the client still finishes "
        "(it honours `Retry-After`/`X-RateLimit-Reset`) but spends requests and waits on 429s.",
        "The paced client never sends more than the rate within any one second (the sandbox "
        "counts Lago's one-second windows and answered no 429); a run of a few seconds averages "
        "a little above the rate because the first second's budget is not spread out (the "
        "default burst is a tenth of a second's worth, and the window lets a late caller catch "
        "up).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config-requests", type=int, default=200)
    parser.add_argument("--batches", type=int, default=400)
    parser.add_argument("--in-flight", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="60 requests and 100 batches")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    if args.quick:
        args.config_requests, args.batches = 60, 100
    with (
        tempfile.TemporaryDirectory() as tmp,
        sandbox_server(Path(tmp) / "sandbox.json", KEY) as server,
    ):
        url = server.url
        outcomes = []
        set_limits(server, True)
        outcomes.append(
            config_run(
                url,
                args.config_requests,
                PacingConfig(),
                "config: GET /taxes, default pacing (50 req/s)",
            )
        )
        set_limits(server, True)
        outcomes.append(config_run(url, args.config_requests, None, "config: GET /taxes, unpaced"))
        set_limits(server, True)
        outcomes.append(events_run(url, args.batches, args.in_flight))
    text = render(outcomes, args)
    print(text)
    if not args.no_write:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
