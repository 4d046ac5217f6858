"""Which fees of a charge count an event, and which one filter prices a pay-in-advance event.

Each row cites the lago-api spec or service it paraphrases (path:line in getlago/lago-api).
"""

from __future__ import annotations

from typing import Any

import pytest

from lagoform.model.filters import ALL_FILTER_VALUES
from lagoform.pricing import FilterRouter, fee_groups, match_filter, refines

ALL = ALL_FILTER_VALUES
MATCHING = "app/services/charge_filters/matching_and_ignored_service.rb"
MATCHING_SPEC = "spec/services/charge_filters/matching_and_ignored_service_spec.rb"
OVERLAP_SCENARIO = "spec/scenarios/current_usage/with_identical_charge_filters_spec.rb"
PICKING = "app/services/charge_filters/event_matching_service.rb"
PICKING_SPEC = "spec/services/charge_filters/event_matching_service_spec.rb"


def f(**values: list[str]) -> dict[str, Any]:
    return {"values": values, "properties": {"amount": "1"}}


# The five filters of the matching service's spec, in creation order (its lines 11-87).
SPEC_METRIC = {
    "steps": ["25", "50", "75", "100"],
    "size": ["512", "1024"],
    "model": ["llama-1", "llama-2", "llama-3", "llama-4"],
}
SPEC_FILTERS = [
    f(steps=["25"], size=["512"], model=["llama-2"]),  # f1
    f(steps=["25"], size=["512"]),  # f2
    f(steps=[ALL], size=[ALL]),  # f3
    f(size=[ALL]),  # f4
    f(size=["512"]),  # f5
]


@pytest.mark.parametrize(
    ("source", "filters", "metric", "event", "expected"),
    [
        pytest.param(
            f"{OVERLAP_SCENARIO}:69-126",
            [f(cloud=["aws", "gcp"]), f(cloud=["aws"])],
            {"cloud": ["aws", "gcp"]},
            {"cloud": "aws"},
            (1,),
            id="nested-subset-counts-only-in-the-most-specific",
        ),
        pytest.param(
            f"{OVERLAP_SCENARIO}:69-126",
            [f(cloud=["aws", "gcp"]), f(cloud=["aws"])],
            {"cloud": ["aws", "gcp"]},
            {"cloud": "gcp"},
            (0,),
            id="nested-parent-keeps-the-rest",
        ),
        pytest.param(
            f"{OVERLAP_SCENARIO}:133-181",
            [f(cloud=["aws"]), f(cloud=["aws"])],
            {"cloud": ["aws", "gcp"]},
            {"cloud": "aws"},
            (0,),
            id="identical-filters-the-older-counts",
        ),
        pytest.param(
            f"{MATCHING_SPEC}:89-96",
            SPEC_FILTERS,
            SPEC_METRIC,
            {"steps": "25", "size": "512", "model": "llama-2"},
            (0,),
            id="spec-f1-most-keys",
        ),
        pytest.param(
            f"{MATCHING_SPEC}:98-110",
            SPEC_FILTERS,
            SPEC_METRIC,
            {"steps": "25", "size": "512", "model": "llama-3"},
            (1,),
            id="spec-f2-excludes-f1",
        ),
        pytest.param(
            f"{MATCHING_SPEC}:112-124",
            SPEC_FILTERS,
            SPEC_METRIC,
            {"steps": 50, "size": 1024},
            (2,),
            id="spec-f3-wildcards-with-numbers",
        ),
        pytest.param(
            f"{MATCHING_SPEC}:126-140",
            SPEC_FILTERS,
            SPEC_METRIC,
            {"size": "1024"},
            (3,),
            id="spec-f4-wildcard-excludes-subset-f5",
        ),
        pytest.param(
            f"{MATCHING_SPEC}:142-156",
            SPEC_FILTERS,
            SPEC_METRIC,
            {"size": "512"},
            (4,),
            id="spec-f5",
        ),
        pytest.param(
            f"{MATCHING_SPEC}:239-263 and app/services/events/stores/postgres_store.rb:470-483",
            [f(size=["512", "1024"], steps=["25", "50"]), f(size=["512"], steps=["25", "75"])],
            SPEC_METRIC,
            {"size": "512", "steps": "25"},
            (0, 1),
            id="same-keys-partly-overlapping-counts-in-both",
        ),
        pytest.param(
            f"{MATCHING_SPEC}:239-263",
            [f(size=["512", "1024"], steps=["25", "50"]), f(size=["512"], steps=["25", "75"])],
            SPEC_METRIC,
            {"size": "512", "steps": "75"},
            (1,),
            id="same-keys-partly-overlapping-own-values-stay-apart",
        ),
        pytest.param(
            f"{MATCHING}:22-28 (a refinement carries every key of the filter)",
            [f(region=["eu"]), f(tier=["gold"])],
            {"region": ["eu", "us"], "tier": ["gold", "silver"]},
            {"region": "eu", "tier": "gold"},
            (0, 1),
            id="different-keys-count-in-both",
        ),
        pytest.param(
            f"{MATCHING}:55-63 (the wildcard side keeps the child's values)",
            [f(region=[ALL]), f(region=["eu", "us", "asia"])],
            {"region": ["eu", "us"]},
            {"region": "eu"},
            (),
            id="wildcard-and-wider-list-exclude-each-other",
        ),
        pytest.param(
            f"{MATCHING}:22-28 (the default bucket ignores every filter)",
            [f(region=["eu"]), f(tier=["gold"])],
            None,
            {"region": "us", "tier": "silver"},
            (None,),
            id="no-match-goes-to-the-default",
        ),
        pytest.param(
            "app/services/events/stores/postgres_store.rb:462-468 (a property IN the values)",
            [f(region=["eu"])],
            None,
            {"region": None},
            (None,),
            id="null-property-matches-nothing",
        ),
    ],
)
def test_fee_groups_follow_the_server(
    source: str,
    filters: list[dict[str, Any]],
    metric: dict[str, list[str]] | None,
    event: dict[str, Any],
    expected: tuple[int | None, ...],
) -> None:
    assert source
    assert fee_groups(filters, event, metric_filters=metric) == expected


