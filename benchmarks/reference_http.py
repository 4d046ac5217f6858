"""The hand-written HTTP/1.1 transport lagoform delivered events with until aiohttp replaced it.

Kept here, unshipped and frozen (as it last stood, with its checks of malformed replies), only
so ``benchmarks/http_clients.py`` can keep measuring the choice (issue 16: own an HTTP+TLS
implementation only if it is faster by a margin worth it). What follows is its original
description.

A lean HTTP/1.1 keep-alive transport for the event hot path, plugged into httpx.

The dispatcher sends hundreds of ``POST /events/batch`` per second. httpx's default transport
(httpcore + h11 + anyio) spends ~2.5 ms of CPU per 100-event request on this machine class; this
transport, built on asyncio streams (one write per request, a small response parser), spends
~0.5 ms, and it is the CPU the worker shares with everything else. It sits *under* lagoform's
``AsyncLagoClient`` (envelopes, error mapping, pacing stay there) and raises httpx's exception
types, so retry decisions are unchanged. Scope: plain HTTP/1.1 and HTTPS, Content-Length or
chunked bodies, no proxies, no compression (it asks for ``identity``). ``event_transport``
falls back to httpx's own transport when a proxy is configured in the environment.

A reply it cannot read (a bad status line, Content-Length or chunk size, a header line past
the reader's limit, a body past ``MAX_BODY``) is ``httpx.RemoteProtocolError`` naming what was
wrong, and the connection is dropped: to the worker it is a transport error like any other,
retried with backoff (events are deduplicated by transaction id), never a crash.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

import httpx

_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")
MAX_BODY = 64 * 1024 * 1024  # an answer to 100 events is a few hundred KiB
_SKIP_HEADERS = frozenset({b"accept-encoding", b"connection", b"transfer-encoding"})


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    reused: bool = False

    def close(self) -> None:
        self.writer.close()


class _Broken(Exception):
    """The connection failed before any byte of the response arrived (safe to retry once)."""


class _Malformed(Exception):
    """The response cannot be read as HTTP/1.1 (says what was wrong)."""


class EventTransport(httpx.AsyncBaseTransport):
    """Keep-alive connections per origin, at most ``max_connections`` open at once."""

    def __init__(self, *, max_connections: int = 8, ssl_context: ssl.SSLContext | None = None):
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._ssl = ssl_context
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        url = request.url
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        body = await request.aread()
        head = _request_head(request, body)
        if self._slots.locked():
            try:
                async with asyncio.timeout(timeouts.get("pool")):
                    await self._slots.acquire()
            except TimeoutError:
                raise httpx.PoolTimeout("no free connection", request=request) from None
        else:
            await self._slots.acquire()
        try:
            conn = await self._connection(origin, timeouts, request)
            try:
                return await self._exchange(conn, origin, head + body, timeouts, request)
            except _Broken:
                if not conn.reused:
                    raise httpx.RemoteProtocolError(
                        "server closed the connection", request=request
                    ) from None
            # a kept-alive connection the server had closed: one fresh attempt
            conn = await self._connect(origin, timeouts, request)
            try:
                return await self._exchange(conn, origin, head + body, timeouts, request)
            except _Broken:
                raise httpx.RemoteProtocolError(
                    "server closed the connection", request=request
                ) from None
        finally:
            self._slots.release()

    async def _connection(
        self, origin: tuple[str, str, int], timeouts: dict[str, float | None], req: httpx.Request
    ) -> _Connection:
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            if not conn.writer.is_closing() and not conn.reader.at_eof():
                conn.reused = True
                return conn
            conn.close()
        return await self._connect(origin, timeouts, req)

    async def _connect(
        self, origin: tuple[str, str, int], timeouts: dict[str, float | None], req: httpx.Request
    ) -> _Connection:
        scheme, host, port = origin
        context = None
        if scheme == "https":
            context = self._ssl = self._ssl or httpx.create_ssl_context()
        try:
            async with asyncio.timeout(timeouts.get("connect")):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=context, limit=1 << 20
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(
                f"connecting to {host}:{port} timed out", request=req
            ) from None
        except OSError as err:
            raise httpx.ConnectError(
                f"cannot connect to {host}:{port}: {err}", request=req
            ) from err
        return _Connection(reader, writer)

    async def _exchange(
        self,
        conn: _Connection,
        origin: tuple[str, str, int],
        data: bytes,
        timeouts: dict[str, float | None],
        req: httpx.Request,
    ) -> httpx.Response:
        received = False
        # asyncio.timeout, not wait_for: wait_for wraps each await in a new task (3.11)
        try:
            conn.writer.write(data)
            try:
                async with asyncio.timeout(timeouts.get("write")):
                    await conn.writer.drain()
            except TimeoutError:
                raise httpx.WriteTimeout("sending the request timed out", request=req) from None
            async with asyncio.timeout(timeouts.get("read")):
                status_line = await conn.reader.readline()
                if not status_line:
                    raise _Broken()
                received = True
                response, keep_alive = await _read_response(conn.reader, status_line, req)
        except TimeoutError:
            conn.close()
            raise httpx.ReadTimeout("waiting for the response timed out", request=req) from None
        except _Malformed as err:
            conn.close()
            raise httpx.RemoteProtocolError(
                f"malformed HTTP response from {origin[1]}:{origin[2]}: {err}", request=req
            ) from None
        except (ValueError, asyncio.LimitOverrunError) as err:  # e.g. a header line too long
            conn.close()
            raise httpx.RemoteProtocolError(
                f"malformed HTTP response from {origin[1]}:{origin[2]}: {err}", request=req
            ) from None
        except (ConnectionError, asyncio.IncompleteReadError) as err:
            conn.close()
            if not received:
                raise _Broken() from err
            raise httpx.ReadError(f"connection broken mid-response: {err}", request=req) from err
        except BaseException:
            conn.close()
            raise
        if keep_alive and not self._closed:
            self._idle.setdefault(origin, []).append(conn)
        else:
            conn.close()
        return response

    async def aclose(self) -> None:
        self._closed = True
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()


def _request_head(request: httpx.Request, body: bytes) -> bytes:
    url = request.url
    target = url.raw_path.decode("ascii") if url.raw_path else "/"
    lines = [f"{request.method} {target} HTTP/1.1".encode()]
    has_length = False
    for name, value in request.headers.raw:
        lower = name.lower()
        if lower in _SKIP_HEADERS:
            continue
        has_length = has_length or lower == b"content-length"
        lines.append(name + b": " + value)
    if body and not has_length:
        lines.append(b"Content-Length: " + str(len(body)).encode())
    lines.append(b"Accept-Encoding: identity")
    lines.append(b"Connection: keep-alive")
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def _read_response(
    reader: asyncio.StreamReader, status_line: bytes, req: httpx.Request
) -> tuple[httpx.Response, bool]:
    """The response, and whether the connection may be reused."""
    parts = status_line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise _Malformed(f"not an HTTP status line: {status_line[:80]!r}")
    headers: list[tuple[bytes, bytes]] = []
    length: int | None = None
    chunked = False
    connection = b""
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n"):
            break
        if not line:
            raise asyncio.IncompleteReadError(b"", None)
        name, _, value = line.partition(b":")
        value = value.strip()
        lower = name.strip().lower()
        if lower == b"content-length":
            length = _size(value, 10, "Content-Length")
        elif lower == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
            continue  # the body is handed over de-chunked
        elif lower == b"connection":
            connection = value.lower()
        headers.append((name.strip(), value))
    status = int(parts[1])
    if status in (204, 304) or status < 200 or req.method == "HEAD":
        body = b""
    elif chunked:
        body = b"".join([chunk async for chunk in _chunks(reader)])
    elif length is not None:
        if length > MAX_BODY:
            raise _Malformed(f"Content-Length {length} is larger than {MAX_BODY} bytes")
        body = await reader.readexactly(length)
    else:
        body = await reader.read()  # until the server closes (HTTP/1.0 style)
        connection = b"close"
    if parts[0] == b"HTTP/1.0":
        keep_alive = b"keep-alive" in connection
    else:
        keep_alive = b"close" not in connection
    return httpx.Response(status, headers=headers, content=body), keep_alive


def _size(text: bytes, base: int, what: str) -> int:
    digits = text.strip()
    allowed = b"0123456789abcdefABCDEF" if base == 16 else b"0123456789"
    if not digits or len(digits) > 16 or digits.strip(allowed):
        kind = "hexadecimal size" if base == 16 else "size"
        raise _Malformed(f"{what} {text[:40]!r} is not a {kind}")
    return int(digits, base)


async def _chunks(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    received = 0
    while True:
        size_line = await reader.readline()
        if not size_line:
            raise asyncio.IncompleteReadError(b"", None)
        size = _size(size_line.split(b";", 1)[0], 16, "chunk size")
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return
        received += size
        if received > MAX_BODY:
            raise _Malformed(f"chunked body larger than {MAX_BODY} bytes")
        yield await reader.readexactly(size)
        if await reader.readexactly(2) != b"\r\n":
            raise _Malformed("a chunk is not followed by CRLF")


def proxies_configured(environ: Iterable[str] | None = None) -> bool:
    names = set(environ if environ is not None else os.environ)
    return any(v in names for v in _PROXY_VARIABLES)


def event_transport(max_connections: int) -> httpx.AsyncBaseTransport | None:
    """The lean transport, or None (httpx's default) when a proxy must be honoured."""
    if proxies_configured():
        return None
    return EventTransport(max_connections=max_connections)
