"""Usage record → Lago events: the catalog's usage mappings compiled into a fast mapper.

A record is a JSON object with an ``id``, a ``type``, a ``timestamp`` and numeric fields. Each
mapping (keyed by record type) fans one record out into zero or more events; every event's
``transaction_id`` is derived from the record id and the fan-out key only, so re-sending the
same record after a crash or a replay can never bill twice (Lago deduplicates on it).

A record that cannot be mapped raises ``RecordRejected`` with a short reason code and a message
naming the record; the caller dead-letters it and carries on. This module does no I/O.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import orjson

from lagoform.catalog.models_usage import is_record_path, literal_value, parse_record_path
from lagoform.catalog.money import decimal_text
from lagoform.errors import DispatchError

# Lago stores transaction ids as plain strings; beyond this length the readable form is
# replaced by its sha256 (still deterministic) so no downstream column or log line overflows.
MAX_TRANSACTION_ID = 100
# A record asking for millions of count events is almost certainly a bug upstream.
MAX_REPEAT = 10_000
# Unix seconds above this are far-future dates: the producer almost certainly sent milliseconds.
MAX_UNIX_SECONDS = 100_000_000_000

Event = dict[str, Any]
Getter = Callable[[Mapping[str, Any]], Any]
_MISSING: Any = object()


class RecordRejected(Exception):
    """A usage record that cannot become Lago events; it goes to the dead-letter store."""

    def __init__(self, reason: str, message: str, record_id: str | None = None) -> None:
        self.reason = reason
        self.message = message
        self.record_id = record_id
        super().__init__(message)

    def __str__(self) -> str:
        where = f"record {self.record_id}: " if self.record_id else ""
        return f"{where}{self.message}"


# ---- what the mapper needs from the catalog (A's pydantic models satisfy these) -------------


class MetricLike(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def aggregation(self) -> str: ...
    @property
    def field_name(self) -> str | None: ...
    @property
    def filters(self) -> Mapping[str, Sequence[str]]: ...


class EventRuleLike(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def metric(self) -> str: ...
    @property
    def quantity(self) -> str | Decimal | None: ...
    @property
    def repeat(self) -> str | int | None: ...
    @property
    def properties(self) -> Mapping[str, Any]: ...


class UsageMappingLike(Protocol):
    @property
    def record_type(self) -> str: ...
    @property
    def subscription(self) -> str | None: ...
    @property
    def tenant(self) -> str | None: ...
    @property
    def events(self) -> Sequence[EventRuleLike]: ...


# ---- record paths ---------------------------------------------------------------------------


def compile_path(path: str) -> Getter:
    """``$usage.input.text`` → a function reading that value from a record (or ``_MISSING``).

    A segment of digits also indexes a list (``$items.0.count``).
    """
    try:
        keys = parse_record_path(path)
    except ValueError as err:
        raise DispatchError(f"usage mapping: {err}") from None
    if len(keys) == 1:
        only = keys[0]
        return lambda record: record.get(only, _MISSING)

    def get(record: Mapping[str, Any]) -> Any:
        node: Any = record
        for key in keys:
            if isinstance(node, dict):
                node = node.get(key, _MISSING)
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                return _MISSING
            if node is _MISSING:
                return _MISSING
        return node

    return get


def _constant_getter(value: Any) -> Getter:
    return lambda record: value


def _getter(value: str | Decimal | int | None) -> Getter | None:
    """A record path, or a constant written in the mapping (``quantity: 1``)."""
    if value is None:
        return None
    if is_record_path(value):
        return compile_path(str(value))
    if isinstance(value, Decimal):
        constant: Any = int(value) if value == value.to_integral_value() else decimal_text(value)
        return _constant_getter(constant)
    return _constant_getter(value)


def transaction_id(record_id: str, key: str) -> str:
    """Deterministic id of one fan-out event: readable when short, sha256 when long."""
    readable = f"{record_id}:{key}"
    if len(readable) <= MAX_TRANSACTION_ID:
        return readable
    return "sha256:" + hashlib.sha256(readable.encode()).hexdigest()


def unix_seconds(value: Any) -> int | float:
    """A record timestamp (unix seconds, numeric text or ISO-8601) as Lago's unix seconds."""
    if isinstance(value, bool) or value is None:
        raise ValueError("expected unix seconds or an ISO-8601 time")
    if isinstance(value, str):
        text = value.strip()
        try:
            seconds: float = float(Decimal(text))
        except InvalidOperation:
            try:
                moment = dt.datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(f"not an ISO-8601 time or unix seconds: {value!r}") from None
            if moment.tzinfo is None:  # documented: a time without offset is UTC
                moment = moment.replace(tzinfo=dt.UTC)
            seconds = moment.timestamp()
    elif isinstance(value, int | float):
        seconds = float(value)
    else:
        raise ValueError("expected unix seconds or an ISO-8601 time")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"timestamp out of range: {value!r}")
    if seconds >= MAX_UNIX_SECONDS:
        raise ValueError(f"timestamp {value!r} looks like milliseconds; send unix seconds")
    whole = int(seconds)
    return whole if whole == seconds else round(seconds, 6)


