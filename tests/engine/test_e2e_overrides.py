"""End to end over real HTTP, premium on: negotiated prices (overrides) of a tenant.

The example project's globex-main is on plan enterprise with a negotiated base fee and token
prices. Every test records the requests apply sends, so the two traps of Lago's override API
(API_NOTES §5.2, §5.4) are checked on the wire: a subscription is never re-posted to "sync" it,
and ``plan_overrides`` never carries a ``charges`` list. The child plan's charges are checked
after each change: none lost, none doubled.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from lagoform.engine.apply import ApplyFailed, apply_plan
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
    no_charges_list,
    recording_client,
)

GLOBEX = "overrides/globex.yaml"
BASE_CODES = ["images", "storage", "tokens", "voice"]  # plan enterprise's charges


@pytest.fixture
def applied(tmp_path: Path, sandbox_server: SandboxServer) -> Path:
    root = example_project(tmp_path)
    with client_for(sandbox_server) as client:
        apply(root, client)
    return root


def effective(server: SandboxServer, status: str | None = None) -> dict[str, Any]:
    query = f"?status={status}" if status else ""
    plan: dict[str, Any] = lago(server, "GET", f"/subscriptions/globex-main{query}")[
        "subscription"
    ]["plan"]
    return plan


def charges(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    codes = Counter(c["code"] for c in plan["charges"])
    assert all(n == 1 for n in codes.values()), f"duplicate charges: {codes}"
    return {c["code"]: c for c in plan["charges"]}


def filter_prices(charge: dict[str, Any]) -> dict[str, str]:
    def key(values: dict[str, list[str]]) -> str:
        text = ",".join(f"{k}={v[0]}" for k, v in sorted(values.items()))
        return text.replace("__ALL_FILTER_VALUES__", "*")

    return {key(f["values"]): f["properties"]["amount"] for f in charge["filters"]}


def test_first_override_creates_on_the_base_plan_then_sets_each_charge(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    root = example_project(tmp_path)
    client, recorder = recording_client(sandbox_server)
    with client:
        plan = make_plan(root, client)
        sub = next(c for c in plan.pending() if c.ref == "subscription:globex-main")
        assert sub.pricing is not None and sub.pricing.approval == "MSA-2026-014"
        # only what differs from the base plan: the fee, and the token prices
        assert sub.pricing.target["plan"] == {"amount_cents": 450000}
        assert sorted(sub.pricing.target["charges"]["tokens"]) == ["filters", "properties"]
        apply_plan(plan, client, audit=MemoryAudit())
        writes = [w for w in recorder.writes() if "globex-main" in w[1] or w[1] == "/subscriptions"]
        assert not make_plan(root, client).has_changes
    creates = [w for w in writes if w[0] == "POST"]
    assert [b["subscription"]["external_id"] for _, _, b in creates] == [
        "acme-labs-pro",
        "globex-main",
    ]
    # on its base plan, plan-level overrides in the same call: one atomic call
    assert creates[1][2]["subscription"]["plan_code"] == "enterprise"
    assert creates[1][2]["subscription"]["plan_overrides"] == {"amount_cents": 450000}
    assert [(m, p) for m, p, _ in writes if m == "PUT"] == [
        ("PUT", "/subscriptions/globex-main/charges/tokens")
    ]
    no_charges_list(recorder.writes())
    child = effective(sandbox_server)
    assert child["parent_id"] is not None and child["amount_cents"] == 450000
    mine = charges(child)
    assert sorted(mine) == BASE_CODES
    assert mine["tokens"]["properties"]["amount"] == "0.0000015"
    assert mine["images"]["properties"]["amount"] == "0.03"  # the catalog's, untouched


def test_later_override_of_another_charge_sends_one_call_and_keeps_every_charge(
    applied: Path, sandbox_server: SandboxServer
) -> None:
    before = charges(effective(sandbox_server))
    edit(applied, GLOBEX, "      charges:\n", "      charges:\n        images:\n"
         "          properties: {amount: 0.025}\n")  # fmt: skip
    client, recorder = recording_client(sandbox_server)
    with client:
        plan = make_plan(applied, client)
        (change,) = plan.pending()
        assert change.ref == "subscription:globex-main" and change.action == "update"
        assert change.pricing is not None
        images = [line for line in change.pricing.lines if line.charge == "images"]
        assert [(x.field, x.base, x.current, x.new, x.negotiated) for x in images] == [
            ("properties", {"amount": "0.03"}, {"amount": "0.03"}, {"amount": "0.025"}, True)
        ]
        recorder.clear()
        apply_plan(plan, client, audit=MemoryAudit())
        assert recorder.writes() == [
            (
                "PUT",
                "/subscriptions/globex-main/charges/images",
                {"charge": {"properties": {"amount": "0.025"}}},
            )
        ]
        assert not make_plan(applied, client).has_changes
    after = charges(effective(sandbox_server))
    assert sorted(after) == BASE_CODES  # no charge lost, none doubled
    assert after["images"]["properties"] == {"amount": "0.025"}
    for code in ("tokens", "storage", "voice"):  # the earlier override and the rest are intact
        assert after[code]["properties"] == before[code]["properties"]
        assert after[code]["filters"] == before[code]["filters"]


def test_filter_price_override_replaces_the_filters_whole(
    applied: Path, sandbox_server: SandboxServer
) -> None:
    edit(applied, GLOBEX, "properties: {amount: 0.000001}", "properties: {amount: 0.0000009}")
    client, recorder = recording_client(sandbox_server)
    with client:
        plan = make_plan(applied, client)
        (change,) = plan.pending()
        assert change.pricing is not None
        moved = [line for line in change.pricing.lines if line.current != line.new]
        assert [(x.charge, x.filter, x.base, x.current, x.new) for x in moved] == [
            (
                "tokens",
                "modality=text;type=input",
                {"amount": "0.0000012"},
                {"amount": "0.000001"},
                {"amount": "0.0000009"},
            )
        ]
        recorder.clear()
        apply_plan(plan, client, audit=MemoryAudit())
        [(method, path, body)] = recorder.writes()
        assert (method, path) == ("PUT", "/subscriptions/globex-main/charges/tokens")
        assert list(body["charge"]) == ["filters"]  # only what changed; all four filters
        assert len(body["charge"]["filters"]) == 4
        assert not make_plan(applied, client).has_changes
    tokens = charges(effective(sandbox_server))["tokens"]
    assert filter_prices(tokens) == {
        "modality=*,type=reasoning": "0.000003",
        "modality=audio,type=input": "0.00003",
        "modality=text,type=input": "0.0000009",
        "modality=text,type=output": "0.000004",
    }


def test_negotiated_price_edited_in_lago_is_drift_per_charge(
    applied: Path, sandbox_server: SandboxServer
) -> None:
    # someone edits the tenant's prices in Lago: a negotiated one, and one left at the catalog's
    lago(sandbox_server, "PUT", "/subscriptions/globex-main/charges/tokens",
         {"charge": {"properties": {"amount": "0.000002"}}})  # fmt: skip
    lago(sandbox_server, "PUT", "/subscriptions/globex-main/charges/images",
         {"charge": {"properties": {"amount": "0.01"}}})  # fmt: skip
    with client_for(sandbox_server) as client:
        plan = make_plan(applied, client)
        (change,) = plan.pending()
        assert change.ref == "subscription:globex-main" and change.action == "update"
        assert [(c.path, c.old, c.new) for c in change.changes] == [
            (("overrides", "charges", "images", "properties", "amount"), "0.01", "0.03"),
            (("overrides", "charges", "tokens", "properties", "amount"), "0.000002", "0.0000015"),
        ]
        assert change.pricing is not None
        lines = {(x.charge, x.filter): x for x in change.pricing.lines if x.field == "properties"}
        assert not lines[("images", None)].negotiated  # drift back to the catalog's price
        assert lines[("tokens", None)].negotiated
        apply_plan(plan, client, audit=MemoryAudit())
        assert not make_plan(applied, client).has_changes
    mine = charges(effective(sandbox_server))
    assert mine["images"]["properties"] == {"amount": "0.03"}
    assert mine["tokens"]["properties"] == {"amount": "0.0000015"}


def test_removed_overrides_are_blocked_then_restated_without_prices(
    applied: Path, sandbox_server: SandboxServer
) -> None:
    text = (applied / GLOBEX).read_text()
    start, end = text.index("    overrides:\n"), text.index("\nwallets:")
    (applied / GLOBEX).write_text(text[:start] + text[end:])
    with client_for(sandbox_server) as client:
        plan = make_plan(applied, client)
        (change,) = plan.pending()
        assert change.action == "blocked"
        [blocked] = change.blocked
        assert "no API to put a subscription back on its plan" in blocked.reason
        assert "end this subscription" in blocked.way_out
        audit = MemoryAudit()
        with pytest.raises(BlockedChangeError):
            apply_plan(plan, client, audit=audit)
        assert audit.records == []
        # stating `overrides:` without prices asks for the catalog's prices back
        (applied / GLOBEX).write_text(
            text[:start] + "    overrides:\n      reason: Back to list price at renewal\n"
            "      approval: FIN-77\n" + text[end:]
        )
        plan = make_plan(applied, client)
        (change,) = plan.pending()
        assert change.action == "update" and change.pricing is not None
        assert change.pricing.approval == "FIN-77"
        apply_plan(plan, client, audit=MemoryAudit())
        assert not make_plan(applied, client).has_changes
    child = effective(sandbox_server)
    base = lago(sandbox_server, "GET", "/plans/enterprise")["plan"]
    assert child["amount_cents"] == base["amount_cents"] == 500000
    assert {c: x["properties"] for c, x in charges(child).items()} == {
        c: x["properties"] for c, x in charges(base).items()
    }


INITECH = """customer:
  name: Initech
  currency: USD
