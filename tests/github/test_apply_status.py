"""What an apply did, per planned change, read from the audit records it appended."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lagoform.audit.record import Record
from lagoform.engine.plan import ObjectChange, Plan
from lagoform.github.apply import change_statuses, read_records, status_table

PLAN_ID = "plan-42"


def _record(n: int, kind: str, key: str, phase: str, status: str | None = None) -> Record:
    data: dict[str, Any] = {
        "schema_version": 1,
        "record_id": f"r{n}",
        "time": "2026-01-01T00:00:00Z",
        "phase": phase,
        "intent_id": None if phase == "intent" else f"r{n - 1}",
        "environment": "staging",
        "lago_host": "http://127.0.0.1",
        "actor": "finance-lead",
        "actor_source": "flag",
        "git_commit": None,
        "pull_request": None,
        "plan_id": PLAN_ID,
        "action": "update",
        "method": "PUT",
        "path": f"/{kind}s/{key}",
        "object_kind": kind,
        "object_key": key,
        "before_digest": None,
        "after_digest": None,
        "request_digest": None,
        "response_digest": None,
        "outcome": {"status": status} if status else None,
        "override": None,
        "prev_hash": "0" * 64,
        "hash": "1" * 64,
    }
    return Record.model_validate(data)


def _plan() -> Plan:
    changes = [
        ObjectChange(kind="billable_metric", key="tokens", action="create"),
        ObjectChange(kind="plan", key="pro", action="update"),
        ObjectChange(kind="plan", key="team", action="update"),
        ObjectChange(kind="customer", key="globex", action="update"),
        ObjectChange(kind="subscription", key="globex-main", action="update"),
        ObjectChange(kind="coupon", key="launch", action="blocked"),
        ObjectChange(kind="tax", key="vat", action="no-op"),
    ]
    return Plan(
        plan_id=PLAN_ID, catalog_fingerprint="c", live_fingerprints={}, changes=tuple(changes)
    )


def test_statuses_from_intents_and_outcomes() -> None:
    records = [
        _record(1, "billable_metric", "tokens", "intent"),
        _record(2, "billable_metric", "tokens", "outcome", "ok"),
        # a plan update is two calls: both must land
        _record(3, "plan", "pro", "intent"),
        _record(4, "plan", "pro", "outcome", "ok"),
        _record(5, "plan", "pro", "intent"),
        _record(6, "plan", "pro", "outcome", "failed"),
        _record(7, "plan", "team", "intent"),
        _record(8, "plan", "team", "outcome", "not_sent"),
        _record(9, "customer", "globex", "intent"),  # crashed: no outcome
    ]
    statuses = change_statuses(_plan(), records, apply_ok=False)

    assert [(s.change.ref, s.status) for s in statuses] == [
        ("billable_metric:tokens", "applied"),
        ("plan:pro", "failed"),
        ("plan:team", "not applied"),
        ("customer:globex", "unknown"),
        ("subscription:globex-main", "not applied"),
        ("coupon:launch", "blocked"),
    ]
    table = status_table(statuses)
    assert "| ❔ | `customer:globex` | update | unknown |" in table


@pytest.mark.parametrize(("apply_ok", "expected"), [(True, "applied"), (False, "not applied")])
def test_without_records_the_exit_code_decides(apply_ok: bool, expected: str) -> None:
    statuses = change_statuses(_plan(), [], apply_ok=apply_ok)
    assert statuses[0].status == expected


def test_records_of_another_plan_are_ignored() -> None:
    other = _record(1, "billable_metric", "tokens", "intent").model_copy(
        update={"plan_id": "older-plan"}
    )
    statuses = change_statuses(_plan(), [other], apply_ok=False)
    assert statuses[0].status == "not applied"


def test_read_records_from_an_offset_skips_a_torn_line(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    old = _record(1, "plan", "pro", "intent").model_dump_json()
    new = _record(2, "plan", "pro", "outcome", "ok").model_dump_json()
    log.write_text(old + "\n")
    offset = log.stat().st_size
    with log.open("a") as out:
        out.write(new + "\n" + '{"schema_version": 1, "rec')
    assert [r.record_id for r in read_records(log, offset)] == ["r2"]
    assert read_records(tmp_path / "missing.jsonl", 0) == []


def test_an_unknown_outcome_is_shown_as_unknown_and_settlements_are_ignored() -> None:
    records = [
        _record(1, "billable_metric", "tokens", "intent"),
        _record(2, "billable_metric", "tokens", "outcome", "unknown"),  # the answer was lost
        _record(3, "plan", "pro", "settlement", "superseded"),  # about an earlier run
        _record(4, "plan", "pro", "intent"),
        _record(5, "plan", "pro", "outcome", "ok"),
    ]
    statuses = {s.change.ref: s.status for s in change_statuses(_plan(), records, apply_ok=False)}
    assert statuses["billable_metric:tokens"] == "unknown"
    assert statuses["plan:pro"] == "applied"
