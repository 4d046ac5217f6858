"""``AsyncLagoClient``: the asyncio flavour for the usage-dispatch worker.

Same decisions as the sync client (transport.py: envelopes, error mapping, retries, pacing,
create reconciliation); only the I/O awaits. The worker mostly needs ``post_events_batch``;
the generic verbs and ``list_all`` are there for anything else it must read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx

from lagoform.errors import LagoError
from lagoform.lago.pacing import PacingConfig
from lagoform.lago.retry import RetryPolicy
from lagoform.lago.secret import Secret, without_userinfo
from lagoform.lago.transport import (
    ClientCore,
    CreateStep,
    DirectTransport,
    EventPostResult,
    Json,
    Params,
    ResponseLike,
    Timeouts,
    seg,
)

log = logging.getLogger("lagoform.lago")
T = TypeVar("T")

# Connections kept open to Lago; the dispatch worker sizes its own to its batches in flight.
DEFAULT_MAX_CONNECTIONS = 10

AsyncEventHooks = Mapping[str, Sequence[Callable[..., Awaitable[Any]]]]


class AsyncLagoClient:
    """Async client for Lago's REST API (one pooled ``httpx.AsyncClient``)."""

    def __init__(
        self,
        base_url: str,
        api_key: Secret | str,
        *,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        pacing: PacingConfig | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        event_hooks: AsyncEventHooks | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        self.core = ClientCore(
            base_url, api_key, timeouts=timeouts, retry=retry, pacing=pacing, clock=clock
        )
        self._sleep = sleep
        self.max_connections = max_connections  # the pool size (a custom transport has its own)
        kwargs = self.core.client_kwargs()
        # A transport that sends without httpx's models is used that way, unless event hooks
        # (the contract checker) must see each request.
        self._direct = (
            transport if isinstance(transport, DirectTransport) and not event_hooks else None
        )
        self._root, self._headers = str(kwargs["base_url"]), dict(kwargs["headers"])
        self._http = httpx.AsyncClient(
            **kwargs,
            transport=transport,
            event_hooks={k: list(v) for k, v in (event_hooks or {}).items()},
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
        )

    def __repr__(self) -> str:
        return f"AsyncLagoClient({without_userinfo(self.core.api_root)!r})"

    @property
    def api_root(self) -> str:
        return self.core.api_root

    def share_budget(self, cls: str, fraction: float) -> float | None:
        """Pace the endpoint class ``cls`` at ``fraction`` of its configured rate from now on
        (``Pacer.share``); returns the new rate, None when unpaced."""
        return self.core.pacer.share(cls, fraction)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncLagoClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _send_once(
        self, method: str, path: str, params: Params, body: Json
    ) -> dict[str, Any]:
        content, headers = self.core.encode(body)
        response = await self._exchange(method, path, params, content, headers)
        return self.core.payload(response, method, path)

    async def _exchange(
        self,
        method: str,
        path: str,
        params: Params,
        content: bytes | None,
        headers: Mapping[str, str],
    ) -> ResponseLike:
        """One paced exchange of an encoded body; the answer as it came (``LagoError`` when
        none came)."""
        wait = self.core.pacer.reserve(method, path)
        if wait > 0:
            await self._sleep(wait)
        started = time.monotonic()
        response: ResponseLike
        try:
            if self._direct is not None:
                url = f"{self._root}{self.core.url(path)}"
                if params:
                    url = f"{url}?{httpx.QueryParams(dict(params))}"
                response = await self._direct.send_direct(
                    method, url, content, {**self._headers, **headers}, self.core.timeouts
                )
            else:
                response = await self._http.request(
                    method,
                    self.core.url(path),
                    params=dict(params) if params else None,
                    content=content,
                    headers=headers,
                )
        except httpx.TransportError as exc:
            self.core.log_exchange(method, path, type(exc).__name__, started)
            raise self.core.failure(exc, method, path) from exc
        self.core.log_exchange(method, path, response.status_code, started)
        return response

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        json: Json = None,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """See ``LagoClient.request``: same rules, awaited."""
        method = method.upper()

        async def once() -> dict[str, Any]:
            return await self._send_once(method, path, params, json)

        return await self._retrying(method, path, idempotent, once, gone={})

    async def _retrying(
        self,
        method: str,
        path: str,
        idempotent: bool | None,
        once: Callable[[], Awaitable[T]],
        gone: T,
    ) -> T:
        safe = self.core.is_safe(method, path, idempotent)
        attempt, lost_before = 0, False
        while True:
            attempt += 1
            try:
                return await once()
            except LagoError as err:
                if self.core.gone_after_lost_delete(method, err, lost_before):
                    log.info("%s %s: already gone after a lost response; done", method, path)
                    return gone
                delay = self.core.retry_delay(attempt, err, method, path, safe)
                if delay is None:
                    raise
                lost_before = lost_before or self.core.lost_response(err)
            await self._sleep(delay)

    async def get(self, path: str, params: Params = None) -> dict[str, Any]:
        return await self.request("GET", path, params=params)

    async def post(
        self, path: str, json: Json, *, idempotent: bool | None = None
    ) -> dict[str, Any]:
        return await self.request("POST", path, json=json, idempotent=idempotent)

    async def put(self, path: str, json: Json) -> dict[str, Any]:
        return await self.request("PUT", path, json=json)

    async def delete(self, path: str, params: Params = None) -> dict[str, Any]:
        return await self.request("DELETE", path, params=params)

    async def create(
        self,
        path: str,
        root: str,
        body: Mapping[str, Any],
        read_back: Callable[[], Awaitable[dict[str, Any] | None]] | None = None,
    ) -> dict[str, Any]:
        """See ``LagoClient.create``; ``read_back`` is a coroutine function here."""
        attempt, lost_before = 0, False
        while True:
            attempt += 1
            try:
                data = await self._send_once("POST", path, None, {root: body})
                return self.core.unwrap(data, root, "POST", path)
            except LagoError as err:
                if lost_before and read_back is not None and self.core.already_exists(err):
                    found = await read_back()
                    if found is not None:
                        return found
                step = self.core.create_step(err, read_back is not None)
                if step is CreateStep.RAISE:
                    raise
                if step is CreateStep.READ_BACK and read_back is not None:
                    lost_before = True
                    found = await read_back()
                    if found is not None:
                        log.info("POST %s: response lost but the object exists; reconciled", path)
                        return found
                delay = self.core.retry_delay(attempt, err, "POST", path, safe=True)
                if delay is None:
                    raise
            await self._sleep(delay)

    async def iter_all(
        self, path: str, root_key: str, params: Params = None
    ) -> AsyncIterator[dict[str, Any]]:
        page = 1
        while True:  # page_items ends it: an empty or last page, or a refusal
            data = await self.get(path, self.core.page_params(params, page))
            items, nxt = self.core.page_items(data, root_key, page, path)
            for item in items:
                yield item
            if nxt is None:
                return
            page = nxt

    async def list_all(
        self, path: str, root_key: str, params: Params = None
    ) -> list[dict[str, Any]]:
        return [item async for item in self.iter_all(path, root_key, params)]

    async def post_event(self, event: Mapping[str, Any]) -> EventPostResult:
        try:
            data = await self.post("/events", {"event": event})
        except LagoError as err:
            if (dup := self.core.event_duplicate(err, None)) is not None:
                return dup
            raise
        return self.core.event_result(data, [event], many=False)

    async def post_events_batch(self, events: Sequence[Mapping[str, Any]]) -> EventPostResult:
        """POST up to 100 events; see ``LagoClient.post_events_batch``. The answer is checked
        by ``ClientCore.event_reply`` (the worker's hot path: no full parse when it plainly
        accounts for every event)."""
        content, headers = self.core.encode({"events": list(events)})

        async def once() -> EventPostResult:
            response = await self._exchange("POST", "/events/batch", None, content, headers)
            return self.core.event_reply(response, events, content)

        try:
            return await self._retrying("POST", "/events/batch", None, once, EventPostResult())
        except LagoError as err:
            if (dup := self.core.event_duplicate(err, len(events))) is not None:
                return dup
            raise

    async def get_event(self, transaction_id: str) -> dict[str, Any] | None:
        try:
            data = await self.get(f"/events/{seg(transaction_id)}")
        except LagoError as err:
            if err.status == 404 and err.code == "event_not_found":
                return None
            raise
        return self.core.unwrap(data, "event", "GET", "/events/{transaction_id}")
