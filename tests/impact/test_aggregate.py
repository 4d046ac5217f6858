"""Totals, movers and contributions add subscriptions up on the monthly run-rate basis."""

from __future__ import annotations

from lagoform.impact.aggregate import Estimated, summarize
from lagoform.impact.estimate import FEE, ChargeLine, PeriodEstimate
from tests.impact.factories import charge, plan, proposal

TOKENS = charge("tokens", "standard", {"amount": "0.01"})


def _yearly(sub: str, tenant: str, old_fee: int, new_fee: int, usage: int) -> Estimated:
    # a yearly plan billing charges monthly: its usage period is a month, its fee a twelfth
    period = PeriodEstimate(
        "current", None, None, "USD", "monthly",
        lines=(ChargeLine("tokens", usage, usage), ChargeLine(FEE, old_fee // 12, new_fee // 12)),
    )  # fmt: skip
    return Estimated(proposal(plan(TOKENS), plan(TOKENS), sub, tenant), (period,))


def _monthly(sub: str, tenant: str, old: int, new: int) -> Estimated:
    period = PeriodEstimate(
        "current", None, None, "USD", "monthly", lines=(ChargeLine("tokens", old, new),)
    )
    return Estimated(proposal(plan(TOKENS), plan(TOKENS), sub, tenant), (period,))


def test_annual_fee_raises_count_their_monthly_share() -> None:
    # the regression: 24 annual subscribers x +300 USD a year made 7,200 of the headline
    annual = [_yearly(f"a{i}", f"annual{i:02d}", 360_000, 390_000, 1_000) for i in range(24)]
    monthly = [_monthly("m1", "monthly1", 10_000, 15_000)]
    impact = summarize([*annual, *monthly])
    total = impact.total("current", "USD")
    assert total is not None and impact.basis == "monthly"
    assert total.delta_cents == 24 * 2_500 + 5_000  # 600 USD + 50 USD a month
    # the monthly customer's +50 USD now leads the movers, ahead of each annual +25 USD
    assert impact.movers[0].external_customer_id == "monthly1"
    assert {m.delta_cents for m in impact.movers[1:]} == {2_500}
    [fee] = [c for c in impact.contributions if c.charge == FEE]
    assert fee.delta_cents == 24 * 2_500


def test_a_quarterly_usage_period_is_a_third_per_month() -> None:
    period = PeriodEstimate(
        "current", None, None, "USD", "quarterly", lines=(ChargeLine("tokens", 3_000, 6_000),)
    )
    impact = summarize([Estimated(proposal(plan(TOKENS), plan(TOKENS)), (period,))])
    [sub] = impact.subscriptions
    assert (sub.periods[0].old_cents, sub.periods[0].monthly_old_cents) == (3_000, 1_000)
    total = impact.total("current", "USD")
    assert total is not None and (total.old_cents, total.new_cents) == (1_000, 2_000)
