"""The event hot path's HTTP: aiohttp's keep-alive pool under lagoform's ``AsyncLagoClient``.

The worker sends hundreds of ``POST /events/batch`` per second and shares its CPU with the
product. ``EventTransport`` sends them with aiohttp (a well-kept HTTP/1.1 + TLS client) and,
as a ``DirectTransport``, without building httpx's request and response models: measured in
``benchmarks/http_clients.py``, that is the cheapest way to deliver lagoform has found (cheaper
than httpx's own transport and than the hand-written HTTP/1.1 client this module used to be).
Everything Lago-specific — envelopes, error mapping, the check that a 2xx accounts for every
event, pacing — stays in ``AsyncLagoClient``; this module only moves bytes and raises httpx's
exception types, so retry decisions are unchanged (a refused connection is never-sent).

An answer it cannot read (a malformed status line, header, chunk or length, a body past
``MAX_BODY``) is ``httpx.RemoteProtocolError`` naming what was wrong; a server that drops the
connection before answering is retried once on a fresh one (a kept-alive connection the server
had closed), which is safe because every request here can be repeated: events are
deduplicated by transaction id. Scope: no compression (it asks for ``identity``), no proxies —
``event_transport`` returns None when one is configured, and httpx's transport honours it.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterable, Mapping
from typing import Any

import aiohttp
import httpx

from lagoform.lago.transport import RawResponse, Timeouts

_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")
MAX_BODY = 64 * 1024 * 1024  # an answer to 100 events is a few hundred KiB
# set by the transport itself (or never sent: no compression, keep-alive is aiohttp's job)
_SKIP_HEADERS = frozenset({"host", "content-length", "accept-encoding", "connection",
                           "transfer-encoding"})  # fmt: skip


class EventTransport(httpx.AsyncBaseTransport):
    """Keep-alive connections per origin, at most ``max_connections`` open at once."""

    def __init__(self, *, max_connections: int = 8, ssl_context: ssl.SSLContext | None = None):
        self._max = max_connections
        self._ssl = ssl_context
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[Timeouts, aiohttp.ClientTimeout] = {}

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:  # inside the running loop, at the first request
            connector = aiohttp.TCPConnector(
                limit=self._max, ssl=self._ssl or httpx.create_ssl_context()
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
                raise_for_status=False,
            )
        return self._session

    def _timeout(self, t: Timeouts) -> aiohttp.ClientTimeout:
        found = self._timeouts.get(t)
        if found is None:
            # connect: waiting for a pooled connection plus opening one; sock_read: per read
            found = aiohttp.ClientTimeout(
                total=None, connect=t.pool + t.connect, sock_connect=t.connect, sock_read=t.read
            )
            self._timeouts[t] = found
        return found

    async def send_direct(
        self,
        method: str,
        url: str,
        content: bytes | None,
        headers: Mapping[str, str],
        timeouts: Timeouts,
    ) -> RawResponse:
        sent = {k: v for k, v in headers.items() if k.lower() not in _SKIP_HEADERS}
        sent["Accept-Encoding"] = "identity"
        try:
            return await self._exchange(method, url, content, sent, timeouts)
        except (aiohttp.ServerDisconnectedError, _Unanswered):
            # a kept-alive connection the server had closed: one fresh attempt
            try:
                return await self._exchange(method, url, content, sent, timeouts)
            except (aiohttp.ServerDisconnectedError, _Unanswered) as err:
                raise httpx.RemoteProtocolError(
                    f"server closed the connection without answering: {err}"
                ) from err

    async def _exchange(
        self,
        method: str,
        url: str,
        content: bytes | None,
        headers: dict[str, str],
        timeouts: Timeouts,
    ) -> RawResponse:
        session = self._open()
        try:
            async with session.request(
                method,
                url,
                data=content,
                headers=headers,
                timeout=self._timeout(timeouts),
                allow_redirects=False,
            ) as response:
                if (response.content_length or 0) > MAX_BODY:
                    raise httpx.RemoteProtocolError(
                        f"malformed HTTP response from {_origin(url)}: Content-Length "
                        f"{response.content_length} is larger than {MAX_BODY} bytes"
                    )
                body = await _read_body(response)
                return RawResponse(response.status, response.headers, body)
        except aiohttp.ConnectionTimeoutError as err:
            raise httpx.ConnectTimeout(f"connecting to {_origin(url)} timed out") from err
        except aiohttp.ClientConnectorError as err:
            raise httpx.ConnectError(f"cannot connect to {_origin(url)}: {err}") from err
        except TimeoutError as err:
            raise httpx.ReadTimeout("waiting for the response timed out") from err
        except aiohttp.ServerDisconnectedError:
            raise
        except (aiohttp.ClientPayloadError, aiohttp.ClientResponseError) as err:
            raise httpx.RemoteProtocolError(
                f"malformed HTTP response from {_origin(url)}: {_reason(err)}"
            ) from err
        except aiohttp.ClientOSError as err:
            raise _Unanswered(str(err)) from err
        except aiohttp.ClientError as err:
            raise httpx.ReadError(f"connection broken: {err}") from err

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """The same exchange for httpx's client (requests with event hooks, say)."""
        timeouts = request.extensions.get("timeout", {})
        limits = Timeouts(
            connect=timeouts.get("connect") or Timeouts.connect,
            read=timeouts.get("read") or Timeouts.read,
            write=timeouts.get("write") or Timeouts.write,
            pool=timeouts.get("pool") or Timeouts.pool,
        )
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in request.headers.raw}
        body = await request.aread()
        try:
            raw = await self.send_direct(
                request.method, str(request.url), body or None, headers, limits
            )
        except httpx.TransportError as err:
            err.request = request
            raise
        return httpx.Response(
            raw.status_code, headers=list(raw.headers.items()), content=raw.content
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class _Unanswered(Exception):
    """The connection failed before the answer began (safe to try once more)."""


async def _read_body(response: aiohttp.ClientResponse) -> bytes:
    if response.content_length is not None:
        return await response.read()
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > MAX_BODY:
            raise httpx.RemoteProtocolError(f"a chunked body larger than {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _origin(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.host}:{parsed.port or (443 if parsed.scheme == 'https' else 80)}"


def _reason(err: Any) -> str:
    message = getattr(err, "message", None) or str(err)
    return str(message)


def proxies_configured(environ: Iterable[str] | None = None) -> bool:
    names = set(environ if environ is not None else os.environ)
    return any(v in names for v in _PROXY_VARIABLES)


def event_transport(max_connections: int) -> httpx.AsyncBaseTransport | None:
    """The aiohttp transport, or None (httpx's default) when a proxy must be honoured."""
    if proxies_configured():
        return None
    return EventTransport(max_connections=max_connections)
