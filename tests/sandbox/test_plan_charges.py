"""Granular charge and charge-filter endpoints under ``/plans/{code}/charges`` (§4.7)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.helpers import (
    Api,
    charge_item,
    create_metric,
    create_plan,
    not_found,
    subscribe,
    validation,
)


@pytest.fixture
def metric(any_api: Api) -> dict[str, Any]:
    return create_metric(any_api, "calls", filters=[{"key": "region", "values": ["eu", "us"]}])


def test_charge_crud(any_api: Api, metric: dict[str, Any]) -> None:
    create_plan(any_api, "pro")
    no_code = any_api.post("/plans/pro/charges", {"charge": charge_item(metric["lago_id"])})
    assert no_code.body == validation({"code": ["value_is_mandatory"]})
    unknown = any_api.post(
        "/plans/pro/charges",
        {"charge": {"billable_metric_id": "nope", "code": "c", "charge_model": "standard"}},
    )
    assert unknown.body == not_found("billable_metric_not_found")
    created = any_api.ok(
        "POST", "/plans/pro/charges", {"charge": charge_item(metric["lago_id"], code="api")}
    )["charge"]
    dup = any_api.post("/plans/pro/charges", {"charge": charge_item(metric["lago_id"], code="api")})
    assert dup.body == validation({"code": ["value_already_exist"]})
    assert any_api.ok("GET", "/plans/pro/charges/api")["charge"]["lago_id"] == created["lago_id"]
    updated = any_api.ok(
        "PUT",
        "/plans/pro/charges/api",
        {
            "charge": {
                "charge_model": "package",
                "properties": {"amount": "5", "package_size": 100, "free_units": 0},
            }
        },
    )["charge"]
    assert (updated["charge_model"], updated["properties"]["package_size"]) == ("package", 100)
    listed = any_api.ok("GET", "/plans/pro/charges")
    assert [c["code"] for c in listed["charges"]] == ["api"]
    assert any_api.ok("DELETE", "/plans/pro/charges/api")["charge"]["code"] == "api"
    assert any_api.get("/plans/pro/charges/api").body == not_found("charge_not_found")
    assert any_api.get("/plans/nope/charges").body == not_found("plan_not_found")


def test_charge_update_locks_on_subscribed_plan(any_api: Api, metric: dict[str, Any]) -> None:
    create_plan(any_api, "pro", charges=[charge_item(metric["lago_id"], code="api")])
    subscribe(any_api)
    updated = any_api.ok(
        "PUT",
        "/plans/pro/charges/api",
        {
            "charge": {
                "charge_model": "graduated",
                "pay_in_advance": True,
                "properties": {"amount": "4"},
            }
        },
    )
    charge = updated["charge"]
    assert (charge["charge_model"], charge["pay_in_advance"], charge["properties"]) == (
        "standard",
        False,
        {"amount": "4"},
    )


def test_filter_endpoints(any_api: Api, metric: dict[str, Any]) -> None:
    create_plan(any_api, "pro", charges=[charge_item(metric["lago_id"], code="api")])
    created = any_api.ok(
        "POST",
        "/plans/pro/charges/api/filters",
        {
            "filter": {
                "values": {"region": ["eu"]},
                "properties": {"amount": "2"},
                "invoice_display_name": "EU",
            }
        },
    )["filter"]
    assert (created["charge_code"], created["values"], created["properties"]) == (
        "api",
        {"region": ["eu"]},
        {"amount": "2"},
    )
    duplicate = any_api.post(
        "/plans/pro/charges/api/filters",
        {"filter": {"values": {"region": ["eu"]}, "properties": {"amount": "3"}}},
    )
    assert duplicate.body == validation({"values": ["value_already_exist"]})
    invalid = any_api.post(
        "/plans/pro/charges/api/filters", {"filter": {"values": {"region": ["mars"]}}}
    )
    assert invalid.body == validation({"values": ["value_is_invalid"]})
    path = f"/plans/pro/charges/api/filters/{created['lago_id']}"
    updated = any_api.ok("PUT", path, {"filter": {"properties": {"amount": "9"}}})["filter"]
    assert updated["properties"] == {"amount": "9"}
    listed = any_api.ok("GET", "/plans/pro/charges/api/filters")
    assert [f["lago_id"] for f in listed["filters"]] == [created["lago_id"]]
    any_api.ok("DELETE", path)
    assert any_api.get(path).body == not_found("charge_filter_not_found")


def test_filters_on_plan_put_match_by_values(any_api: Api, metric: dict[str, Any]) -> None:
    api = any_api
    plan = create_plan(
        api,
        "pro",
        charges=[
            charge_item(
                metric["lago_id"],
                filters=[
                    {"values": {"region": ["eu"]}, "properties": {"amount": "2"}},
                    {"values": {"region": ["us"]}, "properties": {"amount": "3"}},
                ],
            )
        ],
    )
    charge = plan["charges"][0]
    eu_id = charge["filters"][0]["lago_id"]
    after = api.ok(
        "PUT",
        "/plans/pro",
        {
            "plan": {
                "charges": [
                    {
                        "id": charge["lago_id"],
                        "charge_model": "standard",
                        "properties": {"amount": "1"},
                        "filters": [
                            {"values": {"region": ["eu"]}, "properties": {"amount": "7"}},
                            {"values": {"region": ["eu", "us"]}, "properties": {"amount": "8"}},
                        ],
                    }
                ]
            }
        },
    )
    filters = after["plan"]["charges"][0]["filters"]
    assert [(f["values"], f["properties"]["amount"]) for f in filters] == [
        ({"region": ["eu"]}, "7"),
        ({"region": ["eu", "us"]}, "8"),
    ]
    assert filters[0]["lago_id"] == eu_id  # matched by values map: same filter, updated
