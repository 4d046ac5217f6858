"""Plan creation rules (§4.2–4.5): charge and plan validation codes, defaults, slicing and
generated charge codes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.helpers import (
    Api,
    create_metric,
    create_plan,
    not_found,
    plan_body,
    validation,
)


def _ranges(*bounds: tuple[int, int | None], amount: Any = "1") -> list[dict[str, Any]]:
    return [
        {"from_value": a, "to_value": b, "per_unit_amount": amount, "flat_amount": "0"}
        for a, b in bounds
    ]


CHARGE_CASES: list[tuple[str, Any, int, Any]] = [
    (
        "standard amount as number",
        {"charge_model": "standard", "properties": {"amount": 1}},
        422,
        validation({"properties": ["invalid_amount"]}),
    ),
    (
        "standard negative",
        {"charge_model": "standard", "properties": {"amount": "-1"}},
        422,
        validation({"properties": ["invalid_amount"]}),
    ),
    (
        "graduated ok",
        {
            "charge_model": "graduated",
            "properties": {"graduated_ranges": _ranges((0, 100), (101, None))},
        },
        200,
        None,
    ),
    (
        "graduated from equals previous to",
        {
            "charge_model": "graduated",
            "properties": {"graduated_ranges": _ranges((0, 100), (100, None))},
        },
        200,
        None,
    ),
    (
        "graduated gap",
        {
            "charge_model": "graduated",
            "properties": {"graduated_ranges": _ranges((0, 100), (150, None))},
        },
        422,
        validation({"properties": ["invalid_graduated_ranges"]}),
    ),
    (
        "graduated last closed",
        {"charge_model": "graduated", "properties": {"graduated_ranges": _ranges((0, 100))}},
        422,
        validation({"properties": ["invalid_graduated_ranges"]}),
    ),
    (
        "graduated empty",
        {"charge_model": "graduated", "properties": {"graduated_ranges": []}},
        422,
        validation({"properties": ["missing_graduated_ranges"]}),
    ),
    (
        "graduated numeric amounts",
        {
            "charge_model": "graduated",
            "properties": {"graduated_ranges": _ranges((0, None), amount=0.5)},
        },
        422,
        validation({"properties": ["invalid_amount"]}),
    ),
    (
        "volume ok",
        {"charge_model": "volume", "properties": {"volume_ranges": _ranges((0, 10), (11, None))}},
        200,
        None,
    ),
    (
        "volume overlap",
        {"charge_model": "volume", "properties": {"volume_ranges": _ranges((0, 10), (5, None))}},
        422,
        validation({"properties": ["invalid_volume_ranges"]}),
    ),
    (
        "package ints",
        {
            "charge_model": "package",
            "properties": {"amount": "5", "package_size": "10", "free_units": 0},
        },
        422,
        validation({"properties": ["invalid_package_size"]}),
    ),
    (
        "package free units",
        {
            "charge_model": "package",
            "properties": {"amount": "5", "package_size": 10, "free_units": -1},
        },
        422,
        validation({"properties": ["invalid_free_units"]}),
    ),
    (
        "percentage rate number",
        {"charge_model": "percentage", "properties": {"rate": 1}},
        422,
        validation({"properties": ["invalid_rate"]}),
    ),
    (
        "percentage min above max",
        {
            "charge_model": "percentage",
            "properties": {
                "rate": "1",
                "per_transaction_min_amount": "5",
                "per_transaction_max_amount": "2",
            },
        },
        422,
        validation({"properties": ["per_transaction_max_lower_than_per_transaction_min"]}),
    ),
    (
        "unknown model",
        {"charge_model": "magic"},
        422,
        validation({"charge_model": ["value_is_invalid"]}),
    ),
    (
        "volume in advance",
        {"charge_model": "volume", "pay_in_advance": True, "properties": {}},
        422,
        validation({"pay_in_advance": ["invalid_aggregation_type_or_charge_model"]}),
    ),
    (
        "invoiceable false in arrears",
        {"charge_model": "standard", "invoiceable": False},
        422,
        validation({"invoiceable": ["must_be_true_unless_pay_in_advance"]}),
    ),
    (
        "prorated on non recurring",
        {"charge_model": "standard", "prorated": True},
        422,
        validation({"prorated": ["invalid_billable_metric_or_charge_model"]}),
    ),
    ("dynamic on sum", {"charge_model": "dynamic", "properties": {}}, 200, None),
    (
        "min amount in advance",
        {"charge_model": "standard", "pay_in_advance": True, "min_amount_cents": 100},
        422,
        validation({"min_amount_cents": ["not_compatible_with_pay_in_advance"]}),
    ),
    (
        "filter on unknown key",
        {"charge_model": "standard", "filters": [{"values": {"color": ["red"]}, "properties": {}}]},
        422,
        validation({"values": ["value_is_invalid"]}),
    ),
    (
        "filter on unknown value",
        {
            "charge_model": "standard",
            "filters": [{"values": {"region": ["mars"]}, "properties": {}}],
        },
        422,
        validation({"values": ["value_is_invalid"]}),
    ),
    (
        "filter with empty values",
        {"charge_model": "standard", "filters": [{"values": {"region": []}, "properties": {}}]},
        422,
        validation({"values": ["value_is_mandatory"]}),
    ),
    (
        "filter amount as number",
        {
            "charge_model": "standard",
            "filters": [{"values": {"region": ["eu"]}, "properties": {"amount": 2}}],
        },
        422,
        validation({"properties": ["invalid_amount"]}),
    ),
    (
        "unknown tax",
        {"charge_model": "standard", "tax_codes": ["nope"]},
        404,
        not_found("tax_not_found"),
    ),
]


@pytest.mark.parametrize(
    ("case", "item", "status", "expected"), CHARGE_CASES, ids=[c[0] for c in CHARGE_CASES]
)
def test_charge_validation_on_plan_create(
    api: Api, case: str, item: dict[str, Any], status: int, expected: Any
) -> None:
    metric = create_metric(api, "calls", filters=[{"key": "region", "values": ["eu", "us"]}])
    charge = {"billable_metric_id": metric["lago_id"], "properties": {"amount": "1"}, **item}
    reply = api.post("/plans", plan_body("pro", charges=[charge]))
    assert reply.status == status, reply.body
    if expected is not None:
        assert reply.body == expected
    else:
        assert reply.body["plan"]["charges"][0]["charge_model"] == item["charge_model"]
    if status != 200:
        assert api.get("/plans/pro").status == 404  # nothing half-created


@pytest.mark.parametrize(
    ("changes", "status", "expected"),
    [
        ({"interval": "daily"}, 422, validation({"interval": ["value_is_invalid"]})),
        ({"amount_currency": "ABC"}, 422, validation({"amount_currency": ["value_is_invalid"]})),
        ({"pay_in_advance": None}, 422, validation({"pay_in_advance": ["value_is_invalid"]})),
        ({"amount_cents": "10"}, 422, validation({"amount_cents": ["value_is_invalid"]})),
        ({"amount_cents": -1}, 422, validation({"amount_cents": ["value_is_out_of_range"]})),
        ({"name": ""}, 422, validation({"name": ["value_is_mandatory"]})),
        ({"tax_codes": ["missing"]}, 404, not_found("tax_not_found")),
        (
            {
                "charges": [
                    {
                        "billable_metric_id": "00000000-0000-4000-8000-000000000000",
                        "charge_model": "standard",
                    }
                ]
            },
            404,
            not_found("billable_metrics_not_found"),
        ),
    ],
)
def test_plan_create_validation(
    any_api: Api, changes: dict[str, Any], status: int, expected: Any
) -> None:
    body = plan_body("pro")
    body["plan"].update(changes)
    reply = any_api.post("/plans", body)
    assert (reply.status, reply.body) == (status, expected)


def test_plan_code_unique_and_bill_charges_monthly_only_for_long_intervals(api: Api) -> None:
    monthly = create_plan(api, "m", bill_charges_monthly=True)
    yearly = create_plan(api, "y", interval="yearly", bill_charges_monthly=True)
    yearly_default = create_plan(api, "y2", interval="yearly")
    assert (
        monthly["bill_charges_monthly"],
        yearly["bill_charges_monthly"],
        yearly_default["bill_charges_monthly"],
    ) == (None, True, False)
    assert api.post("/plans", plan_body("m")).body == validation({"code": ["value_already_exist"]})


def test_properties_defaults_slicing_and_generated_codes(api: Api) -> None:
    metric = create_metric(api, "calls")
    plan = create_plan(
        api,
        "pro",
        charges=[
            {"billable_metric_id": metric["lago_id"], "charge_model": "package"},
            {
                "billable_metric_id": metric["lago_id"],
                "charge_model": "standard",
                "properties": {"amount": "2", "package_size": 4, "grouped_by": ["region"]},
            },
            {"billable_metric_id": metric["lago_id"], "charge_model": "graduated"},
        ],
    )
    charges = plan["charges"]
    assert [c["code"] for c in charges] == ["calls", "calls_2", "calls_3"]
    assert charges[0]["properties"] == {"package_size": 1, "amount": "0", "free_units": 0}
    assert charges[1]["properties"] == {
        "amount": "2",
        "pricing_group_keys": ["region"],
        "grouped_by": ["region"],
    }
    assert charges[2]["properties"] == {
        "graduated_ranges": [
            {"from_value": 0, "to_value": None, "per_unit_amount": "0", "flat_amount": "0"}
        ]
    }
