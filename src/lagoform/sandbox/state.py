"""The sandbox's in-memory state: one Lago organization, its records, indexes and persistence.

Records are plain JSON-able dicts (the same shape is saved to the state file); only this module
knows how they are stored and indexed. Rules live in the resource modules, not here.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import orjson

Record = dict[str, Any]


STATE_FORMAT = 1

# Collections persisted as {lago_id: record}; order of insertion is creation order.
COLLECTIONS = (
    "metrics",
    "plans",
    "taxes",
    "add_ons",
    "coupons",
    "applied_coupons",
    "customers",
    "subscriptions",
    "wallets",
    "wallet_transactions",
)

# One ingested event, kept as a plain tuple: ingestion reaches 10^5 events/s and a tuple is
# several times cheaper to build than a NamedTuple. Fields by index:
StoredEvent = tuple[int, str, str, float, dict[str, Any], str | None, str | None, float]
E_SEQ: Final = 0
E_TXN: Final = 1
E_CODE: Final = 2
E_TS: Final = 3
E_PROPS: Final = 4
E_SUB: Final = 5  # external_subscription_id
E_PRECISE: Final = 6  # precise_total_amount_cents
E_CREATED: Final = 7


def new_id() -> str:
    return str(uuid.uuid4())


def iso(ts: float | None) -> str | None:
    """Lago's timestamp format: ISO 8601, UTC, whole seconds, ``Z`` suffix."""
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


_DAY_TEXT: dict[int, str] = {}


