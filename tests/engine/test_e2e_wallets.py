"""End to end over real HTTP: prepaid wallets (credits compared as totals ever credited, top-ups
as wallet transactions, decreases refused) and customers upserted by external_id with metadata
matched by id (API_NOTES §6.1, §6.2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lagoform.engine.apply import apply_plan
from lagoform.engine.hooks import MemoryAudit
from lagoform.errors import BlockedChangeError
from tests.conftest import SandboxServer
from tests.engine.e2e_helpers import (
    apply,
    client_for,
    edit,
    example_project,
    lago,
    make_plan,
    recording_client,
)

GLOBEX = "overrides/globex.yaml"


@pytest.fixture
def applied(tmp_path: Path, sandbox_server: SandboxServer) -> Path:
    root = example_project(tmp_path)
    with client_for(sandbox_server) as client:
        apply(root, client)
    return root


def wallet(server: SandboxServer) -> dict[str, str]:
    [found] = lago(server, "GET", "/wallets?external_customer_id=globex")["wallets"]
    return dict(found)


def test_wallet_created_with_credits_then_topped_up_by_the_difference(
    applied: Path, sandbox_server: SandboxServer
) -> None:
    created = wallet(sandbox_server)
    assert created["credits_balance"] == "10500.0"  # 10,000 paid + 500 granted at creation
    # the customer spends some and Lago voids some: neither is drift against the YAML totals
    void = {"wallet_id": created["lago_id"], "voided_credits": "250"}
    lago(sandbox_server, "POST", "/wallet_transactions", {"wallet_transaction": void})
    edit(applied, GLOBEX, "paid_credits: 10000", "paid_credits: 12000")
    edit(applied, GLOBEX, "granted_credits: 500 ", "granted_credits: 600 ")
    client, recorder = recording_client(sandbox_server)
    with client:
        plan = make_plan(applied, client)
        (change,) = plan.pending()
        assert (change.ref, change.action) == ("wallet:globex/prepaid", "update")
        assert [(c.path, c.old, c.new) for c in change.changes] == [
            (("granted_credits",), "500", "600"),
            (("paid_credits",), "10000", "12000"),
        ]
        recorder.clear()
        audit = MemoryAudit()
        apply_plan(plan, client, audit=audit)
        (intent,) = [r for r in audit.records if r["phase"] == "intent"]
        assert recorder.writes() == [
            (
                "POST",
                "/wallet_transactions",
                {
                    "wallet_transaction": {
                        "wallet_id": created["lago_id"],
                        "granted_credits": "100",
                        "paid_credits": "2000",
                        # the top-up carries its intent id: a lost answer can be settled
                        "metadata": [{"key": "lagoform_intent", "value": intent["id"]}],
                    }
                },
            )
        ]
        assert not make_plan(applied, client).has_changes
    assert wallet(sandbox_server)["credits_balance"] == "12350.0"  # 12,600 credited - 250 void


def test_wallet_decrease_is_blocked_and_nothing_is_voided(
    applied: Path, sandbox_server: SandboxServer
) -> None:
    edit(applied, GLOBEX, "paid_credits: 10000", "paid_credits: 9000")
    with client_for(sandbox_server) as client:
        plan = make_plan(applied, client)
        (change,) = plan.pending()
        assert change.action == "blocked"
        [blocked] = change.blocked
        assert blocked.path == ("paid_credits",)
        assert "never voids credits" in blocked.reason
        assert "set paid_credits back to 10000" in blocked.way_out
        audit = MemoryAudit()
        with pytest.raises(BlockedChangeError, match="never voids credits"):
            apply_plan(plan, client, audit=audit)
        assert audit.records == []
    assert wallet(sandbox_server)["credits_balance"] == "10500.0"


def test_customer_metadata_is_matched_by_id_and_unlisted_keys_go(
    applied: Path, sandbox_server: SandboxServer
) -> None:
    before = lago(sandbox_server, "GET", "/customers/globex")["customer"]["metadata"]
    crm_id = next(m["lago_id"] for m in before if m["key"] == "crm_id")
    edit(applied, GLOBEX, 'metadata: {crm_id: "42", account_manager: j.doe}',
         'metadata: {crm_id: "43", region: emea}')  # fmt: skip
    client, recorder = recording_client(sandbox_server)
    with client:
        plan = make_plan(applied, client)
        recorder.clear()
        apply_plan(plan, client, audit=MemoryAudit())
        [(method, path, body)] = recorder.writes()
        assert (method, path) == ("POST", "/customers")  # the upsert by external_id
        assert body["customer"]["external_id"] == "globex"
        sent = {m["key"]: m for m in body["customer"]["metadata"]}
        assert sent["crm_id"]["id"] == crm_id and "id" not in sent["region"]
        assert "account_manager" not in sent
        assert not make_plan(applied, client).has_changes
    after = lago(sandbox_server, "GET", "/customers/globex")["customer"]["metadata"]
    assert {m["key"]: m["value"] for m in after} == {"crm_id": "43", "region": "emea"}
    assert next(m["lago_id"] for m in after if m["key"] == "crm_id") == crm_id
