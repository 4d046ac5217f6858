"""model.reach: the one verdict of what a catalog change does to a live subscription."""

from __future__ import annotations

from typing import Any

from lagoform.model import forms
from lagoform.model.reach import PlanChange, Subscriber, Wanted, reach
from lagoform.model.values import Normal
from tests.engine.factories import charge, plan


def form(tokens: str = "0.5", calls: str = "1", **kw: Any) -> Normal:
    return forms.billing_plan(
        plan("pro", [charge("tokens", "tokens", tokens), charge("calls", "calls", calls)], **kw)
    )


OLD, RAISED = form(), form(tokens="0.7")
NEGOTIATED = forms.plan_overrides(
    {"charges": [{"code": "calls", "properties": {"amount": "0.8"}}]}, {"calls": "standard"}
)


def sub(overridden: bool = False, effective: Normal | None = None) -> Subscriber:
    return Subscriber("s1", "t1", "pro", "active", overridden, effective)


def price(plan_form: Normal | None, code: str) -> str:
    assert plan_form is not None
    return str(plan_form["charges"][code]["properties"]["amount"])


def test_a_subscription_on_its_plan_follows_it() -> None:
    found = reach(sub(), None, PlanChange(OLD, RAISED))
    assert found.how == "follows" and found.after == RAISED
    assert found.reached(PlanChange(OLD, RAISED))


def test_a_copy_lagoform_manages_is_repriced_whatever_cascade_updates_says() -> None:
    # the copy holds the negotiated calls price and the catalog's old tokens price
    copy = form(calls="0.8")
    for cascade_updates in (False, True):
        change = PlanChange(OLD, RAISED, cascade_updates)
        found = reach(sub(True, copy), Wanted("pro", NEGOTIATED, stated=True), change)
        assert found.how == "repriced"
        assert (price(found.after, "tokens"), price(found.after, "calls")) == ("0.7", "0.8")
        assert found.reached(change) and found.kept == ()


def test_a_negotiated_value_keeps_what_the_plan_changes_under_it() -> None:
    change = PlanChange(OLD, form(calls="2"))
    found = reach(sub(True, form(calls="0.8")), Wanted("pro", NEGOTIATED, True), change)
    assert found.how == "repriced" and price(found.after, "calls") == "0.8"
    assert found.kept == ("charge calls price (negotiated)",)
    assert not found.reached(change)


def test_an_unmanaged_copy_follows_only_through_cascade_updates() -> None:
    copy = form(calls="0.8")  # customised in Lago, not in any tenant file
    off = reach(sub(True, copy), None, PlanChange(OLD, RAISED, False))
    assert off.how == "unreached" and off.after == copy
    assert off.kept == ("charge tokens price",)
    on = reach(sub(True, copy), None, PlanChange(OLD, RAISED, True))
    assert on.how == "cascade" and price(on.after, "tokens") == "0.7"
    assert price(on.after, "calls") == "0.8"
    # a tenant file that lists the subscription without `overrides:` does not manage its copy
    listed = reach(sub(True, copy), Wanted("pro", {}, stated=False), PlanChange(OLD, RAISED))
    assert listed.how == "unreached"


def test_new_negotiated_prices_put_a_plain_subscription_on_its_own_copy() -> None:
    found = reach(sub(), Wanted("pro", NEGOTIATED, True), PlanChange(OLD, RAISED))
    assert found.how == "repriced"
    assert (price(found.after, "tokens"), price(found.after, "calls")) == ("0.7", "0.8")
    # `overrides:` without prices: the catalog's
    plain = reach(sub(), Wanted("pro", {}, True), PlanChange(OLD, RAISED))
    assert plain.how == "follows" and plain.after == RAISED


def test_an_unread_copy_has_a_verdict_but_no_amount() -> None:
    found = reach(sub(True), Wanted("pro", NEGOTIATED, True), PlanChange(OLD, RAISED))
    assert found.how == "repriced" and found.after is None
    assert reach(sub(True), None, PlanChange(OLD, RAISED, True)).after is None


def test_a_move_lands_on_the_new_plan_with_the_negotiated_values() -> None:
    yearly = forms.billing_plan(plan("pro_yearly", [charge("calls", "calls", "1")],
                                     interval="yearly", amount_cents=500000))  # fmt: skip
    found = reach(
        sub(True, form(calls="0.8")), Wanted("pro_yearly", NEGOTIATED, True),
        PlanChange(yearly, yearly), moves=True,
    )  # fmt: skip
    assert found.moves and found.after is not None
    assert found.after["interval"] == "yearly" and price(found.after, "calls") == "0.8"


def test_a_frozen_copy_keeps_its_prices_but_not_a_filter_value_its_metric_retired() -> None:
    def filtered(*models: str) -> Normal:
        return forms.billing_plan(
            plan("pro", [charge("tokens", "tokens", "0", filters=[
                {"values": {"model": [m]}, "properties": {"amount": "3"}} for m in models
            ])])
        )  # fmt: skip

    copy, catalog = (
        filtered("m1", "m2"),
        forms.billing_plan(plan("pro", [charge("tokens", "tokens", "9")])),
    )
    change = PlanChange(copy, catalog, metric_values={"tokens": {"model": ["m1"]}})
    found = reach(sub(True, copy), Wanted("pro", {}, stated=True, frozen=True), change)
    assert found.how == "frozen" and found.after is not None
    assert list(found.after["charges"]["tokens"]["filters"]) == ["model=m1"]
    assert price(found.after, "tokens") == "0"  # its own price, not the catalog's 9
