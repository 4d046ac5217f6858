"""Test helpers: an ``Api`` facade (in-process or HTTP) and builders for Lago request bodies."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import orjson

from lagoform.sandbox import Sandbox
from tests.conftest import SandboxServer

KEY = "test-key"


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


class Api(ABC):
    """Calls ``/api/v1`` paths; ``body`` is JSON-encoded; returns status, parsed body, headers."""

    key = KEY

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, Any] | str | None = None,
        *,
        key: str | None = KEY,
        raw: bytes | None = None,
    ) -> Reply:
        headers = {"Content-Type": "application/json"}
        if key is not None:
            headers["Authorization"] = f"Bearer {self.key if key == KEY else key}"
        data = raw if raw is not None else (b"" if body is None else orjson.dumps(body))
        full = path if path.startswith(("/health", "/api/", "/__sandbox")) else f"/api/v1{path}"
        return self._send(method, full, data, query, headers)

    @abstractmethod
    def _send(
        self, method: str, path: str, data: bytes, query: Any, headers: dict[str, str]
    ) -> Reply: ...

    def get(self, path: str, query: Any = None, **kw: Any) -> Reply:
        return self.call("GET", path, None, query, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("POST", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("PUT", path, body, **kw)

    def delete(self, path: str, body: Any = None, query: Any = None, **kw: Any) -> Reply:
        return self.call("DELETE", path, body, query, **kw)

    def ok(self, method: str, path: str, body: Any = None, query: Any = None) -> Any:
        reply = self.call(method, path, body, query)
        assert reply.status == 200, (method, path, reply.status, reply.body)
        return reply.body

    # control
    @abstractmethod
    def faults(self, **changes: Any) -> dict[str, Any]: ...

    @abstractmethod
    def premium(self, on: bool) -> None: ...

    @abstractmethod
    def advance(self, seconds: float) -> None: ...

    @abstractmethod
    def settings(self, **values: Any) -> None: ...


class InProcessApi(Api):
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def _send(
        self, method: str, path: str, data: bytes, query: Any, headers: dict[str, str]
    ) -> Reply:
        status, out_headers, body = self.sandbox.handle(method, path, query, headers, data)
        return Reply(status, orjson.loads(body) if body else None, out_headers)

    def faults(self, **changes: Any) -> dict[str, Any]:
        return self.sandbox.set_faults(**changes)

    def premium(self, on: bool) -> None:
        self.sandbox.set_premium(on)

    def advance(self, seconds: float) -> None:
        self.sandbox.advance_clock(seconds)
        self.sandbox.tick()

    def settings(self, **values: Any) -> None:
        for name, value in values.items():
            if name == "features":
                self.sandbox.set_features(value)
            else:
                setattr(self.sandbox, name, value)


class HttpApi(Api):
    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.key = server.api_key
        self.client = server.client

    def _send(
        self, method: str, path: str, data: bytes, query: Any, headers: dict[str, str]
    ) -> Reply:
        response = self.client.request(method, path, content=data, params=query, headers=headers)
        body = response.json() if response.content else None
        return Reply(response.status_code, body, dict(response.headers))

    def faults(self, **changes: Any) -> dict[str, Any]:
        return self.server.control(**changes)

    def premium(self, on: bool) -> None:
        self.server.premium(on)

    def advance(self, seconds: float) -> None:
        self.server.advance_clock(seconds)

    def settings(self, **values: Any) -> None:
        self.server.settings(**values)


# ---------------------------------------------------------------- request builders


def metric_body(
    code: str = "calls",
    aggregation_type: str = "sum_agg",
    field_name: str | None = "n",
    filters: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": code.title(),
        "code": code,
        "aggregation_type": aggregation_type,
        **extra,
    }
    if field_name is not None:
        body["field_name"] = field_name
    if filters is not None:
        body["filters"] = filters
    return {"billable_metric": body}


def charge_item(
    metric_id: str, model: str = "standard", properties: Any = None, **extra: Any
) -> dict[str, Any]:
    item: dict[str, Any] = {"billable_metric_id": metric_id, "charge_model": model, **extra}
    item["properties"] = {"amount": "1"} if properties is None else properties
    return item


def plan_body(
    code: str = "pro",
    charges: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": code.title(),
        "code": code,
        "interval": "monthly",
        "amount_cents": 1000,
        "amount_currency": "USD",
        "pay_in_advance": False,
        **extra,
    }
    if charges is not None:
        body["charges"] = charges
    return {"plan": body}


def create_metric(api: Api, code: str = "calls", **kw: Any) -> dict[str, Any]:
    metric: dict[str, Any] = api.ok("POST", "/billable_metrics", metric_body(code, **kw))
    created: dict[str, Any] = metric["billable_metric"]
    return created


def create_plan(api: Api, code: str = "pro", **kw: Any) -> dict[str, Any]:
    plan: dict[str, Any] = api.ok("POST", "/plans", plan_body(code, **kw))
    created: dict[str, Any] = plan["plan"]
    return created


def subscribe(
    api: Api,
    external_id: str = "sub-1",
    plan_code: str = "pro",
    customer: str = "cust-1",
    **extra: Any,
) -> dict[str, Any]:
    body = {
        "subscription": {
            "external_customer_id": customer,
            "plan_code": plan_code,
            "external_id": external_id,
            **extra,
        }
    }
    sub: dict[str, Any] = api.ok("POST", "/subscriptions", body)
    created: dict[str, Any] = sub["subscription"]
    return created


def send_event(
    api: Api, transaction_id: str, subscription: str, code: str = "calls", **properties: Any
) -> dict[str, Any]:
    event = {
        "transaction_id": transaction_id,
        "code": code,
        "external_subscription_id": subscription,
        "properties": properties,
    }
    sent: dict[str, Any] = api.ok("POST", "/events", {"event": event})
    return sent


def validation(details: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": 422,
        "error": "Unprocessable Entity",
        "code": "validation_errors",
        "error_details": details,
    }


def not_found(code: str) -> dict[str, Any]:
    return {"status": 404, "error": "Not Found", "code": code}


FORBIDDEN = {"status": 403, "error": "Forbidden", "code": "feature_unavailable"}
UNAUTHORIZED = {"status": 401, "error": "Unauthorized"}
