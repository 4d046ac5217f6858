"""One subscription's period priced both ways, after the check against Lago's amounts."""

from __future__ import annotations

from typing import Any

from lagoform.impact.estimate import COMMITMENT, FEE, PeriodEstimate, estimate_period
from lagoform.impact.forms import PricedPlan
from lagoform.impact.usage import parse_usage
from tests.impact.factories import charge, graduated, plan, proposal, report, usage

STANDARD = charge("tokens", "standard", {"amount": "0.01"})
RAISED = charge("tokens", "standard", {"amount": "0.02"})


def estimate(current: PricedPlan, proposed: PricedPlan, *reports: dict[str, Any]) -> PeriodEstimate:
    return estimate_period(proposal(current, proposed), parse_usage(usage(*reports), "current"))


def by_line(result: PeriodEstimate) -> dict[str, tuple[int, int]]:
    return {line.charge: (line.old_cents, line.new_cents) for line in result.lines}


def test_a_changed_charge_is_priced_from_lagos_units() -> None:
    result = estimate(plan(STANDARD), plan(RAISED), report("id-tokens", "1234", 1234))
    assert result.reliable and by_line(result) == {"tokens": (1234, 2468)}


def test_a_mismatch_with_lago_makes_the_period_unreliable_and_says_why() -> None:
    result = estimate(plan(STANDARD), plan(RAISED), report("id-tokens", "1234", 1300))
    assert result.problems == (
        "charge tokens: Lago bills 13.00 USD, lagoform's calculator 12.34 USD for the same usage",
    )
    assert result.lines == ()


def test_a_mismatch_on_one_filter_is_named() -> None:
    filtered = charge(
        "tokens", "standard", {"amount": "0.01"},
        filters=[{"values": {"type": ["a"]}, "properties": {"amount": "0.03"}}],
    )  # fmt: skip
    lago = report("id-tokens", "200", 400, filters=[
        {"values": {"type": ["a"]}, "units": "100", "amount_cents": 200, "events_count": 1},
        {"values": None, "units": "100", "amount_cents": 200, "events_count": 1},
    ])  # fmt: skip
    result = estimate(plan(filtered), plan(RAISED), lago)
    assert result.problems == (
        "charge tokens, filter type=a: Lago bills 2.00 USD, lagoform's calculator 3.00 USD",
    )


def test_percentage_is_priced_when_totals_suffice_and_refused_otherwise() -> None:
    simple = charge("fees", "percentage", {"rate": "1", "fixed_amount": "0.10"})
    doubled = charge("fees", "percentage", {"rate": "2", "fixed_amount": "0.10"})
    lago = report("id-fees", "1000", 1050, events=5, metric="fees")  # 1% of 1000 + 5 × 0.10
    result = estimate(plan(simple), plan(doubled), lago)
    assert by_line(result) == {"fees": (1050, 2050)}
    bounded = charge("fees", "percentage", {"rate": "1", "per_transaction_max_amount": "1"})
    raised = charge("fees", "percentage", {"rate": "2", "per_transaction_max_amount": "1"})
    refused = estimate(plan(bounded), plan(raised), report("id-fees", "1000", 500, metric="fees"))
    assert len(refused.problems) == 1
    assert refused.problems[0].startswith("charge fees cannot be priced from Lago's totals")
    assert "per-transaction bounds" in refused.problems[0]


def test_an_unchanged_charge_keeps_lagos_amount_even_when_it_cannot_be_checked() -> None:
    dynamic = charge("compute", "dynamic", {})
    current = plan(dynamic, STANDARD)
    lago = [report("id-compute", "3", 4321, metric="compute"), report("id-tokens", "100", 100)]
    result = estimate(current, plan(dynamic, RAISED), *lago)
    assert result.reliable and by_line(result) == {"compute": (4321, 4321), "tokens": (100, 200)}
    assert result.notes and "Lago's amount is kept" in result.notes[0]


def test_added_and_removed_charges() -> None:
    images = charge("images", "standard", {"amount": "1"})
    second = charge(
        "tokens_eu", "graduated", graduated((100, "0"), (None, "0.05")), metric="tokens"
    )
    current = plan(STANDARD, images)
    result = estimate(current, plan(STANDARD, second),
                      report("id-tokens", "300", 300, metric="tokens"),
                      report("id-images", "2", 200, metric="images"))  # fmt: skip
    # a new charge on a metric the plan already charges reads that charge's usage
    assert by_line(result) == {"tokens": (300, 300), "images": (200, 0), "tokens_eu": (0, 1000)}
    unknown = charge("audio", "standard", {"amount": "1"}, metric="audio")
    refused = estimate(current, plan(STANDARD, unknown), report("id-tokens", "300", 300))
    assert refused.problems == (
        "charge audio is new on metric audio: Lago reports no usage of a metric the current "
        "plan does not charge",
    )


