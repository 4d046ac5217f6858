"""``httpx`` transport answering from an in-process :class:`Sandbox` (sync and async clients)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from lagoform.sandbox.core import Sandbox


class SandboxTransport(httpx.MockTransport):
    """Latency is slept with ``time.sleep`` for sync clients and ``asyncio.sleep`` for async."""

    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__(self._answer)
        self.sandbox = sandbox

    def _answer(self, request: httpx.Request) -> httpx.Response:
        status, headers, body = self.sandbox.respond(
            request.method,
            request.url.raw_path.decode("ascii").split("?", 1)[0],  # still percent-encoded
            request.url.query.decode("ascii"),
            dict(request.headers),
            request.content,
        )
        return httpx.Response(status, headers=headers, content=body, request=request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        delay = self.sandbox.latency_seconds
        if delay > 0:
            time.sleep(delay)
        return self._answer(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        delay = self.sandbox.latency_seconds
        if delay > 0:
            await asyncio.sleep(delay)
        return self._answer(request)
