"""Pricing form, overrides and cascade_updates (forms.py), and whose pricing moves (proposed.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from lagoform.impact.forms import apply_overrides, cascade, pricing_differences
from lagoform.impact.proposed import (
    Catalog,
    LiveSubscription,
    WantedSubscription,
    needs_effective_plan,
    propose,
)
from tests.impact.factories import charge, graduated, plan

TOKENS = charge("tokens", "standard", {"amount": "0.50"})
CALLS = charge("calls", "standard", {"amount": "1"})


def test_equal_prices_written_differently_are_one_price() -> None:
    a = plan(charge("tokens", "standard", {"amount": "0.50"}, lago_id="x"))
    b = plan(charge("tokens", "standard", {"amount": 0.5}, lago_id="y"))
    assert a == b and pricing_differences(a, b) == []
    # display names and ids do not price anything
    c = plan({**charge("tokens", "standard", {"amount": "0.5"}), "invoice_display_name": "T"})
    assert a == c


def test_pricing_differences_name_what_changes() -> None:
    old = plan(TOKENS, CALLS, amount_cents=100, commitment_cents=1000)
    new = plan(
        charge("tokens", "standard", {"amount": "0.6"}),
        charge("images", "standard", {"amount": "1"}),
        amount_cents=200,
    )
    assert pricing_differences(old, new) == [
        "subscription fee",
        "minimum commitment",
        "charge tokens",
        "charge images added",
        "charge calls removed",
    ]


def test_overrides_patch_only_the_keys_they_name() -> None:
    base = plan(
        charge("tokens", "standard", {"amount": "1"}, min_amount_cents=500,
               filters=[{"values": {"type": ["a"]}, "properties": {"amount": "2"}}]),
        CALLS,
        amount_cents=1000,
    )  # fmt: skip
    after = apply_overrides(
        base,
        {"amount_cents": 900, "charges": [{"code": "tokens", "properties": {"amount": "0.8"}}]},
    )
    tokens = after.charge("tokens")
    assert tokens is not None and tokens.properties == {"amount": "0.8"}
    assert tokens.min_amount_cents == 500 and len(tokens.filters) == 1  # untouched
    assert after.amount_cents == 900 and after.charge("calls") == base.charge("calls")
    cleared = apply_overrides(base, {"charges": [{"code": "tokens", "filters": []}]})
    assert cleared.charge("tokens").filters == ()  # type: ignore[union-attr]
    assert apply_overrides(base, {"charges": [{"code": "nope", "properties": {}}]}) == base


def _parent(amount: str = "1", filt: str = "2") -> list[dict[str, Any]]:
    return [
        charge("tokens", "standard", {"amount": amount},
               filters=[{"values": {"type": ["a"]}, "properties": {"amount": filt}}]),
        CALLS,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("child_amount", "child_filter", "new_amount", "new_filter", "want", "kept"),
    [
        # uncustomised: the parent's new price reaches the child
        ("1", "2", "3", "2", ("3", "2"), []),
        # customised charge price: kept; its uncustomised filter still follows
        ("9", "2", "3", "4", ("9", "4"), ["charge tokens (its price is customised)"]),
        # customised filter: kept, the charge price follows
        ("1", "7", "3", "4", ("3", "7"), ["filter type=a of charge tokens (customised)"]),
    ],
)
def test_cascade_reaches_only_what_the_override_did_not_customise(
    child_amount: str,
    child_filter: str,
    new_amount: str,
    new_filter: str,
    want: tuple[str, str],
    kept: list[str],
) -> None:
    old_parent = plan(*_parent())
    new_parent = plan(*_parent(new_amount, new_filter))
    child = plan(*_parent(child_amount, child_filter))
    after, not_reached = cascade(child, old_parent, new_parent)
    tokens = after.charge("tokens")
    assert tokens is not None
    assert (tokens.properties["amount"], tokens.filters[0].properties["amount"]) == want
    assert not_reached == kept


def test_cascade_adds_removes_charges_and_follows_an_uncustomised_fee() -> None:
    old_parent = plan(TOKENS, CALLS, amount_cents=1000)
    images = charge("images", "standard", {"amount": "0.1"})
    new_parent = plan(TOKENS, images, amount_cents=1200)
    child = plan(TOKENS, CALLS, amount_cents=1000)
    after, kept = cascade(child, old_parent, new_parent)
    assert [c.code for c in after.charges] == ["tokens", "images"]
    assert after.amount_cents == 1200 and kept == []
    customised_fee = replace(child, amount_cents=900)
    after, kept = cascade(customised_fee, old_parent, new_parent)
    assert after.amount_cents == 900 and kept == ["subscription fee (customised)"]


def test_cascade_leaves_min_amount_and_other_models_alone() -> None:
    old_parent = plan(TOKENS)
    new_parent = plan(charge("tokens", "standard", {"amount": "0.5"}, min_amount_cents=900))
    after, kept = cascade(plan(TOKENS), old_parent, new_parent)
    assert after.charge("tokens").min_amount_cents == 0  # type: ignore[union-attr]
    assert kept == ["min_amount of charge tokens (Lago does not cascade it)"]
    other_model = plan(charge("tokens", "graduated", graduated((None, "0.5"))))
    moved = plan(charge("tokens", "standard", {"amount": "0.7"}))
    after, kept = cascade(other_model, old_parent, moved)
    assert after == other_model
    assert kept == ["charge tokens (its charge model differs from the plan's)"]


# -- propose ---------------------------------------------------------------------------------

LIVE = {"pro": plan(TOKENS, CALLS, amount_cents=1000)}
RAISED = plan(charge("tokens", "standard", {"amount": "0.7"}), CALLS, amount_cents=1000)


def _catalog(*, cascade_updates: bool = False, **subs: WantedSubscription) -> Catalog:
    return Catalog({"pro": replace(RAISED, cascade_updates=cascade_updates)}, dict(subs))


def test_a_subscription_on_the_plan_follows_it_directly() -> None:
    sub = LiveSubscription("s1", "t1", "pro", overridden=False)
    found = propose(sub, LIVE, _catalog())
    assert found is not None
    assert found.causes == ("plan",) and found.differences == ("charge tokens",)
    assert found.proposed == RAISED


def test_an_overridden_subscription_without_cascade_keeps_its_copy() -> None:
    child = plan(charge("tokens", "standard", {"amount": "0.4"}), CALLS, amount_cents=1000)
    sub = LiveSubscription("s1", "t1", "pro", overridden=True, effective_plan=child)
    found = propose(sub, LIVE, _catalog())
    assert found is not None and found.differences == () and found.proposed == child
    assert found.not_reached == ("charge tokens",)
    assert "cascade_updates: false" in (found.not_reached_reason or "")


def test_an_overridden_subscription_is_not_priced_without_its_effective_plan() -> None:
    sub = LiveSubscription("s1", "t1", "pro", overridden=True)
    assert needs_effective_plan(sub, LIVE, _catalog())
    assert propose(sub, LIVE, _catalog()) is None
    # nothing about its plan or its overrides changes: no need to read it
    assert not needs_effective_plan(sub, LIVE, Catalog(dict(LIVE), {}))


def test_override_changes_and_plan_switches_are_attributed() -> None:
    sub = LiveSubscription("s1", "t1", "pro", overridden=False)
    patch = {"charges": [{"code": "calls", "properties": {"amount": "2"}}]}
    found = propose(sub, LIVE, _catalog(s1=WantedSubscription("pro", patch)))
    assert found is not None and found.causes == ("plan", "override")
    assert found.differences == ("charge tokens", "charge calls")
    other = plan(CALLS, code="basic", amount_cents=500)
    catalog = Catalog({"pro": LIVE["pro"], "basic": other}, {"s1": WantedSubscription("basic")})
    moved = propose(sub, LIVE, catalog)
    assert moved is not None and moved.causes == ("plan_switch",)
    assert moved.differences == ("subscription fee", "charge tokens removed")


def test_a_removed_plan_blocks_the_estimate_with_the_reason() -> None:
    sub = LiveSubscription("s1", "t1", "pro", overridden=False)
    found = propose(sub, LIVE, Catalog({}, {}, frozenset({"pro"})))
    assert found is not None and "Lago terminates this subscription" in (found.blocked or "")