def test_min_amount_true_up_and_minimum_commitment_are_part_of_the_bill() -> None:
    floor = charge("tokens", "standard", {"amount": "0.01"}, min_amount_cents=1000)
    floor_raised = charge("tokens", "standard", {"amount": "0.03"}, min_amount_cents=1000)
    result = estimate(plan(floor), plan(floor_raised), report("id-tokens", "400", 400))
    assert by_line(result) == {"tokens": (1000, 1200)}  # 4.00 topped up to 10.00; then 12.00
    committed = plan(STANDARD, amount_cents=5000, commitment_cents=10000)
    raised = plan(RAISED, amount_cents=5000, commitment_cents=10000)
    result = estimate(committed, raised, report("id-tokens", "200000", 2000 * 100))
    # above the commitment on both sides: no top-up line
    assert by_line(result) == {"tokens": (2000 * 100, 4000 * 100), FEE: (5000, 5000)}
    small = estimate(committed, raised, report("id-tokens", "1000", 1000))
    # the commitment absorbs the raise: 5,000 + 1,000 → top-up 4,000; 5,000 + 2,000 → 3,000
    assert by_line(small) == {"tokens": (1000, 2000), FEE: (5000, 5000), COMMITMENT: (4000, 3000)}
    assert small.old_cents == small.new_cents == 10000


def test_a_charge_recreated_since_is_matched_by_its_metric() -> None:
    result = estimate(plan(STANDARD), plan(RAISED), report("older-id", "10", 10, metric="tokens"))
    assert by_line(result) == {"tokens": (10, 20)}
    stranger = report("other", "5", 500, metric="images")
    refused = estimate(plan(STANDARD), plan(RAISED), report("id-tokens", "10", 10), stranger)
    assert "cannot find on the subscription's plan" in refused.problems[0]


def test_a_currency_change_is_not_estimated() -> None:
    result = estimate(plan(STANDARD), plan(STANDARD, currency="EUR"), report("id-tokens", "1", 1))
    assert result.problems == ("the plan's currency changes (USD → EUR)",)


# -- the basis: a subscription fee counts its share of the usage period ---------------------------


def test_a_yearly_fee_counts_its_monthly_share_in_a_monthly_usage_period() -> None:
    # the regression: +300 USD on an annual plan billing charges monthly was counted whole
    # against one month of usage; it is 25 USD a month
    yearly = {"interval": "yearly", "bill_charges_monthly": True}
    old = plan(STANDARD, amount_cents=360_000, **yearly)  # type: ignore[arg-type]
    new = plan(STANDARD, amount_cents=390_000, **yearly)  # type: ignore[arg-type]
    result = estimate(old, new, report("id-tokens", "100", 100))
    assert result.interval == "monthly"
    assert by_line(result) == {"tokens": (100, 100), FEE: (30_000, 32_500)}
    assert (result.monthly_old_cents, result.monthly_new_cents) == (30_100, 32_600)


def test_a_yearly_plan_billing_yearly_counts_its_whole_fee_in_its_year() -> None:
    old = plan(STANDARD, amount_cents=360_000, interval="yearly")
    result = estimate(old, plan(RAISED, amount_cents=360_000, interval="yearly"),
                      report("id-tokens", "1200", 1200))  # fmt: skip
    assert result.interval == "yearly"
    assert by_line(result) == {"tokens": (1200, 2400), FEE: (360_000, 360_000)}
    # a year of these amounts is a twelfth of it per month
    assert (result.monthly_old_cents, result.monthly_new_cents) == (30_100, 30_200)


def test_a_move_from_yearly_to_monthly_compares_like_with_like() -> None:
    # the regression: 5,000 USD a year -> 500 USD a month showed -4,491 USD; per year it is
    # 6,000 USD, so +1,000 USD a year, +83.33 USD a month
    old = plan(STANDARD, amount_cents=500_000, interval="yearly")
    new = plan(STANDARD, amount_cents=50_000, interval="monthly")
    result = estimate(old, new, report("id-tokens", "900", 900))
    assert result.interval == "yearly"
    assert by_line(result)[FEE] == (500_000, 600_000)
    assert result.new_cents - result.old_cents == 100_000
    assert result.monthly_new_cents - result.monthly_old_cents == 8_333