def _quantity(value: Any) -> int | float | str | None:
    """A numeric quantity as Lago takes it, or None for 'no usage' (missing or zero)."""
    if value is _MISSING or value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, int):
        return value or None
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"expected a finite number, got {value!r}")
        return value or None
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"expected a number, got {value!r}") from None
        if not number.is_finite():
            raise ValueError(f"expected a finite number, got {value!r}")
        return None if number == 0 else value.strip()  # keep the text: no float rounding
    raise ValueError(f"expected a number, got {type(value).__name__}")


def _repeat(value: Any) -> int:
    if value is _MISSING or value is None:
        return 0
    number = _quantity(value)
    if number is None:
        return 0
    count = Decimal(str(number))
    if count != count.to_integral_value() or count < 0:
        raise ValueError(f"expected a whole number of events, got {value!r}")
    if count > MAX_REPEAT:
        raise ValueError(f"{count} events from one record exceeds the limit of {MAX_REPEAT}")
    return int(count)


# ---- compiled form ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Property:
    name: str
    constant: Any  # used when getter is None
    getter: Getter | None
    path: str | None
    allowed: frozenset[str] | None  # the metric's filter values, when name is a filter key


@dataclass(frozen=True)
class _EventRule:
    key: str
    code: str
    field_name: str | None
    numeric: bool
    quantity: Getter | None
    quantity_path: str | None
    repeat: Getter | None
    repeat_path: str | None
    properties: tuple[_Property, ...]


@dataclass(frozen=True)
class _CompiledMapping:
    record_type: str
    subscription: Getter | None
    tenant: Getter | None
    rules: tuple[_EventRule, ...]


def _compile_rule(rule: EventRuleLike, metrics: Mapping[str, MetricLike], where: str) -> _EventRule:
    metric = metrics.get(rule.metric)
    if metric is None:
        raise DispatchError(f"{where}: unknown billable metric {rule.metric!r}")
    if ":" in rule.key or "#" in rule.key:
        # ':' separates record id and key in transaction ids, '#' numbers repeated events
        raise DispatchError(f"{where}: fan-out key {rule.key!r} must not contain ':' or '#'")
    props: list[_Property] = []
    for name, raw in rule.properties.items():
        filt = metric.filters.get(name)
        allowed = frozenset(str(v) for v in filt) if filt is not None else None
        if is_record_path(raw):
            props.append(_Property(name, None, compile_path(raw), raw, allowed))
            continue
        value = literal_value(raw)
        if allowed is not None and str(value) not in allowed:
            raise DispatchError(
                f"{where}: property {name}={value!r} is not a filter value of metric {metric.code}"
            )
        props.append(_Property(name, value, None, None, allowed))
    return _EventRule(
        key=rule.key,
        code=metric.code,
        field_name=metric.field_name,
        numeric=metric.aggregation != "unique_count",
        quantity=_getter(rule.quantity),
        quantity_path=str(rule.quantity) if rule.quantity is not None else None,
        repeat=_getter(rule.repeat),
        repeat_path=str(rule.repeat) if rule.repeat is not None else None,
        properties=tuple(props),
    )


