"""Shared builders for the audit tests: a run context, plan changes (the engine's real models),
override facts, a deterministic clock."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from lagoform.audit.context import RunContext
from lagoform.audit.fields import OverrideFacts
from lagoform.audit.sinks import JsonlFileSink, Sink
from lagoform.audit.trail import AuditTrail
from lagoform.engine.diff import FieldChange
from lagoform.engine.plan import ObjectChange

CANARY = "lago_canary_5f1e0c9a7b2d4e61"


def context(plan_id: str = "plan-abc") -> RunContext:
    return RunContext(
        environment="staging",
        lago_host="https://lago.staging.example",
        actor="octocat",
        actor_source="ci",
        git_commit="0123456789abcdef0123456789abcdef01234567",
        pull_request=42,
        plan_id=plan_id,
    )


def change(
    kind: str = "plan",
    key: str = "pro",
    action: str = "update",
    changes: Mapping[tuple[str, ...], tuple[Any, Any]] | None = None,
) -> ObjectChange:
    fields = changes if changes is not None else {("amount_cents",): (9900, 10900)}
    return ObjectChange.model_validate(
        {
            "kind": kind,
            "key": key,
            "action": action,
            "changes": [FieldChange(path=p, old=o, new=n) for p, (o, n) in fields.items()],
        }
    )


BASE_PLAN: dict[str, Any] = {
    "code": "enterprise",
    "amount_cents": 10000,
    "amount_currency": "USD",
    "charges": [
        {
            "code": "tokens",
            "charge_model": "standard",
            "properties": {"amount": "0.000002"},
            "min_amount_cents": 0,
            "filters": [
                {"values": {"type": ["input"]}, "properties": {"amount": "0.000001"}},
            ],
        },
        {"code": "images", "charge_model": "standard", "properties": {"amount": "0.04"}},
    ],
}


def facts(effective: dict[str, Any] | None = None) -> OverrideFacts:
    return OverrideFacts(
        tenant_id="globex",
        subscription_external_id="globex-main",
        base_plan=BASE_PLAN,
        overrides={
            "amount_cents": 4500,
            "charges": {
                "tokens": {
                    "properties": {"amount": "0.0000015"},
                    "filters": [
                        {"values": {"type": ["input"]}, "properties": {"amount": "0.0000008"}}
                    ],
                },
                "images": {"properties": {"amount": "0.03"}},
            },
        },
        effective_plan=effective,
        reason="Negotiated token rates, MSA §4.2",
        approval="MSA-2026-014",
    )


class Clock:
    """A deterministic UTC clock: each call one millisecond later."""

    def __init__(self) -> None:
        self.ticks = 0

    def __call__(self) -> Any:
        from datetime import UTC, datetime, timedelta

        self.ticks += 1
        return datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC) + timedelta(milliseconds=self.ticks)


def file_trail(path: Path, *extra: Sink, **kw: Any) -> AuditTrail:
    return AuditTrail(context(), [JsonlFileSink(path), *extra], clock=Clock(), **kw)


@dataclass
class FakeLoki:
    """A real HTTP server on 127.0.0.1 that answers with scripted statuses and keeps requests."""

    statuses: list[int] = field(default_factory=list)  # consumed per request; then 204
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def handler(self) -> type[BaseHTTPRequestHandler]:
        loki = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                loki.requests.append(
                    {
                        "path": self.path,
                        "content_type": self.headers.get("Content-Type"),
                        "authorization": self.headers.get("Authorization"),
                        "body": json.loads(raw),
                    }
                )
                if loki.delay:
                    time.sleep(loki.delay)
                status = loki.statuses.pop(0) if loki.statuses else 204
                self.send_response(status)
                payload = b"" if status == 204 else b"server says no"
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # a client that timed out and hung up is what the timeout test wants
