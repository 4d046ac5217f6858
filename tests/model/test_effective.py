"""Base plan + overrides, Lago's cascade onto a subscription's copy, and what apply sets it to.

Cascade cases paraphrase lago-api's cascade services: ``Plans::UpdateService``
(``cascade_subscription_fee_update``: only children still at the old fee),
``Charges::UpdateService`` in cascade mode (properties only when the child's equal the old
parent's; grouping keys always; no display name, minimum or model change),
``ChargeFilters::CascadeDispatcher`` / ``CascadeService`` (per filter: create when the child
lacks it, destroy even when customised, update properties and display name unless customised).
"""

from __future__ import annotations

from typing import Any

import pytest

from lagoform.model import forms
from lagoform.model.effective import cascade, copy_after, copy_goal, overlay, pricing
from lagoform.model.values import Normal
from tests.engine.factories import charge, plan


def form(*charges: dict[str, Any], **kw: Any) -> Normal:
    return forms.billing_plan(plan("pro", charges, **kw))


def tokens(amount: str = "1", filt: str = "2", **kw: Any) -> dict[str, Any]:
    return charge(
        "tokens", "tokens", amount,
        filters=[{"values": {"type": ["a"]}, "properties": {"amount": filt}}], **kw,
    )  # fmt: skip


CALLS = charge("calls", "calls", "1")


def _amount(plan_form: Normal, code: str = "tokens") -> str:
    return str(plan_form["charges"][code]["properties"]["amount"])


def _filter(plan_form: Normal, key: str = "type=a") -> str:
    return str(plan_form["charges"]["tokens"]["filters"][key]["properties"]["amount"])


def test_overlay_replaces_only_what_the_override_sets() -> None:
    base = form(tokens(min_amount_cents=500), CALLS, amount_cents=1000)
    over = forms.plan_overrides(
        {"amount_cents": 900, "charges": [{"code": "tokens", "properties": {"amount": "0.8"}}]},
        {"tokens": "standard"},
    )
    after = overlay(base, over)
    assert after["amount_cents"] == 900 and _amount(after) == "0.8"
    assert after["charges"]["tokens"]["min_amount_cents"] == 500  # untouched
    assert after["charges"]["tokens"]["filters"] == base["charges"]["tokens"]["filters"]
    assert after["charges"]["calls"] == base["charges"]["calls"]
    assert base["amount_cents"] == 1000  # the base is not edited
    # an override of a charge the base lacks changes nothing
    assert overlay(base, {"charges": {"nope": {"properties": {}}}}) == base


def test_an_override_names_only_the_filters_it_negotiates() -> None:
    # the trap of issue 12: negotiating one filter must leave every other at the catalog's price
    three = charge("tokens", "tokens", "1", filters=[
        {"values": {"type": [t]}, "properties": {"amount": a}}
        for t, a in (("a", "2"), ("b", "3"), ("c", "4"))
    ])  # fmt: skip
    base = form(three)
    one = forms.plan_overrides(
        {"charges": [{"code": "tokens", "filters": [
            {"values": {"type": ["b"]}, "properties": {"amount": "2.5"}}]}]},
        {"tokens": "standard"},
    )  # fmt: skip
    after = overlay(base, one)["charges"]["tokens"]["filters"]
    assert {k: f["properties"]["amount"] for k, f in after.items()} == {
        "type=a": "2", "type=b": "2.5", "type=c": "4"
    }  # fmt: skip
    # restating every filter (the old workaround) gives the same result as before
    full = forms.plan_overrides(
        {"charges": [{"code": "tokens", "filters": [
            {"values": {"type": [t]}, "properties": {"amount": a}}
            for t, a in (("a", "2"), ("b", "2.5"), ("c", "4"))]}]},
        {"tokens": "standard"},
    )  # fmt: skip
    assert overlay(base, full) == overlay(base, one)
    # a filter the base charge lacks is not added (validate refuses it)
    extra = {"charges": {"tokens": {"filters": {"type=z": {"values": {"type": ["z"]}}}}}}
    assert overlay(base, extra) == base


@pytest.mark.parametrize(
    ("child", "new", "want", "kept"),
    [
        # uncustomised: the parent's new price reaches the child
        (("1", "2"), ("3", "2"), ("3", "2"), ()),
        # customised charge price: kept; its uncustomised filter still follows
        (("9", "2"), ("3", "4"), ("9", "4"), ("charge tokens price (its own)",)),
        # customised filter: kept, the charge price follows
        (("1", "7"), ("3", "4"), ("3", "7"), ("charge tokens filter type=a (its own price)",)),
    ],
)
def test_cascade_reaches_only_what_the_copy_did_not_customise(
    child: tuple[str, str], new: tuple[str, str], want: tuple[str, str], kept: tuple[str, ...]
) -> None:
    done = cascade(form(tokens(*child), CALLS), form(tokens(), CALLS), form(tokens(*new), CALLS))
    assert (_amount(done.plan), _filter(done.plan)) == want
    assert done.kept == kept


def test_cascade_adds_removes_charges_and_follows_only_an_uncustomised_fee() -> None:
    images = charge("images", "images", "0.1")
    old, new = form(tokens(), CALLS, amount_cents=1000), form(tokens(), images, amount_cents=1200)
    done = cascade(form(tokens(), CALLS, amount_cents=1000), old, new)
    assert sorted(done.plan["charges"]) == ["images", "tokens"]
    assert done.plan["amount_cents"] == 1200 and done.kept == ()
    own_fee = cascade(form(tokens(), CALLS, amount_cents=900), old, new)
    assert own_fee.plan["amount_cents"] == 900
    assert own_fee.kept == ("subscription fee (its own)",)


