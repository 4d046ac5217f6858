"""Fault injection: latency, seeded 5xx (before/after the change), outages, rate limits with
Lago Cloud's 429 headers — set at construction, at runtime, and over HTTP control endpoints."""

from __future__ import annotations

import asyncio
import time

import httpx
import orjson
import pytest

from lagoform.sandbox import Faults, Sandbox
from tests.conftest import SandboxServer
from tests.sandbox.helpers import Api, InProcessApi, create_metric, metric_body


def _statuses(api: Api, n: int) -> list[int]:
    return [api.get("/plans").status for _ in range(n)]


def test_fault_rate_is_deterministic_per_seed() -> None:
    first = _statuses(InProcessApi(Sandbox(fault_rate=0.3, fault_seed=7)), 40)
    second = _statuses(InProcessApi(Sandbox(fault_rate=0.3, fault_seed=7)), 40)
    assert first == second
    assert 0 < first.count(500) < 40
    other = _statuses(InProcessApi(Sandbox(fault_rate=0.3, fault_seed=8)), 40)
    assert other != first


def test_fault_body_and_phase_after_applies_the_change(api: Api) -> None:
    api.faults(fault_rate=1.0, fault_phase="after")
    reply = api.post("/billable_metrics", metric_body("calls"))
    assert (reply.status, reply.body) == (500, {"status": 500, "error": "Internal Server Error"})
    api.faults(fault_rate=0)
    assert api.get("/billable_metrics/calls").status == 200  # the write went through


def test_fault_phase_before_changes_nothing(api: Api) -> None:
    api.faults(fault_rate=1.0, fault_status=503)
    assert api.post("/billable_metrics", metric_body("calls")).status == 503
    api.faults(fault_rate=0)
    assert api.get("/billable_metrics/calls").status == 404


def test_outage_window_and_switch(any_api: Api) -> None:
    any_api.faults(outage=True)
    reply = any_api.get("/plans")
    assert (reply.status, reply.body) == (503, {"status": 503, "error": "Service Unavailable"})
    assert any_api.get("/health", key=None).status == 503
    any_api.faults(outage=False)
    assert any_api.get("/plans").status == 200
    any_api.faults(outage_seconds=0.3)
    assert any_api.get("/plans").status == 503
    time.sleep(0.35)
    assert any_api.get("/plans").status == 200


def test_rate_limit_429_with_cloud_headers(any_api: Api) -> None:
    any_api.faults(rate_limits={"config": 3, "events": 1000})
    # 7 requests span at most two 1-second windows, so one window sees more than 3
    replies = [any_api.get("/plans") for _ in range(7)]
    limited = [r for r in replies if r.status == 429]
    assert limited, [r.status for r in replies]
    assert limited[0].body == {
        "status": 429,
        "error": "Too Many Requests",
        "code": "too_many_requests",
    }
    headers = {k.lower(): v for k, v in limited[0].headers.items()}
    assert (headers["x-ratelimit-limit"], headers["x-ratelimit-remaining"]) == ("3", "0")
    assert int(headers["x-ratelimit-reset"]) == 1
    assert "retry-after" not in headers  # Lago Cloud documents only X-RateLimit-*
    ok_headers = {k.lower(): v for k, v in replies[0].headers.items()}
    assert ok_headers["x-ratelimit-limit"] == "3"
    event = {"event": {"transaction_id": "t", "code": "c"}}
    assert any_api.post("/events", event).status == 200  # events have their own budget


def test_cloud_limits_shorthand(api: Api) -> None:
    settings = api.faults(rate_limit=True)
    assert settings["rate_limits"] == {"events": 500.0, "usage": 200.0, "config": 50.0}


def test_latency_is_applied_sync_and_async() -> None:
    sandbox = Sandbox(latency_ms=60)
    started = time.perf_counter()
    with httpx.Client(transport=sandbox.transport(), base_url="http://sb") as client:
        assert client.get("/health").status_code == 200
    assert time.perf_counter() - started >= 0.06

    async def twice() -> float:
        async with httpx.AsyncClient(transport=sandbox.transport(), base_url="http://sb") as c:
            begin = time.perf_counter()
            replies = await asyncio.gather(c.get("/health"), c.get("/health"))
            assert [r.status_code for r in replies] == [200, 200]
            return time.perf_counter() - begin

    assert 0.06 <= asyncio.run(twice()) < 0.6  # slept concurrently, not serially blocked


def test_faults_from_construction_object() -> None:
    sandbox = Sandbox(faults=Faults(outage=True))
    assert sandbox.handle("GET", "/health")[0] == 503
    sandbox.reset()
    assert sandbox.handle("GET", "/health")[0] == 503  # reset restores construction settings


def test_unknown_fault_setting_is_refused(sandbox_server: SandboxServer) -> None:
    reply = httpx.post(f"{sandbox_server.url}/__sandbox/faults", json={"colour": 1})
    assert reply.status_code == 422
    with pytest.raises(ValueError, match="unknown fault settings"):
        Sandbox().set_faults(colour=1)


def test_control_endpoints_over_http(sandbox_server: SandboxServer) -> None:
    headers = {"Authorization": f"Bearer {sandbox_server.api_key}"}
    sandbox_server.control(latency_ms=50)
    started = time.perf_counter()
    assert httpx.get(f"{sandbox_server.url}/api/v1/plans", headers=headers).status_code == 200
    assert time.perf_counter() - started >= 0.05
    sandbox_server.control(latency_ms=0, fault_rate=1)
    assert httpx.get(f"{sandbox_server.url}/api/v1/plans", headers=headers).status_code == 500
    sandbox_server.reset()
    assert httpx.get(f"{sandbox_server.url}/api/v1/plans", headers=headers).status_code == 200
    assert httpx.get(f"{sandbox_server.url}/__sandbox/premium").json() == {"premium": True}
    sandbox_server.premium(False)
    assert httpx.get(f"{sandbox_server.url}/__sandbox/premium").json() == {"premium": False}
    assert httpx.get(f"{sandbox_server.url}/__sandbox/nothing").status_code == 404


def test_dump_shows_state(api: Api, sandbox: Sandbox) -> None:
    create_metric(api, "calls")
    dump = sandbox.dump()
    assert [m["code"] for m in dump["metrics"]] == ["calls"]


def test_stats_count_events_and_reset_answers_how_many_it_dropped() -> None:
    sandbox = Sandbox()
    auth = {"authorization": "Bearer any-key"}  # a sandbox built without a key takes any
    events = [{"transaction_id": f"t{i}", "external_subscription_id": "s", "code": "c"}
              for i in range(7)]  # fmt: skip
    status, _ = sandbox.handle(
        "POST", "/api/v1/events/batch", None, auth, orjson.dumps({"events": events})
    )[:2]
    assert status == 200
    assert orjson.loads(sandbox.handle("GET", "/__sandbox/stats")[2]) == {"events": 7}
    for dropped in (7, 0):
        reply = orjson.loads(sandbox.handle("POST", "/__sandbox/reset")[2])
        assert reply == {"reset": True, "events_dropped": dropped}