def iso_ms(ts: float) -> str:
    """ISO 8601 with milliseconds (event timestamps). Formatted by arithmetic from a cached
    date: events of one day share it, and a per-second cache missed for usage spread over a
    day (``strftime`` was a sixth of the server's CPU per event)."""
    whole = int(ts)
    if whole == ts:
        millis = 0
    else:
        whole = int(ts // 1)
        millis = int((ts - whole) * 1000 + 0.5)
        if millis == 1000:
            whole, millis = whole + 1, 0
    day, second = divmod(whole, 86400)
    date = _DAY_TEXT.get(day)
    if date is None:
        if len(_DAY_TEXT) > 4096:
            _DAY_TEXT.clear()
        date = _DAY_TEXT[day] = time.strftime("%Y-%m-%d", time.gmtime(day * 86400))
    hour, second = divmod(second, 3600)
    minute, second = divmod(second, 60)
    return f"{date}T{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}Z"


def iso_date(ts: float | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


def parse_iso(value: Any) -> float | None:
    """ISO 8601 date or datetime → epoch seconds; None when it does not parse."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


@dataclass
class State:
    """Everything one sandboxed organization holds."""

    seq: int = 0
    metrics: dict[str, Record] = field(default_factory=dict)
    plans: dict[str, Record] = field(default_factory=dict)
    taxes: dict[str, Record] = field(default_factory=dict)
    add_ons: dict[str, Record] = field(default_factory=dict)
    coupons: dict[str, Record] = field(default_factory=dict)
    applied_coupons: dict[str, Record] = field(default_factory=dict)
    customers: dict[str, Record] = field(default_factory=dict)
    subscriptions: dict[str, Record] = field(default_factory=dict)
    wallets: dict[str, Record] = field(default_factory=dict)
    wallet_transactions: dict[str, Record] = field(default_factory=dict)
    events: list[StoredEvent] = field(default_factory=list)
    event_seq: int = 0
    # events' lago_ids are this 10-byte prefix + a 6-byte counter: UUID-shaped, no per-event cost
    event_id_prefix: str = field(default_factory=lambda: uuid.uuid4().hex[:20])
    # plan lago_id -> epoch seconds when its asynchronous deletion completes
    pending_plan_deletions: dict[str, float] = field(default_factory=dict)
    # indexes rebuilt on load, never persisted
    event_keys: set[tuple[str, str]] = field(default_factory=set)
    events_by_txn: dict[str, StoredEvent] = field(default_factory=dict)
    events_by_sub: dict[str, list[StoredEvent]] = field(default_factory=dict)
    # collection -> (its size when indexed, external id -> lago_ids): a usage read of one of
    # 10,000 subscriptions finds it without scanning them all (benchmarks/impact_scale.py)
    external_ids: dict[str, tuple[int, dict[str, list[str]]]] = field(default_factory=dict)
    # when the earliest pending subscription starts (None: none pending), known until a write
    # request: the lazy "start due subscriptions" job then skips its scan on reads
    next_start: float | None = None
    next_start_known: bool = False
    dirty: bool = False

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    # ---- lookups by code / external id (non-deleted records only)
    def metric_by_code(self, code: str) -> Record | None:
        for metric in self.metrics.values():
            if metric["code"] == code:
                return metric
        return None

    def parent_plan_by_code(self, code: str) -> Record | None:
        for plan in self.plans.values():
            if plan["code"] == code and plan["parent_id"] is None and plan["deleted_at"] is None:
                return plan
        return None

    def live_plans(self) -> list[Record]:
        return [p for p in self.plans.values() if p["deleted_at"] is None]

    def tax_by_code(self, code: str) -> Record | None:
        for tax in self.taxes.values():
            if tax["code"] == code:
                return tax
        return None

    def customer_by_external_id(self, external_id: str) -> Record | None:
        for customer in self.with_external_id("customers", external_id):
            if customer["deleted_at"] is None:
                return customer
        return None

    def with_external_id(self, collection: str, external_id: str) -> list[Record]:
        """The records of ``collection`` (customers, subscriptions) with that external id, in
        insertion order. Indexed, re-indexed when the collection grows; a hit is checked
        against the record, a miss by a scan, so the answer is always the scan's."""
        records: dict[str, Record] = getattr(self, collection)
        size, index = self.external_ids.get(collection, (-1, {}))
        if size != len(records):
            index = {}
            for lago_id, record in records.items():
                index.setdefault(str(record["external_id"]), []).append(lago_id)
            self.external_ids[collection] = (len(records), index)
        found = [
            records[i]
            for i in index.get(external_id, ())
            if i in records and records[i]["external_id"] == external_id
        ]
        if found:
            return found
        found = [r for r in records.values() if r["external_id"] == external_id]
        if found:  # changed in place since indexed: index again next time
            self.external_ids.pop(collection, None)
        return found

    # ---- events
    def add_event(self, event: StoredEvent) -> None:
        self.events.append(event)
        sub = event[E_SUB] or ""
        self.event_keys.add((sub, event[E_TXN]))
        self.events_by_txn.setdefault(event[E_TXN], event)
        bucket = self.events_by_sub.get(sub)
        if bucket is None:
            self.events_by_sub[sub] = [event]
        else:
            bucket.append(event)

    def add_events(self, events: list[StoredEvent], keys: set[tuple[str, str]]) -> None:
        """Bulk :meth:`add_event` for a validated batch whose dedup keys are ``keys``."""
        self.events.extend(events)
        self.event_keys |= keys
        by_txn = self.events_by_txn
        by_sub = self.events_by_sub
        for event in events:
            if event[E_TXN] not in by_txn:
                by_txn[event[E_TXN]] = event
            sub = event[E_SUB] or ""
            bucket = by_sub.get(sub)
            if bucket is None:
                by_sub[sub] = [event]
            else:
                bucket.append(event)

    def event_id_head(self) -> str:
        """The fixed part of every event lago_id (``xxxxxxxx-xxxx-4xxx-yxxx-``)."""
        p = self.event_id_prefix
        return f"{p[:8]}-{p[8:12]}-{p[12:16]}-{p[16:20]}-"

    def event_lago_id(self, event: StoredEvent) -> str:
        return f"{self.event_id_head()}{event[E_SEQ]:012x}"

    # ---- persistence
    def to_doc(self, *, with_events: bool = True) -> dict[str, Any]:
        doc: dict[str, Any] = {"format": STATE_FORMAT, "seq": self.seq}
        for name in COLLECTIONS:
            doc[name] = list(getattr(self, name).values())
        if with_events:
            doc["events"] = [list(e) for e in self.events]
        doc["event_seq"] = self.event_seq
        doc["event_id_prefix"] = self.event_id_prefix
        doc["pending_plan_deletions"] = self.pending_plan_deletions
        return doc

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_doc())

    @classmethod
    def from_doc(cls, doc: Any, events: list[Any] | None = None) -> State:
        if not isinstance(doc, dict) or doc.get("format") != STATE_FORMAT:
            raise ValueError("not a lagoform sandbox state file (unknown format)")
        state = cls(seq=int(doc.get("seq", 0)))
        for name in COLLECTIONS:
            records = doc.get(name, [])
            setattr(state, name, {r["lago_id"]: r for r in records})
        state.event_seq = int(doc.get("event_seq", 0))
        state.event_id_prefix = str(doc.get("event_id_prefix", state.event_id_prefix))
        for event in doc.get("events", []) if events is None else events:
            state.add_event(tuple(event))
        state.pending_plan_deletions = dict(doc.get("pending_plan_deletions", {}))
        return state


def paginate(items: list[Any], query: dict[str, list[str]]) -> tuple[list[Any], Record]:
    """Kaminari-style pages as Lago serves them (API_NOTES §8), including the empty case."""
    page = _positive_int(query.get("page"), 1)
    per_page = _positive_int(query.get("per_page"), 100)
    total = len(items)
    total_pages = (total + per_page - 1) // per_page
    if total == 0:
        meta = {
            "current_page": 0,
            "next_page": None,
            "prev_page": None,
            "total_pages": 0,
            "total_count": 0,
        }
        return [], meta
    chunk = items[(page - 1) * per_page : page * per_page]
    out_of_range = page > total_pages
    meta = {
        "current_page": page,
        "next_page": page + 1 if page < total_pages else None,
        "prev_page": page - 1 if page > 1 and not out_of_range else None,
        "total_pages": total_pages,
        "total_count": total,
    }
    return chunk, meta


def _positive_int(values: list[str] | None, default: int) -> int:
    if not values:
        return default
    try:
        number = int(values[-1])
    except ValueError:
        return default
    return number if number > 0 else default


def newest_first(records: list[Record]) -> list[Record]:
    """Lago's default list order ``created_at DESC, id ASC``; our sequence stands in for µs time."""
    return sorted(records, key=lambda r: -int(r["_seq"]))
