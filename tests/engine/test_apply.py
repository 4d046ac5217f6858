"""Apply against the in-process sandbox: read-back, audit gating, payload rules, the lock file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from lagoform.engine.apply import ApplyFailed, ApplyStep, apply_plan, check_applicable
from lagoform.engine.hooks import MemoryAudit, NullAudit
from lagoform.engine.live import fetch_live
from lagoform.engine.lockfile import apply_lock, lock_path
from lagoform.engine.payloads import ApplyContext, steps_for
from lagoform.engine.plan import ObjectChange, build_plan, hints_for
from lagoform.errors import AuditError, PlanError
from lagoform.lago import LagoClient
from lagoform.sandbox import Sandbox
from tests.engine.factories import charge, desired, live, metric, plan

CANARY = "canary-api-key-5f1e"
TOKENS = metric("tokens", filters=[{"key": "type", "values": ["input", "output"]}])


def _client(sandbox: Sandbox) -> LagoClient:
    return LagoClient("http://sandbox.invalid", CANARY, transport=sandbox.transport(), pacing=None)


def _apply(sandbox: Sandbox, **bodies: Any) -> Any:
    d = desired(**bodies)
    client = _client(sandbox)
    p = build_plan(d, fetch_live(client, hints_for(d)))
    return p, apply_plan(p, client, audit=NullAudit()), client


def test_read_back_catches_a_change_lago_ignored(sandbox: Sandbox) -> None:
    # Without Lago's premium licence min_amount_cents is silently dropped (API_NOTES §2.5)
    sandbox.set_premium(False)
    pro = plan("pro", [charge("tokens", "tokens", "1", min_amount_cents=500)])
    with pytest.raises(ApplyFailed) as caught:
        _apply(sandbox, billable_metric=[TOKENS], plan=[pro])
    report = caught.value.report
    assert report.applied == ["create billable_metric:tokens"]
    assert report.failed is not None and report.failed[0] == "create plan:pro"
    assert "did not take" in report.failed[1] and "min_amount_cents" in report.failed[1]


def test_audit_refusal_stops_before_any_write(sandbox: Sandbox) -> None:
    class Refusing(MemoryAudit):
        def intent(
            self, change: ObjectChange, request: dict[str, Any], record_id: str | None = None
        ) -> str:
            raise AuditError("disk full")

    d = desired(billable_metric=[TOKENS])
    client = _client(sandbox)
    p = build_plan(d, fetch_live(client, hints_for(d)))
    with pytest.raises(ApplyFailed, match="disk full"):
        apply_plan(p, client, audit=Refusing())
    assert client.list_billable_metrics() == []


def test_every_write_is_audited_before_and_after(sandbox: Sandbox) -> None:
    audit = MemoryAudit()
    d = desired(billable_metric=[TOKENS], plan=[plan("pro", [charge("tokens", "tokens")])])
    client = _client(sandbox)
    apply_plan(build_plan(d, fetch_live(client, hints_for(d))), client, audit=audit)
    phases = [
        (r["phase"], r.get("kind"), r.get("request", {}).get("method")) for r in audit.records
    ]
    assert phases == [
        ("intent", "billable_metric", "POST"),
        ("outcome", None, None),
        ("intent", "plan", "POST"),
        ("outcome", None, None),
    ]
    assert CANARY not in str(audit.records)


def test_plan_update_sends_every_charge_with_its_id_and_interval(sandbox: Sandbox) -> None:
    pro = plan("pro", [charge("a", "tokens", "1"), charge("b", "tokens", "2")])
    _, _, client = _apply(sandbox, billable_metric=[TOKENS], plan=[pro])
    ids = {c["code"]: c["lago_id"] for c in client.get_plan("pro")["charges"]}  # type: ignore[index]
    want = plan("pro", [charge("a", "tokens", "1.5"), charge("c", "tokens", "3")])
    d = desired(billable_metric=[TOKENS], plan=[want])
    lv = fetch_live(client, hints_for(d))
    change = next(c for c in build_plan(d, lv).changes if c.kind == "plan")
    ctx = ApplyContext(
        metric_ids={"tokens": lv.objects["billable_metric"]["tokens"].ids["lago_id"]},
        plan_ids={"pro": lv.objects["plan"]["pro"].ids},
    )
    (step,) = steps_for(change, ctx)
    assert (step.method, step.path) == ("PUT", "/plans/pro")
    body = step.body or {}
    assert body["interval"] == "monthly"
    sent = {c["code"]: c for c in body["charges"]}
    assert sent["a"]["id"] == ids["a"] and "id" not in sent["c"]
    assert "b" not in sent  # dropped from the list = deleted by Lago
    assert all("billable_metric_code" not in c and c["billable_metric_id"] for c in body["charges"])
    assert sent["a"]["properties"] == {"amount": "1.5"}


def test_check_applicable_refuses_blocked_and_unconfirmed() -> None:
    from tests.engine.factories import subscription

    pro = plan("pro")
    p = build_plan(
        desired(plan=[{**pro, "interval": "yearly"}]),
        live(plan=[pro], subscriptions=[subscription("s", "pro")]),
    )
    with pytest.raises(PlanError, match="silently ignore"):
        check_applicable(p)
    p2 = build_plan(
        desired(remove={"plans": ["pro"]}),
        live(plan=[pro], subscriptions=[subscription("s", "pro")]),
    )
    with pytest.raises(PlanError, match="--confirm-delete-plan pro"):
        check_applicable(p2)
    check_applicable(p2, ["pro"])


def test_rerun_after_success_is_a_no_op(sandbox: Sandbox) -> None:
    pro = plan("pro", [charge("tokens", "tokens")])
    _apply(sandbox, billable_metric=[TOKENS], plan=[pro])
    p, report, _ = _apply(sandbox, billable_metric=[TOKENS], plan=[pro])
    assert not p.has_changes and report.applied == []


def test_lock_file_excludes_a_second_apply(tmp_path: Path) -> None:
    with apply_lock(tmp_path, "production") as path:
        assert path == lock_path(tmp_path, "production") and path.exists()
        with (
            pytest.raises(PlanError, match="another lagoform apply to 'production'"),
            apply_lock(tmp_path, "production"),
        ):
            pass
        with apply_lock(tmp_path, "staging"):  # other environments are independent
            pass
    assert not path.exists()


def test_lock_left_by_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    path = lock_path(tmp_path, "sandbox")
    path.parent.mkdir(parents=True)
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)
    path.write_text(f"{dead} 2026-01-01T00:00:00Z\n")
    with apply_lock(tmp_path, "sandbox"):
        assert path.read_text().split()[0] == str(os.getpid())


def test_progress_reports_each_change_with_elapsed_time_and_an_eta(sandbox: Sandbox) -> None:
    plans = [plan(f"p{i}", [charge("tokens", "tokens")]) for i in range(4)]
    d = desired(billable_metric=[TOKENS], plan=plans)
    client = _client(sandbox)
    steps: list[ApplyStep] = []
    apply_plan(
        build_plan(d, fetch_live(client, hints_for(d))),
        client,
        audit=NullAudit(),
        progress=steps.append,
    )
    assert [(s.index, s.status) for s in steps] == [
        (i, status) for i in range(1, 6) for status in ("start", "done")
    ]
    assert {s.total for s in steps} == {5}
    assert steps[0].eta is None  # nothing done yet: no pace to go by
    assert all(s.eta is not None and s.eta >= 0 for s in steps[1:])
    assert steps[-1].eta == 0  # all done
    elapsed = [s.elapsed for s in steps]
    assert elapsed == sorted(elapsed) and elapsed[0] >= 0
