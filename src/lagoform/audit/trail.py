"""The audit trail: apply's ``AuditHook``. An intent record before every Lago write, an outcome
record after it, both chained and written to every configured sink.

Fail closed: if any sink cannot take an intent, ``intent`` raises AuditError and the caller must
not send the request (sinks that did take it get a ``not_sent`` outcome, so the log does not show
a crash that never happened). An outcome that a sink refuses is still written to every other
sink, then AuditError stops apply before its next write. A crash between intent and outcome
leaves an intent with no outcome, a lost answer an ``unknown`` outcome: ``pending()`` /
``chain.unsettled_intents(file)`` find them, and ``settle`` records how they were settled.
Every string that goes into a record is scrubbed of the secrets the trail was given.

``check()`` runs before any call: every sink must be writable (a closed stdout, a directory or a
FIFO at the log path are errors), the key a keyed chain needs must be there, and the log's
existing chain must verify — apply never extends a broken chain.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from lagoform.audit.chain import GENESIS, pending_intents, verify_file
from lagoform.audit.context import RunContext
from lagoform.audit.fields import ChangeLike, OverrideFacts, intent_fields
from lagoform.audit.record import (
    SCHEMA_VERSION,
    Record,
    digest,
    jsonable,
    new_record_id,
    utc_now_iso,
)
from lagoform.audit.seal import seal_line
from lagoform.audit.sinks import JsonlFileSink, Sink
from lagoform.errors import AuditError, LagoError

R = TypeVar("R")
REDACTED = "[redacted]"
_MIN_SECRET = 8  # shorter strings would redact ordinary words; no real key is that short


def scrub(value: Any, secrets: Sequence[str]) -> Any:
    """``value`` with every occurrence of every secret replaced, in every string and key."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, Mapping):
        return {scrub(k, secrets): scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, secrets) for v in value]
    return value


class _SinkRefused(Exception):
    def __init__(self, sink: Sink, taken: list[Sink], error: AuditError) -> None:
        self.sink, self.taken, self.error = sink, taken, error


