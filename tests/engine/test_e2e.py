"""End to end over real HTTP (`lagoform sandbox serve`): apply, edit, drift, locks, faults.

Every test starts from an empty sandbox server and a fresh copy of the example project.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lagoform.engine.apply import ApplyFailed, ApplyStep, apply_plan
from lagoform.engine.hooks import MemoryAudit
from lagoform.errors import BlockedChangeError, StalePlanError
from lagoform.lago import RetryPolicy
from tests.conftest import SandboxServer
from tests.engine.e2e_helpers import (
    apply,
    changes_of,
    charge_ids,
    client_for,
    edit,
    example_project,
    lago,
    make_plan,
)

PRO_PLANS = ("plan:pro_monthly", "plan:pro_annual")  # pro_annual extends pro_monthly


@pytest.fixture
def applied(tmp_path: Path, sandbox_server: SandboxServer) -> Path:
    """The example project, applied to the empty sandbox server."""
    root = example_project(tmp_path)
    with client_for(sandbox_server) as client:
        report = apply(root, client)
        assert len(report.applied) == 18
        assert not make_plan(root, client).has_changes
    return root


def test_apply_example_to_empty_sandbox_then_plan_is_empty(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    root = example_project(tmp_path)
    audit = MemoryAudit()
    with client_for(sandbox_server) as client:
        first = make_plan(root, client)
        assert first.counts()["create"] == 18
        report = apply_plan(first, client, audit=audit)
        assert report.ok and len(report.applied) == 18
        again = make_plan(root, client)
    assert not again.has_changes
    assert again.counts()["no-op"] == 18
    # every write had an intent and a matching successful outcome
    intents = [r for r in audit.records if r["phase"] == "intent"]
    outcomes = {r["id"]: r for r in audit.records if r["phase"] == "outcome"}
    assert len(intents) >= 18 and all(outcomes[i["id"]]["ok"] for i in intents)
    globex = lago(sandbox_server, "GET", "/subscriptions/globex-main")["subscription"]
    assert globex["plan"]["parent_id"] is not None  # the overrides made a child plan
    assert globex["plan"]["amount_cents"] == 450000


EDITS: list[tuple[str, str, str, tuple[str, ...], dict[str, Any]]] = [
    (
        "price",
        "properties: {amount: 0.10}",
        "properties: {amount: 0.12}",
        PRO_PLANS,
        {"path": ("charges", "storage", "properties", "amount"), "old": "0.1", "new": "0.12"},
    ),
    (
        "tier",
        "- {per_unit: 0.04}",
        "- {per_unit: 0.05}",
        PRO_PLANS,
        {
            "path": ("charges", "images", "properties", "graduated_ranges", "1", "per_unit_amount"),
            "old": "0.04",
            "new": "0.05",
        },
    ),
    (
        "filter price",
        "- {per_unit: 0.00004}",
        "- {per_unit: 0.00005}",
        PRO_PLANS,
        {
            "path": ("charges", "tokens", "filters", "modality=audio;type=input", "properties",
                     "graduated_ranges", "1", "per_unit_amount"),
            "old": "0.00004",
            "new": "0.00005",
        },
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "old", "new", "refs", "expected"), EDITS, ids=[e[0] for e in EDITS]
)
def test_price_edits_plan_exactly_and_apply_keeps_charge_ids(
    applied: Path,
    sandbox_server: SandboxServer,
    name: str,
    old: str,
    new: str,
    refs: tuple[str, ...],
    expected: dict[str, Any],
) -> None:
    before = {ref: charge_ids(sandbox_server, ref.split(":")[1]) for ref in refs}
    edit(applied, "catalog/plans.yaml", old, new)
    with client_for(sandbox_server) as client:
        plan = make_plan(applied, client)
        assert changes_of(plan) == {
            ref: [(expected["path"], expected["old"], expected["new"])] for ref in refs
        }
        assert all(c.action == "update" for c in plan.pending())
        apply_plan(plan, client, audit=MemoryAudit())
        assert not make_plan(applied, client).has_changes
    after = {ref: charge_ids(sandbox_server, ref.split(":")[1]) for ref in refs}
    assert after == before  # updated in place: no charge deleted and recreated


def test_add_and_remove_a_charge(applied: Path, sandbox_server: SandboxServer) -> None:
    before = charge_ids(sandbox_server, "enterprise")
    edit(
        applied,
        "catalog/plans.yaml",
        "        min_amount: 100.00                        # at least $100 of voice per period\n"
        "        properties: {amount: 0.012}\n",
        "        min_amount: 100.00\n"
        "        properties: {amount: 0.012}\n"
        "      - code: api_calls\n"
        "        metric: api_calls\n"
        "        properties: {amount: 0.0001}\n",
    )
    edit(
        applied,
        "catalog/plans.yaml",
        "      - code: storage\n        metric: storage_gb\n        model: standard\n"
        "        properties: {amount: 0.08}\n",
        "",
    )
    with client_for(sandbox_server) as client:
        plan = make_plan(applied, client)
        change, sub = plan.pending()
        assert change.ref == "plan:enterprise"
        assert [(c.path, c.old is None, c.new is None) for c in change.changes] == [
            (("charges", "api_calls"), True, False),
            (("charges", "storage"), False, True),
        ]
        assert change.changes[0].new["properties"] == {"amount": "0.0001"}
        # globex-main is on its own copy of enterprise: without cascade_updates Lago would leave
        # it without api_calls and still billing storage, and overrides cannot fix either
        assert (sub.ref, sub.action) == ("subscription:globex-main", "blocked")
        assert [b.path for b in sub.blocked] == [
            ("overrides", "charges", "api_calls"),
            ("overrides", "charges", "storage"),
        ]
        assert all("cascade_updates: true" in b.way_out for b in sub.blocked)
        edit(applied, "catalog/plans.yaml", "  - code: enterprise\n",
             "  - code: enterprise\n    cascade_updates: true\n")  # fmt: skip
        plan = make_plan(applied, client)
        (change,) = plan.pending()  # the copy follows through Lago's cascade: nothing to do
        assert change.ref == "plan:enterprise" and change.cascade_updates
        apply_plan(plan, client, audit=MemoryAudit())
        assert not make_plan(applied, client).has_changes
    after = charge_ids(sandbox_server, "enterprise")
    assert set(after) == {"tokens", "images", "voice", "api_calls"}
    assert {k: after[k] for k in ("tokens", "images", "voice")} == {
        k: before[k] for k in ("tokens", "images", "voice")
    }
    globex = lago(sandbox_server, "GET", "/subscriptions/globex-main")["subscription"]["plan"]
    assert sorted(c["code"] for c in globex["charges"]) == sorted(after)


def test_edit_made_in_lago_shows_as_drift(applied: Path, sandbox_server: SandboxServer) -> None:
    lago(sandbox_server, "PUT", "/taxes/vat_standard", {"tax": {"rate": "21"}})
    with client_for(sandbox_server) as client:
        plan = make_plan(applied, client)
        assert changes_of(plan) == {"tax:vat_standard": [(("rate",), 21, 20)]}
        apply_plan(plan, client, audit=MemoryAudit())
        assert not make_plan(applied, client).has_changes
    assert lago(sandbox_server, "GET", "/taxes/vat_standard")["tax"]["rate"] in (20, 20.0, "20")


def test_locked_change_is_blocked_and_apply_refuses(
    applied: Path, sandbox_server: SandboxServer
) -> None:
    # pro_monthly has a subscription (acme-labs-pro): Lago would ignore a new interval
    edit(applied, "catalog/plans.yaml", "    interval: monthly\n    amount: 99.00 USD",
         "    interval: quarterly\n    amount: 99.00 USD")  # fmt: skip
    with client_for(sandbox_server) as client:
        plan = make_plan(applied, client)
        blocked = {c.ref: c for c in plan.pending() if c.action == "blocked"}
        assert set(blocked) == {"plan:pro_monthly"}
        assert [b.path for b in blocked["plan:pro_monthly"].blocked] == [("interval",)]
        audit = MemoryAudit()
        with pytest.raises(BlockedChangeError, match="new plan code"):
            apply_plan(plan, client, audit=audit)
        assert audit.records == []  # refused before any write
    live = lago(sandbox_server, "GET", "/plans/pro_monthly")["plan"]
    assert live["interval"] == "monthly"


def test_stale_saved_plan_is_refused(applied: Path, sandbox_server: SandboxServer) -> None:
    edit(applied, "catalog/plans.yaml", "properties: {amount: 0.10}", "properties: {amount: 0.12}")
    with client_for(sandbox_server) as client:
        saved = make_plan(applied, client).dumps()
        lago(
            sandbox_server,
            "PUT",
            "/plans/pro_monthly",
            {"plan": {"name": "Pro (edited in UI)", "interval": "monthly"}},
        )
        from lagoform.engine.plan import Plan

        audit = MemoryAudit()
        with pytest.raises(StalePlanError) as caught:
            apply_plan(Plan.loads(saved), client, audit=audit)
        assert caught.value.moved == ["plan:pro_monthly changed in Lago"]
        assert audit.records == []


def test_fault_mid_apply_then_rerun_converges(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    root = example_project(tmp_path)
    with client_for(
        sandbox_server, RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)
    ) as client:
        plan = make_plan(root, client)

        def outage_at_first_plan(step: ApplyStep) -> None:
            if step.status == "start" and step.change.kind == "plan":
                sandbox_server.control(outage=True)

        with pytest.raises(ApplyFailed) as caught:
            apply_plan(plan, client, audit=MemoryAudit(), progress=outage_at_first_plan)
        report = caught.value.report
        assert len(report.applied) == 8  # tax, six metrics, the add-on
        assert report.failed is not None and report.failed[0] == "create plan:enterprise"
        assert "HTTP 503" in report.failed[1] or "unavailable" in report.failed[1].lower()
        assert len(report.not_attempted) == 9
        sandbox_server.control(outage=False)
        rest = make_plan(root, client)
        assert rest.counts()["create"] == 10 and rest.counts()["no-op"] == 8
        apply_plan(rest, client, audit=MemoryAudit())
        assert not make_plan(root, client).has_changes


def test_lost_responses_still_converge_without_duplicates(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    root = example_project(tmp_path)
    # a third of the responses are lost *after* Lago applied the request
    sandbox_server.control(fault_rate=0.3, fault_seed=7, fault_phase="after")
    retry = RetryPolicy(max_attempts=8, base_delay=0.005, max_delay=0.02)
    with client_for(sandbox_server, retry) as client:
        for _ in range(3):  # a re-run finishes whatever a run could not
            try:
                apply(root, client)
                break
            except ApplyFailed:
                continue
        sandbox_server.control(fault_rate=0.0)
        assert not make_plan(root, client).has_changes
    plans = lago(sandbox_server, "GET", "/plans")["plans"]
    assert sorted(p["code"] for p in plans) == ["enterprise", "free", "pro_annual", "pro_monthly"]