subscriptions:
  - external_id: initech-main
    plan: enterprise
    start_date: 2026-03-01
    overrides:
      reason: Pilot pricing
      approval: OPS-12
      charges:
        storage:
          properties: {amount: 0.05}
"""


def test_premium_off_fails_with_an_actionable_error_and_changes_nothing(
    applied: Path, sandbox_server: SandboxServer
) -> None:
    sandbox_server.premium(False)
    (applied / "overrides" / "initech.yaml").write_text(INITECH)
    with client_for(sandbox_server) as client:
        plan = make_plan(applied, client)
        sub = next(c for c in plan.pending() if c.ref == "subscription:initech-main")
        assert sub.note is not None and "premium" in sub.note
        with pytest.raises(ApplyFailed) as failed:
            apply_plan(plan, client, audit=MemoryAudit())
        report = failed.value.report
        assert report.failed is not None and report.failed[0] == "create subscription:initech-main"
        message = report.failed[1]
        assert "plan overrides need Lago's premium licence" in message
        assert "overrides/initech.yaml" in message and "feature_unavailable" in message
        # refused whole: the subscription was not created on list prices
        subs = lago(sandbox_server, "GET", "/subscriptions")["subscriptions"]
        assert "initech-main" not in {s["external_id"] for s in subs}
        # a later override of an existing subscription is refused the same way
        (applied / "overrides" / "initech.yaml").unlink()
        edit(applied, GLOBEX, "      charges:\n", "      charges:\n        images:\n"
             "          properties: {amount: 0.025}\n")  # fmt: skip
        with pytest.raises(ApplyFailed, match="premium licence"):
            apply_plan(make_plan(applied, client), client, audit=MemoryAudit())
    assert charges(effective(sandbox_server))["images"]["properties"] == {"amount": "0.03"}
