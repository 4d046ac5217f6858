"""Lago's error responses, raised by sandbox handlers and rendered by the dispatcher.

Shapes follow API_NOTES §2.3 exactly; handlers raise :class:`ApiError` (or collect field errors in
:class:`FieldErrors`) and never build error bodies themselves.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An HTTP error answer: status, JSON body and extra headers."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(f"{status} {body.get('code') or body.get('error')}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def bad_request(message: str) -> ApiError:
    return ApiError(400, {"status": 400, "error": f"BadRequest: {message}"})


def param_missing(root: str) -> ApiError:
    return bad_request(f"param is missing or the value is empty or invalid: {root}")


def unauthorized() -> ApiError:
    return ApiError(401, {"status": 401, "error": "Unauthorized"})


def forbidden(code: str) -> ApiError:
    return ApiError(403, {"status": 403, "error": "Forbidden", "code": code})


def feature_unavailable() -> ApiError:
    return forbidden("feature_unavailable")


def not_found(resource: str) -> ApiError:
    return ApiError(404, {"status": 404, "error": "Not Found", "code": f"{resource}_not_found"})


def not_allowed(code: str) -> ApiError:
    return ApiError(405, {"status": 405, "error": "Method Not Allowed", "code": code})


def validation(details: dict[str, Any] | str) -> ApiError:
    """422 ``validation_errors``; ``details`` is a message only where Lago sends one (an event
    whose billable-metric expression cannot be evaluated)."""
    return ApiError(
        422,
        {
            "status": 422,
            "error": "Unprocessable Entity",
            "code": "validation_errors",
            "error_details": details,
        },
    )


def invalid(field: str, code: str) -> ApiError:
    return validation({field: [code]})


def server_error() -> ApiError:
    return ApiError(500, {"status": 500, "error": "Internal Server Error"})


def unavailable() -> ApiError:
    return ApiError(503, {"status": 503, "error": "Service Unavailable"})


class FieldErrors:
    """Collects ``field -> [error codes]`` so one answer reports every problem, like Rails."""

    def __init__(self) -> None:
        self.details: dict[str, list[str]] = {}

    def add(self, field: str, code: str) -> None:
        codes = self.details.setdefault(field, [])
        if code not in codes:
            codes.append(code)

    def __bool__(self) -> bool:
        return bool(self.details)

    def raise_if_any(self) -> None:
        if self.details:
            raise self.error()

    def error(self) -> ApiError:
        """The 422 answer for what was collected (for callers that must raise regardless)."""
        return validation(dict(self.details))