def test_cascade_never_carries_a_minimum_a_display_name_or_a_model_change() -> None:
    old = form(tokens())
    new = form(tokens(min_amount_cents=900, invoice_display_name="Tokens"))
    done = cascade(form(tokens()), old, new)
    assert done.plan["charges"]["tokens"]["min_amount_cents"] == 0
    assert "invoice_display_name" not in done.plan["charges"]["tokens"]
    assert done.kept == (
        "charge tokens minimum (Lago does not cascade it)",
        "charge tokens display name (Lago does not cascade it)",
    )
    package = {"amount": "1", "package_size": 10, "free_units": 0}
    other_model = form(charge("tokens", "tokens", charge_model="package", properties=package))
    moved = cascade(other_model, form(tokens()), form(tokens("7")))
    assert (
        moved.plan["charges"]["tokens"]["properties"]
        == other_model["charges"]["tokens"]["properties"]
    )


def test_cascade_filters_one_by_one() -> None:
    def with_filters(*items: tuple[str, str, str | None]) -> Normal:
        return form(
            charge("tokens", "tokens", "1", filters=[
                {"values": {"type": [v]}, "properties": {"amount": a},
                 **({"invoice_display_name": n} if n else {})}
                for v, a, n in items
            ])
        )  # fmt: skip

    old = with_filters(("a", "1", None), ("b", "1", None), ("c", "1", None))
    new = with_filters(("a", "2", "A"), ("b", "1", None), ("d", "5", None))
    child = with_filters(("a", "1", None), ("b", "1", None), ("c", "9", None))
    done = cascade(child, old, new)
    filters = done.plan["charges"]["tokens"]["filters"]
    # a: uncustomised, takes the new price and display name; c: removed although customised;
    # d: new on the parent, added
    assert sorted(filters) == ["type=a", "type=b", "type=d"]
    assert filters["type=a"]["properties"] == {"amount": "2"}
    assert filters["type=a"]["invoice_display_name"] == "A"
    assert filters["type=d"]["properties"] == {"amount": "5"}
    customised = cascade(with_filters(("a", "8", None), ("b", "1", None)), old, new)
    assert customised.plan["charges"]["tokens"]["filters"]["type=a"]["properties"] == {
        "amount": "8"
    }
    assert customised.kept == ("charge tokens filter type=a (its own price)",)


def test_copy_goal_is_base_plus_overrides_on_the_charges_the_copy_has() -> None:
    base = form(tokens("2"), CALLS, amount_cents=1000)
    copy = form(tokens("1"), charge("legacy", "legacy", "5"), amount_cents=1000)
    parent = form(tokens("1"), charge("legacy", "legacy", "5"), amount_cents=1000)
    over = {"charges": {"calls": {"properties": {"amount": "0.5"}}}}
    found = copy_goal(base, over, copy, cascade_updates=False, parent=parent)
    assert found.cannot_add == ("calls",) and found.cannot_drop == ("legacy",)
    assert _amount(found.goal) == "2"
    # with cascade_updates Lago itself adds a charge new on the plan and drops a removed one
    found = copy_goal(base, over, copy, cascade_updates=True, parent=parent)
    assert (found.added_by_lago, found.dropped_by_lago) == (("calls",), ("legacy",))
    assert (found.cannot_add, found.cannot_drop) == ((), ())
    after = copy_after(found)
    assert sorted(after["charges"]) == ["calls", "tokens"]
    assert _amount(after) == "2" and _amount(after, "calls") == "0.5"
    assert pricing(after)["charges"]["tokens"] == pricing(base)["charges"]["tokens"]


def test_a_negotiated_price_equal_to_the_old_catalog_one_is_kept_through_a_cascade() -> None:
    # the copy holds the catalog's calls price because the tenant negotiated that very price;
    # Lago's cascade would carry the raise into it, so apply must set it back
    old, new = form(tokens(), CALLS), form(tokens(), charge("calls", "calls", "2"))
    over = {"charges": {"calls": {"properties": {"amount": "1"}}}}
    found = copy_goal(new, over, form(tokens(), CALLS), cascade_updates=True, parent=old)
    assert _amount(found.now, "calls") == "2"  # what the plan update leaves
    assert _amount(found.goal, "calls") == "1"
    assert _amount(copy_after(found), "calls") == "1"


def test_a_frozen_copy_keeps_its_prices_but_loses_the_filters_its_metric_no_longer_has() -> None:
    old_price = form(
        charge(
            "tokens", "tokens", "1",
            filters=[
                {"values": {"model": ["m1"], "type": ["a"]}, "properties": {"amount": "3"}},
                {"values": {"model": ["m2"], "type": ["a"]}, "properties": {"amount": "4"}},
                {"values": {"model": ["__ALL_FILTER_VALUES__"]}, "properties": {"amount": "9"}},
            ],
        )
    )  # fmt: skip
    base = form(tokens("5"))  # the catalog moved on; the frozen copy ignores that
    metric = {"tokens": {"model": ["m1"], "type": ["a"]}}  # m2 retired from the metric
    found = copy_goal(
        base, {}, old_price, cascade_updates=False, parent=None, frozen=True, metric_values=metric
    )
    filters = found.goal["charges"]["tokens"]["filters"]
    # Lago would trim m2's filter to {type: a} and keep billing it at 4: lagoform drops it
    assert sorted(filters) == ["model=__ALL_FILTER_VALUES__", "model=m1;type=a"]
    assert _amount(found.goal) == "1" and filters["model=m1;type=a"]["properties"] == {
        "amount": "3"
    }
    # a charge whose metric is unknown keeps every filter
    kept = copy_goal(base, {}, old_price, cascade_updates=False, parent=None, frozen=True)
    assert len(kept.goal["charges"]["tokens"]["filters"]) == 3
