"""The sandbox as a real HTTP server: a minimal raw ASGI app served by uvicorn on loopback.

No framework: the app reads the body, awaits the configured latency and calls
``Sandbox.respond``. ``serve`` binds the socket itself so a port of 0 works and the chosen URL
can be announced before requests arrive.

A server on a developer's machine or a CI runner must not be taken down by one client: a body
past ``max_body`` bytes is refused with 413 as soon as it is announced (Content-Length) or
grows past it, and a client that stops sending its body for ``read_timeout`` seconds gets 408.
As in Lago (Rails parses JSON parameters only from a JSON body), a body sent with another
content type is not read: the handler then finds no envelope and answers 400.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from lagoform.sandbox.core import JSON_HEADERS, Sandbox
from lagoform.serving import bind, url_of

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY = 16 * 1024 * 1024  # a batch of 100 events is ~50 KiB; the largest plan a few MiB
READ_TIMEOUT = 30.0  # seconds a client may pause while sending its body
# What Rails reads JSON parameters from (Mime[:json] and its synonyms).
JSON_TYPES = frozenset({"application/json", "text/x-json", "application/jsonrequest"})


class _Refused(Exception):
    def __init__(self, status: int, error: str) -> None:
        self.status, self.error = status, error


async def _read_body(
    receive: Receive, headers: dict[str, str], limit: int, timeout: float
) -> bytes:
    declared = headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise _Refused(413, "Payload Too Large")
    chunks: list[bytes] = []
    size = 0
    while True:
        try:
            async with asyncio.timeout(timeout):
                message = await receive()
        except TimeoutError:
            raise _Refused(408, "Request Timeout") from None
        if message.get("type") == "http.disconnect":
            raise _Refused(400, "BadRequest: the client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _Refused(413, "Payload Too Large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _is_json(headers: dict[str, str]) -> bool:
    return headers.get("content-type", "").split(";")[0].strip().lower() in JSON_TYPES


def make_app(
    sandbox: Sandbox, *, max_body: int = MAX_BODY, read_timeout: float = READ_TIMEOUT
) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(sandbox, receive, send)
            return
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            body = await _read_body(receive, headers, max_body, read_timeout)
        except _Refused as refused:
            payload = orjson.dumps({"status": refused.status, "error": refused.error})
            await _answer(send, refused.status, {**JSON_HEADERS, "connection": "close"}, payload)
            return
        if body and scope["path"].startswith("/api/") and not _is_json(headers):
            body = b""  # Rails reads no parameters from it: no envelope, a 400
        delay = sandbox.latency_seconds
        if delay > 0:
            await asyncio.sleep(delay)
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else scope["path"]
        status, out_headers, answer = sandbox.respond(
            scope["method"],
            path,
            scope["query_string"].decode("latin-1"),
            headers,
            body,
        )
        await _answer(send, status, out_headers, answer)

    return app


async def _answer(send: Send, status: int, headers: dict[str, str], body: bytes) -> None:
    head = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    head.append((b"content-length", str(len(body)).encode()))  # not chunked
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(sandbox: Sandbox, receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            sandbox.close()
            await send({"type": "lifespan.shutdown.complete"})
            return


def serve(
    sandbox: Sandbox,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    on_ready: Callable[[str], None] | None = None,
    max_body: int = MAX_BODY,
    read_timeout: float = READ_TIMEOUT,
) -> None:
    """Serve until interrupted (SIGINT/SIGTERM); the state file is saved on shutdown."""
    import uvicorn

    sock = bind(host, port)
    url = url_of(sock)
    sandbox.announce_server(url)
    config = uvicorn.Config(
        make_app(sandbox, max_body=max_body, read_timeout=read_timeout),
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_keep_alive=30,
        proxy_headers=False,  # loopback only: skip the per-request forwarding middleware
        server_header=False,
        date_header=False,  # the sandbox sends its own, from its (movable) clock
    )
    server = uvicorn.Server(config)
    if on_ready is not None:
        on_ready(url)
    freezer = StoreFreezer()
    try:
        server.run(sockets=[sock])
    finally:
        freezer.stop()
        sandbox.close()
        sock.close()


class StoreFreezer:
    """Keeps what the server process holds out of the cyclic garbage collector's full passes.

    The server keeps every event in memory, and a full collection walks all of them: at 50,000
    events/s that was a fifth of the server's CPU and stalls of a few hundred milliseconds
    (benchmarks/RESULTS.md, "Dispatch throughput"). So every ``interval`` seconds whatever is
    alive moves to the permanent generation (``gc.freeze``): stored events are acyclic and are
    still freed by reference counting when a reset drops them; only a reference cycle that
    became garbage before a freeze is kept. The server process only: an embedded sandbox must
    not change its host's collector.
    """

    def __init__(self, interval: float = 2.0) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(interval,), name="sandbox-gc-freeze", daemon=True
        )
        self._thread.start()

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            gc.freeze()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
