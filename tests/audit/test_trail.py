"""The trail as apply uses it: every record complete, intent before the call, fail closed."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lagoform.audit.chain import pending_intents, read_records, verify_file
from lagoform.audit.record import SCHEMA_VERSION, parse_record
from lagoform.audit.sinks import JsonlFileSink, StdoutSink
from lagoform.audit.trail import AuditTrail
from lagoform.errors import AuditError, LagoValidationError
from tests.audit.helpers import CANARY, Clock, change, context, facts, file_trail

REQUIRED = (
    "schema_version", "record_id", "time", "phase", "environment", "lago_host", "actor",
    "plan_id", "action", "object_kind", "object_key", "prev_hash", "hash",
)  # fmt: skip


class RefusingSink:
    """A sink that refuses every record (``after`` records first), as a dead log service would."""

    def __init__(self, after: int = 0, phases: tuple[str, ...] = ("intent", "outcome")) -> None:
        self.name = "refusing"
        self.after = after
        self.phases = phases
        self.got: list[Mapping[str, Any]] = []

    def write(self, record: Mapping[str, Any], line: str) -> None:
        if record["phase"] in self.phases and len(self.got) >= self.after:
            raise AuditError("audit sink refusing: disk full")
        self.got.append(record)

    def close(self) -> None:
        return None


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def check_common(rec: Mapping[str, Any]) -> None:
    for name in REQUIRED:
        assert rec[name] not in (None, ""), name
    assert rec["schema_version"] == SCHEMA_VERSION
    assert rec["time"].endswith("Z")
    moment = datetime.fromisoformat(rec["time"].replace("Z", "+00:00"))
    assert moment.utcoffset() == timedelta(0)
    assert rec["environment"] == "staging"
    assert rec["lago_host"] == "https://lago.staging.example"
    assert rec["actor"] == "octocat"
    assert rec["git_commit"] == "0123456789abcdef0123456789abcdef01234567"
    assert rec["pull_request"] == 42
    assert rec["plan_id"] == "plan-abc"
    parse_record(rec)  # the schema forbids unknown fields and requires the rest


def test_every_mutation_kind_writes_complete_intent_and_outcome(log_path: Path) -> None:
    calls: list[str] = []
    with file_trail(log_path) as trail:
        create = change("billable_metric", "tokens", "create", {("code",): (None, "tokens")})
        update = change("plan", "pro", "update")
        delete = change("coupon", "old", "delete", {("code",): ("old", None)})

        def created() -> dict[str, Any]:
            calls.append("c")
            return {"billable_metric": {"code": "tokens"}}

        def updated() -> dict[str, Any]:
            calls.append("u")
            return {"plan": {}}

        trail.guarded(
            create, {"method": "POST", "path": "/billable_metrics", "body": {"x": 1}}, created
        )
        trail.guarded(update, {"method": "PUT", "path": "/plans/pro", "body": {"y": 2}}, updated)

        def rejected() -> dict[str, Any]:
            calls.append("d")
            raise LagoValidationError("bad", status=422, code="validation_errors")

        with pytest.raises(LagoValidationError):
            trail.guarded(
                delete, {"method": "DELETE", "path": "/coupons/old", "body": None}, rejected
            )
    assert calls == ["c", "u", "d"]
    recs = lines(log_path)
    assert [r["phase"] for r in recs] == ["intent", "outcome"] * 3
    for rec in recs:
        check_common(rec)
    intents, outcomes = recs[0::2], recs[1::2]
    for intent, out in zip(intents, outcomes, strict=True):
        assert intent["intent_id"] is None and intent["outcome"] is None
        assert out["intent_id"] == intent["record_id"]
        for name in ("action", "object_kind", "object_key", "method", "path", "request_digest"):
            assert out[name] == intent[name]
        assert intent["request_digest"] is None or intent["request_digest"].startswith("sha256:")
    assert [(r["action"], r["object_kind"], r["object_key"]) for r in intents] == [
        ("create", "billable_metric", "tokens"),
        ("update", "plan", "pro"),
        ("delete", "coupon", "old"),
    ]
    # digests: no "before" for a create, no "after" for a delete
    assert intents[0]["before_digest"] is None and intents[0]["after_digest"].startswith("sha256:")
    assert intents[1]["before_digest"] != intents[1]["after_digest"]
    assert intents[2]["after_digest"] is None and intents[2]["before_digest"].startswith("sha256:")
    assert intents[2]["request_digest"] is None
    assert outcomes[0]["outcome"] == {"status": "ok", "http_status": 200, "error_code": None}
    assert outcomes[0]["response_digest"].startswith("sha256:")
    assert outcomes[2]["outcome"] == {
        "status": "failed", "http_status": 422, "error_code": "validation_errors"
    }  # fmt: skip
    assert verify_file(log_path).ok
    assert pending_intents(log_path) == []


def test_override_records_carry_the_finance_section(log_path: Path) -> None:
    effective = {
        **facts().base_plan,
        "parent_id": "p1",
        "charges": [
            {**facts().base_plan["charges"][0], "properties": {"amount": "0.0000018"}},
            facts().base_plan["charges"][1],
        ],
    }
    sub = change(
        "subscription",
        "globex-main",
        "update",
        {("overrides", "charges", "tokens"): ({"a": 1}, {"a": 2})},
    )
    with file_trail(log_path, overrides={"globex-main": facts(effective)}) as trail:
        body = {"charge": {"properties": {"amount": "0.0000015"}}}
        rid = trail.intent(
            sub,
            {"method": "PUT", "path": "/subscriptions/globex-main/charges/tokens", "body": body},
        )
        trail.outcome(rid, True, 200, None, {"charge": {"code": "tokens"}})
        plan_level = {"subscription": {"plan_overrides": {"amount_cents": 4500}}}
        rid = trail.intent(
            sub, {"method": "PUT", "path": "/subscriptions/globex-main", "body": plan_level}
        )
        trail.outcome(rid, False, None, None, None)  # Lago unreachable
    recs = lines(log_path)
    for rec in recs:
        check_common(rec)
        section = rec["override"]
        assert section["tenant_id"] == "globex"
        assert section["subscription_external_id"] == "globex-main"
        assert section["base_plan_code"] == "enterprise"
        assert section["reason"] == "Negotiated token rates, MSA §4.2"
        assert section["approval"] == "MSA-2026-014"
        assert section["currency"] == "USD"  # the base plan's: what the amounts are in
    charge_call, plan_call = recs[0]["override"], recs[2]["override"]
    assert charge_call["charges_diff"] == [
        {
            "charge_code": "tokens",
            "filter_values": None,
            "field": "properties.amount",
            "base_value": "0.000002",
            "override_value": "0.0000015",
            "change": "changed",
            "per": None,  # these facts say no unit: prices per single unit
        }
    ]
    assert charge_call["previous_overrides"] == [
        {
            "charge_code": "tokens",
            "filter_values": None,
            "field": "properties.amount",
            "base_value": "0.000002",
            "override_value": "0.0000018",
            "change": "changed",
            "per": None,  # these facts say no unit: prices per single unit
        }
    ]
    assert plan_call["charges_diff"] == [
        {
            "charge_code": None,
            "filter_values": None,
            "field": "amount_cents",
            "base_value": 10000,
            "override_value": 4500,
            "change": "changed",
            "per": None,  # these facts say no unit: prices per single unit
        }
    ]
    assert recs[3]["outcome"] == {"status": "failed", "http_status": None, "error_code": None}


def test_other_kinds_carry_no_override_section(log_path: Path) -> None:
    with file_trail(log_path, overrides={"globex-main": facts()}) as trail:
        rid = trail.intent(change("customer", "globex-main"), {"method": "POST", "path": "/c"})
        trail.outcome(rid, True, 200, None, None)
    assert [r["override"] for r in lines(log_path)] == [None, None]


def test_refusing_sink_stops_before_the_mutation(log_path: Path) -> None:
    mutations: list[str] = []
    refusing = RefusingSink(after=2)  # takes the first intent + outcome, then refuses
    with file_trail(log_path, refusing) as trail:
        for key in ("a", "b", "c"):
            try:
                trail.guarded(
                    change("plan", key),
                    {"method": "PUT", "path": f"/plans/{key}"},
                    functools.partial(mutations.append, key),
                )
            except AuditError as err:
                assert "nothing was sent to Lago for update plan 'b'" in str(err)
                break
    assert mutations == ["a"]
    recs = lines(log_path)
    # the refused intent is closed as not_sent in the file, so it does not read as a crash
    assert [(r["object_key"], r["phase"]) for r in recs] == [
        ("a", "intent"), ("a", "outcome"), ("b", "intent"), ("b", "outcome"),
    ]  # fmt: skip
    assert recs[3]["outcome"]["status"] == "not_sent"
    assert pending_intents(log_path) == []
    assert verify_file(log_path).ok


def test_unwritable_log_file_stops_before_the_first_mutation(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    mutation_called = False

    def mutate() -> None:
        nonlocal mutation_called
        mutation_called = True

    trail = AuditTrail(context(), [JsonlFileSink(blocker / "audit.jsonl")], clock=Clock())
    with pytest.raises(AuditError, match="cannot open"):
        trail.guarded(change(), {"method": "PUT", "path": "/plans/pro"}, mutate)
    assert not mutation_called


def test_refused_outcome_is_written_elsewhere_then_stops(log_path: Path) -> None:
    refusing = RefusingSink(phases=("outcome",))
    with file_trail(log_path, refusing) as trail:
        rid = trail.intent(change(), {"method": "PUT", "path": "/plans/pro"})
        with pytest.raises(AuditError, match="already sent to Lago"):
            trail.outcome(rid, True, 200, None, None)
    assert [r["phase"] for r in lines(log_path)] == ["intent", "outcome"]
    assert [r["phase"] for r in refusing.got] == ["intent"]


def test_stdout_sink_gets_the_same_lines(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with file_trail(log_path, StdoutSink()) as trail:
        rid = trail.intent(change(), {"method": "PUT", "path": "/plans/pro"})
        trail.outcome(rid, True, 200, None, None)
    assert capsys.readouterr().out.splitlines() == log_path.read_text().splitlines()


def test_stdout_only_trail_chains_in_memory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    trail = AuditTrail(context(), [StdoutSink()], clock=Clock())
    for key in ("a", "b"):
        trail.outcome(
            trail.intent(change("plan", key), {"method": "PUT", "path": "/x"}),
            True,
            200,
            None,
            None,
        )
    out = tmp_path / "stdout.jsonl"
    out.write_text(capsys.readouterr().out)
    report = verify_file(out)
    assert report.ok and report.records == 4


def test_crash_between_intent_and_outcome_leaves_a_pending_intent(log_path: Path) -> None:
    # A real crash: a child process writes the intent, then dies before the outcome.
    script = f"""
