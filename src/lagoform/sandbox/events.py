"""Events: single and batch ingestion (§7.2, §7.3) — per-subscription ``transaction_id`` dedup,
100-event atomic batches with errors keyed by index, unknown codes accepted — plus reads.

This is the sandbox's hot path: validation is inlined and events are stored as tuples.
"""

from __future__ import annotations

from typing import Any

from lagoform.sandbox import expression
from lagoform.sandbox.api_errors import invalid, not_found, param_missing, validation
from lagoform.sandbox.request import Request
from lagoform.sandbox.state import Record, State, StoredEvent, iso, iso_ms, paginate, parse_iso

MAX_BATCH = 100


def serialize(state: State, event: StoredEvent) -> Record:
    return {
        "lago_id": state.event_lago_id(event),
        "transaction_id": event.transaction_id,
        "lago_customer_id": None,
        "code": event.code,
        "timestamp": iso_ms(event.timestamp),
        "precise_total_amount_cents": event.precise_total_amount_cents,
        "properties": event.properties,
        "lago_subscription_id": None,
        "external_subscription_id": event.external_subscription_id,
        "created_at": iso(event.created_at),
    }


def _build(
    state: State, raw: Any, now: float, expressions: dict[str, tuple[str, expression.Node]]
) -> StoredEvent | dict[str, list[str]]:
    """A validated event (not yet stored), or its field errors."""
    if not isinstance(raw, dict):
        return {"event": ["value_is_invalid"]}
    errors: dict[str, list[str]] = {}
    txn = raw.get("transaction_id")
    code = raw.get("code")
    if txn is None or txn == "" or isinstance(txn, dict | list):
        errors["transaction_id"] = ["value_is_mandatory"]
    if code is None or code == "" or isinstance(code, dict | list):
        errors["code"] = ["value_is_mandatory"]
    stamp = raw.get("timestamp")
    if stamp is None or stamp == "":
        timestamp = now
    elif isinstance(stamp, int | float) and not isinstance(stamp, bool):
        timestamp = float(stamp)
    else:
        try:
            timestamp = float(stamp)  # numeric strings like "1651240791.123"
        except (TypeError, ValueError):
            errors["timestamp"] = ["invalid_format"]
            timestamp = now
    properties = raw.get("properties")
    if properties is None:
        properties = {}
    elif not isinstance(properties, dict):
        errors["properties"] = ["value_is_invalid"]
    if errors:
        return errors
    code = str(code)
    compiled = expressions.get(code)
    if compiled is not None:
        field_name, node = compiled
        try:
            value = expression.evaluate(node, code, timestamp, properties)
        except expression.ExpressionError:
            return {"properties": ["invalid_expression"]}
        properties = {**properties, field_name: expression.to_json_value(value)}
    sub = raw.get("external_subscription_id")
    precise = raw.get("precise_total_amount_cents")
    state.event_seq += 1
    return StoredEvent(
        state.event_seq,
        str(txn),
        code,
        timestamp,
        properties,
        None if sub is None else str(sub),
        None if precise is None else str(precise),
        now,
    )


def _expressions(state: State) -> dict[str, tuple[str, expression.Node]]:
    out: dict[str, tuple[str, expression.Node]] = {}
    for metric in state.metrics.values():
        if metric["expression"] and metric["field_name"]:
            out[metric["code"]] = (metric["field_name"], expression.parse(metric["expression"]))
    return out


def create(req: Request) -> Record:
    body = req.root("event")
    state = req.state
    built = _build(state, body, req.now, _expressions(state))
    if isinstance(built, dict):
        raise validation(built)
    if (built.external_subscription_id or "", built.transaction_id) in state.event_keys:
        raise invalid("transaction_id", "value_already_exist")
    state.add_event(built)
    return {"event": serialize(state, built)}


def create_batch(req: Request) -> Record:
    doc = req.json()
    raw = doc.get("events") if isinstance(doc, dict) else None
    if not isinstance(raw, list) or not raw:
        raise param_missing("events")
    if len(raw) > MAX_BATCH:
        raise invalid("events", "too_many_events")
    state = req.state
    expressions = _expressions(state)
    seq_before = state.event_seq
    errors: dict[str, Any] = {}
    accepted: list[StoredEvent] = []
    seen: set[tuple[str, str]] = set()
    known = state.event_keys
    for index, item in enumerate(raw):
        built = _build(state, item, req.now, expressions)
        if isinstance(built, dict):
            errors[str(index)] = built
            continue
        key = (built.external_subscription_id or "", built.transaction_id)
        if key in known or key in seen:
            errors[str(index)] = {"transaction_id": ["value_already_exist"]}
            continue
        seen.add(key)
        accepted.append(built)
    if errors:
        state.event_seq = seq_before  # whole batch rolled back
        raise validation(errors)
    for event in accepted:
        state.add_event(event)
    return {"events": [serialize(state, e) for e in accepted]}


def show(req: Request) -> Record:
    event = req.state.events_by_txn.get(req.params["transaction_id"])
    if event is None:
        raise not_found("event")
    return {"event": serialize(req.state, event)}


def index(req: Request) -> Record:
    state = req.state
    sub = req.arg("external_subscription_id")
    pool = state.events_by_sub.get(sub, []) if sub is not None else state.events
    code = req.arg("code")
    low = _stamp(req.arg("timestamp_from"))
    high = _stamp(req.arg("timestamp_to"))
    chosen = [
        e
        for e in pool
        if (code is None or e.code == code)
        and (low is None or e.timestamp >= low)
        and (high is None or e.timestamp <= high)
    ]
    chosen.sort(key=lambda e: (-e.timestamp, -e.seq))
    items, meta = paginate(chosen, req.query)
    return {"events": [serialize(state, e) for e in items], "meta": meta}


def _stamp(value: str | None) -> float | None:
    if value is None:
        return None
    parsed = parse_iso(value)
    if parsed is None:
        raise invalid("timestamp", "invalid_date")
    return parsed
