"""The HTTP ingest endpoint: products POST usage records; they land in the spool.

``POST /records`` (or ``/``) takes JSON lines, or a JSON array when the body starts with ``[``.
It answers ``202 {"accepted": n, "dead_lettered": m, "problems": [...]}`` once the records are
durable in the spool: a line that is not a JSON object is dead-lettered (with its line number)
and the rest is accepted. A body that is a broken JSON array is refused whole (400), so the
sender can fix and resend it. ``GET /health`` reports the backlog. Mapping to Lago events
happens later, in the worker. A bare ASGI app (no framework); ``serve`` runs it under uvicorn.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import orjson

from lagoform.dispatch.exact import has_long_numbers, split_array
from lagoform.dispatch.spool import Spool

MAX_BODY = 64 * 1024 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class IngestApp:
    """ASGI application writing into one spool. Requests are handled one at a time per process
    (the spool connection is not shared across threads), which SQLite would serialize anyway."""

    def __init__(self, spool_path: Path) -> None:
        self.spool_path = spool_path
        self._spool: Spool | None = None
        self.received = 0

    @property
    def spool(self) -> Spool:
        if self._spool is None:
            self._spool = Spool(self.spool_path)
        return self._spool

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"].rstrip("/") or "/"
        if method == "GET" and path == "/health":
            await _reply(send, 200, {"status": "ok", "backlog": self.spool.backlog()})
            return
        if path not in ("/", "/records"):
            await _reply(send, 404, {"error": f"no such endpoint: {path}"})
            return
        if method != "POST":
            await _reply(send, 405, {"error": "use POST with JSON lines or a JSON array"})
            return
        body = await _read_body(receive)
        if body is None:
            await _reply(send, 413, {"error": f"body larger than {MAX_BODY} bytes"})
            return
        await self._ingest(body, scope, send)

    async def _ingest(self, body: bytes, scope: Scope, send: Send) -> None:
        client = scope.get("client") or ("?", 0)
        source = f"http:{client[0]}"
        if body.lstrip().startswith(b"["):
            try:  # numbers orjson would round: keep each item's exact bytes instead
                items = split_array(body) if has_long_numbers(body) else orjson.loads(body)
            except (ValueError, RecursionError) as err:  # JSONDecodeError is a ValueError
                await _reply(send, 400, {"error": f"the JSON array is not valid JSON: {err}"})
                return
            if not isinstance(items, list):
                await _reply(send, 400, {"error": "expected a JSON array of records"})
                return
            result = self.spool.ingest_items(items, source)
        else:
            result = self.spool.ingest_lines(body.splitlines(), source)
        self.received += result.accepted
        await _reply(send, 202, result.as_json())

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                _ = self.spool  # open (and create) the spool before taking traffic
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._spool is not None:
                    self._spool.close()
                    self._spool = None
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _reply(send: Send, status: int, payload: dict[str, Any]) -> None:
    body = orjson.dumps(payload)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def serve(
    spool_path: Path,
    host: str = "127.0.0.1",
    port: int = 8088,
    *,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Run the ingest endpoint until interrupted (uvicorn handles SIGINT/SIGTERM).

    ``on_ready`` gets the base URL once the socket is bound (the real port when ``port`` is 0).
    """
    import uvicorn

    from lagoform.serving import bind, url_of

    sock = bind(host, port)
    config = uvicorn.Config(IngestApp(spool_path), log_level="warning", lifespan="on")
    if on_ready is not None:
        on_ready(url_of(sock))
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