class Mapper:
    """Maps usage records to Lago events. Built once per worker; ``map`` is the hot path."""

    def __init__(
        self,
        mappings: Iterable[UsageMappingLike],
        metrics: Iterable[MetricLike],
        tenants: Mapping[str, str | None],
    ) -> None:
        """``tenants``: tenant id → external id of its ``usage_target`` subscription (or None)."""
        by_code = {m.code: m for m in metrics}
        self._tenants = dict(tenants)
        self._mappings: dict[str, _CompiledMapping] = {}
        for mapping in mappings:
            where = f"usage mapping {mapping.record_type}"
            self._mappings[mapping.record_type] = _CompiledMapping(
                record_type=mapping.record_type,
                subscription=compile_path(mapping.subscription) if mapping.subscription else None,
                tenant=compile_path(mapping.tenant) if mapping.tenant else None,
                rules=tuple(_compile_rule(r, by_code, where) for r in mapping.events),
            )

    @property
    def record_types(self) -> frozenset[str]:
        return frozenset(self._mappings)

    def map_bytes(self, raw: bytes | str) -> tuple[str, list[Event]]:
        """Parse one JSON record and map it; returns (record id, events)."""
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError as err:
            raise RecordRejected("malformed_json", f"not valid JSON: {err}") from None
        return self.map(record)

    def map(self, record: Any) -> tuple[str, list[Event]]:
        if not isinstance(record, dict):
            raise RecordRejected("not_an_object", "a usage record must be a JSON object")
        rid = record.get("id")
        if isinstance(rid, bool) or not isinstance(rid, str | int) or rid == "":
            raise RecordRejected("missing_id", "the record has no id (a non-empty string)")
        record_id = str(rid)
        mapping = self._mappings.get(record.get("type"))  # type: ignore[arg-type]
        if mapping is None:
            known = ", ".join(sorted(self._mappings)) or "none"
            raise RecordRejected(
                "unknown_record_type",
                f"unknown record type {record.get('type')!r} (mapped types: {known})",
                record_id,
            )
        if "timestamp" not in record:
            raise RecordRejected("missing_timestamp", "the record has no timestamp", record_id)
        try:
            timestamp = unix_seconds(record["timestamp"])
        except ValueError as err:
            raise RecordRejected("invalid_timestamp", str(err), record_id) from None
        subscription = self._subscription(mapping, record, record_id)
        events: list[Event] = []
        for rule in mapping.rules:
            self._fan_out(rule, record, record_id, subscription, timestamp, events)
        return record_id, events

    def _subscription(
        self, mapping: _CompiledMapping, record: Mapping[str, Any], record_id: str
    ) -> str:
        if mapping.subscription is not None:
            value = mapping.subscription(record)
            if isinstance(value, str | int) and not isinstance(value, bool) and value != "":
                return str(value)
        if mapping.tenant is not None:
            tenant = mapping.tenant(record)
            if tenant is _MISSING or tenant is None or tenant == "":
                raise RecordRejected(
                    "missing_subscription", "the record names no subscription or tenant", record_id
                )
            if not isinstance(tenant, str) or tenant not in self._tenants:
                raise RecordRejected("unknown_tenant", f"unknown tenant {tenant!r}", record_id)
            target = self._tenants[tenant]
            if target is None:
                raise RecordRejected(
                    "unknown_tenant",
                    f"tenant {tenant!r} has no subscription marked usage_target",
                    record_id,
                )
            return target
        raise RecordRejected("missing_subscription", "the record names no subscription", record_id)

    def _fan_out(
        self,
        rule: _EventRule,
        record: Mapping[str, Any],
        record_id: str,
        subscription: str,
        timestamp: int | float,
        out: list[Event],
    ) -> None:
        quantity: Any = None
        if rule.quantity is not None:
            raw = rule.quantity(record)
            if rule.numeric:
                try:
                    quantity = _quantity(raw)
                except ValueError as err:
                    raise RecordRejected(
                        "invalid_quantity", f"{rule.quantity_path}: {err}", record_id
                    ) from None
            else:
                quantity = None if raw is _MISSING or raw in (None, "") else raw
            if quantity is None:
                return  # zero or absent: this record bills nothing for this rule
        count = 1
        if rule.repeat is not None:
            try:
                count = _repeat(rule.repeat(record))
            except ValueError as err:
                raise RecordRejected(
                    "invalid_quantity", f"{rule.repeat_path}: {err}", record_id
                ) from None
            if count == 0:
                return
        properties: dict[str, Any] = {}
        for prop in rule.properties:
            if prop.getter is None:
                properties[prop.name] = prop.constant
                continue
            value = prop.getter(record)
            if prop.allowed is not None:
                if value is _MISSING or value is None:
                    raise RecordRejected(
                        "missing_filter_value",
                        f"filter property {prop.name!r} ({prop.path}) is missing",
                        record_id,
                    )
                value = value if isinstance(value, str) else str(value)
                if value not in prop.allowed:
                    raise RecordRejected(
                        "filter_value_not_allowed",
                        f"{prop.name}={value!r} is not a filter value of metric {rule.code} "
                        f"(allowed: {', '.join(sorted(prop.allowed))})",
                        record_id,
                    )
            elif value is _MISSING:
                continue
            properties[prop.name] = value
        if rule.field_name is not None and quantity is not None:
            properties[rule.field_name] = quantity
        if rule.repeat is None:
            out.append(self._event(record_id, rule.key, subscription, rule, timestamp, properties))
            return
        for i in range(count):
            key = f"{rule.key}#{i}"
            out.append(self._event(record_id, key, subscription, rule, timestamp, properties))

    @staticmethod
    def _event(
        record_id: str,
        key: str,
        subscription: str,
        rule: _EventRule,
        timestamp: int | float,
        properties: dict[str, Any],
    ) -> Event:
        return {
            "transaction_id": transaction_id(record_id, key),
            "external_subscription_id": subscription,
            "code": rule.code,
            "timestamp": timestamp,
            "properties": dict(properties),
        }


def mapper_for_project(project: Any) -> Mapper:
    """The mapper for a loaded ``lagoform.catalog.project.Project`` (catalog + tenants)."""
    tenants: dict[str, str | None] = {}
    for tenant in project.tenants:
        target = tenant.usage_target
        tenants[tenant.external_id] = target.external_id if target is not None else None
    return Mapper(project.catalog.usage_mappings, project.catalog.billable_metrics, tenants)
