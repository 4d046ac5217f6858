"""The part of the Lago client shared by the sync and the async flavour: everything but the I/O.

``ClientCore`` builds requests (base URL, envelope, JSON, auth header), turns responses into
payloads or ``LagoError``s, decides about retries (retry.py) and pacing (pacing.py), reads
pagination meta, and decides how a create that lost its response is reconciled. ``client.py``
and ``aio.py`` only run the loop these decisions describe, with blocking or awaiting I/O.
"""

from __future__ import annotations

import enum
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

import httpx
import orjson

from lagoform import __version__
from lagoform.errors import (
    LagoError,
    LagoNotFound,
    LagoRateLimited,
    LagoTransportError,
    LagoUnconfirmed,
    LagoValidationError,
)
from lagoform.lago.errors import error_for_status, is_duplicate_only, transport_failure, truncate
from lagoform.lago.pacing import Pacer, PacingConfig
from lagoform.lago.retry import RetryPolicy, is_retryable, is_safe_to_repeat, never_sent
from lagoform.lago.secret import Secret, api_key_problem, as_secret, without_userinfo

log = logging.getLogger("lagoform.lago")

API_PREFIX = "/api/v1"
PER_PAGE = 100
MAX_PAGES = 10_000  # a million objects per list; a server whose next_page never ends must stop

Params = Mapping[str, Any] | None
Json = Mapping[str, Any] | None


def seg(value: str) -> str:
    """A path segment (a code or external id), percent-encoded."""
    return quote(str(value), safe="")


def api_root(base_url: str) -> str:
    """``https://api.getlago.com`` (or ``…/api/v1``) → ``https://api.getlago.com/api/v1``."""
    url = base_url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        shown = without_userinfo(url)
        raise ValueError(f"api_url must start with http:// or https:// (got {shown!r})")
    return url if url.endswith(API_PREFIX) else url + API_PREFIX


# `"transaction_id":"<id>"` as Lago writes it; inside a JSON string the quotes would be escaped
_TRANSACTION_ID_KEY = b'"transaction_id":"'
_TRANSACTION_IDS = re.compile(rb'"transaction_id":"([^"\\\\]*)"')


@dataclass(frozen=True)
class Timeouts:
    """Explicit limits for every exchange (seconds)."""

    connect: float = 5.0
    read: float = 30.0
    write: float = 30.0
    pool: float = 10.0

    def to_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


class EventPostResult:
    """What became of an event post.

    ``already_delivered`` is True when Lago refused the events only because every one of them
    is already stored (a retry after a lost response, or a replay): they count as delivered.
    ``events`` are the events Lago created; an answer confirmed without parsing it
    (``ClientCore.event_reply``) is parsed the first time they are asked for.
    """

    __slots__ = ("_events", "_raw", "already_delivered")

    def __init__(
        self,
        events: list[dict[str, Any]] | None = None,
        already_delivered: bool = False,
        *,
        raw: bytes | None = None,
    ) -> None:
        self._events = events
        self._raw = raw
        self.already_delivered = already_delivered

    @property
    def events(self) -> list[dict[str, Any]]:
        if self._events is None:
            data = orjson.loads(self._raw) if self._raw else {}
            found = data.get("events") if isinstance(data, dict) else None
            self._events = found if isinstance(found, list) else []
        return self._events

    def __repr__(self) -> str:
        events = "unread" if self._events is None else len(self._events)
        return f"EventPostResult(events={events}, already_delivered={self.already_delivered})"


class ResponseLike(Protocol):
    """What the core reads of an answer: an ``httpx.Response`` or a ``RawResponse``."""

    @property
    def status_code(self) -> int: ...

    @property
    def content(self) -> bytes: ...

    @property
    def headers(self) -> Mapping[str, str]: ...  # looked up in lower case


@dataclass(frozen=True)
class RawResponse:
    """An answer read without httpx's models (``DirectTransport``); headers case-insensitive."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes


@runtime_checkable
class DirectTransport(Protocol):
    """A transport that can also send without building httpx's request and response models —
    about a millisecond of CPU per request saved on the usage worker's hot path. It raises
    httpx's exception types, so retry decisions are the same either way."""

    async def send_direct(
        self,
        method: str,
        url: str,
        content: bytes | None,
        headers: Mapping[str, str],
        timeouts: Timeouts,
    ) -> RawResponse: ...


