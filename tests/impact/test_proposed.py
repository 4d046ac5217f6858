"""Whose pricing a catalog change moves, and to what (proposed.py), on model.reach's verdict."""

from __future__ import annotations

from typing import Any

from lagoform.impact.forms import priced, pricing_differences
from lagoform.impact.proposed import LiveParents, LiveSubscription, needs_effective_plan, propose
from lagoform.model import forms
from tests.engine.factories import charge, desired, plan
from tests.impact.factories import charge as lago_charge
from tests.impact.factories import plan as priced_plan

TOKENS = lago_charge("tokens", "standard", {"amount": "0.50"})
CALLS = lago_charge("calls", "standard", {"amount": "1"})


def test_equal_prices_written_differently_are_one_price() -> None:
    a = priced_plan(lago_charge("tokens", "standard", {"amount": "0.50"}, lago_id="x"))
    b = priced_plan(lago_charge("tokens", "standard", {"amount": 0.5}, lago_id="y"))
    assert a == b and pricing_differences(a, b) == []
    # display names and ids do not price anything
    c = priced_plan({**lago_charge("tokens", "standard", {"amount": "0.5"}),
                     "invoice_display_name": "T"})  # fmt: skip
    assert a == c


def test_pricing_differences_name_what_changes() -> None:
    old = priced_plan(TOKENS, CALLS, amount_cents=100, commitment_cents=1000)
    new = priced_plan(
        lago_charge("tokens", "standard", {"amount": "0.6"}),
        lago_charge("images", "standard", {"amount": "1"}),
        amount_cents=200,
    )
    assert pricing_differences(old, new) == [
        "subscription fee",
        "minimum commitment",
        "charge images added",
        "charge tokens",
        "charge calls removed",
    ]


def body(tokens: str = "0.5", code: str = "pro", **kw: Any) -> dict[str, Any]:
    return plan(code, [charge("tokens", "tokens", tokens), charge("calls", "calls", "1")], **kw)


LIVE = LiveParents({"pro": forms.billing_plan(body())})
RAISED = body("0.7")


def test_a_subscription_on_the_plan_follows_it_directly() -> None:
    sub = LiveSubscription("s1", "t1", "pro", overridden=False)
    found = propose(sub, LIVE, desired(plan=[RAISED]))
    assert found is not None
    assert found.causes == ("plan",) and found.differences == ("charge tokens",)
    assert found.proposed == priced(forms.billing_plan(RAISED), "pro")


def test_an_unmanaged_copy_without_cascade_keeps_its_prices() -> None:
    copy = forms.billing_plan(body("0.4"))
    sub = LiveSubscription("s1", "t1", "pro", overridden=True, effective=copy)
    found = propose(sub, LIVE, desired(plan=[RAISED]))
    assert found is not None and found.differences == ()
    assert found.proposed == priced(copy, "pro")
    assert found.not_reached == ("charge tokens price",)
    assert "cascade_updates: false" in (found.not_reached_reason or "")


def test_a_copy_lagoform_manages_is_priced_as_apply_leaves_it() -> None:
    # the regression: a negotiated copy without cascade_updates follows the raise on every
    # charge it does not negotiate, because apply re-prices it (base + overrides)
    copy = forms.billing_plan(
        plan("pro", [charge("tokens", "tokens", "0.5"), charge("calls", "calls", "0.8")])
    )
    sub = LiveSubscription("s1", "t1", "pro", overridden=True, effective=copy)
    mine = {
        "external_id": "s1",
        "external_customer_id": "t1",
        "plan_code": "pro",
        "plan_overrides": {"charges": [{"code": "calls", "properties": {"amount": "0.8"}}]},
    }
    found = propose(sub, LIVE, desired(plan=[RAISED], subscription=[mine]))  # fmt: skip
    assert found is not None and found.causes == ("repriced",)
    assert found.differences == ("charge tokens",)
    tokens, calls = found.proposed.charge("tokens"), found.proposed.charge("calls")
    assert tokens is not None and tokens.properties == {"amount": "0.7"}
    assert calls is not None and calls.properties == {"amount": "0.8"}


def test_an_overridden_subscription_is_not_priced_without_its_copy() -> None:
    sub = LiveSubscription("s1", "t1", "pro", overridden=True)
    assert needs_effective_plan(sub, LIVE, desired(plan=[RAISED]))
    assert propose(sub, LIVE, desired(plan=[RAISED])) is None
    # nothing about its plan or its YAML changes: no need to read it
    assert not needs_effective_plan(sub, LIVE, desired(plan=[body()]))


def test_plan_switches_are_attributed() -> None:
    sub = LiveSubscription("s1", "t1", "pro", overridden=False)
    basic = plan("basic", [charge("calls", "calls", "1")], amount_cents=500)
    mine = {"external_id": "s1", "external_customer_id": "t1", "plan_code": "basic"}
    moved = propose(sub, LIVE, desired(plan=[body(), basic], subscription=[mine]))
    assert moved is not None and moved.causes == ("plan_switch",)
    assert moved.differences == ("subscription fee", "charge tokens removed")


def test_a_removed_plan_blocks_the_estimate_with_the_reason() -> None:
    sub = LiveSubscription("s1", "t1", "pro", overridden=False)
    found = propose(sub, LIVE, desired(remove={"plans": ["pro"]}))
    assert found is not None and "Lago terminates this subscription" in (found.blocked or "")
