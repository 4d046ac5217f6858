"""Turn a Lago error response (or a failed exchange) into one class of ``lagoform.errors``.

Lago's error bodies (API_NOTES §2.3) carry ``status``, ``error``, ``code`` and, for 422,
``error_details`` mapping a field to a list of error *codes*. Codes are kept in
``LagoError.details`` for programs and turned into plain words for people. A body that is not
Lago's JSON (an HTML 502 page from a proxy) keeps its real HTTP status. Every message is
scrubbed of the API key and only then truncated (a cut made first could leave the start of an
echoed key in view) before it goes into an exception; ``details`` are scrubbed too.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping
from datetime import UTC
from typing import Any

import orjson

from lagoform.errors import (
    LagoBadRequest,
    LagoError,
    LagoForbidden,
    LagoMethodNotAllowed,
    LagoNotFound,
    LagoRateLimited,
    LagoServerError,
    LagoTransportError,
    LagoUnauthorized,
    LagoValidationError,
)
from lagoform.lago.secret import Secret, without_userinfo

MAX_MESSAGE = 400

# Lago's error codes (config/locales/en.yml, API_NOTES §2.3) in words a pricing reviewer reads.
# The field name is printed before the phrase, so phrases read "<field>: <phrase>".
CODE_WORDS: dict[str, str] = {
    "value_is_mandatory": "is required",
    "value_already_exist": "already exists",
    "value_is_invalid": "has a value Lago does not accept",
    "value_is_out_of_range": "is out of range",
    "value_is_too_long": "is too long",
    "value_is_not_valid_number": "must be a number",
    "invalid_amount": "amount must be a decimal string ≥ 0",
    "invalid_rate": "rate must be a decimal string ≥ 0",
    "invalid_fixed_amount": "fixed_amount must be a decimal string ≥ 0",
    "invalid_free_units_per_total_aggregation": (
        "free_units_per_total_aggregation must be a decimal string ≥ 0"
    ),
    "invalid_free_units_per_events": "free_units_per_events must be an integer > 0",
    "invalid_free_units": "free_units must be an integer ≥ 0",
    "invalid_package_size": "package_size must be an integer > 0",
    "invalid_graduated_ranges": (
        "graduated ranges must start at 0 or 1, continue without gaps or overlaps, "
        "use decimal strings for amounts, and end with an open range (to_value null)"
    ),
    "missing_graduated_ranges": "graduated ranges are missing",
    "invalid_volume_ranges": (
        "volume ranges must start at 0 or 1, continue without gaps or overlaps, "
        "use decimal strings for amounts, and end with an open range (to_value null)"
    ),
    "missing_volume_ranges": "volume ranges are missing",
    "invalid_graduated_percentage_ranges": (
        "graduated percentage ranges must start at 0 or 1, continue without gaps, use decimal "
        "strings for rates and flat amounts, and end with an open range (to_value null)"
    ),
    "missing_graduated_percentage_ranges": "graduated percentage ranges are missing",
    "graduated_percentage_requires_premium_license": (
        "the graduated_percentage charge model needs a Lago premium licence"
    ),
    "invalid_per_transaction_min_amount": "per_transaction_min_amount must be a decimal string",
    "invalid_per_transaction_max_amount": (
        "per_transaction_max_amount must be a decimal string, not below the minimum"
    ),
    "invalid_expression": "is not a valid expression",
    "not_compatible_with_aggregation_type": "is not allowed with this metric's aggregation type",
    "invalid_aggregation_type_or_charge_model": (
        "pay in advance needs a count, sum, unique_count or custom metric, and not the volume model"
    ),
    "must_be_true_unless_pay_in_advance": "must be true unless the charge is paid in advance",
    "not_compatible_with_pay_in_advance": "is not allowed on a charge paid in advance",
    "only_compatible_with_pay_in_advance_and_non_invoiceable": (
        "is only allowed on a charge paid in advance and not invoiceable"
    ),
    "invalid_billable_metric_or_charge_model": (
        "is not allowed with this billable metric or charge model"
    ),
    "invalid_date": "is not a valid date (it must be in the future and after the start)",
    "invalid_format": "has an invalid format",
    "invalid_count": "has too many entries",
    "wallet_limit_reached": "has reached the maximum number of active wallets",
    "incompatible_params": "cannot be combined with the other parameters sent",
    "not_editable_with_applied_rate_cards": "cannot change while rate cards are applied",
    "does_not_match_an_instant_charge": "does not match any charge paid in advance",
    # codes carried by `code` rather than `error_details`
    "feature_unavailable": (
        "this feature needs a Lago premium licence or an organization feature flag"
    ),
    "validation_errors": "validation failed",
    "resource_not_found": "no such endpoint (check the API URL)",
    "subscription_incomplete": "the subscription is incomplete",
    "only_one_limitation_type_per_coupon_allowed": (
        "a coupon may be limited to plans or to billable metrics, not both"
    ),
}

_WRITE_DENIED = re.compile(r"^(read|write)_action_not_allowed_for_(\w+)$")
_NOT_FOUND = re.compile(r"^(\w+)_not_found$")


def code_in_words(code: str) -> str:
    """One Lago error code in plain words (unknown codes: underscores become spaces)."""
    if code in CODE_WORDS:
        return CODE_WORDS[code]
    if m := _WRITE_DENIED.match(code):
        return f"this API key may not {m.group(1)} {m.group(2).replace('_', ' ')}s"
    if m := _NOT_FOUND.match(code):
        return f"{m.group(1).replace('_', ' ')} not found"
    return code.replace("_", " ")


def explain_error_details(details: Mapping[str, Any], prefix: str = "") -> list[str]:
    """``{"properties": ["invalid_amount"]}`` → ``["properties: amount must be ..."]``.

    Batch event errors are keyed by index (``{"0": {"transaction_id": [...]}}``) and become
    ``events[0].transaction_id: already exists``.
    """
    lines: list[str] = []
    for raw_key, value in details.items():
        key = str(raw_key)
        name = f"{prefix.rstrip('.') or 'events'}[{key}]" if key.isdigit() else f"{prefix}{key}"
        if isinstance(value, Mapping):
            lines.extend(explain_error_details(value, prefix=f"{name}."))
        elif isinstance(value, list):
            words = [code_in_words(str(v)) for v in value]
            lines.append(f"{name}: {', '.join(words) if words else 'is invalid'}")
        else:
            lines.append(f"{name}: {value}")
    return lines


def truncate(text: str, limit: int = MAX_MESSAGE) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_SECONDS = re.compile(r"^\s*[0-9]{1,12}(\.[0-9]{1,9})?\s*$")


def _http_date(raw: str, now: float) -> float | None:
    try:
        moment = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # HTTP dates are GMT
        moment = moment.replace(tzinfo=UTC)
    try:
        return max(0.0, moment.timestamp() - now)
    except (OverflowError, OSError, ValueError):
        return None


def read_retry_after(
    headers: Mapping[str, str], now: float | None = None
) -> tuple[float | None, str | None]:
    """(seconds to wait, the unreadable header value or None).

    ``Retry-After`` is a number of seconds or an HTTP date; Lago Cloud's
    ``X-RateLimit-Reset`` is seconds until the window resets (a value that looks like a Unix
    timestamp is read as one, since some proxies send that). Anything else — ``soon``,
    ``1,2``, a broken date, a negative or non-finite number — is unreadable: the wait is None
    (the caller backs off on its own) and the raw value comes back so a message can quote it.
    Never raises.
    """
    now = time.time() if now is None else now
    unreadable: str | None = None
    raw = headers.get("retry-after")
    if raw is not None and raw.strip():
        if _SECONDS.match(raw):
            return float(raw), None
        seconds = _http_date(raw, now)
        if seconds is not None:
            return seconds, None
        unreadable = raw.strip()[:40]
    raw = headers.get("x-ratelimit-reset")
    if raw is not None and raw.strip():
        if _SECONDS.match(raw):
            value = float(raw)
            return (max(0.0, value - now) if value > 1_000_000_000 else value), unreadable
        unreadable = unreadable or raw.strip()[:40]
    return None, unreadable


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from a 429's headers, or None (absent or unreadable)."""
    return read_retry_after(headers, now)[0]