import os, sys
sys.path.insert(0, {str(Path(__file__).parents[2])!r})
from pathlib import Path
from tests.audit.helpers import change, file_trail
trail = file_trail(Path({str(log_path)!r}))
trail.intent(change("plan", "crashed"), {{"method": "PUT", "path": "/plans/crashed"}})
os._exit(9)
"""
    done = subprocess.run([sys.executable, "-c", script], timeout=60, check=False)
    assert done.returncode == 9
    with file_trail(log_path) as trail:
        rid = trail.intent(change("plan", "after"), {"method": "PUT", "path": "/plans/after"})
        trail.outcome(rid, True, 200, None, None)
        pending = trail.pending()
    assert [(p.object_key, p.phase) for p in pending] == [("crashed", "intent")]
    assert pending == pending_intents(log_path)
    assert verify_file(log_path).ok  # the chain continues across runs


def test_two_trails_on_one_log_keep_one_chain(log_path: Path) -> None:
    first, second = file_trail(log_path), file_trail(log_path)
    for i in range(3):
        for trail in (first, second):
            rid = trail.intent(change("plan", f"p{i}"), {"method": "PUT", "path": "/plans"})
            trail.outcome(rid, True, 200, None, None)
    first.close()
    second.close()
    report = verify_file(log_path)
    assert report.ok and report.records == 12
    assert [n for n, _ in read_records(log_path)] == list(range(1, 13))


def test_canary_secret_never_reaches_a_record(
    log_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LAGO_API_KEY", CANARY)
    # every place a careless caller could put the key: path, body, response, reason
    leaky = facts()
    leaky = type(leaky)(**{**leaky.__dict__, "reason": f"approved with key {CANARY}"})
    with file_trail(
        log_path, StdoutSink(), secrets=[CANARY], overrides={"globex-main": leaky}
    ) as trail:
        rid = trail.intent(
            change("subscription", "globex-main", changes={("name",): (CANARY, "x")}),
            {
                "method": "PUT",
                "path": f"/subscriptions/globex-main?k={CANARY}",
                "body": {"api_key": CANARY},
            },
        )
        trail.outcome(rid, False, 401, "unauthorized", {"echo": CANARY})
    written = log_path.read_text()
    assert CANARY not in written
    assert CANARY not in capsys.readouterr().out
    assert "[redacted]" in written
    assert verify_file(log_path).ok


def test_no_sink_or_two_log_files_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="no audit sink"):
        AuditTrail(context(), [])
    files = [JsonlFileSink(tmp_path / "a.jsonl"), JsonlFileSink(tmp_path / "b.jsonl")]
    with pytest.raises(AuditError, match="at most one audit log file"):
        AuditTrail(context(), files)
