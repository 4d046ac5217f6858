"""The reads (fetch.py) against the in-process sandbox, and analyze() fed the engine's live read."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from lagoform.engine.live import fetch_live
from lagoform.engine.plan import hints_for
from lagoform.errors import LagoNotFound
from lagoform.impact import analyze, run_analysis
from lagoform.impact.fetch import bounded, list_all, read_live, read_usage
from lagoform.impact.proposed import LiveSubscription
from lagoform.lago import AsyncLagoClient, LagoClient
from lagoform.sandbox import Sandbox
from tests.conftest import SandboxServer
from tests.impact.helpers import (
    USAGE,
    apply_project,
    async_client_for,
    client_for,
    desired_of,
    edit,
    send_usage,
    write_project,
)

URL = "http://sandbox.test"


def _clients(sandbox: Sandbox) -> tuple[LagoClient, AsyncLagoClient]:
    return (
        LagoClient(URL, "key", transport=sandbox.transport(), pacing=None),
        AsyncLagoClient(URL, "key", transport=sandbox.transport(), pacing=None),
    )


def test_lists_of_several_pages_are_read_whole(sandbox: Sandbox) -> None:
    sync, client = _clients(sandbox)
    sync.create_plan({"code": "p", "name": "P", "interval": "monthly", "amount_cents": 0,
                      "amount_currency": "USD", "pay_in_advance": False})  # fmt: skip
    for i in range(230):  # three pages of 100
        sync.create_subscription(
            {"external_customer_id": f"c{i}", "external_id": f"s{i:03d}", "plan_code": "p"}
        )

    async def read() -> tuple[list[dict[str, Any]], list[LiveSubscription]]:
        async with client:
            listed = await list_all(client, "/subscriptions", "subscriptions", None, 2)
            return listed, (await read_live(client))[1]

    listed, subs = asyncio.run(read())
    assert sorted(s["external_id"] for s in listed) == [f"s{i:03d}" for i in range(230)]
    assert [s["external_id"] for s in listed] == [
        s["external_id"] for s in sync.list_subscriptions()
    ]  # same order as reading page after page
    assert len(subs) == 230 and not any(s.overridden for s in subs)


def test_one_failing_read_becomes_that_subscriptions_reason(sandbox: Sandbox) -> None:
    async def work(key: int) -> int:
        if key == 2:
            raise LagoNotFound("subscription not found", status=404)
        return key * 10

    got = asyncio.run(bounded([1, 2, 3], work, 2))
    assert got == {1: 10, 2: "HTTP 404: subscription not found", 3: 30}
    _, client = _clients(sandbox)
    ghost = LiveSubscription("nope", "nobody", "p", overridden=False)

    async def read() -> dict[str, Any]:
        async with client:
            return await read_usage(client, [ghost], 0, 4)

    [reason] = asyncio.run(read()).values()
    assert isinstance(reason, str) and "not found" in reason.lower()


def test_the_engines_live_read_gives_the_same_impact(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    root = write_project(tmp_path / "project")
    with client_for(sandbox_server) as client:
        apply_project(root, client)
        send_usage(client, USAGE)
    edit(root, "catalog/plans.yaml", 'per_unit: "0.01"', 'per_unit: "0.012"')
    desired = desired_of(root)
    with client_for(sandbox_server) as client:
        live = fetch_live(client, hints_for(desired))
    with_live = run_analysis(desired, lambda: async_client_for(sandbox_server), live=live)
    alone = run_analysis(desired, lambda: async_client_for(sandbox_server))
    assert with_live == alone
    total = with_live.total("current", "USD")
    assert total is not None and total.delta_cents == 2600

    async def from_async_code() -> int:
        async with async_client_for(sandbox_server) as client:
            impact = await analyze(desired, client, live=live, top=1)
        return len(impact.movers)

    assert asyncio.run(from_async_code()) == 1