def _parse_body(content: bytes) -> dict[str, Any] | None:
    try:
        body = orjson.loads(content) if content else None
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


def _non_json_excerpt(content: bytes, content_type: str, secret: Secret | None) -> str:
    text = content.decode("utf-8", errors="replace")
    if secret is not None:
        text = secret.redact(text)
    title = re.search(r"<title[^>]*>(.*?)</title>", text, flags=re.IGNORECASE | re.DOTALL)
    text = title.group(1) if title else re.sub(r"<[^>]+>", " ", text)
    kind = content_type.split(";")[0].strip() or "no content type"
    excerpt = truncate(text, 160)
    return f"non-JSON response ({kind}){': ' + excerpt if excerpt else ''}"


def _message(status: int, body: dict[str, Any]) -> str:
    code = body.get("code")
    details = body.get("error_details")
    if isinstance(details, Mapping) and details:
        explained = explain_error_details(details)
        head = "validation failed" if status == 422 else str(body.get("error") or "error")
        return f"{head}: " + "; ".join(explained)
    if isinstance(details, str) and details:
        # an event whose metric expression cannot be evaluated: Lago sends its message
        return f"validation failed: {details}"
    if isinstance(code, str) and code:
        return code_in_words(code)
    if status == 401:
        return "the API key was refused (check the environment variable that holds it)"
    return str(body.get("error") or f"HTTP {status}")


