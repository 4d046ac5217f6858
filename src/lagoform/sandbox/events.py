"""Events: single and batch ingestion (§7.2, §7.3) — per-subscription ``transaction_id`` dedup,
100-event atomic batches with errors keyed by index, unknown codes accepted — plus reads.

This is the sandbox's hot path: validation is inlined and events are stored as tuples.
"""

from __future__ import annotations

from typing import Any

from lagoform.sandbox import expression
from lagoform.sandbox.api_errors import invalid, not_found, validation
from lagoform.sandbox.numbers import decimal_text, lenient_decimal, scalar_text
from lagoform.sandbox.request import Request
from lagoform.sandbox.state import (
    E_CODE,
    E_CREATED,
    E_PRECISE,
    E_PROPS,
    E_SEQ,
    E_SUB,
    E_TS,
    E_TXN,
    Record,
    State,
    StoredEvent,
    iso,
    iso_ms,
    paginate,
    parse_iso,
)

MAX_BATCH = 100


def serialize(state: State, event: StoredEvent) -> Record:
    return {
        "lago_id": state.event_lago_id(event),
        "transaction_id": event[E_TXN],
        "lago_customer_id": None,
        "code": event[E_CODE],
        "timestamp": iso_ms(event[E_TS]),
        "precise_total_amount_cents": event[E_PRECISE],
        "properties": event[E_PROPS],
        "lago_subscription_id": None,
        "external_subscription_id": event[E_SUB],
        "created_at": iso(event[E_CREATED]),
    }


def _build(
    state: State, raw: Any, now: float, expressions: dict[str, tuple[str, expression.Node]]
) -> StoredEvent | dict[str, list[str]] | str:
    """A validated event (not yet stored), its field errors, or Lago's message for an expression
    that cannot be evaluated (``expression_evaluation_failed: Variable: b not found``)."""
    if type(raw) is not dict:
        return {"event": ["value_is_invalid"]}
    txn = raw.get("transaction_id")
    code = raw.get("code")
    stamp = raw.get("timestamp")
    properties = raw.get("properties")
    # Fast path: the shape every well-behaved client sends.
    if (
        type(txn) is str
        and txn
        and type(code) is str
        and code
        and (type(stamp) is int or type(stamp) is float)
        and (properties is None or type(properties) is dict)
        and code not in expressions
        and raw.get("precise_total_amount_cents") is None
    ):
        timestamp = float(stamp)
        properties = properties if properties is not None else {}
    else:
        errors: dict[str, list[str]] = {}
        if txn is None or txn == "" or isinstance(txn, dict | list):
            errors["transaction_id"] = ["value_is_mandatory"]
        if code is None or code == "" or isinstance(code, dict | list):
            errors["code"] = ["value_is_mandatory"]
        timestamp = now
        if stamp is not None and stamp != "":
            if isinstance(stamp, bool):
                errors["timestamp"] = ["invalid_format"]
            else:
                try:
                    timestamp = float(stamp)  # numbers or numeric strings ("1651240791.123")
                except (TypeError, ValueError):
                    errors["timestamp"] = ["invalid_format"]
        if properties is None:
            properties = {}
        elif not isinstance(properties, dict):
            errors["properties"] = ["value_is_invalid"]
        code = "" if "code" in errors else str(scalar_text(code))
        compiled = expressions.get(code)
        if compiled is not None and "timestamp" not in errors and isinstance(properties, dict):
            # Lago evaluates the expression before its field checks (events/create_service.rb).
            computed = _computed(*compiled, code, timestamp, properties)
            if isinstance(computed, str):
                return computed
            properties = computed
        if errors:
            return errors
    sub = raw.get("external_subscription_id")
    precise = raw.get("precise_total_amount_cents")
    state.event_seq += 1
    return (
        state.event_seq,
        txn if type(txn) is str else str(scalar_text(txn)),
        code,
        timestamp,
        properties,
        sub if sub is None or type(sub) is str else str(scalar_text(sub)),
        # a decimal column: "123.45" stays, 123 reads "123.0", "asdfa" reads "0.0"
        None if precise is None else decimal_text(lenient_decimal(precise)),
        now,
    )


def _computed(
    field_name: str, node: expression.Node, code: str, timestamp: float, properties: Record
) -> Record | str:
    """The properties with the expression's result under ``field_name``, or Lago's message."""
    try:
        value = expression.evaluate(node, code, int(timestamp), properties)
    except expression.ExpressionError as exc:
        return f"expression_evaluation_failed: {exc}"
    return {**properties, field_name: expression.to_json_value(value)}


