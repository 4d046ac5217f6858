"""Every currency Lago accepts reads the same in the plan, the revenue section and the audit
preview: all three render money through the one currency table (``lagoform.model.currency``)."""

from __future__ import annotations

from lagoform.engine.plan import ObjectChange, Plan, SubscriptionPricing
from lagoform.impact import PeriodTotal, RevenueImpact
from lagoform.model.currency import ACCEPTED, money
from lagoform.review import Review, render_markdown, render_text
from tests.engine.factories import desired, live, plan

CENTS = 12_345


def _review(code: str) -> Review:
    from lagoform.engine.plan import build_plan

    built = build_plan(
        desired(plan=[plan("pro", amount_cents=CENTS, amount_currency=code)]), live()
    )
    sub = ObjectChange(
        kind="subscription", key="s1", action="update",
        pricing=SubscriptionPricing(plan_code="pro", currency=code),
    )  # fmt: skip
    with_sub = Plan(**{**built.model_dump(), "changes": (*built.changes, sub)})
    record = {
        "method": "PUT", "path": "/subscriptions/s1", "object_kind": "subscription",
        "object_key": "s1",
        "override": {"tenant_id": "t1", "base_plan_code": "pro", "reason": "r", "approval": "a",
                     "charges_diff": [{"charge_code": None, "filter_values": None,
                                       "field": "amount_cents", "base_value": 0,
                                       "override_value": CENTS, "change": "changed"}]},
    }  # fmt: skip
    revenue = RevenueImpact(
        totals=(
            PeriodTotal(period="current", currency=code, subscriptions=1, customers=1,
                        old_cents=0, new_cents=CENTS, delta_cents=CENTS, customers_more=1,
                        customers_less=0, customers_same=0),
        )
    )  # fmt: skip
    return Review(plan=with_sub, revenue=revenue, audit_preview=(record,))


def test_every_currency_renders_alike_in_plan_revenue_and_audit() -> None:
    for code in sorted(ACCEPTED):
        expected = money(CENTS, code)
        text = render_text(_review(code))
        # the plan's fee, the revenue section's total, the audit preview's negotiated fee
        assert f"amount = {expected}" in text, code
        assert f"{money(0, code)} → {expected}  +{expected}" in text, code
        assert f"amount_cents: {money(0, code)} → {expected} (changed)" in text, code
        markdown = render_markdown(_review(code))
        assert markdown.count(expected) >= 3, code
