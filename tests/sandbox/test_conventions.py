"""Cross-cutting conventions (API_NOTES §2, §8): envelopes, status codes, error bodies, auth,
unknown routes and pagination — in-process and over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from lagoform.sandbox import Sandbox
from tests.sandbox.helpers import (
    UNAUTHORIZED,
    Api,
    InProcessApi,
    create_metric,
    metric_body,
    not_found,
    plan_body,
)


@pytest.mark.parametrize(
    ("method", "path", "body", "root"),
    [
        ("POST", "/billable_metrics", {"name": "x"}, "billable_metric"),
        ("POST", "/plans", {}, "plan"),
        ("POST", "/plans", {"plan": {}}, "plan"),
        ("POST", "/subscriptions", {"subscription": None}, "subscription"),
        ("POST", "/customers", {"customer": []}, "customer"),
        ("POST", "/taxes", {"taxes": {"code": "x"}}, "tax"),
        ("POST", "/events", {"events": []}, "event"),
        ("POST", "/wallet_transactions", {}, "wallet_transaction"),
    ],
)
def test_missing_envelope_is_400_bad_request(
    any_api: Api, method: str, path: str, body: Any, root: str
) -> None:
    reply = any_api.call(method, path, body)
    assert reply.status == 400
    assert reply.body == {
        "status": 400,
        "error": f"BadRequest: param is missing or the value is empty or invalid: {root}",
    }


def test_every_success_is_200_including_create_and_delete(any_api: Api) -> None:
    created = any_api.post("/billable_metrics", metric_body("calls"))
    assert created.status == 200
    assert set(created.body) == {"billable_metric"}
    deleted = any_api.delete("/billable_metrics/calls")
    assert deleted.status == 200
    assert deleted.body["billable_metric"]["code"] == "calls"
    assert any_api.get("/billable_metrics/calls").body == not_found("billable_metric_not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nothing_here"),
        ("GET", "/plans/pro/whatever"),
        ("POST", "/billable_metrics/calls"),  # route exists for other verbs only
        ("DELETE", "/events/batch"),
        ("GET", "/api/v2/plans"),
    ],
)
def test_unknown_route_is_404_resource_not_found(any_api: Api, method: str, path: str) -> None:
    reply = any_api.call(method, path, {})
    assert reply.status == 404
    assert reply.body == not_found("resource_not_found")


@pytest.mark.parametrize("key", [None, "", "some-other-key"])
def test_401_without_or_with_unknown_key(key: str | None) -> None:
    api = InProcessApi(Sandbox(api_key="the-key"))
    reply = api.get("/plans", key=key)
    assert (reply.status, reply.body) == (401, UNAUTHORIZED)
    api.key = "the-key"
    assert api.get("/plans").status == 200


def test_401_over_http_for_missing_and_wrong_key(any_api: Api) -> None:
    assert (any_api.get("/plans", key=None).status, any_api.get("/plans", key=None).body) == (
        401,
        UNAUTHORIZED,
    )
    if not isinstance(any_api, InProcessApi):  # in-process accepts any key by default
        assert any_api.get("/plans", key="wrong").body == UNAUTHORIZED


def test_any_non_empty_bearer_key_accepted_by_default(api: Api) -> None:
    assert api.get("/plans", key="whatever").status == 200
    assert api.call("GET", "/plans", key=None).status == 401


def test_health_needs_no_auth(any_api: Api) -> None:
    reply = any_api.get("/health", key=None)
    assert reply.status == 200
    assert set(reply.body) == {"version", "github_url", "message"}


def test_patch_is_routed_like_put(any_api: Api) -> None:
    create_metric(any_api, "calls")
    reply = any_api.call("PATCH", "/billable_metrics/calls", {"billable_metric": {"name": "N"}})
    assert reply.status == 200
    assert reply.body["billable_metric"]["name"] == "N"


def test_invalid_json_is_400(api: Api) -> None:
    reply = api.call("POST", "/plans", raw=b"{not json")
    assert reply.status == 400
    assert reply.body["error"].startswith("BadRequest: ")


EMPTY_META = {
    "current_page": 0,
    "next_page": None,
    "prev_page": None,
    "total_pages": 0,
    "total_count": 0,
}


@pytest.mark.parametrize(
    "path",
    [
        "/billable_metrics",
        "/plans",
        "/subscriptions",
        "/customers",
        "/taxes",
        "/add_ons",
        "/coupons",
        "/events",
        "/applied_coupons",
    ],
)
def test_empty_list_meta_is_all_zero(any_api: Api, path: str) -> None:
    reply = any_api.get(path)
    assert reply.status == 200
    assert reply.body["meta"] == EMPTY_META
    assert reply.body[path.strip("/")] == []


@pytest.mark.parametrize(
    ("query", "codes", "meta"),
    [
        ({}, ["m5", "m4", "m3", "m2", "m1"], (1, None, None, 1, 5)),
        ({"per_page": 2}, ["m5", "m4"], (1, 2, None, 3, 5)),
        ({"per_page": 2, "page": 2}, ["m3", "m2"], (2, 3, 1, 3, 5)),
        ({"per_page": 2, "page": 3}, ["m1"], (3, None, 2, 3, 5)),
        ({"per_page": 2, "page": 9}, [], (9, None, None, 3, 5)),
    ],
)
def test_pagination_meta_and_newest_first_order(
    any_api: Api, query: dict[str, Any], codes: list[str], meta: tuple[Any, ...]
) -> None:
    for n in range(1, 6):
        create_metric(any_api, f"m{n}")
    body = any_api.ok("GET", "/billable_metrics", query=query)
    assert [m["code"] for m in body["billable_metrics"]] == codes
    keys = ("current_page", "next_page", "prev_page", "total_pages", "total_count")
    assert tuple(body["meta"][k] for k in keys) == meta


def test_unknown_keys_are_dropped_silently(api: Api) -> None:
    body = plan_body("pro")
    body["plan"]["colour"] = "blue"
    created = api.ok("POST", "/plans", body)
    assert "colour" not in created["plan"]
