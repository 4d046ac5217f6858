"""End to end over real HTTP, premium on: a tenant changing plan (Lago's upgrade / downgrade
path, API_NOTES §5.2), with and without negotiated prices, and a scheduled downgrade undone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lagoform.engine.apply import apply_plan
from lagoform.engine.hooks import MemoryAudit
from tests.conftest import SandboxServer
from tests.engine.e2e_helpers import (
    apply,
    client_for,
    edit,
    example_project,
    lago,
    make_plan,
    no_charges_list,
    recording_client,
)

ACME = "overrides/acme-labs.yaml"
GLOBEX = "overrides/globex.yaml"
ACME_DEAL = (
    "    overrides:\n      reason: Enterprise pilot\n      approval: DEAL-9\n"
    "      amount: 4800.00 USD\n      charges:\n        images:\n"
    "          properties: {amount: 0.02}\n"
)


@pytest.fixture
def applied(tmp_path: Path, sandbox_server: SandboxServer) -> Path:
    root = example_project(tmp_path)
    with client_for(sandbox_server) as client:
        apply(root, client)
    return root


def records(server: SandboxServer, external_id: str) -> list[dict[str, Any]]:
    subs = lago(server, "GET", f"/subscriptions?external_id={external_id}&status[]=active"
                "&status[]=pending&status[]=terminated&status[]=canceled")  # fmt: skip
    out: list[dict[str, Any]] = subs["subscriptions"]
    return out


def test_upgrade_with_overrides_then_downgrade_then_undo(
    applied: Path, sandbox_server: SandboxServer
) -> None:
    edit(applied, ACME, "    plan: pro_monthly\n", "    plan: enterprise\n")
    (applied / ACME).write_text((applied / ACME).read_text() + ACME_DEAL)
    client, recorder = recording_client(sandbox_server)
    with client:
        plan = make_plan(applied, client)
        (change,) = plan.pending()
        assert change.move is not None and change.move.kind == "upgrade"
        assert (change.move.from_yearly_cents, change.move.to_yearly_cents) == (118800, 6000000)
        assert "terminates the current subscription now" in change.move.rule
        assert "1,188.00 USD a year" in change.move.rule
        assert change.pricing is not None and change.pricing.status == "active"
        recorder.clear()
        apply_plan(plan, client, audit=MemoryAudit())
        writes = recorder.writes()
        assert [(m, p) for m, p, _ in writes] == [
            ("POST", "/subscriptions"),
            ("PUT", "/subscriptions/acme-labs-pro/charges/images"),
        ]
        post = writes[0][2]["subscription"]
        assert post["plan_code"] == "enterprise"
        assert post["plan_overrides"] == {"amount_cents": 480000}
        no_charges_list(writes)
        assert not make_plan(applied, client).has_changes
        statuses = sorted(
            (r["plan_code"], r["status"]) for r in records(sandbox_server, "acme-labs-pro")
        )
        assert statuses == [("enterprise", "active"), ("pro_monthly", "terminated")]
        sub = lago(sandbox_server, "GET", "/subscriptions/acme-labs-pro")["subscription"]
        assert sub["plan"]["amount_cents"] == 480000
        images = next(c for c in sub["plan"]["charges"] if c["code"] == "images")
        assert images["properties"] == {"amount": "0.02"}

        # back to pro_monthly, without overrides: a downgrade, at the end of the period
        text = (applied / ACME).read_text().replace(ACME_DEAL, "")
        (applied / ACME).write_text(text.replace("plan: enterprise", "plan: pro_monthly"))
        plan = make_plan(applied, client)
        (change,) = plan.pending()
        assert change.move is not None and change.move.kind == "downgrade"
        assert change.move.effective == sub["current_billing_period_ending_at"][:10]
        assert "stays on 'enterprise' until its current billing period ends" in change.move.rule
        recorder.clear()
        apply_plan(plan, client, audit=MemoryAudit())
        assert [(m, p) for m, p, _ in recorder.writes()] == [("POST", "/subscriptions")]
        assert not make_plan(applied, client).has_changes
        current = lago(sandbox_server, "GET", "/subscriptions/acme-labs-pro")["subscription"]
        assert (current["plan_code"], current["next_plan_code"]) == ("enterprise", "pro_monthly")

        # and back to enterprise with the deal: the scheduled downgrade is cancelled, nothing
        # re-posted (the same plan code would compare the subscription's copy with the plan)
        (applied / ACME).write_text(
            (applied / ACME).read_text().replace("plan: pro_monthly", "plan: enterprise")
            + ACME_DEAL
        )
        plan = make_plan(applied, client)
        (change,) = plan.pending()
        assert change.move is not None and change.move.kind == "cancel_downgrade"
        recorder.clear()
        apply_plan(plan, client, audit=MemoryAudit())
        assert [(m, p) for m, p, _ in recorder.writes()] == [
            ("DELETE", "/subscriptions/acme-labs-pro?status=pending")
        ]
        assert not make_plan(applied, client).has_changes
    current = lago(sandbox_server, "GET", "/subscriptions/acme-labs-pro")["subscription"]
    assert (current["plan_code"], current["next_plan_code"]) == ("enterprise", None)
    assert current["plan"]["amount_cents"] == 480000


def test_downgrade_sets_the_overrides_on_the_pending_subscription(
    applied: Path, sandbox_server: SandboxServer
) -> None:
    text = (applied / GLOBEX).read_text()
    start, end = text.index("      amount: 4500.00 USD"), text.index("\nwallets:")
    deal = "      charges:\n        storage:\n          properties: {amount: 0.09}\n"
    (applied / GLOBEX).write_text(
        text[:start].replace("plan: enterprise", "plan: pro_monthly") + deal + text[end:]
    )
    client, recorder = recording_client(sandbox_server)
    with client:
        plan = make_plan(applied, client)
        (change,) = plan.pending()
        assert change.move is not None and change.move.kind == "downgrade"
        assert change.pricing is not None and change.pricing.status == "pending"
        recorder.clear()
        apply_plan(plan, client, audit=MemoryAudit())
        writes = recorder.writes()
        assert [(m, p) for m, p, _ in writes] == [
            ("POST", "/subscriptions"),
            ("PUT", "/subscriptions/globex-main/charges/storage?subscription_status=pending"),
        ]
        no_charges_list(writes)
        assert not make_plan(applied, client).has_changes
    active = lago(sandbox_server, "GET", "/subscriptions/globex-main")["subscription"]
    assert (active["plan_code"], active["next_plan_code"]) == ("enterprise", "pro_monthly")
    assert active["plan"]["amount_cents"] == 450000  # the current deal runs to period end
    pending = lago(sandbox_server, "GET", "/subscriptions/globex-main?status=pending")
    plan_codes = [c["code"] for c in pending["subscription"]["plan"]["charges"]]
    assert sorted(plan_codes) == sorted(set(plan_codes))  # no duplicate charge
    storage = next(c for c in pending["subscription"]["plan"]["charges"] if c["code"] == "storage")
    assert storage["properties"] == {"amount": "0.09"}


INITECH = """customer:
  name: Initech
  currency: USD
