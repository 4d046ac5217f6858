"""One model of what a subscription pays: plan, blast radius, revenue section and Lago agree.

Generated projects (``world.py``) go through what a user does — apply a catalog, send usage,
edit the catalog, ``plan`` (with its revenue section), ``apply`` — against ``lagoform sandbox
serve`` over HTTP. For every live subscription the test then demands that:

- the revenue section's "after" amount of each charge is what the sandbox bills once apply ran
  (its current usage), to the cent, and its "before" what it billed before;
- a subscription the section does not list bills exactly what it billed before;
- a subscription moved to another plan, sent the same usage again, is billed the estimate;
- the plan's blast radius and the revenue section give the same verdict: a subscription the
  change reaches is priced with the matching cause, one it does not reach bills the same.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from lagoform.engine.apply import apply_plan
from lagoform.engine.hooks import MemoryAudit
from lagoform.engine.live import fetch_live
from lagoform.engine.plan import Plan, build_plan, hints_for
from lagoform.impact import RevenueImpact, run_analysis
from lagoform.impact.estimate import COMMITMENT, FEE
from lagoform.lago import LagoClient
from tests.conftest import SandboxServer
from tests.consistency.world import TYPES, Usage, World, worlds, write
from tests.impact.helpers import async_client_for, client_for, desired_of

pytestmark = pytest.mark.slow

CAUSE = {"follows": "plan", "repriced": "repriced", "frozen": "frozen", "cascade": "cascade"}
_ids = itertools.count()


def _send(client: LagoClient, sub: str, usage: Usage) -> None:
    events: list[dict[str, Any]] = []
    for kind, amount in zip(TYPES, (usage.input_tokens, usage.output_tokens), strict=True):
        if amount:
            events.append(_event(sub, "tokens", {"tokens": amount, "type": kind}))
    events.extend(_event(sub, "calls", {}) for _ in range(usage.calls))
    for start in range(0, len(events), 100):
        client.post_events_batch(events[start : start + 100])


def _event(sub: str, code: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {"transaction_id": f"c-{next(_ids)}", "external_subscription_id": sub,
            "code": code, "properties": properties}  # fmt: skip


def _billed(client: LagoClient, sub: str) -> dict[str, int]:
    """Lago's current-usage amount per charge code of the subscription's effective plan."""
    found = client.get_subscription(sub)
    assert found is not None, sub
    codes = {c["lago_id"]: c["code"] for c in found["plan"]["charges"]}
    usage = client.get_current_usage(str(found["external_customer_id"]), sub)
    return {codes[c["charge"]["lago_id"]]: int(c["amount_cents"]) for c in usage["charges_usage"]}


def _customise(client: LagoClient, world: World) -> None:
    """Subscriptions no tenant file lists, each on its own copy with its own calls price."""
    for u in world.unmanaged:
        client.create_subscription(
            {"external_customer_id": u.name, "plan_code": u.plan, "external_id": f"{u.name}-main"}
        )
        client.request(
            "PUT", f"/subscriptions/{u.name}-main/charges/calls",
            json={"charge": {"properties": {"amount": u.calls}}},
        )  # fmt: skip


@contextmanager
def _client(server: SandboxServer) -> Iterator[LagoClient]:
    with client_for(server) as client:
        yield client


def _verdicts(plan: Plan) -> dict[str, tuple[str, bool]]:
    """subscription -> (how, reached) from the blast radius of every plan change."""
    out: dict[str, tuple[str, bool]] = {}
    for change in plan.pending():
        if change.kind != "plan" or change.blast is None:
            continue
        for tenant in change.blast.tenants:
            for sub in tenant.subscriptions:
                out[sub] = (tenant.how, tenant.reached)
    return out


def _charges(impact: RevenueImpact, sub: str) -> dict[str, tuple[int, int]]:
    found = impact.subscription(sub)
    assert found is not None and found.periods, sub
    return {
        line.charge: (line.old_cents, line.new_cents)
        for line in found.periods[0].charges
        if line.charge not in (FEE, COMMITMENT)
    }


@settings(
    max_examples=int(os.environ.get("LAGOFORM_CONSISTENCY_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
def test_plan_blast_radius_revenue_and_lago_agree_to_the_cent(
    world: World, sandbox_server: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    sandbox_server.reset()
    root = tmp_path_factory.mktemp("world")
    write(root, world.before)
    with _client(sandbox_server) as client:
        desired = desired_of(root)
        first = build_plan(desired, fetch_live(client, hints_for(desired)))
        assert apply_plan(first, client, audit=MemoryAudit()).ok
        _customise(client, world)
        for sub, usage in world.usage.items():
            _send(client, sub, usage)
        before = {sub: _billed(client, sub) for sub in world.usage}

        write(root, world.after)
        desired = desired_of(root)
        live = fetch_live(client, hints_for(desired))
        plan = build_plan(desired, live)
        assert not plan.blocked(), [b.reason for c in plan.blocked() for b in c.blocked]
        impact = run_analysis(desired, lambda: async_client_for(sandbox_server), live=live)
        assert impact.unavailable is None, impact.unavailable
        assert apply_plan(plan, client, audit=MemoryAudit()).ok
        moves = {c.key: c.move for c in plan.pending() if c.move is not None}
        after = {sub: _billed(client, sub) for sub in world.usage if sub not in moves}
        if any(m.kind == "downgrade" for m in moves.values()):
            # a downgrade starts when the current period ends: move the sandbox's clock there
            sandbox_server.advance_clock(40 * 86_400)
        for sub in sorted(moves):
            _send(client, sub, world.usage[sub])  # the new subscription's own usage
            after[sub] = _billed(client, sub)
    moved = set(moves)

    unreliable = {u.external_id for u in impact.unreliable}
    assert not unreliable, impact.unreliable  # the generated changes price exactly from totals
    verdicts = _verdicts(plan)
    own = {c.key for c in plan.pending() if c.kind == "subscription"}
    for sub in world.usage:
        priced = impact.subscription(sub)
        if priced is None:
            assert sub not in moved
            assert after[sub] == before[sub], f"{sub}: no change predicted, Lago bills another"
        else:
            lines = _charges(impact, sub)
            assert {c: old for c, (old, _) in lines.items()} == before[sub], sub
            assert {c: new for c, (_, new) in lines.items()} == after[sub], sub
        how, reached = verdicts.get(sub, ("", False))
        if sub in moved:
            assert priced is not None and priced.causes == ("plan_switch",)
            assert moves[sub].kind in ("upgrade", "downgrade"), moves[sub]
            continue
        # the blast radius and the revenue section tell the same story: a subscription the plan's
        # change does not reach moves only through its own (negotiated) change, and one priced
        # for the plan's change is one the blast radius says it reaches, the same way
        if not reached and sub not in own:
            assert priced is None, f"{sub}: priced, but no change reaches it"
        if priced is not None and set(priced.causes) & {"plan", "cascade"}:
            assert reached and CAUSE.get(how) in priced.causes, (sub, how, priced.causes)
        if priced is not None and "repriced" in priced.causes and sub not in own:
            assert reached and how == "repriced", (sub, how)
