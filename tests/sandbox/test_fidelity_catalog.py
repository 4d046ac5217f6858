"""Events, plans and charges where the sandbox used to differ from Lago's server (issue 13),
in-process and over HTTP. Each row cites the lago-api spec or service it paraphrases."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.helpers import (
    Api,
    charge_item,
    create_metric,
    create_plan,
    not_found,
    plan_body,
    validation,
)

EVENTS_SPEC = "spec/requests/api/v1/events_controller_spec.rb"


def _event(txn: str, **extra: Any) -> dict[str, Any]:
    return {"transaction_id": txn, "code": "calls", "external_subscription_id": "s1", **extra}


@pytest.mark.parametrize("txn", ["1Az()[]?#._/|-/../", "a/b", "plain"])
def test_get_event_with_an_encoded_slash(any_api: Api, txn: str) -> None:
    # EVENTS_SPEC:510-519: the id is sent percent-encoded (CGI.escapeURIComponent)
    from urllib.parse import quote

    any_api.ok("POST", "/events", {"event": _event(txn)})
    reply = any_api.get(f"/events/{quote(txn, safe='')}")
    assert reply.status == 200, reply.body
    assert reply.body["event"]["transaction_id"] == txn


@pytest.mark.parametrize("body", [{"events": []}, {"event": {}}, {"events": {"a": 1}}])
def test_an_empty_batch_is_no_events(any_api: Api, body: Any) -> None:
    # spec/services/events/create_batch_service_spec.rb:92-98, create_batch_service.rb:19-21
    reply = any_api.post("/events/batch", body)
    assert (reply.status, reply.body) == (422, validation({"events": ["no_events"]}))


def test_expression_results_and_failures(any_api: Api) -> None:
    create_metric(
        any_api, "calls", field_name="value", expression="event.properties.a + event.properties.b"
    )
    # EVENTS_SPEC:103-108: the result is stored as a decimal and rendered as a string
    made = any_api.ok("POST", "/events", {"event": _event("t1", properties={"a": "1", "b": "2"})})[
        "event"
    ]
    assert made["properties"] == {"a": "1", "b": "2", "value": "3.0"}
    batch = any_api.ok(
        "POST", "/events/batch", {"events": [_event("t2", properties={"a": 1.5, "b": 1})]}
    )["events"]
    assert batch[0]["properties"]["value"] == "2.5"
    # EVENTS_SPEC:110-128: a missing variable names it, as a message
    failed = any_api.post("/events", {"event": _event("t3", properties={"a": "1"})})
    assert (failed.status, failed.body["error_details"]) == (
        422,
        "expression_evaluation_failed: Variable: b not found",
    )
    # EVENTS_SPEC:218-236: in a batch, keyed by the event's index
    failed_batch = any_api.post("/events/batch", {"events": [_event("t4", properties={"a": "1"})]})
    assert failed_batch.body == validation(
        {"0": "expression_evaluation_failed: Variable: b not found"}
    )


def test_precise_total_amount_cents_is_a_decimal_column(any_api: Api) -> None:
    # spec/services/events/create_service_spec.rb:209-229: "asdfa" is stored as 0;
    # serializers/v1/event_serializer.rb renders the decimal as a string
    for txn, sent, shown in [
        ("p1", "123.45", "123.45"),
        ("p2", "asdfa", "0.0"),
        ("p3", 12, "12.0"),
    ]:
        made = any_api.ok(
            "POST", "/events", {"event": _event(txn, precise_total_amount_cents=sent)}
        )["event"]
        assert made["precise_total_amount_cents"] == shown


@pytest.fixture
def metric(any_api: Api) -> dict[str, Any]:
    return create_metric(any_api, "calls", filters=[{"key": "region", "values": ["eu", "us"]}])


def test_presentation_and_pricing_group_keys_lago_drops(
    any_api: Api, metric: dict[str, Any]
) -> None:
    item = charge_item(
        metric["lago_id"],
        properties={
            "amount": "1",
            "presentation_group_keys": [],
            "pricing_group_keys": ["region", ""],
        },
        filters=[
            {
                "values": {"region": ["eu"]},
                "properties": {
                    "amount": "2",
                    "presentation_group_keys": [{"value": "region"}],
                },
            }
        ],
    )
    charge = create_plan(any_api, "pro", charges=[item])["charges"][0]
    # charge_models/filter_properties/base_service.rb:38-43,64-67: [] is not present, "" removed
    assert "presentation_group_keys" not in charge["properties"]
    assert charge["properties"]["pricing_group_keys"] == ["region"]
    # spec/services/charge_filters/create_or_update_batch_service_spec.rb:207-225
    assert "presentation_group_keys" not in charge["filters"][0]["properties"]


PRESENTATION_SHARED = "spec/support/shared_examples/charges/presentation_group_keys_validation.rb"


@pytest.mark.parametrize(
    ("source", "keys", "codes"),
    [
        (f"{PRESENTATION_SHARED}:33-42", [{"value": "c"}, {"value": "c"}], ["value_is_duplicated"]),
        (
            f"{PRESENTATION_SHARED}:103-118",
            [{"value": "a"}, {"value": "b"}, {"value": "c"}],
            ["too_many_keys"],
        ),
        (f"{PRESENTATION_SHARED}:120-129", "not_an_array", ["invalid_type"]),
        (
            f"{PRESENTATION_SHARED}:92-101",
            [{"value": "r", "options": {"display_in_invoice": "true"}}],
            ["invalid_type"],
        ),
    ],
)
def test_presentation_group_keys_validation(
    any_api: Api, metric: dict[str, Any], source: str, keys: Any, codes: list[str]
) -> None:
    assert source
    item = charge_item(
        metric["lago_id"], properties={"amount": "1", "presentation_group_keys": keys}
    )
    reply = any_api.post("/plans", plan_body("pro", charges=[item]))
    assert (reply.status, reply.body) == (422, validation({"properties": codes}))


def test_plan_metadata_is_absent_unless_given(any_api: Api) -> None:
    # spec/requests/api/v1/plans_controller_spec.rb:1180-1220, plan_serializer.rb:34: no key
    # without metadata, {} kept when sent
    bare = create_plan(any_api, "bare")
    empty = create_plan(any_api, "empty", metadata={})
    assert "metadata" not in bare
    assert empty["metadata"] == {}


def test_unknown_add_on_of_a_fixed_charge(any_api: Api) -> None:
    # spec/requests/api/v1/plans_controller_spec.rb:401-408
    fixed = {"add_on_id": "unknown", "charge_model": "standard", "properties": {"amount": "1"}}
    reply = any_api.post("/plans", plan_body("pro", fixed_charges=[fixed]))
    assert (reply.status, reply.body) == (404, not_found("add_ons_not_found"))


def test_dynamic_charge_needs_a_sum_metric(any_api: Api) -> None:
    # models/charge.rb:124-129
    counted = create_metric(any_api, "seats", aggregation_type="count_agg", field_name=None)
    reply = any_api.post(
        "/plans", plan_body("pro", charges=[charge_item(counted["lago_id"], "dynamic", {})])
    )
    assert reply.body == validation({"charge_model": ["invalid_aggregation_type_or_charge_model"]})


def test_usage_thresholds_need_progressive_billing(any_api: Api) -> None:
    # plans/create_service.rb:52 and plans/update_usage_thresholds_service.rb:15: silently
    # ignored without the organization's progressive_billing integration
    thresholds = [{"amount_cents": 1000, "threshold_display_name": "t"}]
    with_it = create_plan(any_api, "on", usage_thresholds=thresholds)
    any_api.settings(features=["events_targeting_wallets", "preview"])
    without = create_plan(any_api, "off", usage_thresholds=thresholds)
    assert (len(with_it["usage_thresholds"]), without["usage_thresholds"]) == (1, [])


def test_accepts_target_wallet_needs_events_targeting_wallets(
    any_api: Api, metric: dict[str, Any]
) -> None:
    # charges/create_service.rb:46-54, charges/update_service.rb:45-48
    item = charge_item(metric["lago_id"], accepts_target_wallet=True)
    with_it = create_plan(any_api, "on", charges=[item])["charges"][0]
    any_api.settings(features=["progressive_billing", "preview"])
    without = create_plan(any_api, "off", charges=[item])["charges"][0]
    assert (with_it["accepts_target_wallet"], without["accepts_target_wallet"]) == (True, False)
