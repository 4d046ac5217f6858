"""The override records ``lagoform plan`` shows reviewers before merge (pure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lagoform.audit.chain import read_records
from lagoform.audit.preview import preview_records
from lagoform.engine.plan import Plan
from tests.audit.helpers import change, context, facts, file_trail


def make_plan(*changes: Any) -> Plan:
    return Plan(
        plan_id="plan-abc",
        catalog_fingerprint="c",
        live_fingerprints={},
        changes=tuple(changes),
    )


# The override calls apply sends for the facts' subscription (the engine's payloads decide them;
# tests/engine/test_payloads.py checks that): plan-level first, then one call per charge.
CALLS: list[dict[str, Any]] = [
    {"method": "PUT", "path": "/subscriptions/globex-main",
     "body": {"subscription": {"plan_overrides": {"amount_cents": 4500}}}},
    {"method": "PUT", "path": "/subscriptions/globex-main/charges/images",
     "body": {"charge": {"properties": {"amount": "0.03"}}}},
    {"method": "PUT", "path": "/subscriptions/globex-main/charges/tokens",
     "body": {"charge": {"properties": {"amount": "0.0000015"}, "filters": [
         {"values": {"type": ["input"]}, "properties": {"amount": "0.0000008"}}]}}},
]  # fmt: skip


def calls(change: Any, facts: Any) -> list[dict[str, Any]]:
    return CALLS


def test_preview_lists_intent_records_with_the_finance_section() -> None:
    sub = change("subscription", "globex-main", "update")
    other = change("subscription", "initech-main", "update")  # no overrides: no records
    plan = make_plan(change("plan", "pro"), sub, other)
    records = preview_records(plan, {"globex-main": facts()}, context(), calls)
    assert [r["path"] for r in records] == [
        "/subscriptions/globex-main",
        "/subscriptions/globex-main/charges/images",
        "/subscriptions/globex-main/charges/tokens",
    ]
    tokens = records[2]
    assert tokens["phase"] == "intent" and tokens["plan_id"] == "plan-abc"
    assert tokens["override"]["reason"] == "Negotiated token rates, MSA §4.2"
    assert tokens["override"]["approval"] == "MSA-2026-014"
    assert [(e["filter_values"], e["field"], e["base_value"], e["override_value"])
            for e in tokens["override"]["charges_diff"]] == [
        (None, "properties.amount", "0.000002", "0.0000015"),
        ({"type": ["input"]}, "properties.amount", "0.000001", "0.0000008"),
    ]  # fmt: skip
    assert "record_id" not in tokens and "hash" not in tokens


def test_preview_without_context_marks_apply_time_fields() -> None:
    plan = make_plan(change("subscription", "globex-main", "create"))
    [first, *_] = preview_records(plan, {"globex-main": facts()}, None, calls)
    assert first["actor"] == "(at apply time)" and first["plan_id"] == "plan-abc"


def test_deletes_and_no_ops_preview_nothing() -> None:
    plan = make_plan(
        change("subscription", "globex-main", "delete"), change("subscription", "x", "no-op")
    )
    assert preview_records(plan, {"globex-main": facts(), "x": facts()}, None, calls) == []


def test_preview_matches_what_the_trail_writes(log_path: Path) -> None:
    sub = change("subscription", "globex-main", "update")
    previewed = preview_records(make_plan(sub), {"globex-main": facts()}, context(), calls)
    with file_trail(log_path, overrides={"globex-main": facts()}) as trail:
        for request in CALLS:
            trail.outcome(trail.intent(sub, request), True, 200, None, None)
    written = [r for _, r in read_records(log_path)]
    intents = [r.model_dump(mode="json") for r in written if r.phase == "intent"]
    apply_only = {"record_id", "time", "prev_hash", "hash", "note"}  # note: settlements only
    assert [{k: v for k, v in r.items() if k not in apply_only} for r in intents] == previewed
