"""Error mapping: every status to its class, Lago's codes in plain words, non-JSON pages."""

from __future__ import annotations

import httpx
import pytest

from lagoform.errors import (
    LagoBadRequest,
    LagoError,
    LagoForbidden,
    LagoMethodNotAllowed,
    LagoNotFound,
    LagoRateLimited,
    LagoServerError,
    LagoUnauthorized,
    LagoValidationError,
)
from lagoform.lago import LagoClient, is_duplicate_only
from lagoform.lago.errors import (
    MAX_MESSAGE,
    batch_rejections,
    code_in_words,
    error_for_status,
    explain_error_details,
    retry_after_seconds,
)
from lagoform.lago.retry import NO_RETRY
from tests.lago.scripted import ScriptedLago, lago_error


@pytest.mark.parametrize(
    ("response", "cls", "code", "words"),
    [
        (lago_error(400), LagoBadRequest, None, "BadRequest: param is missing"),
        (lago_error(401), LagoUnauthorized, None, "API key was refused"),
        (
            lago_error(403, "feature_unavailable"),
            LagoForbidden,
            "feature_unavailable",
            "premium licence",
        ),
        (
            lago_error(403, "write_action_not_allowed_for_plan"),
            LagoForbidden,
            "write_action_not_allowed_for_plan",
            "this API key may not write plans",
        ),
        (lago_error(404, "plan_not_found"), LagoNotFound, "plan_not_found", "plan not found"),
        (
            lago_error(405, "subscription_incomplete"),
            LagoMethodNotAllowed,
            "subscription_incomplete",
            "the subscription is incomplete",
        ),
        (
            lago_error(
                422, "validation_errors", body={"error_details": {"properties": ["invalid_amount"]}}
            ),
            LagoValidationError,
            "validation_errors",
            "validation failed: properties: amount must be a decimal string ≥ 0",
        ),
        (
            lago_error(422, "plan_overridden"),
            LagoValidationError,
            "plan_overridden",
            "plan overridden",
        ),
        (
            lago_error(429, headers={"X-RateLimit-Reset": "3"}),
            LagoRateLimited,
            None,
            "Too Many Requests",
        ),
        (lago_error(500), LagoServerError, None, "Internal Server Error"),
        (
            httpx.Response(503, text="upstream connect error"),
            LagoServerError,
            None,
            "non-JSON response",
        ),
        (
            httpx.Response(
                502,
                html="<html><head><title>502 Bad Gateway</title></head>"
                "<body><h1>nginx</h1></body></html>",
            ),
            LagoServerError,
            None,
            "non-JSON response (text/html): 502 Bad Gateway",
        ),
        (httpx.Response(413, text="too big"), LagoError, None, "non-JSON response"),
    ],
)
def test_status_maps_to_error_class(
    response: httpx.Response, cls: type[LagoError], code: str | None, words: str
) -> None:
    lago = ScriptedLago([response])
    client = LagoClient(
        "https://lago.test", "lago_test_key_1", transport=lago.transport(), retry=NO_RETRY
    )
    with pytest.raises(LagoError) as info:
        client.get("/plans/pro")
    err = info.value
    assert type(err) is cls
    assert err.status == response.status_code  # a proxy's HTML page keeps its real status
    assert err.code == code
    assert words in str(err)
    assert str(err).startswith(f"GET /plans/pro: HTTP {response.status_code}")


def test_rate_limited_error_carries_the_wait() -> None:
    err = error_for_status(429, b"{}", {"x-ratelimit-reset": "2"}, method="GET", path="/plans")
    assert isinstance(err, LagoRateLimited)
    assert err.retry_after == 2.0


def test_error_details_in_plain_words() -> None:
    lines = explain_error_details(
        {
            "code": ["value_already_exist"],
            "properties": ["invalid_graduated_ranges"],
            "0": {"transaction_id": ["value_already_exist"]},
            "pay_in_advance": ["invalid_aggregation_type_or_charge_model"],
            "mystery": ["some_new_code"],
        }
    )
    assert lines[0] == "code: already exists"
    assert lines[1].startswith("properties: graduated ranges must start at 0 or 1")
    assert lines[2] == "events[0].transaction_id: already exists"
    assert "count, sum, unique_count or custom" in lines[3]
    assert lines[4] == "mystery: some new code"


