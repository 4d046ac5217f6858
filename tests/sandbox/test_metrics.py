"""Billable metric rules (§3): validation codes, the attached lock, filter cascades, delete."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.helpers import (
    FORBIDDEN,
    Api,
    charge_item,
    create_metric,
    create_plan,
    metric_body,
    subscribe,
    validation,
)


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        (
            metric_body(aggregation_type="avg_agg"),
            422,
            validation({"aggregation_type": ["value_is_invalid"]}),
        ),
        (metric_body(field_name=None), 422, validation({"field_name": ["value_is_mandatory"]})),
        (
            metric_body(aggregation_type="max_agg", recurring=True),
            422,
            validation({"recurring": ["not_compatible_with_aggregation_type"]}),
        ),
        (
            metric_body(aggregation_type="weighted_sum_agg"),
            422,
            validation({"weighted_interval": ["value_is_invalid"]}),
        ),
        (
            metric_body(expression="round(event.properties.a"),
            422,
            validation({"expression": ["invalid_expression"]}),
        ),
        (
            metric_body(rounding_function="truncate"),
            422,
            validation({"rounding_function": ["value_is_invalid"]}),
        ),
        (
            metric_body(filters=[{"key": "region", "values": []}]),
            422,
            validation({"values": ["value_is_mandatory"]}),
        ),
        (metric_body(aggregation_type="custom_agg"), 403, FORBIDDEN),
        (
            {"billable_metric": {"aggregation_type": "count_agg"}},
            422,
            validation({"name": ["value_is_mandatory"], "code": ["value_is_mandatory"]}),
        ),
    ],
)
def test_create_validation(any_api: Api, body: Any, status: int, expected: Any) -> None:
    reply = any_api.post("/billable_metrics", body)
    assert (reply.status, reply.body) == (status, expected)


def test_create_echoes_lago_shape(api: Api) -> None:
    metric = create_metric(
        api,
        "tokens",
        filters=[
            {"key": "model", "values": ["small", "large"]},
            {"key": "direction", "values": ["out", "in"]},
        ],
    )
    assert metric["filters"] == [
        {"key": "direction", "values": ["in", "out"]},
        {"key": "model", "values": ["large", "small"]},
    ]
    assert (metric["plans_count"], metric["active_subscriptions_count"]) == (0, 0)
    count = create_metric(api, "hits", aggregation_type="count_agg", field_name="ignored")
    assert count["field_name"] is None
    weighted = create_metric(
        api, "seats", aggregation_type="weighted_sum_agg", weighted_interval="seconds"
    )
    assert weighted["weighted_interval"] == "seconds"


def test_duplicate_code(api: Api) -> None:
    create_metric(api, "calls")
    reply = api.post("/billable_metrics", metric_body("calls"))
    assert reply.body == validation({"code": ["value_already_exist"]})


def _attach(api: Api, code: str = "calls") -> dict[str, Any]:
    metric = api.ok("GET", f"/billable_metrics/{code}")["billable_metric"]
    return create_plan(api, f"plan-{code}", charges=[charge_item(metric["lago_id"])])


def test_locked_fields_silently_ignored_when_attached(any_api: Api) -> None:
    create_metric(any_api, "calls", filters=[{"key": "region", "values": ["eu"]}])
    _attach(any_api)
    reply = any_api.put(
        "/billable_metrics/calls",
        {
            "billable_metric": {
                "code": "renamed",
                "aggregation_type": "max_agg",
                "field_name": "other",
                "name": "New name",
                "description": "new",
                "rounding_function": "ceil",
                "filters": [{"key": "region", "values": ["eu", "us"]}],
            }
        },
    )
    assert reply.status == 200
    metric = reply.body["billable_metric"]
    assert (metric["code"], metric["aggregation_type"], metric["field_name"]) == (
        "calls",
        "sum_agg",
        "n",
    )
    assert metric["rounding_function"] is None
    assert (metric["name"], metric["description"]) == ("New name", "new")
    assert metric["filters"] == [{"key": "region", "values": ["eu", "us"]}]


def test_attached_through_child_plan_only_still_locks(api: Api) -> None:
    metric = create_metric(api, "calls")
    create_plan(api, "pro", charges=[charge_item(metric["lago_id"])])
    subscribe(api, plan_overrides={"amount_cents": 5})
    api.ok("PUT", "/plans/pro", {"plan": {"charges": [], "interval": "monthly"}})
    reply = api.put("/billable_metrics/calls", {"billable_metric": {"field_name": "x"}})
    assert reply.body["billable_metric"]["field_name"] == "n"


def test_unattached_metric_accepts_every_field(api: Api) -> None:
    create_metric(api, "calls")
    reply = api.put(
        "/billable_metrics/calls",
        {"billable_metric": {"code": "calls2", "aggregation_type": "max_agg"}},
    )
    assert (
        reply.body["billable_metric"]["code"],
        reply.body["billable_metric"]["aggregation_type"],
    ) == ("calls2", "max_agg")
    assert api.get("/billable_metrics/calls").status == 404


REGION = {"key": "region", "values": ["eu", "us", "apac"]}
TIER = {"key": "tier", "values": ["free", "paid"]}


@pytest.mark.parametrize(
    ("new_filters", "expected"),
    [
        # A key kept, values trimmed: [eu,us] -> [eu]; [apac] discarded; the wildcard untouched.
        (
            [{"key": "region", "values": ["eu"]}, TIER],
            [
                {"region": ["eu"]},
                {"region": ["__ALL_FILTER_VALUES__"]},
                {"tier": ["free"]},
                {"region": ["eu"], "tier": ["paid"]},
            ],
        ),
        # A key removed: its charge-filter values go; filters left empty are discarded.
        (
            [REGION],
            [
                {"region": ["eu", "us"]},
                {"region": ["apac"]},
                {"region": ["__ALL_FILTER_VALUES__"]},
                {"region": ["eu"]},
            ],
        ),
        # filters: [] clears every charge filter.
        ([], []),
        # Only additions: nothing changes.
        (
            [{"key": "region", "values": ["eu", "us", "apac", "latam"]}, TIER],
            [
                {"region": ["eu", "us"]},
                {"region": ["apac"]},
                {"region": ["__ALL_FILTER_VALUES__"]},
                {"tier": ["free"]},
                {"region": ["eu"], "tier": ["paid"]},
            ],
        ),
    ],
)
def test_filter_edit_cascades_into_charge_filters(
    any_api: Api, new_filters: list[dict[str, Any]], expected: list[dict[str, Any]]
) -> None:
    metric = create_metric(any_api, "calls", filters=[REGION, TIER])
    filters = [
        {"values": {"region": ["eu", "us"]}, "properties": {"amount": "1"}},
        {"values": {"region": ["apac"]}, "properties": {"amount": "2"}},
        {"values": {"region": ["__ALL_FILTER_VALUES__"]}, "properties": {"amount": "3"}},
        {"values": {"tier": ["free"]}, "properties": {"amount": "4"}},
        {"values": {"region": ["eu"], "tier": ["paid"]}, "properties": {"amount": "5"}},
    ]
    create_plan(any_api, "pro", charges=[charge_item(metric["lago_id"], filters=filters)])
    any_api.ok("PUT", "/billable_metrics/calls", {"billable_metric": {"filters": new_filters}})
    charge = any_api.ok("GET", "/plans/pro")["plan"]["charges"][0]
    assert [f["values"] for f in charge["filters"]] == expected


def test_delete_removes_charges_on_every_plan_and_frees_the_code(any_api: Api) -> None:
    metric = create_metric(any_api, "calls")
    other = create_metric(any_api, "other")
    items = [charge_item(metric["lago_id"]), charge_item(other["lago_id"])]
    create_plan(any_api, "a", charges=items)
    create_plan(any_api, "b", charges=[charge_item(metric["lago_id"], code="calls_b")])
    subscribe(any_api, plan_code="a", plan_overrides={"amount_cents": 1})
    deleted = any_api.delete("/billable_metrics/calls")
    assert deleted.status == 200
    for code in ("a", "b"):
        charges = any_api.ok("GET", f"/plans/{code}")["plan"]["charges"]
        assert [c["billable_metric_code"] for c in charges] == (["other"] if code == "a" else [])
    child = any_api.ok("GET", "/subscriptions/sub-1")["subscription"]["plan"]
    assert child["parent_id"] is not None
    assert [c["billable_metric_code"] for c in child["charges"]] == ["other"]
    assert any_api.post("/billable_metrics", metric_body("calls")).status == 200
