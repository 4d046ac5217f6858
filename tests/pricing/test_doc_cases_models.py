"""Lago's documented worked examples for each charge model, checked to the cent.

How cases cite their pages and note disagreements with API_NOTES §13: see ``doc_case``.
"""

from __future__ import annotations

import pytest

from tests.pricing.doc_case import (
    ALGOLIA,
    CHARGES_OVERVIEW,
    GRADUATED,
    GRADUATED_PERCENTAGE,
    MIN_MAX_UPDATE,
    PACKAGE,
    PERCENTAGE,
    SEGMENT,
    STANDARD,
    VOLUME,
    ZERO_USAGE_FIX,
    D,
    DocCase,
    fee,
    tier_range,
)

# $1 for the first 100 units, $0.50 for the next 100, $0.10 beyond (graduated page).
API_GRADUATED = {
    "graduated_ranges": [
        tier_range(0, 100, "1"),
        tier_range(101, 200, "0.5"),
        tier_range(201, None, "0.1"),
    ]
}

# Segment "Team" plan: 10,000 MTUs included, then $0.012 / $0.011 / $0.010 per MTU.
SEGMENT_TEAM = {
    "graduated_ranges": [
        tier_range(0, 10_000, "0"),
        tier_range(10_001, 25_000, "0.012"),
        tier_range(25_001, 100_000, "0.011"),
        tier_range(100_001, None, "0.010"),
    ]
}

API_VOLUME = {
    "volume_ranges": [
        tier_range(0, 10_000, "0.0010", "10"),
        tier_range(10_001, 50_000, "0.0008", "10"),
        tier_range(50_001, 100_000, "0.0006", "10"),
        tier_range(100_001, None, "0.0004", "10"),
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


CASES = [
    DocCase(
        "standard: 1,000 API calls at $0.05",
        STANDARD,
        lambda: fee("standard", {"amount": "0.05"}, 1000),
        5000,
    ),
    DocCase(
        "standard: 15-decimal price, 1M units",
        CHARGES_OVERVIEW,
        lambda: fee("standard", {"amount": "0.000123456789123"}, 1_000_000),
        12346,
        "page: up to 15 decimals, amounts rounded to amount_cents; $123.456789123 → $123.46",
    ),
    DocCase(
        "graduated: 100 units all in tier 1",
        GRADUATED,
        lambda: fee("graduated", API_GRADUATED, 100),
        10000,
        "worked from the page's tiers",
    ),
    DocCase(
        "graduated: 200 units = 100 x $1 + 100 x $0.50",
        GRADUATED,
        lambda: fee("graduated", API_GRADUATED, 200),
        15000,
        "worked from the page's tiers",
    ),
    DocCase(
        "graduated: 250 units adds 50 x $0.10",
        GRADUATED,
        lambda: fee("graduated", API_GRADUATED, 250),
        15500,
        "worked from the page's tiers",
    ),
    DocCase(
        "graduated: Segment 30,000 MTUs",
        SEGMENT,
        lambda: fee("graduated", SEGMENT_TEAM, 30_000),
        23500,
        "15,000 x $0.012 + 5,000 x $0.011, worked from the template's tiers",
    ),
    DocCase(
        "graduated: Segment 150,000 MTUs",
        SEGMENT,
        lambda: fee("graduated", SEGMENT_TEAM, 150_000),
        150500,
        "$180 + 75,000 x $0.011 + 50,000 x $0.010, worked from the template's tiers",
    ),
    DocCase("volume: 65,000 API calls", VOLUME, lambda: fee("volume", API_VOLUME, 65_000), 4900),
    DocCase(
        "volume: 10,000 calls stay in tier 1",
        VOLUME,
        lambda: fee("volume", API_VOLUME, 10_000),
        2000,
        "worked from the page's tiers",
    ),
    DocCase(
        "volume: 10,000.5 calls round up into tier 2",
        VOLUME,
        lambda: fee("volume", API_VOLUME, "10000.5"),
        1800,
        "§13.1: tier chosen with usage rounded up; 10,000.5 x $0.0008 + $10 = $18.0004",
    ),
    DocCase(
        "volume: 150,000 calls in tier 4",
        VOLUME,
        lambda: fee("volume", API_VOLUME, 150_000),
        7000,
        "worked from the page's tiers",
    ),
    DocCase(
        "volume: zero usage bills tier 1 flat fee",
        VOLUME,
        lambda: fee("volume", API_VOLUME, 0),
        1000,
        f"page is silent; §13.2 / {ZERO_USAGE_FIX}: servers since 2026-07 bill the flat fee",
    ),
    DocCase(
        "volume: zero usage on a pre-2026-07 server",
        VOLUME,
        lambda: fee("volume", API_VOLUME, 0, zero_usage_first_tier_flat=False),
        0,
        "§13.2: before lago-api PR #5760 zero usage billed $0",
    ),
    DocCase(
        "package: 201 units, $5 per 100, 100 free",
        PACKAGE,
        lambda: fee("package", API_PACKAGE, 201),
        1000,
    ),
    DocCase(
        "package: 100 units are all free",
        PACKAGE,
        lambda: fee("package", API_PACKAGE, 100),
        0,
        "worked from the page's example",
    ),
    DocCase(
        "package: Algolia 25,500 requests",
        ALGOLIA,
        lambda: fee("package", ALGOLIA_SEARCH, 25_500),
        2400,
        "15,500 paid requests = 16 packages of 1,000 at $1.50",
    ),
    DocCase(
        "percentage: 4 transactions, 3 events or $500 free",
        PERCENTAGE,
        lambda: fee(
            "percentage", PERCENTAGE_FREE, 450, transactions=[D(200), D(100), D(100), D(50)]
        ),
        70,
    ),
    DocCase(
        "percentage: $20 transaction raised to the $1 minimum",
        MIN_MAX_UPDATE,
        lambda: fee("percentage", PERCENTAGE_MIN_MAX, 20, transactions=[D(20)]),
        100,
    ),
    DocCase(
        "percentage: $600 transaction capped at the $5 maximum",
        MIN_MAX_UPDATE,
        lambda: fee("percentage", PERCENTAGE_MIN_MAX, 600, transactions=[D(600)]),
        500,
    ),
    DocCase(
        "percentage: min/max ignored without premium",
        MIN_MAX_UPDATE,
        lambda: fee(
            "percentage", PERCENTAGE_MIN_MAX, 620, transactions=[D(20), D(600)], premium=False
        ),
        720,
        "§13.5: bounds apply only with the premium licence; $0.70 + $6.50",
    ),
    DocCase(
        "graduated_percentage: first $500 transaction",
        GRADUATED_PERCENTAGE,
        lambda: fee("graduated_percentage", GRADUATED_PCT, 500),
        20500,
    ),
    DocCase(
        "graduated_percentage: after the $550 transaction",
        GRADUATED_PERCENTAGE,
        lambda: fee("graduated_percentage", GRADUATED_PCT, 1050),
        51100,
        "$205 + $306",
    ),
    DocCase(
        "graduated_percentage: after the $4,000 transaction",
        GRADUATED_PERCENTAGE,
        lambda: fee("graduated_percentage", GRADUATED_PCT, 5050),
        59100,
        "$205 + $306 + $80",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.name} <{c.source}>" for c in CASES])
def test_documented_example(case: DocCase) -> None:
    assert case.compute() == case.expected_cents, case.note
