"""Subscriptions where the sandbox used to differ from Lago's server (issue 13), in-process and
over HTTP. Each row cites the lago-api spec or service it paraphrases (path:line)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.helpers import Api, create_plan, not_found, subscribe, validation

CTRL_SPEC = "spec/requests/api/v1/subscriptions_controller_spec.rb"
FUTURE = "2099-01-01T00:00:00Z"


def test_put_finds_a_pending_subscription_without_status(any_api: Api) -> None:
    # subscriptions_controller.rb:117-130: with one record under the external_id, that one is
    # updated whatever its status (spec: CTRL_SPEC:1031-1122, a pending subscription renamed)
    create_plan(any_api, "basic", amount_cents=500)
    sub = subscribe(any_api, "later", "basic", subscription_at=FUTURE)
    assert sub["status"] == "pending"
    reply = any_api.put("/subscriptions/later", {"subscription": {"name": "renamed"}})
    assert reply.status == 200, reply.body
    assert (reply.body["subscription"]["lago_id"], reply.body["subscription"]["name"]) == (
        sub["lago_id"],
        "renamed",
    )


def test_put_with_several_records_uses_the_status_parameter(any_api: Api) -> None:
    # subscriptions_controller.rb:120-128: several records → ?status= picks, active by default
    create_plan(any_api, "basic", amount_cents=500)
    create_plan(any_api, "cheap", amount_cents=100)
    subscribe(any_api, "s1", "basic")
    subscribe(any_api, "s1", "cheap")  # a downgrade: a pending record beside the active one
    active = any_api.ok("PUT", "/subscriptions/s1", {"subscription": {"name": "a"}})
    pending = any_api.ok(
        "PUT", "/subscriptions/s1", {"subscription": {"name": "p"}}, query={"status": "pending"}
    )
    assert (active["subscription"]["status"], pending["subscription"]["status"]) == (
        "active",
        "pending",
    )


def test_moving_a_pending_start_into_the_past_starts_it(any_api: Api) -> None:
    # subscriptions/update_service.rb:99-102,151-164 (CTRL_SPEC:1124-1133 sets a past date)
    create_plan(any_api, "basic", amount_cents=500)
    subscribe(any_api, "later", "basic", subscription_at=FUTURE)
    body = {"subscription": {"subscription_at": "2022-09-05T12:23:12Z"}}
    updated = any_api.ok("PUT", "/subscriptions/later", body)["subscription"]
    assert (updated["status"], updated["subscription_at"], updated["started_at"]) == (
        "active",
        "2022-09-05T12:23:12Z",
        "2022-09-05T12:23:12Z",
    )


@pytest.mark.parametrize(
    ("source", "pay_in_advance", "query", "expected"),
    [
        (f"{CTRL_SPEC}:873-875", False, {}, (None, "generate")),
        (
            f"{CTRL_SPEC}:885-891",
            False,
            {"on_termination_credit_note": "credit"},
            (None, "generate"),
        ),
        (f"{CTRL_SPEC}:897-901", True, {}, ("credit", "generate")),
        (f"{CTRL_SPEC}:904-912", True, {"on_termination_credit_note": ""}, ("credit", "generate")),
        (
            f"{CTRL_SPEC}:914-920",
            True,
            {"on_termination_credit_note": "skip"},
            ("skip", "generate"),
        ),
        (
            f"{CTRL_SPEC}:922-928",
            True,
            {"on_termination_credit_note": "refund"},
            ("refund", "generate"),
        ),
        (f"{CTRL_SPEC}:954-960", False, {"on_termination_invoice": "skip"}, (None, "skip")),
        (
            f"{CTRL_SPEC}:975-983",
            True,
            {"on_termination_credit_note": "skip", "on_termination_invoice": "skip"},
            ("skip", "skip"),
        ),
    ],
)
def test_termination_choices(
    any_api: Api,
    source: str,
    pay_in_advance: bool,
    query: dict[str, str],
    expected: tuple[str | None, str],
) -> None:
    assert source
    create_plan(any_api, "basic", pay_in_advance=pay_in_advance)
    subscribe(any_api, "s1", "basic")
    ended = any_api.ok("DELETE", "/subscriptions/s1", query=query)["subscription"]
    assert ended["status"] == "terminated"
    assert (ended["on_termination_credit_note"], ended["on_termination_invoice"]) == expected


@pytest.mark.parametrize(
    ("source", "pay_in_advance", "query", "field"),
    [
        (
            f"{CTRL_SPEC}:930-940",
            True,
            {"on_termination_credit_note": "invalid"},
            "on_termination_credit_note",
        ),
        (
            f"{CTRL_SPEC}:962-973",
            False,
            {"on_termination_invoice": "invalid"},
            "on_termination_invoice",
        ),
    ],
)
def test_invalid_termination_choices_are_refused_and_nothing_ends(
    any_api: Api, source: str, pay_in_advance: bool, query: dict[str, str], field: str
) -> None:
    assert source
    create_plan(any_api, "basic", pay_in_advance=pay_in_advance)
    subscribe(any_api, "s1", "basic")
    reply = any_api.delete("/subscriptions/s1", query=query)
    assert (reply.status, reply.body) == (422, validation({field: ["invalid_value"]}))
    assert any_api.ok("GET", "/subscriptions/s1")["subscription"]["status"] == "active"


def test_update_checks_and_keeps_termination_choices(any_api: Api) -> None:
    # subscriptions/validate_service.rb:64-80 and update_service.rb:64-70: checked for every plan,
    # the credit-note choice kept only for a plan paid in advance
    create_plan(any_api, "arrears")
    create_plan(any_api, "advance", pay_in_advance=True)
    subscribe(any_api, "a", "arrears")
    subscribe(any_api, "b", "advance", customer="cust-2")
    bad = any_api.put("/subscriptions/a", {"subscription": {"on_termination_credit_note": "x"}})
    assert bad.body == validation({"on_termination_credit_note": ["invalid_value"]})
    choice = {"subscription": {"on_termination_credit_note": "skip"}}
    kept = any_api.ok("PUT", "/subscriptions/b", choice)["subscription"]
    ignored = any_api.ok("PUT", "/subscriptions/a", choice)["subscription"]
    assert (kept["on_termination_credit_note"], ignored["on_termination_credit_note"]) == (
        "skip",
        None,
    )


def test_delete_of_a_pending_subscription_needs_the_status(any_api: Api) -> None:
    # CTRL_SPEC:986-1007: without ?status=pending a pending subscription is not found
    create_plan(any_api, "basic")
    subscribe(any_api, "later", "basic", subscription_at=FUTURE)
    assert any_api.delete("/subscriptions/later").body == not_found("subscription_not_found")
    canceled = any_api.ok("DELETE", "/subscriptions/later", query={"status": "pending"})
    assert canceled["subscription"]["status"] == "canceled"


@pytest.mark.parametrize(
    ("source", "new_plan", "name", "expected_name"),
    [
        (
            "spec/services/subscriptions/plan_downgrade_service_spec.rb:207-224",
            "cheap",
            "new",
            "new",
        ),
        (
            "spec/services/subscriptions/plan_downgrade_service_spec.rb:226-234",
            "cheap",
            None,
            "first",
        ),
        ("app/services/subscriptions/plan_upgrade_service.rb:77-81", "dear", "new", "new"),
    ],
)
def test_plan_change_of_a_pending_subscription_renames_it(
    any_api: Api, source: str, new_plan: str, name: str | None, expected_name: str
) -> None:
    assert source
    create_plan(any_api, "basic", amount_cents=500)
    create_plan(any_api, "cheap", amount_cents=100)
    create_plan(any_api, "dear", amount_cents=900)
    sub = subscribe(any_api, "later", "basic", subscription_at=FUTURE, name="first")
    extra: dict[str, Any] = {"name": name} if name is not None else {}
    changed = subscribe(any_api, "later", new_plan, subscription_at=FUTURE, **extra)
    assert (changed["lago_id"], changed["plan_code"], changed["name"]) == (
        sub["lago_id"],
        new_plan,
        expected_name,
    )


def test_identifiers_sent_as_numbers_read_back_as_text(any_api: Api) -> None:
    # CTRL_SPEC:215-235: external_customer_id, name and external_id given as integers
    create_plan(any_api, "basic")
    body = {
        "subscription": {
            "external_customer_id": 123,
            "plan_code": "basic",
            "name": 456,
            "external_id": 789,
        }
    }
    sub = any_api.ok("POST", "/subscriptions", body)["subscription"]
    assert (sub["external_customer_id"], sub["name"], sub["external_id"]) == ("123", "456", "789")
    assert any_api.ok("GET", "/customers/123")["customer"]["external_id"] == "123"


def test_purchase_order_number_length(any_api: Api) -> None:
    # models/concerns/has_purchase_order_number.rb:6-12: stripped, at most 255 characters
    create_plan(any_api, "basic")
    body = {
        "subscription": {
            "external_customer_id": "c",
            "plan_code": "basic",
            "external_id": "s",
            "purchase_order_number": "a" * 256,
        }
    }
    reply = any_api.post("/subscriptions", body)
    assert reply.body == validation({"purchase_order_number": ["value_is_too_long"]})
    body["subscription"]["purchase_order_number"] = "  PO-1  "
    assert (
        any_api.ok("POST", "/subscriptions", body)["subscription"]["purchase_order_number"]
        == "PO-1"
    )
