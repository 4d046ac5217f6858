"""Current and past usage (§ customers usage): units per aggregation type, per-filter units,
events_count and amounts priced by ``lagoform.pricing``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.helpers import Api, charge_item, create_metric, create_plan, not_found, subscribe


def _usage(api: Api, sub: str = "sub-1", customer: str = "cust-1") -> dict[str, Any]:
    body = api.ok(
        "GET", f"/customers/{customer}/current_usage", query={"external_subscription_id": sub}
    )
    usage: dict[str, Any] = body["customer_usage"]
    return usage


def _send(api: Api, values: list[Any], field: str = "n", **props: Any) -> None:
    events = [
        {
            "transaction_id": f"t{i}",
            "external_subscription_id": "sub-1",
            "code": "m",
            "properties": {field: v, **props},
        }
        for i, v in enumerate(values)
    ]
    api.ok("POST", "/events/batch", {"events": events})


@pytest.mark.parametrize(
    ("aggregation", "values", "units"),
    [
        ("count_agg", [5, 7, 9], "3.0"),
        ("sum_agg", [1.5, 2, 3], "6.5"),
        ("max_agg", [4, 11, 2], "11.0"),
        ("unique_count_agg", ["a", "b", "a"], "2.0"),
        ("latest_agg", [4, 11, 2], "2.0"),
    ],
)
def test_units_per_aggregation_type(
    any_api: Api, aggregation: str, values: list[Any], units: str
) -> None:
    metric = create_metric(
        any_api,
        "m",
        aggregation_type=aggregation,
        field_name=None if aggregation == "count_agg" else "n",
    )
    create_plan(
        any_api, "pro", charges=[charge_item(metric["lago_id"], properties={"amount": "2"})]
    )
    subscribe(any_api)
    _send(any_api, values)
    usage = _usage(any_api)
    line = usage["charges_usage"][0]
    assert (line["units"], line["events_count"]) == (units, len(values))
    expected_cents = round(float(units) * 200)
    assert (line["amount_cents"], usage["amount_cents"]) == (expected_cents, expected_cents)
    assert line["billable_metric"]["aggregation_type"] == aggregation


def test_filters_and_graduated_amounts(any_api: Api) -> None:
    metric = create_metric(any_api, "m", filters=[{"key": "region", "values": ["eu", "us"]}])
    create_plan(
        any_api,
        "pro",
        charges=[
            charge_item(
                metric["lago_id"],
                "graduated",
                properties={
                    "graduated_ranges": [
                        {
                            "from_value": 0,
                            "to_value": 10,
                            "per_unit_amount": "1",
                            "flat_amount": "0",
                        },
                        {
                            "from_value": 11,
                            "to_value": None,
                            "per_unit_amount": "0.5",
                            "flat_amount": "3",
                        },
                    ]
                },
                filters=[
                    {
                        "values": {"region": ["eu"]},
                        "invoice_display_name": "EU",
                        "properties": {
                            "graduated_ranges": [
                                {
                                    "from_value": 0,
                                    "to_value": None,
                                    "per_unit_amount": "2",
                                    "flat_amount": "0",
                                }
                            ]
                        },
                    }
                ],
            )
        ],
        tax_codes=[],
    )
    any_api.ok("POST", "/taxes", {"tax": {"name": "VAT", "code": "vat", "rate": "10"}})
    any_api.ok("PUT", "/plans/pro", {"plan": {"tax_codes": ["vat"]}})
    subscribe(any_api)
    _send(any_api, [4], region="eu")
    any_api.ok(
        "POST",
        "/events/batch",
        {
            "events": [
                {
                    "transaction_id": f"x{i}",
                    "external_subscription_id": "sub-1",
                    "code": "m",
                    "properties": {"n": 6},
                }
                for i in range(2)
            ]
        },
    )
    usage = _usage(any_api)
    line = usage["charges_usage"][0]
    assert (line["units"], line["events_count"]) == ("16.0", 3)
    eu, default = line["filters"]
    assert (eu["values"], eu["units"], eu["amount_cents"], eu["invoice_display_name"]) == (
        {"region": ["eu"]},
        "4.0",
        800,
        "EU",
    )
    # default price: 10 × 1 + 2 × 0.5 + 3 flat = 14.00
    assert (default["values"], default["units"], default["amount_cents"]) == (None, "12.0", 1400)
    assert (usage["amount_cents"], usage["taxes_amount_cents"], usage["total_amount_cents"]) == (
        2200,
        220,
        2420,
    )


def test_usage_only_counts_this_subscription_in_this_period(api: Api) -> None:
    metric = create_metric(api, "m")
    create_plan(api, "pro", charges=[charge_item(metric["lago_id"])])
    subscribe(api)
    api.ok(
        "POST",
        "/events/batch",
        {
            "events": [
                {
                    "transaction_id": "now",
                    "external_subscription_id": "sub-1",
                    "code": "m",
                    "properties": {"n": 3},
                },
                {
                    "transaction_id": "old",
                    "external_subscription_id": "sub-1",
                    "code": "m",
                    "timestamp": 1_000_000,
                    "properties": {"n": 100},
                },
                {
                    "transaction_id": "elsewhere",
                    "external_subscription_id": "sub-9",
                    "code": "m",
                    "properties": {"n": 100},
                },
            ]
        },
    )
    assert _usage(api)["charges_usage"][0]["units"] == "3.0"


def test_usage_errors(any_api: Api) -> None:
    create_plan(any_api, "pro")
    subscribe(any_api)
    assert any_api.get(
        "/customers/nobody/current_usage", query={"external_subscription_id": "sub-1"}
    ).body == not_found("customer_not_found")
    assert any_api.get(
        "/customers/cust-1/current_usage", query={"external_subscription_id": "nope"}
    ).body == not_found("subscription_not_found")


def test_past_usage_lists_closed_periods(api: Api) -> None:
    metric = create_metric(api, "m")
    create_plan(api, "pro", charges=[charge_item(metric["lago_id"])])
    subscribe(api, subscription_at="2020-01-15T00:00:00Z")
    api.ok(
        "POST",
        "/events",
        {
            "event": {
                "transaction_id": "feb",
                "external_subscription_id": "sub-1",
                "code": "m",
                "timestamp": 1_581_000_000,
                "properties": {"n": 4},
            }
        },
    )  # 2020-02-06
    body = api.ok(
        "GET",
        "/customers/cust-1/past_usage",
        query={"external_subscription_id": "sub-1", "per_page": 2},
    )
    assert body["meta"]["total_count"] > 60
    history = api.ok(
        "GET",
        "/customers/cust-1/past_usage",
        query={"external_subscription_id": "sub-1", "per_page": 500},
    )["usage_periods"]
    oldest, february = history[-1], history[-2]
    assert (oldest["from_datetime"], oldest["to_datetime"]) == (
        "2020-01-15T00:00:00Z",
        "2020-01-31T23:59:59Z",
    )
    assert february["charges_usage"][0]["units"] == "4.0"
    assert february["amount_cents"] == 400


def test_pricing_group_keys_price_each_group_separately(any_api: Api) -> None:
    metric = create_metric(any_api, "m")
    tiers = {
        "graduated_ranges": [
            {"from_value": 0, "to_value": 2, "per_unit_amount": "1", "flat_amount": "0"},
            {"from_value": 3, "to_value": None, "per_unit_amount": "0.5", "flat_amount": "0"},
        ],
        "pricing_group_keys": ["model"],
    }
    create_plan(
        any_api, "pro", charges=[charge_item(metric["lago_id"], "graduated", properties=tiers)]
    )
    subscribe(any_api)
    any_api.ok(
        "POST",
        "/events/batch",
        {
            "events": [
                {
                    "transaction_id": "a",
                    "external_subscription_id": "sub-1",
                    "code": "m",
                    "properties": {"n": 4, "model": "small"},
                },
                {
                    "transaction_id": "b",
                    "external_subscription_id": "sub-1",
                    "code": "m",
                    "properties": {"n": 2, "model": "large"},
                },
            ]
        },
    )
    line = _usage(any_api)["charges_usage"][0]
    groups = {tuple(g["grouped_by"].values()): g for g in line["grouped_usage"]}
    # small: 2 × 1 + 2 × 0.5 = 3.00; large: 2 × 1 = 2.00 (tiers restart per group)
    assert (groups[("small",)]["amount_cents"], groups[("large",)]["amount_cents"]) == (300, 200)
    assert (groups[("small",)]["units"], groups[("large",)]["events_count"]) == ("4.0", 1)
    assert (line["units"], line["amount_cents"]) == ("6.0", 500)
