"""``LagoClient``: the synchronous Lago client the engine uses (one pooled connection per run).

It runs the loops whose decisions live in transport.py: pace, send, map errors, back off and
retry what is safe to repeat, read back a create whose response was lost. Typed per-resource
helpers come from resources.py. Tests inject ``transport`` (the sandbox's MockTransport),
``event_hooks`` (the OpenAPI contract checker), ``sleep`` and ``clock``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any

import httpx

from lagoform.errors import LagoError
from lagoform.lago.pacing import PacingConfig
from lagoform.lago.resources import LagoResources, PageHook
from lagoform.lago.retry import RetryPolicy
from lagoform.lago.secret import Secret, without_userinfo
from lagoform.lago.transport import (
    ClientCore,
    CreateStep,
    EventPostResult,
    Json,
    Params,
    Timeouts,
)

log = logging.getLogger("lagoform.lago")

EventHooks = Mapping[str, Sequence[Callable[..., Any]]]

# Pages of one list read at once once page 1 has said how many there are (each request still
# takes its pacing token, so this bounds connections, not the request rate). Four: on 5,000
# plans the client's own CPU (parsing, normalizing) is the limit, and more threads only
# contend for the GIL (benchmarks/plan_scale.py).
DEFAULT_PAGE_CONCURRENCY = 4


class LagoClient(LagoResources):
    """Sync client for Lago's REST API. ``base_url`` is the host (``/api/v1`` is appended)."""

    def __init__(
        self,
        base_url: str,
        api_key: Secret | str,
        *,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        pacing: PacingConfig | None = None,
        transport: httpx.BaseTransport | None = None,
        event_hooks: EventHooks | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        max_connections: int = 10,
        page_concurrency: int = DEFAULT_PAGE_CONCURRENCY,
    ) -> None:
        self.page_concurrency = max(1, min(page_concurrency, max_connections))
        self.core = ClientCore(
            base_url, api_key, timeouts=timeouts, retry=retry, pacing=pacing, clock=clock
        )
        self._sleep = sleep
        # The last answer's Date header: Lago's clock, which decides when a migration is due.
        self.server_date: str | None = None
        self._http = httpx.Client(
            **self.core.client_kwargs(),
            transport=transport,
            event_hooks={k: list(v) for k, v in (event_hooks or {}).items()},
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
        )

    def __repr__(self) -> str:
        return f"LagoClient({without_userinfo(self.core.api_root)!r})"

    @property
    def api_root(self) -> str:
        return self.core.api_root

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LagoClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- one exchange -----------------------------------------------------------------------
    def _send_once(self, method: str, path: str, params: Params, body: Json) -> dict[str, Any]:
        wait = self.core.pacer.reserve(method, path)
        if wait > 0:
            self._sleep(wait)
        content, headers = self.core.encode(body)
        started = time.monotonic()
        try:
            response = self._http.request(
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
        self.server_date = response.headers.get("date") or self.server_date
        return self.core.payload(response, method, path)

    # -- generic requests -------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        json: Json = None,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """Send with pacing and retries (only if safe to repeat); return the JSON body.

        ``path`` is relative to ``/api/v1`` (``"/plans/pro"``). ``idempotent`` overrides the
        default rule (GET/PUT/DELETE and event posts are safe to repeat).
        A DELETE that gets 404 after an earlier lost response returns ``{}``: it was done.
        """
        method = method.upper()
        safe = self.core.is_safe(method, path, idempotent)
        attempt, lost_before = 0, False
        while True:
            attempt += 1
            try:
                return self._send_once(method, path, params, json)
            except LagoError as err:
                if self.core.gone_after_lost_delete(method, err, lost_before):
                    log.info("%s %s: already gone after a lost response; done", method, path)
                    return {}
                delay = self.core.retry_delay(attempt, err, method, path, safe)
                if delay is None:
                    raise
                lost_before = lost_before or self.core.lost_response(err)
            self._sleep(delay)

    def get(self, path: str, params: Params = None) -> dict[str, Any]:
        return self.request("GET", path, params=params)

    def put(self, path: str, json: Json) -> dict[str, Any]:
        return self.request("PUT", path, json=json)

    def delete(self, path: str, params: Params = None, json: Json = None) -> dict[str, Any]:
        return self.request("DELETE", path, params=params, json=json)

    def post(self, path: str, json: Json, *, idempotent: bool | None = None) -> dict[str, Any]:
        return self.request("POST", path, json=json, idempotent=idempotent)

    def create(
        self,
        path: str,
        root: str,
        body: Mapping[str, Any],
        read_back: Callable[[], dict[str, Any] | None] | None = None,
    ) -> dict[str, Any]:
        """POST ``{root: body}`` and return the created object, never creating it twice.

        Rate-limited or never-sent attempts are simply repeated. When the response is lost
        (5xx, timeout, broken connection) ``read_back`` looks the object up by its code or
        external id: found → it is returned; absent → the POST is sent again. Without
        ``read_back`` a lost response is raised, since repeating could duplicate.
        """
        attempt, lost_before = 0, False
        while True:
            attempt += 1
            try:
                data = self._send_once("POST", path, None, {root: body})
                return self.core.unwrap(data, root, "POST", path)
            except LagoError as err:
                if lost_before and read_back is not None and self.core.already_exists(err):
                    found = read_back()
                    if found is not None:
                        return found
                step = self.core.create_step(err, read_back is not None)
                if step is CreateStep.RAISE:
                    raise
                if step is CreateStep.READ_BACK and read_back is not None:
                    lost_before = True
                    found = read_back()
                    if found is not None:
                        log.info("POST %s: response lost but the object exists; reconciled", path)
                        return found
                delay = self.core.retry_delay(attempt, err, "POST", path, safe=True)
                if delay is None:
                    raise
            self._sleep(delay)

    def find(
        self, path: str, root: str, not_found_code: str, params: Params = None
    ) -> dict[str, Any] | None:
        """GET one object; None when Lago answers 404 with ``not_found_code``."""
        try:
            data = self.get(path, params)
        except LagoError as err:
            if err.status == 404 and err.code == not_found_code:
                return None
            raise
        return self.core.unwrap(data, root, "GET", path)

    def iter_all(self, path: str, root_key: str, params: Params = None) -> Iterator[dict[str, Any]]:
        """Every item of a list endpoint, following ``meta.next_page`` with per_page=100."""
        page = 1
        while True:  # page_items ends it: an empty or last page, or a refusal
            data = self.get(path, self.core.page_params(params, page))
            items, nxt = self.core.page_items(data, root_key, page, path)
            yield from items
            if nxt is None:
                return
            page = nxt

    def list_all(
        self,
        path: str,
        root_key: str,
        params: Params = None,
        on_page: PageHook | None = None,
    ) -> list[dict[str, Any]]:
        """Every item of a list endpoint. Page 1 says how many pages there are
        (``meta.total_pages``); the others are then read ``page_concurrency`` at a time, paced
        like every request, and joined in page order. Without a page count, or when the last
        page still names a next one (the list grew meanwhile), pages are followed one by one.
        ``on_page`` is called with each page's items as it arrives, in the thread that read it
        (so work on a page overlaps the wait for the next ones)."""
        core = self.core

        def page(number: int) -> tuple[list[dict[str, Any]], int | None]:
            data = self.get(path, core.page_params(params, number))
            items, nxt = core.page_items(data, root_key, number, path)
            if on_page is not None:
                on_page(items)
            return items, nxt

        first = self.get(path, core.page_params(params, 1))
        out, nxt = core.page_items(first, root_key, 1, path)
        if on_page is not None:
            on_page(out)
        rest = core.pages_to_fetch(first, nxt)
        if rest is not None and self.page_concurrency > 1:
            workers = min(self.page_concurrency, len(rest))
            with ThreadPoolExecutor(workers, thread_name_prefix="lagoform-pages") as pool:
                pages = list(pool.map(page, rest))
            for items, _ in pages:
                out.extend(items)
            nxt = pages[-1][1]  # the list may have grown since page 1 counted it
        while nxt is not None:  # page_items ends it: the last page, or a refusal past MAX_PAGES
            items, nxt = page(nxt)
            out.extend(items)
        return out

    # -- events -----------------------------------------------------------------------------
    def post_event(self, event: Mapping[str, Any]) -> EventPostResult:
        try:
            data = self.post("/events", {"event": event})
        except LagoError as err:
            if (dup := self.core.event_duplicate(err, None)) is not None:
                return dup
            raise
        return self.core.event_result(data, [event], many=False)

    def post_events_batch(self, events: Sequence[Mapping[str, Any]]) -> EventPostResult:
        """POST up to 100 events at once; a 422 raises (errors keyed by index, see
        ``lagoform.lago.errors.batch_rejections``) unless every event is already stored."""
        try:
            data = self.post("/events/batch", {"events": list(events)})
        except LagoError as err:
            if (dup := self.core.event_duplicate(err, len(events))) is not None:
                return dup
            raise
        return self.core.event_result(data, events, many=True)
