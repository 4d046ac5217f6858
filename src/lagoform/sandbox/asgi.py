"""The sandbox as a real HTTP server: a minimal raw ASGI app served by uvicorn on loopback.

No framework: the app reads the body, awaits the configured latency and calls
``Sandbox.respond``. ``serve`` binds the socket itself so a port of 0 works and the chosen URL
can be announced before requests arrive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from lagoform.sandbox.core import Sandbox
from lagoform.serving import bind, url_of

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def make_app(sandbox: Sandbox) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(sandbox, receive, send)
            return
        if scope["type"] != "http":
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        delay = sandbox.latency_seconds
        if delay > 0:
            await asyncio.sleep(delay)
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else scope["path"]
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        status, out_headers, body = sandbox.respond(
            scope["method"],
            path,
            scope["query_string"].decode("latin-1"),
            headers,
            b"".join(chunks),
        )
        head = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in out_headers.items()]
        head.append((b"content-length", str(len(body)).encode()))  # not chunked
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": body})

    return app


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
) -> None:
    """Serve until interrupted (SIGINT/SIGTERM); the state file is saved on shutdown."""
    import uvicorn

    sock = bind(host, port)
    url = url_of(sock)
    config = uvicorn.Config(
        make_app(sandbox),
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_keep_alive=30,
        proxy_headers=False,  # loopback only: skip the per-request forwarding middleware
        server_header=False,
    )
    server = uvicorn.Server(config)
    if on_ready is not None:
        on_ready(url)
    try:
        server.run(sockets=[sock])
    finally:
        sandbox.close()
        sock.close()
