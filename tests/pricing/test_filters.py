"""Which charge filter prices an event: most keys, then fewest values, then the first (oldest)."""

from __future__ import annotations

from typing import Any

import pytest

from lagoform.model.filters import ALL_FILTER_VALUES
from lagoform.pricing import match_filter


def f(**values: list[str]) -> dict[str, Any]:
    return {"values": values, "properties": {"amount": "1"}}


REGION_AND_PROVIDER = [
    f(region=["europe"]),
    f(region=["europe"], provider=["aws"]),
    f(provider=[ALL_FILTER_VALUES]),
]


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"region": "europe", "provider": "aws"}, 1),  # two keys beat one
        ({"region": "europe", "provider": "gcp"}, 0),  # explicit value beats a wildcard
        ({"region": "usa", "provider": "gcp"}, 2),  # the wildcard matches any provider
        ({"region": "usa"}, None),  # nothing matches: the charge's default price
        ({"region": "Europe"}, None),  # values are case-sensitive
        ({}, None),
    ],
)
def test_most_specific_filter_wins(event: dict[str, Any], expected: int | None) -> None:
    assert match_filter(REGION_AND_PROVIDER, event) == expected


def test_fewest_allowed_values_break_a_tie_on_keys() -> None:
    filters = [f(region=["europe", "usa"]), f(region=["europe"])]
    assert match_filter(filters, {"region": "europe"}) == 1
    assert match_filter(filters, {"region": "usa"}) == 0


def test_of_two_identical_filters_the_first_wins() -> None:
    filters = [f(region=["europe"]), f(region=["europe"])]
    assert match_filter(filters, {"region": "europe"}) == 0


def test_wildcard_with_the_metric_values_is_exact() -> None:
    metric = {"region": ["europe", "usa"], "provider": ["aws", "gcp", "azure"]}
    filters = [f(region=[ALL_FILTER_VALUES]), f(region=["europe", "usa", "asia"])]
    # With the metric's list the wildcard allows 2 values: fewer than the explicit 3.
    assert match_filter(filters, {"region": "europe"}, metric_filters=metric) == 0
    # Without it, the wildcard counts as every value and loses the tie.
    assert match_filter(filters, {"region": "europe"}) == 1
    # A value the metric does not declare is not covered by the wildcard.
    assert match_filter(filters[:1], {"region": "mars"}, metric_filters=metric) is None
    assert match_filter(filters[:1], {"region": "mars"}) == 0


def test_filter_without_values_matches_nothing() -> None:
    assert match_filter([{"values": {}, "properties": {}}], {"region": "europe"}) is None


def test_non_string_properties_compare_as_lago_stores_them() -> None:
    filters = [f(tier=["1"]), f(premium=["true"])]
    assert match_filter(filters, {"tier": 1}) == 0
    assert match_filter(filters, {"premium": True}) == 1
    assert match_filter(filters, {"tier": None}) is None
