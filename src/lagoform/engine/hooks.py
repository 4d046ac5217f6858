"""The audit hook every Lago mutation goes through (intent before the call, outcome after).

Only the Protocol and a do-nothing implementation live here; real sinks (file with a hash
chain, HTTP, ...) belong to ``engine/audit.py``. Apply calls ``intent`` before each write: if it
raises, nothing is sent to Lago (DESIGN principle 4).
"""

from __future__ import annotations

import itertools
from typing import Any, Protocol

from lagoform.engine.plan import ObjectChange


class AuditHook(Protocol):
    def intent(
        self, change: ObjectChange, request: dict[str, Any], record_id: str | None = None
    ) -> str:
        """Record what is about to be sent; return an id that ``outcome`` will refer to
        (``record_id`` when the caller chose it: a top-up carries it as its tag).

        ``request`` is ``{"method", "path", "body"}``; it never holds the API key.
        """
        ...

    def outcome(
        self,
        record_id: str,
        ok: bool | None,
        status: int | None,
        error_code: str | None,
        response: dict[str, Any] | None,
        note: str | None = None,
    ) -> None:
        """Record how the call ended: ``ok`` None when it is unknown (the answer was lost and
        Lago may have acted); ``status`` None when Lago gave no answer; ``note`` says more."""
        ...


class NullAudit:
    """Accepts every record and keeps none: for tests and dry runs."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def intent(
        self, change: ObjectChange, request: dict[str, Any], record_id: str | None = None
    ) -> str:
        return record_id or f"null-{next(self._ids)}"

    def outcome(
        self,
        record_id: str,
        ok: bool | None,
        status: int | None,
        error_code: str | None,
        response: dict[str, Any] | None,
        note: str | None = None,
    ) -> None:
        return None


class MemoryAudit:
    """Keeps every record in memory, in order: lets tests check intent/outcome pairing."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def intent(
        self, change: ObjectChange, request: dict[str, Any], record_id: str | None = None
    ) -> str:
        record_id = record_id or f"mem-{len(self.records) + 1}"
        self.records.append(
            {
                "id": record_id,
                "phase": "intent",
                "kind": change.kind,
                "key": change.key,
                "action": change.action,
                "request": request,
            }
        )
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
        self.records.append(
            {
                "id": record_id,
                "phase": "outcome",
                "ok": ok,
                "status": status,
                "error_code": error_code,
                "note": note,
            }
        )