def error_for_status(
    status: int,
    content: bytes,
    headers: Mapping[str, str],
    *,
    method: str,
    path: str,
    secret: Secret | None = None,
    now: float | None = None,
) -> LagoError:
    """The ``LagoError`` for a non-2xx response. Never raises."""
    body = _parse_body(content)
    if body is not None and secret is not None:
        body = _scrub(body, secret)
    if body is None:
        message = _non_json_excerpt(content, headers.get("content-type", ""), secret)
        code: str | None = None
        details: dict[str, Any] = {}
    else:
        message = _message(status, body)
        raw_code = body.get("code")
        code = raw_code if isinstance(raw_code, str) else None
        raw_details = body.get("error_details")
        details = dict(raw_details) if isinstance(raw_details, Mapping) else {}
    if secret is not None:
        message = secret.redact(message)
    message = truncate(message)
    kw: dict[str, Any] = {
        "status": status,
        "code": code,
        "details": details,
        "method": method,
        "path": path,
    }
    if status == 429:
        wait, unreadable = read_retry_after(headers, now)
        if unreadable is not None:
            message += (
                f" (its Retry-After {unreadable!r} is neither seconds nor an HTTP date: "
                "lagoform backs off on its own schedule)"
            )
        return LagoRateLimited(message, retry_after=wait, **kw)
    if 300 <= status < 400:
        return LagoError(redirect_message(status, headers, secret), **kw)
    if status >= 500:
        return LagoServerError(message, **kw)
    cls: type[LagoError] = {
        400: LagoBadRequest,
        401: LagoUnauthorized,
        403: LagoForbidden,
        404: LagoNotFound,
        405: LagoMethodNotAllowed,
        422: LagoValidationError,
    }.get(status, LagoError)
    return cls(message, **kw)


def redirect_message(status: int, headers: Mapping[str, str], secret: Secret | None) -> str:
    """A 3xx in words: lagoform never follows one (a redirect can turn a write into a read, or
    carry the API key to another host), so the API URL must name where Lago really is."""
    location = without_userinfo(headers.get("location", "").strip())
    if secret is not None:
        location = secret.redact(location)
    where = f" to {truncate(location, 200)}" if location else ""
    return (
        f"Lago's address answered with a redirect (HTTP {status}){where}. lagoform does not "
        "follow redirects (one can turn a write into a read, or carry the API key to another "
        "host): set the API URL to the address Lago really answers at"
    )


def _scrub(value: Any, secret: Secret) -> Any:
    if isinstance(value, str):
        return secret.redact(value)
    if isinstance(value, Mapping):
        return {_scrub(k, secret): _scrub(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secret) for v in value]
    return value


def transport_failure(
    exc: Exception, *, method: str, path: str, secret: Secret | None = None
) -> LagoTransportError:
    """A ``LagoTransportError`` for a timeout, refused connection or broken response."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if secret is not None:
        text = secret.redact(text)
    return LagoTransportError(truncate(text), method=method, path=path)


def batch_rejections(err: LagoError) -> dict[int, dict[str, list[str]]]:
    """For a rejected ``POST /events/batch``: event index → field → error codes."""
    out: dict[int, dict[str, list[str]]] = {}
    for key, value in err.details.items():
        if str(key).isdigit() and isinstance(value, Mapping):
            out[int(key)] = {
                str(f): [str(c) for c in codes] if isinstance(codes, list) else [str(codes)]
                for f, codes in value.items()
            }
    return out


def is_duplicate_only(err: LagoError, batch_size: int | None = None) -> bool:
    """True when Lago refused the events only because their transaction ids are already stored.

    Single event: ``{"transaction_id": ["value_already_exist"]}``. Batch (``batch_size`` given):
    every index of the batch carries exactly that error — a batch is atomic, so if only some
    events are duplicates the others were *not* stored and this returns False.
    """
    if not isinstance(err, LagoValidationError):
        return False
    duplicate = {"transaction_id": ["value_already_exist"]}
    if batch_size is None:
        return err.details == duplicate
    rejections = batch_rejections(err)
    return (
        batch_size > 0
        and set(rejections) == set(range(batch_size))
        and all(r == duplicate for r in rejections.values())
    )
