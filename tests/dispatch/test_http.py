"""The aiohttp event transport: real sockets, against the sandbox server and a scripted server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from lagoform.dispatch.http import EventTransport, event_transport, proxies_configured
from lagoform.errors import LagoTransportError, LagoValidationError
from lagoform.lago import NO_RETRY, AsyncLagoClient, PacingConfig, Timeouts
from lagoform.lago.retry import never_sent

UNPACED = PacingConfig(None, None, None)


def _event(i: int) -> dict[str, Any]:
    return {
        "transaction_id": f"h{i}:k",
        "external_subscription_id": "sub",
        "code": "c",
        "timestamp": 1767225600,
        "properties": {"n": i},
    }


def test_against_the_sandbox_server(sandbox_server: Any) -> None:
    async def go() -> None:
        transport = EventTransport(max_connections=2)
        async with AsyncLagoClient(
            sandbox_server.url,
            sandbox_server.api_key,
            retry=NO_RETRY,
            pacing=UNPACED,
            transport=transport,
        ) as client:
            for start in range(0, 1000, 100):
                result = await client.post_events_batch(
                    [_event(i) for i in range(start, start + 100)]
                )
                assert len(result.events) == 100
            again = await client.post_events_batch([_event(5)])
            assert again.already_delivered
            with pytest.raises(LagoValidationError) as caught:
                await client.post_events_batch([_event(1), {**_event(2000), "code": ""}])
            assert caught.value.details["1"] == {"code": ["value_is_mandatory"]}
            listed = await client.get("/events", {"per_page": 5})
            assert len(listed["events"]) == 5 and listed["meta"]["total_count"] == 1000

    asyncio.run(go())


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head + await reader.readexactly(length)


async def _with_server(handler: Handler, body: Callable[[str], Awaitable[None]]) -> None:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        await body(f"http://127.0.0.1:{port}")
    finally:
        server.close()
        await server.wait_closed()


def _client(url: str, **kw: Any) -> AsyncLagoClient:
    return AsyncLagoClient(
        url,
        "key",
        retry=NO_RETRY,
        pacing=UNPACED,
        transport=EventTransport(max_connections=2),
        **kw,
    )


def test_chunked_and_sized_bodies_keep_alive_and_close() -> None:
    connections: list[int] = []
    heads: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        n = 0
        while True:
            try:
                request = await _read_request(reader)
            except asyncio.IncompleteReadError:
                break
            heads.append(request)
            n += 1
            if n == 1:  # chunked, with a trailer-free end
                writer.write(
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b'5\r\n{"a":\r\n3\r\n 1}\r\n0\r\n\r\n'
                )
            elif n == 2:
                writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n{"b": 2}')
            else:  # then the server closes the connection after answering
                writer.write(
                    b'HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\n{"c": 3}'
                )
                await writer.drain()
                writer.close()
                return
            await writer.drain()

    async def body(url: str) -> None:
        async with _client(url) as client:
            assert await client.get("/x") == {"a": 1}
            assert await client.get("/x") == {"b": 2}
            assert await client.get("/x") == {"c": 3}
            assert await client.get("/x") == {"a": 1}  # a new connection after the close

    asyncio.run(_with_server(handler, body))
    assert len(connections) == 2
    first = heads[0].decode()
    assert first.startswith("GET /api/v1/x HTTP/1.1\r\n")
    assert "Authorization: Bearer key" in first.replace("authorization", "Authorization")
    assert "Accept-Encoding: identity" in first


def test_a_dropped_keep_alive_connection_is_retried_once_on_a_fresh_one() -> None:
    served: list[int] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        served.append(1)
        answer = b'{"events":[{"transaction_id":"h1:k"}]}'  # Lago lists what it created
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(answer), answer))
        await writer.drain()
        writer.close()  # without saying Connection: close (an idle timeout, say)

    async def body(url: str) -> None:
        async with _client(url) as client:
            for _ in range(3):
                assert await client.post_events_batch([_event(1)]) is not None

    asyncio.run(_with_server(handler, body))
    assert len(served) == 3


def test_silent_server_times_out_and_refused_port_is_never_sent() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    async def body(url: str) -> None:
        quick = Timeouts(connect=1, read=0.3, write=1, pool=1)
        async with _client(url, timeouts=quick) as client:
            with pytest.raises(LagoTransportError, match="ReadTimeout"):
                await client.post_events_batch([_event(1)])

    asyncio.run(_with_server(handler, body))

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]

    async def refused() -> None:
        async with _client(f"http://127.0.0.1:{closed_port}") as client:
            with pytest.raises(LagoTransportError) as caught:
                await client.post_events_batch([_event(1)])
            assert never_sent(caught.value.__cause__ or caught.value)

    asyncio.run(refused())


def test_proxies_fall_back_to_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    assert proxies_configured(["PATH", "HTTPS_PROXY"]) and not proxies_configured(["PATH"])
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(event_transport(2), EventTransport)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert event_transport(2) is None  # httpx's own transport honours the proxy


@pytest.mark.parametrize(
    ("reply", "fault"),
    [
        (  # a chunk size that is not hexadecimal
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
            "malformed HTTP response",
        ),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n{}", "content length"),  # cut short
        (b"SMTP ready\r\n\r\n", "malformed HTTP response"),
    ],
)
def test_an_unreadable_reply_is_a_protocol_error_never_a_crash(reply: bytes, fault: str) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(reply)
        await writer.drain()
        writer.close()

    async def body(url: str) -> None:
        async with _client(url) as client:
            with pytest.raises(LagoTransportError, match="RemoteProtocolError") as caught:
                await client.post_events_batch([_event(1)])
            assert fault in str(caught.value)
            assert not never_sent(caught.value.__cause__ or caught.value)

    asyncio.run(_with_server(handler, body))


def test_with_event_hooks_requests_go_through_httpx_and_the_hooks_see_them(
    sandbox_server: Any,
) -> None:
    seen: list[str] = []

    async def hook(request: Any) -> None:
        seen.append(f"{request.method} {request.url.path}")

    async def go() -> None:
        async with AsyncLagoClient(
            sandbox_server.url,
            sandbox_server.api_key,
            retry=NO_RETRY,
            pacing=UNPACED,
            transport=EventTransport(max_connections=2),
            event_hooks={"request": [hook]},
        ) as client:
            result = await client.post_events_batch([_event(i) for i in range(3)])
            assert len(result.events) == 3
            listed = await client.get("/events", {"per_page": 2})
            assert listed["meta"]["total_count"] == 3

    asyncio.run(go())
    assert seen == ["POST /api/v1/events/batch", "GET /api/v1/events"]
