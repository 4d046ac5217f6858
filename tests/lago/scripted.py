"""A scripted Lago for client unit tests: answers (or failures) in order, requests recorded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

Step = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def lago_error(status: int, code: str | None = None, **extra: Any) -> httpx.Response:
    """A response shaped exactly like Lago's error bodies (API_NOTES §2.3)."""
    words = {
        400: "BadRequest: param is missing or the value is empty",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        405: "Method Not Allowed",
        422: "Unprocessable Entity",
        429: "Too Many Requests",
    }
    body: dict[str, Any] = {"status": status, "error": words.get(status, "Internal Server Error")}
    if code:
        body["code"] = code
    body.update(extra.pop("body", {}))
    return httpx.Response(status, json=body, headers=extra.pop("headers", None))


def ok(body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json=body)


@dataclass
class ScriptedLago:
    steps: list[Step]
    requests: list[httpx.Request] = field(default_factory=list)
    repeat_last: bool = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        if not self.steps:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        step = self.steps[0] if self.repeat_last and len(self.steps) == 1 else self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return step
        return step(request)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    def bodies(self) -> list[Any]:
        return [orjson.loads(r.content) if r.content else None for r in self.requests]

    def lines(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]


class FakeTime:
    """A clock and a sleep that advance together, so tests never really sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