def expression_result(state: State, metric: Record, properties: Record, now: float) -> Record | str:
    """An incoming event's properties once its metric's expression is computed (or the failure
    message Lago answers), as event creation and fee estimates compute it."""
    if not metric["expression"] or not metric["field_name"]:
        return properties
    node = expression.parse(metric["expression"])
    return _computed(metric["field_name"], node, metric["code"], now, properties)


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
    if isinstance(built, dict | str):
        raise validation(built)
    if (built[E_SUB] or "", built[E_TXN]) in state.event_keys:
        raise invalid("transaction_id", "value_already_exist")
    state.add_event(built)
    return {"event": serialize(state, built)}


def create_batch(req: Request) -> Record:
    doc = req.json()
    raw = doc.get("events") if isinstance(doc, dict) else None
    if not isinstance(raw, list) or not raw:
        # Lago permits `events` as an array and checks it for blankness, never requiring it.
        raise invalid("events", "no_events")
    if len(raw) > MAX_BATCH:
        raise invalid("events", "too_many_events")
    state = req.state
    now = req.now
    expressions = _expressions(state)
    seq = seq_before = state.event_seq
    errors: dict[str, Any] = {}
    accepted: list[StoredEvent] = []
    seen: set[tuple[str, str]] = set()
    known = state.event_keys
    for index, item in enumerate(raw):
        # Inlined fast path for the usual well-formed event; anything else goes to _build.
        if type(item) is dict:
            txn = item.get("transaction_id")
            code = item.get("code")
            stamp = item.get("timestamp")
            properties = item.get("properties")
            sub = item.get("external_subscription_id")
            if (
                type(txn) is str
                and txn
                and type(code) is str
                and code
                and (type(stamp) is int or type(stamp) is float)
                and (type(properties) is dict or properties is None)
                and (sub is None or type(sub) is str)
                and code not in expressions
                and "precise_total_amount_cents" not in item
            ):
                key = (sub or "", txn)
                if key in known or key in seen:
                    errors[str(index)] = {"transaction_id": ["value_already_exist"]}
                    continue
                seen.add(key)
                seq += 1
                accepted.append((seq, txn, code, float(stamp), properties or {}, sub, None, now))
                continue
        state.event_seq = seq
        built = _build(state, item, now, expressions)
        seq = state.event_seq
        if isinstance(built, dict | str):
            errors[str(index)] = built
            continue
        key = (built[E_SUB] or "", built[E_TXN])
        if key in known or key in seen:
            errors[str(index)] = {"transaction_id": ["value_already_exist"]}
            continue
        seen.add(key)
        accepted.append(built)
    if errors:
        state.event_seq = seq_before  # whole batch rolled back
        raise validation(errors)
    state.event_seq = seq
    state.add_events(accepted, seen)
    return {"events": serialize_many(state, accepted, now)}


def serialize_many(state: State, events: list[StoredEvent], now: float) -> list[Record]:
    """Batch form of :func:`serialize`: shared parts (id head, created_at, repeated
    timestamps) are formatted once."""
    head = state.event_id_head()
    created = iso(now)
    stamps: dict[float, str] = {}
    out: list[Record] = []
    for e in events:
        stamp = stamps.get(e[E_TS])
        if stamp is None:
            stamp = stamps[e[E_TS]] = iso_ms(e[E_TS])
        out.append(
            {
                "lago_id": f"{head}{e[E_SEQ]:012x}",
                "transaction_id": e[E_TXN],
                "lago_customer_id": None,
                "code": e[E_CODE],
                "timestamp": stamp,
                "precise_total_amount_cents": e[E_PRECISE],
                "properties": e[E_PROPS],
                "lago_subscription_id": None,
                "external_subscription_id": e[E_SUB],
                "created_at": created,
            }
        )
    return out


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
        if (code is None or e[E_CODE] == code)
        and (low is None or e[E_TS] >= low)
        and (high is None or e[E_TS] <= high)
    ]
    chosen.sort(key=lambda e: (-e[E_TS], -e[E_SEQ]))
    items, meta = paginate(chosen, req.query)
    return {"events": [serialize(state, e) for e in items], "meta": meta}


def _stamp(value: str | None) -> float | None:
    if value is None:
        return None
    parsed = parse_iso(value)
    if parsed is None:
        raise invalid("timestamp", "invalid_date")
    return parsed
