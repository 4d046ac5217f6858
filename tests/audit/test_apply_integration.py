"""The trail as the engine's real apply uses it, against the in-process sandbox (real Lago rules).

Checks the contract end to end: one intent and one outcome per write, Lago's error code on a
failed write, the canary key nowhere, and a refusing sink stopping apply before Lago changes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lagoform.audit.chain import pending_intents, verify_file
from lagoform.audit.context import RunContext
from lagoform.audit.sinks import JsonlFileSink, LokiSink, Sink, StdoutSink
from lagoform.audit.trail import AuditTrail
from lagoform.engine.apply import ApplyFailed, apply_plan
from lagoform.engine.desired import desired_state
from lagoform.engine.live import fetch_live
from lagoform.engine.plan import Plan, build_plan
from lagoform.errors import AuditError
from lagoform.lago.client import LagoClient
from lagoform.sandbox.core import Sandbox
from lagoform.sandbox.transport import SandboxTransport
from tests.audit.helpers import CANARY, FakeLoki

METRIC = {
    "code": "tokens",
    "name": "Tokens",
    "aggregation_type": "sum_agg",
    "field_name": "value",
    "recurring": False,
    "filters": [],
}


def plan_body(amount: str = "0.5") -> dict[str, Any]:
    return {
        "code": "pro",
        "name": "Pro",
        "interval": "monthly",
        "amount_cents": 9900,
        "amount_currency": "USD",
        "pay_in_advance": False,
        "tax_codes": [],
        "charges": [
            {
                "code": "tokens",
                "billable_metric_code": "tokens",
                "charge_model": "standard",
                "pay_in_advance": False,
                "invoiceable": True,
                "prorated": False,
                "min_amount_cents": 0,
                "properties": {"amount": amount},
                "filters": [],
                "tax_codes": [],
            }
        ],
    }


@pytest.fixture
def client() -> Iterator[LagoClient]:
    sandbox = Sandbox(premium=True, api_key=CANARY)
    lago = LagoClient("http://sandbox.local", CANARY, transport=SandboxTransport(sandbox))
    yield lago
    lago.close()


def plan_for(client: LagoClient, amount: str = "0.5") -> Plan:
    desired = desired_state({"billable_metric": [METRIC], "plan": [plan_body(amount)]})
    return build_plan(desired, fetch_live(client, None))


def ctx(plan: Plan) -> RunContext:
    return RunContext("sandbox", "sandbox", "octocat", "flag", None, None, plan.plan_id)


def test_apply_writes_intent_and_outcome_per_call(
    client: LagoClient, log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = plan_for(client)
    sinks: list[Sink] = [JsonlFileSink(log_path), StdoutSink()]
    with AuditTrail(ctx(plan), sinks, secrets=[CANARY]) as trail:
        report = apply_plan(plan, client, audit=trail)
    assert report.applied == ["create billable_metric:tokens", "create plan:pro"]
    records = [json.loads(x) for x in log_path.read_text().splitlines()]
    assert [(r["phase"], r["method"], r["path"]) for r in records] == [
        ("intent", "POST", "/billable_metrics"),
        ("outcome", "POST", "/billable_metrics"),
        ("intent", "POST", "/plans"),
        ("outcome", "POST", "/plans"),
    ]
    assert all(r["plan_id"] == plan.plan_id for r in records)
    assert [r["outcome"]["status"] for r in records[1::2]] == ["ok", "ok"]
    assert verify_file(log_path).ok and pending_intents(log_path) == []
    assert CANARY not in log_path.read_text() and CANARY not in capsys.readouterr().out


def test_failed_write_records_lagos_status_and_code(client: LagoClient, log_path: Path) -> None:
    plan = plan_for(client, amount="-1")  # Lago refuses a negative amount: 422
    with AuditTrail(ctx(plan), [JsonlFileSink(log_path)]) as trail, pytest.raises(ApplyFailed):
        apply_plan(plan, client, audit=trail)
    last = json.loads(log_path.read_text().splitlines()[-1])
    assert last["phase"] == "outcome" and last["object_key"] == "pro"
    assert last["outcome"] == {
        "status": "failed",
        "http_status": 422,
        "error_code": "validation_errors",
    }
    assert verify_file(log_path).ok


def test_refusing_sink_stops_apply_before_lago_changes(
    client: LagoClient,
    log_path: Path,
    loki: FakeLoki,
) -> None:
    loki.statuses = [503] * 10
    plan = plan_for(client)
    refusing = LokiSink(loki.url, {"job": "lagoform"}, attempts=2, sleep=lambda s: None)
    trail = AuditTrail(ctx(plan), [JsonlFileSink(log_path), refusing])
    with trail, pytest.raises(ApplyFailed) as caught:
        apply_plan(plan, client, audit=trail)
    assert isinstance(caught.value.__cause__, AuditError)
    assert caught.value.report.applied == []
    live = fetch_live(client, None)
    assert live.objects.get("billable_metric", {}) == {}  # nothing reached Lago
    assert live.objects.get("plan", {}) == {}
    phases = [json.loads(x)["outcome"] for x in log_path.read_text().splitlines()]
    assert phases == [None, {"status": "not_sent", "http_status": None, "error_code": None}]