def test_a_charge_without_filters_has_one_fee() -> None:
    assert FilterRouter([]).groups({"region": "eu"}) == (None,)


def test_a_filter_without_values_matches_no_event() -> None:
    assert fee_groups([{"values": {}, "properties": {}}], {"region": "europe"}) == (None,)


CARDS_METRIC = {
    "payment_method": ["card", "virtual_card", "transfer"],
    "card_location": ["domestic"],
    "scheme": ["visa", "mastercard"],
    "card_type": ["credit", "debit"],
    "card_number": ["1", "2", "3"],
}
CARDS = [
    f(payment_method=["card"], card_location=["domestic"], scheme=["visa", "mastercard"]),
    f(
        payment_method=["card"],
        card_location=["domestic"],
        scheme=[ALL],
        card_type=["credit"],
        card_number=["2"],
    ),
]
CARD_EVENT = {
    "payment_method": "card",
    "card_location": "domestic",
    "scheme": "visa",
    "card_type": "credit",
    "card_number": 2,
}


@pytest.mark.parametrize(
    ("source", "filters", "event", "expected"),
    [
        pytest.param(f"{PICKING_SPEC}:76-78", CARDS, CARD_EVENT, 1, id="most-keys"),
        pytest.param(f"{PICKING_SPEC}:80-86", CARDS, {}, None, id="no-match"),
        pytest.param(
            f"{PICKING_SPEC}:108-121", CARDS, {**CARD_EVENT, "scheme": "amex"}, None, id="wildcard"
        ),
        pytest.param(
            f"{PICKING}:28 (max_by keeps the first of equals)",
            [f(region=["europe", "usa"]), f(region=["europe"])],
            {"region": "europe"},
            0,
            id="first-of-equals",
        ),
    ],
)
def test_match_filter_is_the_pay_in_advance_pick(
    source: str, filters: list[dict[str, Any]], event: dict[str, Any], expected: int | None
) -> None:
    assert source
    assert match_filter(filters, event, metric_filters=CARDS_METRIC) == expected


def test_non_string_properties_compare_as_lago_stores_them() -> None:
    filters = [f(tier=["1"]), f(premium=["true"])]
    assert fee_groups(filters, {"tier": 1}) == (0,)
    assert fee_groups(filters, {"premium": True}) == (1,)
    assert fee_groups(filters, {"tier": None}) == (None,)


@pytest.mark.parametrize(
    ("child", "parent", "expected"),
    [
        # more keys, overlapping on every key of the parent (matching_and_ignored_service.rb)
        ({"type": ["a"], "modality": ["text"]}, {"type": ["a"]}, True),
        ({"type": ["a"]}, {"type": ["a"], "modality": ["text"]}, False),
        # same keys, a strict subset of the values
        ({"region": ["eu"]}, {"region": ["eu", "us"]}, True),
        # identical: neither refines the other (the older one counts the events)
        ({"region": ["eu"]}, {"region": ["eu"]}, False),
        # partly overlapping, or other keys: both count the shared events
        ({"region": ["eu", "asia"]}, {"region": ["eu", "us"]}, False),
        ({"tier": ["gold"]}, {"region": ["eu"]}, False),
        # a wildcard parent is refined by any narrower value list on the same key
        ({"region": ["eu"]}, {"region": ["__ALL_FILTER_VALUES__"]}, True),
    ],
)
def test_refines_is_lagos_nesting(
    child: dict[str, list[str]], parent: dict[str, list[str]], expected: bool
) -> None:
    assert refines(child, parent) is expected