def test_code_in_words_patterns() -> None:
    assert code_in_words("billable_metrics_not_found") == "billable metrics not found"
    assert code_in_words("read_action_not_allowed_for_billable_metric") == (
        "this API key may not read billable metrics"
    )


def test_long_messages_are_truncated() -> None:
    body = ("<html>" + "x" * 5000 + "</html>").encode()
    err = error_for_status(500, body, {"content-type": "text/html"}, method="GET", path="/p")
    assert len(err.args[0]) <= MAX_MESSAGE
    details = {"name": ["value_is_too_long"] * 200}
    err = error_for_status(
        422,
        httpx.Response(422, json={"error_details": details}).content,
        {},
        method="POST",
        path="/plans",
    )
    assert len(err.args[0]) <= MAX_MESSAGE
    assert err.args[0].endswith("…")
    assert err.details == details  # the codes themselves are kept whole for programs


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "Thu, 01 Jan 1970 00:16:50 GMT"}, 10.0),  # now = 1000
        ({"x-ratelimit-reset": "1.5"}, 1.5),
        ({"x-ratelimit-reset": "1700000005"}, 5.0),  # a Unix timestamp from a proxy
        ({"x-ratelimit-reset": "soon"}, None),
        ({}, None),
        # unreadable Retry-After values fall back to backoff (None), never raise
        ({"retry-after": "soon"}, None),
        ({"retry-after": "1,2"}, None),
        ({"retry-after": "-5"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "inf"}, None),
        ({"retry-after": "1e400"}, None),
        ({"retry-after": "Thu, 99 Foo 2026 25:61:61 GMT"}, None),
        ({"retry-after": "Mon, 01 Jan 99999 00:00:00 GMT"}, None),
        ({"retry-after": "soon", "x-ratelimit-reset": "4"}, 4.0),
    ],
)
def test_retry_after_headers(headers: dict[str, str], expected: float | None) -> None:
    now = 1_700_000_000.0 if "1700000005" in headers.values() else 1000.0
    assert retry_after_seconds(headers, now=now) == expected


def test_batch_rejections_and_duplicates() -> None:
    dup = {"transaction_id": ["value_already_exist"]}
    both = LagoValidationError("x", status=422, details={"0": dup, "1": dup})
    assert batch_rejections(both) == {0: dup, 1: dup}
    assert is_duplicate_only(both, batch_size=2)
    # a batch is atomic: with only one duplicate the other event was not stored
    assert not is_duplicate_only(both, batch_size=3)
    mixed = LagoValidationError(
        "x", status=422, details={"0": dup, "1": {"timestamp": ["invalid_format"]}}
    )
    assert not is_duplicate_only(mixed, batch_size=2)
    assert is_duplicate_only(LagoValidationError("x", status=422, details=dup))
    assert not is_duplicate_only(LagoServerError("x", status=500))


def test_an_unreadable_retry_after_is_quoted_in_the_error() -> None:
    err = error_for_status(
        429, b"", {"retry-after": "soon"}, method="GET", path="/plans", now=1000.0
    )
    assert isinstance(err, LagoRateLimited) and err.retry_after is None
    assert "Retry-After 'soon' is neither seconds nor an HTTP date" in str(err)


def test_a_redirect_says_what_happened_and_never_shows_credentials() -> None:
    err = error_for_status(
        301,
        b"<html>Moved</html>",
        {"location": "https://user:hunter2@lago.example/api/v1/plans", "content-type": "text/html"},
        method="GET",
        path="/plans",
    )
    text = str(err)
    assert "redirect (HTTP 301) to https://lago.example/api/v1/plans" in text
    assert "does not follow redirects" in text and "hunter2" not in text
    assert not err.retryable