class AuditTrail:
    """Implements ``lagoform.engine.hooks.AuditHook``; also a context manager closing its sinks.

    ``overrides`` maps a subscription external_id to its ``OverrideFacts``: records about that
    subscription carry the finance section. ``secrets`` (the API key at least) never reach a
    record. ``clock``/``new_id`` exist for tests.
    """

    def __init__(
        self,
        context: RunContext,
        sinks: Sequence[Sink],
        *,
        overrides: Mapping[str, OverrideFacts] | None = None,
        secrets: Iterable[str] = (),
        key: bytes | None = None,
        clock: Callable[[], datetime] | None = None,
        new_id: Callable[[], str] = new_record_id,
    ) -> None:
        files = [s for s in sinks if isinstance(s, JsonlFileSink)]
        if len(files) > 1:
            raise AuditError("configure at most one audit log file: the chain has one authority")
        if not sinks:
            raise AuditError("no audit sink configured: apply will not mutate without a record")
        self._file = files[0] if files else None
        # The file is written first: it seals the chain, and a refusal there stops everything.
        self._sinks: list[Sink] = [*files, *(s for s in sinks if s not in files)]
        self._context = context
        self._overrides = dict(overrides or {})
        self._secrets = sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len)[::-1]
        self._clock = clock
        self._new_id = new_id
        self._key = key
        self._last_hash = GENESIS
        self._open: dict[str, dict[str, Any]] = {}
        self.written = 0  # records this trail wrote

    # -- AuditHook ---------------------------------------------------------------------------

    def check(self) -> None:
        """Before any call: every sink can take records, and the log's chain verifies."""
        for sink in self._sinks:
            sink.check()
        if self._file is None or not self._file.path.exists():
            return
        report = verify_file(self._file.path, key=self._key)
        if not report.ok:
            n = len(report.problems)
            raise AuditError(
                f"the audit log {self._file.path} fails verification ({n} problem"
                f"{'s' if n != 1 else ''}; first: {report.problems[0]}); apply will not add "
                f"records to a broken chain. See every problem with `lagoform audit verify "
                f"{self._file.path}`, then restore the log from a copy, or move it aside (a new "
                "log starts a new chain) — docs/audit.md; nothing was sent to Lago"
            )
        self._last_hash = report.last_hash

    def intent(
        self, change: ChangeLike, request: dict[str, Any], record_id: str | None = None
    ) -> str:
        """Write the intent record for one call; returns its id (``record_id`` when the caller
        chose it, e.g. to tag what it sends with it). Raises AuditError (and nothing may be
        sent) when any sink refuses it."""
        facts = self._overrides.get(change.key) if change.kind == "subscription" else None
        body = intent_fields(self._context, change, request, facts)
        record_id = record_id or self._new_id()
        body.update(record_id=record_id, time=self._now())
        try:
            self._emit(body, stop_on_refusal=True)
        except _SinkRefused as refused:
            self._close_unsent(body, refused.taken)
            raise AuditError(
                f"{refused.error}; nothing was sent to Lago for {change.action} "
                f"{change.kind} {change.key!r}"
            ) from None
        self._open[record_id] = body
        return record_id

    def outcome(
        self,
        record_id: str,
        ok: bool | None,
        status: int | None,
        error_code: str | None,
        response: dict[str, Any] | None,
        note: str | None = None,
    ) -> None:
        """Write the outcome closing intent ``record_id`` (``ok`` None: unknown, the answer was
        lost). Raises AuditError after writing to every sink that would take it, if any refused
        (apply must then stop)."""
        intent = self._open.pop(record_id, None)
        if intent is None:
            raise AuditError(f"outcome for unknown intent {record_id!r}")
        outcome = {
            "status": "unknown" if ok is None else "ok" if ok else "failed",
            "http_status": status,
            "error_code": error_code,
        }
        body = self._outcome_body(intent, outcome, digest(response))
        if note:
            body["note"] = note
        failures = self._emit(body, stop_on_refusal=False)
        if failures:
            names = "; ".join(str(f) for f in failures)
            raise AuditError(
                f"the outcome of {intent['action']} {intent['object_kind']} "
                f"{intent['object_key']!r} (already sent to Lago) was not recorded by every "
                f"sink: {names}; apply stops here"
            )

    # -- conveniences ------------------------------------------------------------------------

    def guarded(self, change: ChangeLike, request: dict[str, Any], call: Callable[[], R]) -> R:
        """intent → ``call()`` → outcome. ``call`` never runs when the intent is refused. A
        LagoError becomes a ``failed`` outcome and is re-raised; any other exception leaves the
        intent open, as a crash would (we cannot know whether Lago got the call)."""
        record_id = self.intent(change, request)
        try:
            result = call()
        except LagoError as err:
            self.outcome(record_id, False, err.status, err.code, None)
            raise
        self.outcome(record_id, True, 200, None, result if isinstance(result, dict) else None)
        return result

    def settle(self, intent: Record, status: str, note: str) -> None:
        """Record how an unsettled intent (of this log) was settled: ``landed``, ``not_landed``
        or ``superseded``, and ``note`` saying how that is known. Raises AuditError when a sink
        refuses it."""
        body = {
            k: v
            for k, v in intent.model_dump(mode="json").items()
            if k not in ("prev_hash", "hash", "record_id", "time", "note")
        }
        body.update(
            schema_version=SCHEMA_VERSION,
            record_id=self._new_id(),
            time=self._now(),
            phase="settlement",
            intent_id=intent.record_id,
            outcome={"status": status, "http_status": None, "error_code": None},
            response_digest=None,
            note=note,
            # who settled it, and in which run (the intent keeps who sent the call)
            actor=self._context.actor,
            actor_source=self._context.actor_source,
            plan_id=self._context.plan_id,
        )
        failures = self._emit(body, stop_on_refusal=False)
        if failures:
            raise AuditError("; ".join(str(f) for f in failures))

    def pending(self) -> list[Record]:
        """Unsettled intents in the log file (none without a file sink)."""
        return pending_intents(self._file.path) if self._file is not None else []

    @property
    def actor(self) -> str:
        return self._context.actor

    @property
    def head(self) -> str:
        """The hash of the last record of the chain (pin it: ``audit verify --expect-head``)."""
        return self._last_hash

    @property
    def log_path(self) -> Path | None:
        return self._file.path if self._file is not None else None

    def close(self) -> None:
        for sink in self._sinks:
            sink.close()

    def __enter__(self) -> AuditTrail:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------

    def _now(self) -> str:
        return utc_now_iso(self._clock() if self._clock else None)

    def _outcome_body(
        self, intent: Mapping[str, Any], outcome: dict[str, Any], response_digest: str | None
    ) -> dict[str, Any]:
        body = {k: v for k, v in intent.items() if k not in ("prev_hash", "hash")}
        body.update(
            record_id=self._new_id(),
            time=self._now(),
            phase="outcome",
            intent_id=intent["record_id"],
            outcome=outcome,
            response_digest=response_digest,
        )
        return body

    def _close_unsent(self, intent: Mapping[str, Any], taken: list[Sink]) -> None:
        if not taken:
            return
        outcome = {"status": "not_sent", "http_status": None, "error_code": None}
        body = self._outcome_body(intent, outcome, None)
        with contextlib.suppress(AuditError, _SinkRefused):
            self._emit(body, stop_on_refusal=False, only=taken)

    @contextlib.contextmanager
    def _chain_lock(self, sinks: Sequence[Sink]) -> Iterator[str]:
        if self._file is not None and self._file in sinks:
            with self._file.locked():
                yield self._file.tail_hash()
        else:
            yield self._last_hash

    def _emit(
        self,
        body: Mapping[str, Any],
        *,
        stop_on_refusal: bool,
        only: Sequence[Sink] | None = None,
    ) -> list[AuditError]:
        sinks = list(only) if only is not None else self._sinks
        clean = scrub(jsonable(body), self._secrets)
        failures: list[AuditError] = []
        taken: list[Sink] = []
        try:
            with self._chain_lock(sinks) as prev_hash:
                sealed, line = seal_line(clean, prev_hash, self._key)
                for sink in sinks:
                    try:
                        sink.write(sealed, line)
                    except AuditError as err:
                        if stop_on_refusal:
                            raise _SinkRefused(sink, taken, err) from None
                        failures.append(err)
                    else:
                        taken.append(sink)
                self._last_hash = sealed["hash"]
                self.written += 1
        except AuditError as err:  # the file could not be locked or read: nothing was written
            if stop_on_refusal:
                raise _SinkRefused(sinks[0], [], err) from None
            failures.append(err)
        return failures
