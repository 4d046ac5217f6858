"""The override records ``lagoform plan`` shows reviewers before merge (pure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lagoform.audit.chain import read_records
from lagoform.audit.preview import expected_override_requests, preview_records
from lagoform.engine.plan import Plan
from tests.audit.helpers import BASE_PLAN, change, context, facts, file_trail


def make_plan(*changes: Any) -> Plan:
    return Plan(
        plan_id="plan-abc",
        catalog_fingerprint="c",
        live_fingerprints={},
        changes=tuple(changes),
    )


def test_first_override_sends_plan_level_then_each_charge() -> None:
    requests = expected_override_requests(facts(effective=None))
    assert [(r["method"], r["path"]) for r in requests] == [
        ("PUT", "/subscriptions/globex-main"),
        ("PUT", "/subscriptions/globex-main/charges/images"),
        ("PUT", "/subscriptions/globex-main/charges/tokens"),
    ]
    assert requests[0]["body"] == {"subscription": {"plan_overrides": {"amount_cents": 4500}}}
    assert requests[1]["body"] == {"charge": {"properties": {"amount": "0.03"}}}


def test_already_negotiated_charges_are_not_sent_again() -> None:
    tokens, images = BASE_PLAN["charges"]
    effective = {
        **BASE_PLAN,
        "amount_cents": 4500,
        "charges": [tokens, {**images, "properties": {"amount": "0.030"}}],
    }
    requests = expected_override_requests(facts(effective=effective))
    assert [r["path"] for r in requests] == ["/subscriptions/globex-main/charges/tokens"]


def test_preview_lists_intent_records_with_the_finance_section() -> None:
    sub = change("subscription", "globex-main", "update")
    other = change("subscription", "initech-main", "update")  # no overrides: no records
    plan = make_plan(change("plan", "pro"), sub, other)
    records = preview_records(plan, {"globex-main": facts()}, context())
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
    [first, *_] = preview_records(plan, {"globex-main": facts()})
    assert first["actor"] == "(at apply time)" and first["plan_id"] == "plan-abc"


def test_deletes_and_no_ops_preview_nothing() -> None:
    plan = make_plan(
        change("subscription", "globex-main", "delete"), change("subscription", "x", "no-op")
    )
    assert preview_records(plan, {"globex-main": facts(), "x": facts()}) == []


def test_preview_matches_what_the_trail_writes(log_path: Path) -> None:
    sub = change("subscription", "globex-main", "update")
    previewed = preview_records(make_plan(sub), {"globex-main": facts()}, context())
    with file_trail(log_path, overrides={"globex-main": facts()}) as trail:
        for request in expected_override_requests(facts()):
            trail.outcome(trail.intent(sub, request), True, 200, None, None)
    written = [r for _, r in read_records(log_path)]
    intents = [r.model_dump(mode="json") for r in written if r.phase == "intent"]
    apply_only = {"record_id", "time", "prev_hash", "hash", "note"}  # note: settlements only
    assert [{k: v for k, v in r.items() if k not in apply_only} for r in intents] == previewed


def test_catalog_shaped_overrides_with_a_charge_list() -> None:
    # lagoform.catalog.lago_form.plan_overrides_body: charges as a list carrying their code
    shaped = facts()
    overrides = {
        "amount_cents": 4500,
        "amount_currency": "USD",
        "charges": [
            {"code": "tokens", "properties": {"amount": "0.0000015"}},
            {"code": "images", "properties": {"amount": "0.04"}},  # same as base: no call
        ],
    }
    shaped = type(shaped)(**{**shaped.__dict__, "overrides": overrides})
    requests = expected_override_requests(shaped)
    assert [r["path"] for r in requests] == [
        "/subscriptions/globex-main",
        "/subscriptions/globex-main/charges/tokens",
    ]
    assert requests[1]["body"] == {"charge": {"properties": {"amount": "0.0000015"}}}