class CreateStep(enum.Enum):
    RAISE = "raise"
    RETRY = "retry"  # the POST was not processed: send it again
    READ_BACK = "read_back"  # the POST may have been processed: look before sending again


class ClientCore:
    """Request building, response mapping, retry and reconcile decisions (no I/O)."""

    def __init__(
        self,
        base_url: str,
        api_key: Secret | str,
        *,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        pacing: PacingConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api_root = api_root(base_url)
        self.secret = as_secret(api_key)
        problem = api_key_problem(self.secret.reveal())
        if problem is not None:
            raise ValueError(f"the API key {problem}")
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self.pacer = Pacer(pacing, clock)
        self.clock = clock
        # The ``Date`` header of Lago's last answer: the target's clock (``engine.scheduled``).
        self.server_date: str | None = None

    def __repr__(self) -> str:
        return f"ClientCore({without_userinfo(self.api_root)!r})"

    # -- building ---------------------------------------------------------------------------
    def client_kwargs(self) -> dict[str, Any]:
        """Arguments shared by ``httpx.Client`` and ``httpx.AsyncClient``."""
        return {
            "base_url": self.api_root + "/",
            "headers": {
                # the one place the key is revealed
                "Authorization": f"Bearer {self.secret.reveal()}",
                "Accept": "application/json",
                "User-Agent": f"lagoform/{__version__}",
            },
            "timeout": self.timeouts.to_httpx(),
            "follow_redirects": False,
        }

    @staticmethod
    def url(path: str) -> str:
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/': {path!r}")
        return path.lstrip("/")

    @staticmethod
    def encode(body: Json) -> tuple[bytes | None, dict[str, str]]:
        if body is None:
            return None, {}
        return orjson.dumps(body, default=_exact), {"Content-Type": "application/json"}

    # -- reading ----------------------------------------------------------------------------
    def payload(self, response: ResponseLike, method: str, path: str) -> dict[str, Any]:
        """The JSON object of a 2xx response; a ``LagoError`` for anything else."""
        self._succeeded(response, method, path)
        status = response.status_code
        if not response.content:
            return {}
        try:
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            # redact before truncating: a cut could leave the start of an echoed key in view
            text = self.secret.redact(response.content.decode("utf-8", errors="replace"))
            raise LagoError(
                f"expected JSON from Lago but got {truncate(text, 120)!r} (is the API URL right?)",
                status=status,
                method=method,
                path=path,
            ) from None
        if not isinstance(data, dict):
            raise LagoError(
                "expected a JSON object from Lago", status=status, method=method, path=path
            )
        return data

    def failure(self, exc: Exception, method: str, path: str) -> LagoTransportError:
        """The typed error; ``exc`` becomes its ``__cause__``, so scrub the key from it too."""
        if any(isinstance(a, str) and self.secret.reveal() in a for a in exc.args):
            exc.args = tuple(self.secret.redact(a) if isinstance(a, str) else a for a in exc.args)
        return transport_failure(exc, method=method, path=path, secret=self.secret)

    @staticmethod
    def unwrap(data: Mapping[str, Any], root: str, method: str, path: str) -> dict[str, Any]:
        obj = data.get(root)
        if not isinstance(obj, dict):
            raise LagoError(
                f"response has no {root!r} object", status=200, method=method, path=path
            )
        return obj

    @staticmethod
    def page_items(
        data: Mapping[str, Any], root_key: str, page: int, path: str
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Items of one list page and the next page number (None at the end).

        The end is an empty page, no ``next_page``, or ``meta.total_pages`` reached — whatever
        ``next_page`` says. A ``next_page`` other than ``page + 1`` (a page that does not
        advance, or skips) and a list past ``MAX_PAGES`` pages are refused: a live read that
        silently repeated or dropped objects would make a wrong plan.
        """
        items = data.get(root_key)
        if not isinstance(items, list):
            raise LagoError(
                f"list response has no {root_key!r} array", status=200, method="GET", path=path
            )
        meta = data.get("meta")
        meta = meta if isinstance(meta, Mapping) else {}
        nxt, total = meta.get("next_page"), meta.get("total_pages")
        if not isinstance(nxt, int) or isinstance(nxt, bool) or not items:
            return items, None
        if isinstance(total, int) and page >= total:
            return items, None
        if nxt != page + 1:
            raise LagoError(
                f"Lago's list does not advance: page {page} names next_page {nxt} "
                f"(total_pages {total}); lagoform stops rather than read a list twice or skip "
                "part of it",
                status=200,
                method="GET",
                path=path,
            )
        if nxt > MAX_PAGES:
            raise LagoError(
                f"Lago's list goes on past {MAX_PAGES:,} pages of {PER_PAGE}; lagoform stops",
                status=200,
                method="GET",
                path=path,
            )
        return items, nxt

    @staticmethod
    def pages_to_fetch(data: Mapping[str, Any], nxt: int | None) -> range | None:
        """The pages still to read after page 1, when page 1's ``meta.total_pages`` names them
        (so they can be read concurrently); None when the list must be followed page by page."""
        meta = data.get("meta")
        total = meta.get("total_pages") if isinstance(meta, Mapping) else None
        if nxt != 2 or not isinstance(total, int) or isinstance(total, bool):
            return None
        if not 2 <= total <= MAX_PAGES:
            return None
        return range(2, total + 1)

    @staticmethod
    def page_params(params: Params, page: int) -> dict[str, Any]:
        return {**(params or {}), "page": page, "per_page": PER_PAGE}

    # -- deciding ---------------------------------------------------------------------------
    def retry_delay(
        self, attempt: int, err: LagoError, method: str, path: str, safe: bool
    ) -> float | None:
        """Seconds before the next attempt of a plain request, or None to raise ``err``."""
        if not (safe or isinstance(err, LagoRateLimited) or self.unsent(err)):
            return None
        delay = self.retry.delay(attempt, err)
        if delay is None and self.waits_too_long(err):
            assert isinstance(err, LagoRateLimited) and err.retry_after is not None
            err.args = (
                f"Lago asked to wait {err.retry_after:,.0f} s before the next request "
                f"(Retry-After), longer than the {self.retry.max_retry_after:,.0f} s lagoform "
                "waits (retry.max_retry_after in lagoform.yaml); nothing more was sent — try "
                "again later",
            )
        if delay is not None:
            if isinstance(err, LagoRateLimited) and err.retry_after is not None:
                self.pacer.pause(method, path, err.retry_after)
            log.warning(
                "%s %s: %s; retrying in %.2fs (attempt %d of %d)",
                method,
                path,
                _short(err),
                delay,
                attempt + 1,
                self.retry.max_attempts,
            )
        return delay

    def waits_too_long(self, err: LagoError) -> bool:
        return (
            isinstance(err, LagoRateLimited)
            and err.retry_after is not None
            and err.retry_after > self.retry.max_retry_after
        )

    @staticmethod
    def unsent(err: LagoError) -> bool:
        return isinstance(err, LagoTransportError) and never_sent(_cause(err))

    @staticmethod
    def lost_response(err: LagoError) -> bool:
        """The server may have acted on the request although we got no good answer."""
        return (
            is_retryable(err)
            and not isinstance(err, LagoRateLimited)
            and not (isinstance(err, LagoTransportError) and never_sent(_cause(err)))
        )

    @staticmethod
    def gone_after_lost_delete(method: str, err: LagoError, lost_before: bool) -> bool:
        """A DELETE answered 404 after an earlier lost response: our first attempt did it."""
        return method == "DELETE" and lost_before and isinstance(err, LagoNotFound)

    def create_step(self, err: LagoError, can_read_back: bool) -> CreateStep:
        if isinstance(err, LagoRateLimited) or self.unsent(err):
            return CreateStep.RETRY
        if self.lost_response(err) and can_read_back:
            return CreateStep.READ_BACK
        return CreateStep.RAISE

    @staticmethod
    def already_exists(err: LagoError) -> bool:
        return isinstance(err, LagoValidationError) and any(
            "value_already_exist" in codes
            for codes in err.details.values()
            if isinstance(codes, list)
        )

    def _succeeded(self, response: ResponseLike, method: str, path: str) -> None:
        """Raise the ``LagoError`` of a non-2xx answer; note the server's Date of a 2xx."""
        status = response.status_code
        if not 200 <= status < 300:
            raise error_for_status(
                status,
                response.content,
                response.headers,
                method=method,
                path=path,
                secret=self.secret,
            )
        self.server_date = response.headers.get("date") or self.server_date

    def event_reply(
        self, response: ResponseLike, sent: Sequence[Mapping[str, Any]], request: bytes | None
    ) -> EventPostResult:
        """``POST /events/batch``'s answer, confirmed the cheap way when it plainly can be.

        The answer lists the created events (40 KB for 100 of them): parsing it all was a fifth
        of the worker's client CPU per request. So the ``"transaction_id":"…"`` pairs of the
        body are found with one scan. They stand for the events only if nothing else in the
        answer can be written that way: Lago echoes each event's properties, so ``request``
        (the body sent) must hold the pair exactly once per event (no property of that name,
        at any depth). Then, when the answer's pairs are exactly the ids sent (as many, the
        same ones), it accounts for every event, and it is parsed only if someone reads
        ``events``. Anything else — an id written with JSON escapes, a property of that name,
        a reply missing an event — takes the exact path, ``payload`` + ``event_result``.
        """
        self._succeeded(response, "POST", "/events/batch")
        content = response.content
        if content and request and request.count(_TRANSACTION_ID_KEY) == len(sent):
            found = _TRANSACTION_IDS.findall(content)
            if len(found) == len(sent):
                wanted = set()
                for event in sent:
                    tid = event.get("transaction_id")
                    if type(tid) is not str:
                        break
                    wanted.add(tid.encode())
                else:
                    if wanted == set(found):
                        return EventPostResult(raw=content)
        data = self.payload(response, "POST", "/events/batch")
        return self.event_result(data, sent, many=True)

    @staticmethod
    def event_result(
        data: Mapping[str, Any], sent: Sequence[Mapping[str, Any]], many: bool
    ) -> EventPostResult:
        """The events Lago says it created — every transaction id sent must be among them.

        A 2xx that does not account for every event (``{}``, ``{"events": []}``, a 202 or 204
        with no body, a list missing some) proves nothing was stored: ``LagoUnconfirmed``
        (retryable; events are deduplicated by transaction id, so sending again is safe).
        """
        path = "/events/batch" if many else "/events"
        if many:
            raw = data.get("events")
            events = list(raw) if isinstance(raw, list) else []
        else:
            one = data.get("event")
            events = [one] if isinstance(one, dict) else []
        # runs for every batch the worker sends: `type(e) is dict` spares the ABC check that
        # cost a tenth of the client's CPU per request
        answered = {
            e.get("transaction_id") for e in events if type(e) is dict or isinstance(e, Mapping)
        }
        missing = [
            tid
            for e in sent
            if (tid := e.get("transaction_id")) is not None and tid not in answered
        ]
        if missing:
            wanted = [e.get("transaction_id") for e in sent if e.get("transaction_id") is not None]
            shown = ", ".join(repr(str(tid)) for tid in missing[:3])
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            raise LagoUnconfirmed(
                f"Lago answered OK (2xx) but its reply accounts for {len(wanted) - len(missing)} "
                f"of the {len(wanted)} events sent (missing {shown}{more}); nothing is counted "
                "as delivered",
                method="POST",
                path=path,
            )
        return EventPostResult(events=events)

    @staticmethod
    def event_duplicate(err: LagoError, batch_size: int | None) -> EventPostResult | None:
        if is_duplicate_only(err, batch_size):
            return EventPostResult(events=[], already_delivered=True)
        return None

    def is_safe(self, method: str, path: str, idempotent: bool | None) -> bool:
        return is_safe_to_repeat(method, path) if idempotent is None else idempotent

    def log_exchange(self, method: str, path: str, status: int | str, started: float) -> None:
        if log.isEnabledFor(logging.DEBUG):
            ms = (time.monotonic() - started) * 1000
            log.debug("%s %s -> %s (%.0f ms)", method, path, status, ms)


def _exact(value: Any) -> Any:
    """A Decimal goes to Lago as the decimal string it is: Lago reads amounts from strings,
    and its BigDecimal takes both ``0.00000025`` and ``2.5E-7`` exactly."""
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot send a {type(value).__name__} to Lago")


def _cause(err: BaseException) -> BaseException:
    return err.__cause__ if err.__cause__ is not None else err


def _short(err: LagoError) -> str:
    status = f"HTTP {err.status}" if err.status is not None else "no response"
    return f"{status} {err.args[0] if err.args else ''}".strip()
