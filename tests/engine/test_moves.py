"""A subscription changing plan (pure): Lago's upgrade / downgrade rule by yearly base fee."""

from __future__ import annotations

from typing import Any

import pytest

from lagoform.engine.moves import plan_move
from lagoform.model.intervals import yearly_cents
from tests.engine.factories import desired, live, plan, subscription

PLANS = [
    plan("monthly_99", amount_cents=9900, interval="monthly"),
    plan("quarterly_300", amount_cents=30000, interval="quarterly"),
    plan("yearly_1188", amount_cents=118800, interval="yearly"),
    plan("weekly_20", amount_cents=2000, interval="weekly"),
]


def move(to: str, **record: Any) -> Any:
    fields = {"plan_amount_cents": 9900, "current_billing_period_ending_at": "2026-11-30T23:59:59Z"}
    sub = subscription("s", "monthly_99", **{**fields, **record})
    lv = live(plan=PLANS, subscriptions=[sub])
    have = lv.get("subscription", "s")
    assert have is not None
    return plan_move(have, to, desired(plan=PLANS), lv)


@pytest.mark.parametrize(
    ("amount", "interval", "yearly"),
    [(100, "weekly", 5200), (100, "monthly", 1200), (100, "quarterly", 400),
     (100, "semiannual", 200), (100, "yearly", 100)],
)  # fmt: skip
def test_yearly_fee(amount: int, interval: str, yearly: int) -> None:
    assert yearly_cents(amount, interval) == yearly


def test_dearer_plan_is_an_upgrade_now() -> None:
    found = move("quarterly_300")  # 1,200.00 a year vs 1,188.00
    assert (found.kind, found.effective) == ("upgrade", "now")
    assert (found.from_yearly_cents, found.to_yearly_cents) == (118800, 120000)
    assert "terminates the current subscription now" in found.rule


def test_equal_yearly_fee_counts_as_an_upgrade() -> None:
    assert move("yearly_1188").kind == "upgrade"


def test_cheaper_plan_is_a_downgrade_at_period_end() -> None:
    found = move("weekly_20", plan_amount_cents=9900)  # 1,040.00 a year
    assert (found.kind, found.effective) == ("downgrade", "2026-11-30")
    assert "until its current billing period ends (2026-11-30)" in found.rule


def test_the_negotiated_fee_is_what_lago_compares() -> None:
    # overridden down to 80.00 a month (960.00 a year): weekly_20 (1,040.00) is an upgrade
    assert move("weekly_20", plan_amount_cents=8000).kind == "upgrade"


def test_not_started_is_a_swap_and_same_plan_is_no_move() -> None:
    found = move("quarterly_300", status="pending", subscription_at="2027-02-01T00:00:00Z")
    assert (found.kind, found.effective) == ("swap", "2027-02-01")
    assert "applies no overrides on this path" in found.rule
    assert move("monthly_99") is None


def test_a_third_plan_while_a_downgrade_is_scheduled_cancels_it() -> None:
    found = move("quarterly_300", next_plan_code="weekly_20")
    assert found.kind == "upgrade" and "cancels the downgrade to 'weekly_20'" in found.rule
    assert move("weekly_20", next_plan_code="weekly_20") is None
