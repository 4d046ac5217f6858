"""End to end over real HTTP: edits to everything besides plan prices — negotiated overrides,
customers, wallets, add-ons, coupons, metrics, a subscription's plan, explicit deletions."""

from __future__ import annotations

from pathlib import Path

import pytest

from lagoform.engine.apply import apply_plan
from lagoform.engine.hooks import MemoryAudit
from tests.conftest import SandboxServer
from tests.engine.e2e_helpers import (
    apply,
    changes_of,
    client_for,
    edit,
    example_project,
    lago,
    make_plan,
)


@pytest.fixture
def applied(tmp_path: Path, sandbox_server: SandboxServer) -> Path:
    root = example_project(tmp_path)
    with client_for(sandbox_server) as client:
        apply(root, client)
    return root


def test_negotiated_override_price_changes_only_that_subscription(
    applied: Path, sandbox_server: SandboxServer
) -> None:
    base_before = lago(sandbox_server, "GET", "/plans/enterprise")["plan"]
    edit(applied, "overrides/globex.yaml", "properties: {amount: 0.0000015}",
         "properties: {amount: 0.0000014}")  # fmt: skip
    edit(applied, "overrides/globex.yaml", "amount: 4500.00 USD", "amount: 4400.00 USD")
    with client_for(sandbox_server) as client:
        plan = make_plan(applied, client)
        assert changes_of(plan) == {
            "subscription:globex-main": [
                (("overrides", "amount_cents"), 450000, 440000),
                (("overrides", "charges", "tokens", "properties", "amount"), "0.0000015",
                 "0.0000014"),
            ]
        }  # fmt: skip
        audit = MemoryAudit()
        apply_plan(plan, client, audit=audit)
        paths = [r["request"]["path"] for r in audit.records if r["phase"] == "intent"]
        assert paths == ["/subscriptions/globex-main", "/subscriptions/globex-main/charges/tokens"]
        assert not make_plan(applied, client).has_changes
    sub = lago(sandbox_server, "GET", "/subscriptions/globex-main")["subscription"]
    assert sub["plan"]["amount_cents"] == 440000
    tokens = next(c for c in sub["plan"]["charges"] if c["code"] == "tokens")
    assert tokens["properties"]["amount"] == "0.0000014"
    assert lago(sandbox_server, "GET", "/plans/enterprise")["plan"] == base_before


def test_customer_wallet_addon_coupon_metric_edits(
    applied: Path, sandbox_server: SandboxServer
) -> None:
    edit(applied, "overrides/acme-labs.yaml", 'metadata: {crm_id: "1001"}',
         'metadata: {crm_id: "1002", segment: smb}')  # fmt: skip
    edit(applied, "overrides/acme-labs.yaml", "email: billing@acme-labs.test",
         "email: invoices@acme-labs.test")  # fmt: skip
    edit(applied, "overrides/globex.yaml", "name: Prepaid credits", "name: Prepaid credit pool")
    edit(applied, "catalog/billing.yaml", "amount: 2500.00 USD", "amount: 3000.00 USD")
    edit(applied, "catalog/plans.yaml", "name: Launch offer", "name: Launch offer (2026)")
    edit(applied, "catalog/metrics.yaml", "name: API calls", "name: API requests")
    with client_for(sandbox_server) as client:
        plan = make_plan(applied, client)
        assert sorted(changes_of(plan)) == [
            "add_on:implementation_fee", "billable_metric:api_calls", "coupon:launch50",
            "customer:acme-labs", "wallet:globex/prepaid",
        ]  # fmt: skip
        assert changes_of(plan)["customer:acme-labs"] == [
            (("email",), "billing@acme-labs.test", "invoices@acme-labs.test"),
            (("metadata", "crm_id"), "1001", "1002"),
            (("metadata", "segment"), None, "smb"),
        ]
        assert all(c.action == "update" for c in plan.pending())
        apply_plan(plan, client, audit=MemoryAudit())
        assert not make_plan(applied, client).has_changes


def test_subscription_moves_to_another_plan(applied: Path, sandbox_server: SandboxServer) -> None:
    edit(applied, "overrides/acme-labs.yaml", "plan: pro_monthly", "plan: enterprise")
    with client_for(sandbox_server) as client:
        plan = make_plan(applied, client)
        assert changes_of(plan) == {
            "subscription:acme-labs-pro": [(("plan_code",), "pro_monthly", "enterprise")]
        }
        apply_plan(plan, client, audit=MemoryAudit())
        assert not make_plan(applied, client).has_changes
    sub = lago(sandbox_server, "GET", "/subscriptions/acme-labs-pro")["subscription"]
    assert sub["plan_code"] == "enterprise"


def test_explicit_removal_deletes_and_nothing_else(
    applied: Path, sandbox_server: SandboxServer
) -> None:
    # drop the coupon and the add-on from YAML and list them under remove
    edit(applied, "catalog/billing.yaml", "add_ons:", "remove:\n  add_ons: [implementation_fee]\n"
         "  coupons: [launch50]\n\nunused_add_ons:")  # fmt: skip
    text = (applied / "catalog" / "billing.yaml").read_text()
    (applied / "catalog" / "billing.yaml").write_text(text.split("\nunused_add_ons:")[0] + "\n")
    plans = (applied / "catalog" / "plans.yaml").read_text()
    (applied / "catalog" / "plans.yaml").write_text(plans.split("\ncoupons:")[0] + "\n")
    with client_for(sandbox_server) as client:
        plan = make_plan(applied, client)
        assert [(c.ref, c.action) for c in plan.pending()] == [
            ("coupon:launch50", "delete"),
            ("add_on:implementation_fee", "delete"),
        ]
        apply_plan(plan, client, audit=MemoryAudit())
        again = make_plan(applied, client)
        assert not again.has_changes and again.unmanaged == ()
    assert lago(sandbox_server, "GET", "/add_ons")["add_ons"] == []
