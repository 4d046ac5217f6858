"""The :class:`Sandbox`: one emulated Lago organization behind a single ``handle()`` entry point.

``handle(method, path, query, headers, body) -> (status, headers, body)`` is pure Python and
thread-safe (one lock). It applies fault injection, Lago's auth and routing rules, runs the
handler and renders Lago's JSON. Transports (httpx in-process, ASGI) are thin adapters.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import orjson

from lagoform import __version__
from lagoform.sandbox import control, plans, routes, subscriptions
from lagoform.sandbox.api_errors import ApiError, not_found, unauthorized
from lagoform.sandbox.faults import FaultInjector, Faults, endpoint_class
from lagoform.sandbox.persistence import StateFile
from lagoform.sandbox.request import FEATURES, Org, Request
from lagoform.sandbox.state import State

Query = str | Mapping[str, str | list[str]] | None
Response = tuple[int, dict[str, str], bytes]
JSON_HEADERS = {"content-type": "application/json; charset=utf-8"}
CONTROL_PREFIX = "/__sandbox/"


class Sandbox:
    """A stateful, in-memory Lago emulator (see API_NOTES for the rules it reproduces)."""

    def __init__(
        self,
        *,
        premium: bool = True,
        api_key: str | None = None,
        state_file: Path | str | None = None,
        faults: Faults | None = None,
        latency_ms: float = 0.0,
        fault_rate: float = 0.0,
        fault_seed: int = 0,
        plan_delete_delay: float = 0.0,
        save_interval: float = 2.0,
        clock: Callable[[], float] = time.time,
        features: Iterable[str] = FEATURES,
        holder: str | None = "lagoform",
        lock_wait: float = 0.0,
    ) -> None:
        self._lock = threading.RLock()
        self.features = frozenset(features)
        self._clock = clock
        self.clock_offset = 0.0
        self.premium = premium
        self.api_key = api_key
        self.plan_delete_delay = plan_delete_delay
        base = faults or Faults(latency_ms=latency_ms, fault_rate=fault_rate, fault_seed=fault_seed)
        self._initial = (premium, Faults(**base.to_dict()), self.features)
        self.faults = FaultInjector(base)
        self.state_file = Path(state_file) if state_file is not None else None
        self._file = StateFile(self.state_file) if self.state_file is not None else None
        self.state = State()
        if self._file is not None and holder is not None:
            # one writer per state file (persistence.py); holder None: the caller coordinates
            self._file.acquire(f"{holder} (pid {os.getpid()})", wait=lock_wait)
        if self._file is not None and self._file.exists():
            try:
                self.state = self._file.load()
            except BaseException:
                self._file.release()
                raise
        self._stop = threading.Event()
        self._saver: threading.Thread | None = None
        if self.state_file is not None:
            self._saver = threading.Thread(
                target=self._save_loop, args=(save_interval,), name="sandbox-saver", daemon=True
            )
            self._saver.start()
            atexit.register(self.close)

    # ---- time
    def now(self) -> float:
        return self._clock() + self.clock_offset

    def advance_clock(self, seconds: float) -> None:
        with self._lock:
            self.clock_offset += seconds

    # ---- switches
    def set_premium(self, premium: bool) -> None:
        with self._lock:
            self.premium = premium

    def set_features(self, features: Iterable[str]) -> None:
        """The organization's premium integrations (see ``request.FEATURES``)."""
        chosen = frozenset(features)
        if chosen - FEATURES:
            raise ValueError(f"unknown organization features: {sorted(chosen - FEATURES)}")
        with self._lock:
            self.features = chosen

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        """Partial update of the fault settings (keys of :class:`Faults`, plus
        ``outage_seconds=N`` and ``rate_limit=True`` for Lago Cloud's limits)."""
        with self._lock:
            self.faults.configure(changes, self.now())
            return self.faults.faults.to_dict()

    @property
    def latency_seconds(self) -> float:
        return self.faults.faults.latency_ms / 1000.0

    def reset(self) -> int:
        """Empty organization; premium and faults back to their construction values. Returns
        how many events were dropped (a long load run resets as it goes and adds these up)."""
        with self._lock:
            dropped = len(self.state.events)
            self.state = State(dirty=True)
            self.premium = self._initial[0]
            self.faults = FaultInjector(Faults(**self._initial[1].to_dict()))
            self.features = self._initial[2]
            self.clock_offset = 0.0
            return dropped

    def event_count(self) -> int:
        with self._lock:
            return len(self.state.events)

    def dump(self) -> dict[str, Any]:
        with self._lock:
            doc: dict[str, Any] = orjson.loads(self.state.to_json())
            return doc

    # ---- persistence
    def save(self) -> None:
        """Write the state file now (snapshot + new events appended to its journal)."""
        if self._file is None:
            return
        with self._lock:
            state = self.state
            pending = self._file.capture(state)
            state.dirty = False
        self._file.write(pending, state)

    def _save_loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            if self.state.dirty:
                self.save()

    def close(self) -> None:
        """Stop the periodic saver and write the state file if anything changed (idempotent).

        Two live sandboxes on one state file: the last one to save wins, whole."""
        if self._stop.is_set():
            return
        self._stop.set()
        if self._saver is not None and self._saver is not threading.current_thread():
            self._saver.join(timeout=5)
        if self.state.dirty:
            self.save()
        if self._file is not None:
            self._file.release()
        atexit.unregister(self.close)

    def announce_server(self, url: str) -> None:
        """Write in the state file's lock where this server listens, so a second user of the
        state is told to talk to it."""
        if self._file is not None:
            self._file.announce(f"lagoform sandbox serve (pid {os.getpid()})", url)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- adapters
    def transport(self) -> Any:
        """An ``httpx`` transport (sync and async) that answers in-process."""
        from lagoform.sandbox.transport import SandboxTransport

        return SandboxTransport(self)

    # ---- the entry point
    def handle(
        self,
        method: str,
        path: str,
        query: Query = None,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> Response:
        """Answer one request, sleeping for the configured latency first."""
        delay = self.latency_seconds
        if delay > 0:
            time.sleep(delay)
        return self.respond(method, path, query, headers, body)

    def respond(
        self,
        method: str,
        path: str,
        query: Query = None,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> Response:
        """Like :meth:`handle` without latency (async adapters await their own sleep)."""
        method = method.upper()
        # Routed still percent-encoded, like Rails: an id holding "%2F" is one path segment,
        # decoded only once it is a parameter (GET /events/{transaction_id} with a "/").
        path = path.split("?", 1)[0]
        if len(path) > 1:
            path = path.rstrip("/")
        parsed_query = _parse_query(query)
        if path.startswith(CONTROL_PREFIX):
            status, payload = control.handle(self, method, path, parsed_query, body)
            return status, dict(JSON_HEADERS), orjson.dumps(payload)
        lower = {k.lower(): v for k, v in (headers or {}).items()}
        with self._lock:
            status, out, answer = self._respond_locked(method, path, parsed_query, lower, body)
            # An origin server with a clock sends it (RFC 9110 §6.6.1): the organization's
            # clock, so a client knows Lago's "now" after `POST /__sandbox/clock`.
            out["date"] = formatdate(self.now(), usegmt=True)
            return status, out, answer

    def _respond_locked(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
    ) -> Response:
        now = self.now()
        klass = endpoint_class(method, path)
        error, extra = self.faults.check_before(klass, now)
        if error is not None:
            return _render_error(error, extra)
        if path == "/health" and method == "GET":
            payload = {
                "version": __version__,
                "github_url": "https://github.com/getlago/lago-api",
                "message": "Success",
            }
            return 200, {**JSON_HEADERS, **extra}, orjson.dumps(payload)
        found = routes.match(method, path)
        if found is None:
            return _render_error(not_found("resource"), extra)
        if not self._authorized(headers.get("authorization")):
            return _render_error(unauthorized(), extra)
        handler, raw_params = found
        params = {name: unquote(value) for name, value in raw_params.items()}
        if klass != "events":  # keep the ingestion hot path free of housekeeping scans
            self._tick(now)
        if method != "GET" and klass != "events":
            # it may add, move or end a pending subscription (even if it then fails)
            self.state.next_start_known = False
        org = Org(self.state, self.premium, now, self.plan_delete_delay, self.features)
        request = Request(method, path, params, query, body, org)
        try:
            result = handler(request)
        except ApiError as exc:
            return _render_error(exc, extra)
        if method != "GET":
            self.state.dirty = True
        late = self.faults.fault_after()
        if late is not None:
            return _render_error(late, extra)
        return 200, {**JSON_HEADERS, **extra}, orjson.dumps(result)

    def _authorized(self, header: str | None) -> bool:
        parts = (header or "").split()
        token = parts[1] if len(parts) > 1 else None
        if not token:
            return False
        return self.api_key is None or token == self.api_key

    def _tick(self, now: float) -> None:
        """Lago's background jobs, run lazily: finish due plan deletions, start due downgrades."""
        if self.state.pending_plan_deletions:
            plans.complete_due_deletions(self.state, now)
        subscriptions.activate_due(self.state, now)

    def tick(self) -> None:
        with self._lock:
            self._tick(self.now())


def _parse_query(query: Query) -> dict[str, list[str]]:
    if query is None:
        return {}
    if isinstance(query, str | bytes):
        text = query.decode() if isinstance(query, bytes) else query
        return parse_qs(text.lstrip("?"), keep_blank_values=True)
    out: dict[str, list[str]] = {}
    for key, value in query.items():
        out[key] = list(value) if isinstance(value, list | tuple) else [str(value)]
    return out


def _render_error(error: ApiError, extra: dict[str, str]) -> Response:
    headers = {**JSON_HEADERS, **extra, **error.headers}
    return error.status, headers, orjson.dumps(error.body)