subscriptions:
  - external_id: initech-main
    plan: pro_monthly
    name: Initech
    start_date: 2027-06-01
    overrides:
      reason: Launch deal
      approval: OPS-3
      charges:
        storage:
          properties: {amount: 0.05}
"""


def test_a_subscription_not_started_yet_is_addressed_as_pending(
    applied: Path, sandbox_server: SandboxServer
) -> None:
    tenant = applied / "overrides" / "initech.yaml"
    tenant.write_text(INITECH)
    client, recorder = recording_client(sandbox_server)
    with client:
        recorder.clear()
        apply_plan(make_plan(applied, client), client, audit=MemoryAudit())
        # Lago answered "pending": the override call names that status
        assert [(m, p) for m, p, _ in recorder.writes()][-2:] == [
            ("POST", "/subscriptions"),
            ("PUT", "/subscriptions/initech-main/charges/storage?subscription_status=pending"),
        ]
        assert not make_plan(applied, client).has_changes
        # before it starts: another plan (a swap, no upgrade/downgrade) and a new name
        tenant.write_text(
            INITECH.replace("plan: pro_monthly", "plan: enterprise").replace(
                "name: Initech\n    start", "name: Initech (enterprise)\n    start"
            )
        )
        plan = make_plan(applied, client)
        (change,) = plan.pending()
        assert change.move is not None and change.move.kind == "swap"
        recorder.clear()
        apply_plan(plan, client, audit=MemoryAudit())
        assert [(m, p) for m, p, _ in recorder.writes()] == [
            ("POST", "/subscriptions"),
            ("PUT", "/subscriptions/initech-main?status=pending"),
            ("PUT", "/subscriptions/initech-main/charges/storage?subscription_status=pending"),
        ]
        assert not make_plan(applied, client).has_changes
    pending = lago(sandbox_server, "GET", "/subscriptions/initech-main?status=pending")
    sub = pending["subscription"]
    assert (sub["plan_code"], sub["name"], sub["status"]) == (
        "enterprise",
        "Initech (enterprise)",
        "pending",
    )
    storage = next(c for c in sub["plan"]["charges"] if c["code"] == "storage")
    assert storage["properties"] == {"amount": "0.05"}
