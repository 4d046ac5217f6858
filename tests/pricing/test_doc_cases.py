"""Worked examples from Lago's public documentation, each checked to the cent.

Every case names the page its figures come from. Where a page states only the configuration
(tiers, rates), the expected amount is worked out by hand from the page's own wording and noted
so. Where a page disagrees with the server's behaviour (API_NOTES §13), the case follows §13
and says so in its note.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from lagoform.pricing import (
    ChargeUsage,
    GroupUsage,
    base_fee_cents,
    days_in_period,
    invoice_total,
    price_charge_usage,
    price_units,
    proration,
    to_cents,
    usage_from_events,
)

DOCS = "https://docs.getlago.com"
STANDARD = f"{DOCS}/guide/plans/charges/charge-models/standard"
GRADUATED = f"{DOCS}/guide/plans/charges/charge-models/graduated"
VOLUME = f"{DOCS}/guide/plans/charges/charge-models/volume"
PACKAGE = f"{DOCS}/guide/plans/charges/charge-models/package"
PERCENTAGE = f"{DOCS}/guide/plans/charges/charge-models/percentage"
GRADUATED_PERCENTAGE = f"{DOCS}/guide/plans/charges/charge-models/graduated-percentage"
DYNAMIC = f"{DOCS}/guide/plans/charges/charge-models/dynamic"
CHARGES_OVERVIEW = f"{DOCS}/guide/plans/charges/overview"
FILTERS = f"{DOCS}/guide/plans/charges/charges-with-filters"
SPENDING_MINIMUM = f"{DOCS}/guide/plans/charges/spending-minimum"
COMMITMENT = f"{DOCS}/guide/plans/commitment"
PRORATED = f"{DOCS}/guide/plans/charges/prorated-vs-full"
ASSIGN_PLAN = f"{DOCS}/guide/subscriptions/assign-plan"
PLAN_MODEL = "https://doc.getlago.com/docs/guide/plans/plan-model"
SEGMENT = f"{DOCS}/templates/hybrid/segment"
ALGOLIA = f"{DOCS}/templates/payg/algolia"
STRIPE = f"{DOCS}/templates/per-transaction/stripe"
MISTRAL = f"{DOCS}/templates/per-token/mistral"
# Lago's product update announcing per-transaction min/max (newsletter #25).
MIN_MAX_UPDATE = "https://d376nw0erossg9.cloudfront.net/updates-25.html"
# Lago's own roadmap entry for minimum commitment, with its worked invoice.
COMMITMENT_ROADMAP = (
    "https://getlago.canny.io/feature-requests/p/set-minimum-spend-for-subscriptions"
)
MINIMUMS_COMMUNITY = "https://community.getlago.com/t/ability-to-define-minimums/55"
ZERO_USAGE_FIX = "https://github.com/getlago/lago-api/pull/5760"

D = Decimal


def _range(lo: int, hi: int | None, price: str, flat: str = "0") -> dict[str, Any]:
    return {"from_value": lo, "to_value": hi, "per_unit_amount": price, "flat_amount": flat}


def _fee(model: str, props: dict[str, Any], units: str | int, **kw: Any) -> int:
    return to_cents(price_units(model, props, D(units), **kw))


# $1 for the first 100 units, $0.50 for the next 100, $0.10 beyond (graduated page).
API_GRADUATED = {
    "graduated_ranges": [_range(0, 100, "1"), _range(101, 200, "0.5"), _range(201, None, "0.1")]
}
# Segment "Team" plan: 10,000 MTUs included, then $0.012 / $0.011 / $0.010 per MTU.
SEGMENT_TEAM = {
    "graduated_ranges": [
        _range(0, 10_000, "0"),
        _range(10_001, 25_000, "0.012"),
        _range(25_001, 100_000, "0.011"),
        _range(100_001, None, "0.010"),
    ]
}
API_VOLUME = {
    "volume_ranges": [
        _range(0, 10_000, "0.0010", "10"),
        _range(10_001, 50_000, "0.0008", "10"),
        _range(50_001, 100_000, "0.0006", "10"),
        _range(100_001, None, "0.0004", "10"),
    ]
}
API_PACKAGE = {"amount": "5", "package_size": 100, "free_units": 100}
ALGOLIA_SEARCH = {"amount": "1.50", "package_size": 1000, "free_units": 10_000}
PERCENTAGE_FREE = {
    "rate": "1.2",
    "fixed_amount": "0.10",
    "free_units_per_events": 3,
    "free_units_per_total_aggregation": "500",
}
PERCENTAGE_MIN_MAX = {
    "rate": "1",
    "fixed_amount": "0.50",
    "per_transaction_min_amount": "1",
    "per_transaction_max_amount": "5",
}
GRADUATED_PCT = {
    "graduated_percentage_ranges": [
        {"from_value": 0, "to_value": 1000, "rate": "1", "flat_amount": "200"},
        {"from_value": 1001, "to_value": 10_000, "rate": "2", "flat_amount": "300"},
        {"from_value": 10_001, "to_value": None, "rate": "3", "flat_amount": "400"},
    ]
}
# The filters page's plan: default $2, Africa & AWS $1, any region & any provider $0.5.
FILTERED_COMPUTE = {
    "charge_model": "standard",
    "properties": {"amount": "2"},
    "filters": [
        {
            "values": {"region": ["africa"], "provider": ["aws"]},
            "invoice_display_name": "Africa & AWS",
            "properties": {"amount": "1"},
        },
        {
            "values": {"region": ["__ALL_FILTER_VALUES__"], "provider": ["__ALL_FILTER_VALUES__"]},
            "invoice_display_name": "Other regions and providers",
            "properties": {"amount": "0.5"},
        },
    ],
}
STRIPE_CARDS = {
    "charge_model": "percentage",
    "properties": {"rate": "0"},
    "filters": [
        {"values": {"type": ["online"]}, "properties": {"rate": "2.9", "fixed_amount": "0.30"}},
        {"values": {"type": ["in-person"]}, "properties": {"rate": "2.7", "fixed_amount": "0.05"}},
    ],
}
MISTRAL_TOKENS = {
    "charge_model": "standard",
    "properties": {"amount": "0"},
    "filters": [
        {
            "values": {"model": ["mistral-small"], "type": ["input"]},
            "properties": {"amount": "0.000001"},
        },
        {
            "values": {"model": ["mistral-small"], "type": ["output"]},
            "properties": {"amount": "0.000003"},
        },
        {
            "values": {"model": ["mistral-large"], "type": ["input"]},
            "properties": {"amount": "0.000004"},
        },
        {
            "values": {"model": ["mistral-large"], "type": ["output"]},
            "properties": {"amount": "0.000012"},
        },
    ],
}


def _events(rows: Sequence[tuple[dict[str, Any], str]]) -> list[tuple[dict[str, Any], Decimal]]:
    return [(props, D(value)) for props, value in rows]


def _filtered_compute() -> int:
    usage = usage_from_events(
        FILTERED_COMPUTE,
        _events(
            [
                ({"region": "africa", "provider": "aws", "hours": 10}, "10"),
                ({"region": "europe", "provider": "gcp", "hours": 10}, "10"),
                ({"region": "africa", "provider": "gcp", "hours": 4}, "4"),
                ({"region": "europe", "hours": 10}, "10"),  # no provider: default price
            ]
        ),
    )
    fees = price_charge_usage(FILTERED_COMPUTE, usage)
    assert fees.by_group == {0: 1000, 1: 700, None: 2000}
    return fees.total_cents


def _stripe_cards() -> int:
    usage = usage_from_events(
        STRIPE_CARDS,
        _events(
            [({"type": "online"}, "100"), ({"type": "in-person"}, "20"), ({"type": "online"}, "50")]
        ),
    )
    fees = price_charge_usage(STRIPE_CARDS, usage)
    # online: 2.9% of $150 + 2 x $0.30 = $4.95; in-person: 2.7% of $20 + $0.05 = $0.59
    assert fees.by_group == {0: 495, 1: 59, None: 0}
    return fees.total_cents


def _mistral() -> int:
    usage = usage_from_events(
        MISTRAL_TOKENS,
        _events(
            [
                ({"model": "mistral-small", "type": "input"}, "2000000"),
                ({"model": "mistral-small", "type": "input"}, "500000"),
                ({"model": "mistral-large", "type": "output"}, "1000000"),
            ]
        ),
    )
    fees = price_charge_usage(MISTRAL_TOKENS, usage)
    assert fees.by_group[0] == 250 and fees.by_group[3] == 1200
    return fees.total_cents


def _spending_minimum() -> int:
    charge = {
        "charge_model": "standard",
        "properties": {"amount": "0.010"},
        "min_amount_cents": 10_000,
    }
    fees = price_charge_usage(charge, ChargeUsage.single(D(5000)))
    assert fees.amount_cents == 5000 and fees.true_up_cents == 5000
    return fees.total_cents


def _community_minimum() -> int:
    charge = {"charge_model": "standard", "properties": {"amount": "0.01"}, "min_amount_cents": 500}
    fees = price_charge_usage(charge, ChargeUsage.single(D(400)))
    assert fees.amount_cents == 400
    return fees.true_up_cents


def _commitment() -> int:
    charge = {"charge_model": "standard", "properties": {"amount": "10"}}
    fees = price_charge_usage(charge, ChargeUsage.single(D(3)))
    total = invoice_total(5000, [fees], minimum_commitment_cents=10_000)
    assert total.commitment_top_up_cents == 2000
    return total.total_cents


def _segment_invoice() -> int:
    charge = {"charge_model": "graduated", "properties": SEGMENT_TEAM}
    fees = price_charge_usage(charge, ChargeUsage.single(D(30_000)))
    return invoice_total(12_000, [fees]).total_cents


def _dynamic() -> int:
    charge = {"charge_model": "dynamic", "properties": {}}
    usage = ChargeUsage({None: GroupUsage(D(22), 3, (D(70), D(55), D(220)))})
    return price_charge_usage(charge, usage).total_cents


def _percentage_charge() -> int:
    charge = {"charge_model": "percentage", "properties": PERCENTAGE_FREE}
    usage = ChargeUsage.single(D(450), events_count=4, transactions=[D(200), D(100), D(100), D(50)])
    return price_charge_usage(charge, usage).total_cents


@dataclass(frozen=True)
class DocCase:
    name: str
    source: str
    compute: Callable[[], int]
    expected_cents: int
    note: str = ""


CASES = [
    DocCase(
        "standard: 1,000 API calls at $0.05",
        STANDARD,
        lambda: _fee("standard", {"amount": "0.05"}, 1000),
        5000,
    ),
    DocCase(
        "standard: 15-decimal price, 1M units",
        CHARGES_OVERVIEW,
        lambda: _fee("standard", {"amount": "0.000123456789123"}, 1_000_000),
        12346,
        "page: up to 15 decimals, amounts rounded to amount_cents; $123.456789123 → $123.46",
    ),
    DocCase(
        "graduated: 100 units all in tier 1",
        GRADUATED,
        lambda: _fee("graduated", API_GRADUATED, 100),
        10000,
        "worked from the page's tiers",
    ),
    DocCase(
        "graduated: 200 units = 100 x $1 + 100 x $0.50",
        GRADUATED,
        lambda: _fee("graduated", API_GRADUATED, 200),
        15000,
        "worked from the page's tiers",
    ),
    DocCase(
        "graduated: 250 units adds 50 x $0.10",
        GRADUATED,
        lambda: _fee("graduated", API_GRADUATED, 250),
        15500,
        "worked from the page's tiers",
    ),
    DocCase(
        "graduated: Segment 30,000 MTUs",
        SEGMENT,
        lambda: _fee("graduated", SEGMENT_TEAM, 30_000),
        23500,
        "15,000 x $0.012 + 5,000 x $0.011, worked from the template's tiers",
    ),
    DocCase(
        "graduated: Segment 150,000 MTUs",
        SEGMENT,
        lambda: _fee("graduated", SEGMENT_TEAM, 150_000),
        150500,
        "$180 + 75,000 x $0.011 + 50,000 x $0.010, worked from the template's tiers",
    ),
    DocCase("graduated: Segment invoice, $120 fee + 30,000 MTUs", SEGMENT, _segment_invoice, 35500),
    DocCase("volume: 65,000 API calls", VOLUME, lambda: _fee("volume", API_VOLUME, 65_000), 4900),
    DocCase(
        "volume: 10,000 calls stay in tier 1",
        VOLUME,
        lambda: _fee("volume", API_VOLUME, 10_000),
        2000,
        "worked from the page's tiers",
    ),
    DocCase(
        "volume: 10,000.5 calls round up into tier 2",
        VOLUME,
        lambda: _fee("volume", API_VOLUME, "10000.5"),
        1800,
        "§13.1: tier chosen with usage rounded up; 10,000.5 x $0.0008 + $10 = $18.0004",
    ),
    DocCase(
        "volume: 150,000 calls in tier 4",
        VOLUME,
        lambda: _fee("volume", API_VOLUME, 150_000),
        7000,
        "worked from the page's tiers",
    ),
    DocCase(
        "volume: zero usage bills tier 1 flat fee",
        VOLUME,
        lambda: _fee("volume", API_VOLUME, 0),
        1000,
        f"page is silent; §13.2 / {ZERO_USAGE_FIX}: servers since 2026-07 bill the flat fee",
    ),
    DocCase(
        "volume: zero usage on a pre-2026-07 server",
        VOLUME,
        lambda: _fee("volume", API_VOLUME, 0, zero_usage_first_tier_flat=False),
        0,
        "§13.2: before lago-api PR #5760 zero usage billed $0",
    ),
    DocCase(
        "package: 201 units, $5 per 100, 100 free",
        PACKAGE,
        lambda: _fee("package", API_PACKAGE, 201),
        1000,
    ),
    DocCase(
        "package: 100 units are all free",
        PACKAGE,
        lambda: _fee("package", API_PACKAGE, 100),
        0,
        "worked from the page's example",
    ),
    DocCase(
        "package: Algolia 25,500 requests",
        ALGOLIA,
        lambda: _fee("package", ALGOLIA_SEARCH, 25_500),
        2400,
        "15,500 paid requests = 16 packages of 1,000 at $1.50",
    ),
    DocCase(
        "percentage: 4 transactions, 3 events or $500 free",
        PERCENTAGE,
        lambda: _fee(
            "percentage", PERCENTAGE_FREE, 450, transactions=[D(200), D(100), D(100), D(50)]
        ),
        70,
    ),
    DocCase(
        "percentage: same usage through price_charge_usage", PERCENTAGE, _percentage_charge, 70
    ),
    DocCase(
        "percentage: $20 transaction raised to the $1 minimum",
        MIN_MAX_UPDATE,
        lambda: _fee("percentage", PERCENTAGE_MIN_MAX, 20, transactions=[D(20)]),
        100,
    ),
    DocCase(
        "percentage: $600 transaction capped at the $5 maximum",
        MIN_MAX_UPDATE,
        lambda: _fee("percentage", PERCENTAGE_MIN_MAX, 600, transactions=[D(600)]),
        500,
    ),
    DocCase(
        "percentage: min/max ignored without premium",
        MIN_MAX_UPDATE,
        lambda: _fee(
            "percentage", PERCENTAGE_MIN_MAX, 620, transactions=[D(20), D(600)], premium=False
        ),
        720,
        "§13.5: bounds apply only with the premium licence; $0.70 + $6.50",
    ),
    DocCase(
        "percentage + filters: Stripe online and in-person cards",
        STRIPE,
        _stripe_cards,
        554,
        "worked from the template's rates",
    ),
    DocCase(
        "graduated_percentage: first $500 transaction",
        GRADUATED_PERCENTAGE,
        lambda: _fee("graduated_percentage", GRADUATED_PCT, 500),
        20500,
    ),
    DocCase(
        "graduated_percentage: after the $550 transaction",
        GRADUATED_PERCENTAGE,
        lambda: _fee("graduated_percentage", GRADUATED_PCT, 1050),
        51100,
        "$205 + $306",
    ),
    DocCase(
        "graduated_percentage: after the $4,000 transaction",
        GRADUATED_PERCENTAGE,
        lambda: _fee("graduated_percentage", GRADUATED_PCT, 5050),
        59100,
        "$205 + $306 + $80",
    ),
    DocCase(
        "dynamic: three events' precise_total_amount_cents",
        DYNAMIC,
        _dynamic,
        345,
        "the page's prose says $3.435, its own table and events total $3.45",
    ),
    DocCase(
        "filters: most specific filter, wildcard, default price",
        FILTERS,
        _filtered_compute,
        3700,
        "worked from the page's plan; 10 h + 10 h + 4 h + 10 h of compute",
    ),
    DocCase(
        "filters: Mistral tokens by model and type",
        MISTRAL,
        _mistral,
        1450,
        "2.5M small input tokens at $1/M + 1M large output tokens at $12/M",
    ),
    DocCase(
        "spending minimum: $50 of MTUs against a $100 minimum",
        SPENDING_MINIMUM,
        _spending_minimum,
        10000,
    ),
    DocCase(
        "spending minimum: 400 calls at $0.01 against $5",
        MINIMUMS_COMMUNITY,
        _community_minimum,
        100,
    ),
    DocCase(
        "minimum commitment: $50 + 3 x $10 topped up to $100",
        COMMITMENT_ROADMAP,
        _commitment,
        10000,
        f"rule from {COMMITMENT}",
    ),
    DocCase(
        "subscription fee: $50 plan from August 10th",
        ASSIGN_PLAN,
        lambda: base_fee_cents(5000, proration(22, days_in_period("monthly", date(2024, 8, 1)))),
        3548,
    ),
    DocCase(
        "subscription fee: 5-day trial of a $50 plan in April",
        PLAN_MODEL,
        lambda: base_fee_cents(5000, proration(25, days_in_period("monthly", date(2024, 4, 1)))),
        4167,
    ),
    DocCase(
        "prorated charge: one $10 seat for 22 days of July",
        PRORATED,
        lambda: base_fee_cents(1000, proration(22, 31)),
        710,
        "page says $7.33 (22/30); §13.8: actual days, 22 of July's 31 → $7.10",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.name} <{c.source}>" for c in CASES])
def test_documented_example(case: DocCase) -> None:
    assert case.compute() == case.expected_cents, case.note


def test_at_least_25_cases_each_citing_a_page() -> None:
    assert len(CASES) >= 25
    assert all(c.source.startswith("https://") for c in CASES)
    topics = [
        "standard:",
        "graduated:",
        "volume:",
        "package:",
        "percentage:",
        "graduated_percentage:",
        "dynamic:",
        "filters:",
        "spending minimum:",
        "minimum commitment:",
        "subscription fee:",
        "prorated charge:",
    ]
    for topic in topics:
        assert any(c.name.startswith(topic) for c in CASES), topic
