"""Lago's documented examples for whole charges and invoices: filters, default price, spending
minimums, minimum commitment, proration, dynamic amounts — each checked to the cent.

How cases cite their pages and note disagreements with API_NOTES §13: see ``doc_case``.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    proration,
    usage_from_events,
)
from tests.pricing.doc_case import (
    ASSIGN_PLAN,
    COMMITMENT,
    COMMITMENT_ROADMAP,
    DYNAMIC,
    FILTERS,
    MINIMUMS_COMMUNITY,
    MISTRAL,
    PERCENTAGE,
    PLAN_MODEL,
    PRORATED,
    SEGMENT,
    SPENDING_MINIMUM,
    STRIPE,
    D,
    DocCase,
)
from tests.pricing.test_doc_cases_models import CASES as MODEL_CASES
from tests.pricing.test_doc_cases_models import PERCENTAGE_FREE, SEGMENT_TEAM

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


CASES = [
    DocCase("graduated: Segment invoice, $120 fee + 30,000 MTUs", SEGMENT, _segment_invoice, 35500),
    DocCase(
        "percentage: same usage through price_charge_usage", PERCENTAGE, _percentage_charge, 70
    ),
    DocCase(
        "percentage + filters: Stripe online and in-person cards",
        STRIPE,
        _stripe_cards,
        554,
        "worked from the template's rates",
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
    every = [*MODEL_CASES, *CASES]
    assert len(every) >= 25
    assert all(c.source.startswith("https://") for c in every)
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
        assert any(c.name.startswith(topic) for c in every), topic
