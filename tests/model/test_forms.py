"""The comparison form: a Lago response and the request that produced it compare equal."""

from __future__ import annotations

from typing import Any

import pytest

from lagoform.model import forms
from lagoform.model.effective import pricing
from lagoform.model.filters import filter_key
from lagoform.model.properties import properties
from lagoform.model.values import dec, num
from tests.engine.factories import as_live, charge, metric, plan


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.50", "0.5"),
        (0.5, "0.5"),
        ("10", "10"),
        (10, "10"),
        ("1E+1", "10"),
        ("0.0000025", "0.0000025"),
        ("-0", "0"),
        (None, None),
    ],
)
def test_dec_canonical(value: Any, expected: str | None) -> None:
    assert dec(value) == expected


def test_num_integral_is_int() -> None:
    assert num("14.0") == 14
    assert num(14.5) == "14.5"


def test_filter_key_sorts_keys_and_values() -> None:
    assert filter_key({"type": ["output", "input"], "model": "atlas-1"}) == (
        "model=atlas-1;type=input|output"
    )


def test_live_plan_equals_request_body() -> None:
    body = plan(
        "pro",
        [
            charge(
                "tokens",
                "token_usage",
                amount="0.50",
                filters=[
                    {"values": {"type": ["input"]}, "properties": {"amount": "0.1"}},
                ],
            ),
            charge(
                "seats",
                "seats",
                charge_model="graduated",
                properties={
                    "graduated_ranges": [
                        {
                            "from_value": 0,
                            "to_value": 10,
                            "per_unit_amount": "5",
                            "flat_amount": "0",
                        },
                        {
                            "from_value": 11,
                            "to_value": None,
                            "per_unit_amount": "4",
                            "flat_amount": "0",
                        },
                    ]
                },
            ),
        ],
        trial_period=0,
    )
    live = as_live("plan", body)
    # Lago echoes numbers differently and adds server-only fields; none of that is a change.
    live["trial_period"] = 0.0
    live["charges"][0]["properties"] = {"amount": "0.5", "grouped_by": None}
    assert forms.billing_plan(live) == forms.billing_plan(body)


@pytest.mark.parametrize(
    ("desired", "live"),
    [
        ({"description": None}, {"description": ""}),
        ({}, {"invoice_display_name": None}),
        ({"bill_charges_monthly": False}, {"bill_charges_monthly": None}),
        ({"interval": "monthly", "bill_charges_monthly": True}, {"bill_charges_monthly": None}),
        ({"metadata": {}}, {}),
    ],
)
def test_plan_absent_equals_null_and_defaults(
    desired: dict[str, Any], live: dict[str, Any]
) -> None:
    assert forms.billing_plan(plan("p", **desired)) == forms.billing_plan(plan("p", **live))


def test_metric_filters_sorted_and_count_agg_field_name_dropped() -> None:
    a = metric(
        "m",
        aggregation_type="count_agg",
        field_name="x",
        filters=[{"key": "b", "values": ["y", "x"]}, {"key": "a", "values": ["1"]}],
    )
    b = metric(
        "m",
        aggregation_type="count_agg",
        field_name=None,
        filters=[{"key": "a", "values": ["1"]}, {"key": "b", "values": ["x", "y"]}],
    )
    assert forms.billable_metric(a) == forms.billable_metric(b)
    assert list(forms.billable_metric(a)["filters"]) == ["a", "b"]


def test_properties_sliced_per_model() -> None:
    assert properties("standard", {"amount": "1.0", "package_size": 3}) == {"amount": "1"}
    assert properties("package", {"amount": "1", "package_size": "10", "free_units": 0}) == {
        "amount": "1",
        "package_size": 10,
        "free_units": 0,
    }
    assert properties("standard", {"amount": "1", "grouped_by": ["region"]}) == {
        "amount": "1",
        "pricing_group_keys": ["region"],
    }


def test_charge_defaults_fill_in() -> None:
    bare = {
        "code": "c",
        "billable_metric_code": "m",
        "charge_model": "standard",
        "properties": {"amount": "1"},
    }
    assert forms.charge(bare) == forms.charge(charge("c", "m"))


def test_coupon_applies_to_request_vs_response() -> None:
    request = {
        "code": "c",
        "name": "C",
        "coupon_type": "percentage",
        "percentage_rate": "50",
        "frequency": "once",
        "applies_to": {"plan_codes": ["b", "a"]},
        "expiration_at": "2027-01-01T00:00:00+00:00",
    }
    response = {
        "code": "c",
        "name": "C",
        "coupon_type": "percentage",
        "percentage_rate": 50.0,
        "frequency": "once",
        "plan_codes": ["a", "b"],
        "limited_plans": True,
        "billable_metric_codes": [],
        "expiration": "time_limit",
        "expiration_at": "2027-01-01T00:00:00Z",
        "reusable": True,
        "amount_cents": None,
    }
    assert forms.coupon(request) == forms.coupon(response)


def test_project_keeps_only_desired_fields() -> None:
    live = {"name": "n", "email": "e", "metadata": {"a": "1"}}
    assert forms.project(live, {"name": "x", "phone": "p"}) == {"name": "n"}


def test_pricing_form_is_the_overridable_part_of_a_plan() -> None:
    body = {
        "code": "p",
        "name": "P",
        "interval": "monthly",
        "amount_cents": 100,
        "amount_currency": "USD",
        "pay_in_advance": True,
        "charges": [
            {
                "code": "t",
                "billable_metric_code": "m",
                "charge_model": "standard",
                "pay_in_advance": False,
                "properties": {"amount": "0.50"},
            }
        ],
    }
    form = pricing(forms.billing_plan(body))
    assert "interval" not in form and "pay_in_advance" not in form
    assert form["amount_cents"] == 100 and form["trial_period"] == 0
    assert form["charges"] == {
        "t": {
            "charge_model": "standard",
            "properties": {"amount": "0.5"},
            "filters": {},
            "min_amount_cents": 0,
            "tax_codes": [],
        }
    }
