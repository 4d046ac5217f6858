"""Usage record → Lago events: the catalog's usage mappings compiled into a fast mapper.

A record is a JSON object with an ``id``, a ``type``, a ``timestamp`` and numeric fields. Each
mapping (keyed by record type) fans one record out into zero or more events; every event's
``transaction_id`` is derived from the record id and the fan-out key only, so re-sending the
same record after a crash or a replay can never bill twice (Lago deduplicates on it).

A record that cannot be mapped raises ``RecordRejected`` with a short reason code and a message
naming the record; the caller dead-letters it and carries on. This module does no I/O. ``map``
runs for every record the worker sees, so it is written as one flat loop over compiled rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import orjson

from lagoform.catalog.models_usage import is_record_path, literal_value
from lagoform.dispatch.exact import exact_text, has_long_numbers, loads_exact, needs_text
from lagoform.dispatch.values import (
    MAX_TRANSACTION_ID,
    MAX_UNIX_SECONDS,
    MISSING,
    PathReader,
    hashed_id,
    quantity,
    repeat_count,
    transaction_id,
    unix_seconds,
)
from lagoform.errors import DispatchError

__all__ = [
    "MAX_TRANSACTION_ID",
    "Event",
    "Mapper",
    "RecordRejected",
    "mapper_for_project",
    "transaction_id",
]

Event = dict[str, Any]


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
    def defaults_for(self, event: Any) -> Mapping[str, Any]:
        """Property → the constant sent when the record lacks that property's value."""
        ...


# ---- compiled form ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Dynamic:
    """A property read from the record; ``allowed`` holds the metric's filter values;
    ``default`` is sent when the record lacks the value (``MISSING`` when there is none)."""

    name: str
    slot: int  # index in the mapping's PathReader tuple
    path: str
    allowed: frozenset[str] | None
    default: Any = MISSING


@dataclass(frozen=True)
class _Rule:
    key: str
    suffix: str  # ":" + key, appended to the record id
    code: str
    field_name: str | None
    numeric: bool
    quantity: int | None  # slots in the mapping's PathReader tuple
    quantity_path: str | None
    repeat: int | None
    repeat_path: str | None
    constants: Mapping[str, Any]
    dynamic: tuple[_Dynamic, ...]


@dataclass(frozen=True)
class _CompiledMapping:
    record_type: str
    read: Callable[[Mapping[str, Any]], tuple[Any, ...]]  # every path the rules read, at once
    subscription: int | None
    tenant: int | None
    rules: tuple[_Rule, ...]


def _compile_rule(
    rule: EventRuleLike,
    metrics: Mapping[str, MetricLike],
    where: str,
    defaults: Mapping[str, Any],
    reader: PathReader,
) -> _Rule:
    metric = metrics.get(rule.metric)
    if metric is None:
        raise DispatchError(f"{where}: unknown billable metric {rule.metric!r}")
    if ":" in rule.key or "#" in rule.key:
        # ':' separates record id and key in transaction ids, '#' numbers repeated events
        raise DispatchError(f"{where}: fan-out key {rule.key!r} must not contain ':' or '#'")
    constants: dict[str, Any] = {}
    dynamic: list[_Dynamic] = []
    for name, raw in rule.properties.items():
        filt = metric.filters.get(name)
        allowed = frozenset(str(v) for v in filt) if filt is not None else None
        if is_record_path(raw):
            default = defaults.get(name, MISSING)
            if default is not MISSING and allowed is not None:
                default = str(default)
                if default not in allowed:
                    raise DispatchError(
                        f"{where}: default {name}={default!r} is not a filter value of metric "
                        f"{metric.code}"
                    )
            dynamic.append(_Dynamic(name, reader.slot(raw), raw, allowed, default))
            continue
        value = literal_value(raw)
        if allowed is not None and str(value) not in allowed:
            raise DispatchError(
                f"{where}: property {name}={value!r} is not a filter value of metric {metric.code}"
            )
        constants[name] = value
    return _Rule(
        key=rule.key,
        suffix=":" + rule.key,
        code=metric.code,
        field_name=metric.field_name,
        numeric=metric.aggregation != "unique_count",
        quantity=reader.constant_or_path(rule.quantity),
        quantity_path=str(rule.quantity) if rule.quantity is not None else None,
        repeat=reader.constant_or_path(rule.repeat),
        repeat_path=str(rule.repeat) if rule.repeat is not None else None,
        constants=constants,
        dynamic=tuple(dynamic),
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
        self._mappings: dict[Any, _CompiledMapping] = {}
        for mapping in mappings:
            where = f"usage mapping {mapping.record_type}"
            reader = PathReader()
            subscription = reader.slot(mapping.subscription) if mapping.subscription else None
            tenant = reader.slot(mapping.tenant) if mapping.tenant else None
            rules = tuple(
                _compile_rule(r, by_code, where, mapping.defaults_for(r), reader)
                for r in mapping.events
            )
            self._mappings[mapping.record_type] = _CompiledMapping(
                mapping.record_type, reader.build(), subscription, tenant, rules
            )

    @property
    def record_types(self) -> frozenset[str]:
        return frozenset(self._mappings)

    def map_bytes(self, raw: bytes | str) -> tuple[str, list[Event]]:
        """Parse one JSON record and map it; returns (record id, events). Numbers orjson would
        round are read exactly (``exact``)."""
        data = raw.encode() if isinstance(raw, str) else raw
        try:
            record = loads_exact(data) if has_long_numbers(data) else orjson.loads(data)
        except (ValueError, RecursionError) as err:  # JSONDecodeError is a ValueError
            raise RecordRejected("malformed_json", f"not valid JSON: {err}") from None
        return self.map(record)

    def map(self, record: Any) -> tuple[str, list[Event]]:
        """One record → (record id, events). Raises ``RecordRejected``."""
        if type(record) is not dict:
            raise RecordRejected("not_an_object", "a usage record must be a JSON object")
        rid = record.get("id")
        if type(rid) is not str or not rid:
            if type(rid) is not int:
                raise RecordRejected("missing_id", "the record has no id (a non-empty string)")
            rid = str(rid)
        mapping = self._mappings.get(record.get("type"))
        if mapping is None:
            known = ", ".join(sorted(self._mappings)) or "none"
            raise RecordRejected(
                "unknown_record_type",
                f"unknown record type {record.get('type')!r} (mapped types: {known})",
                rid,
            )
        ts = record.get("timestamp", MISSING)
        if type(ts) is not int or not 0 <= ts < MAX_UNIX_SECONDS:
            if ts is MISSING:
                raise RecordRejected("missing_timestamp", "the record has no timestamp", rid)
            try:
                ts = unix_seconds(ts)
            except ValueError as err:
                raise RecordRejected("invalid_timestamp", str(err), rid) from None
        values = mapping.read(record)
        subscription = self._subscription(mapping, values, rid)
        events: list[Event] = []
        for rule in mapping.rules:
            q: Any = None
            if rule.quantity is not None:
                raw = values[rule.quantity]
                if raw is MISSING or raw is None:
                    continue  # absent: this record bills nothing for this rule
                if type(raw) is int and rule.numeric and raw.bit_length() < 63:
                    if raw == 0:
                        continue
                    q = raw
                else:
                    q = self._slow_quantity(rule, raw, rid)
                    if q is None:
                        continue
            count = 1
            if rule.repeat is not None:
                count = self._repeat_count(rule, values[rule.repeat], rid)
                if count == 0:
                    continue
            properties = dict(rule.constants)
            for dyn in rule.dynamic:
                value = values[dyn.slot]
                if dyn.allowed is not None:
                    if type(value) is not str or value not in dyn.allowed:
                        value = self._filter_value(dyn, value, rule.code, rid)
                elif value is MISSING or value is None:
                    if dyn.default is not MISSING:
                        value = dyn.default
                    elif value is MISSING:
                        continue
                elif needs_text(value):  # a number read exactly: it travels as text
                    value = exact_text(value)
                properties[dyn.name] = value
            if q is not None and rule.field_name is not None:
                properties[rule.field_name] = q
            if rule.repeat is not None:
                for i in range(count):
                    events.append(
                        {
                            "transaction_id": transaction_id(rid, f"{rule.key}#{i}"),
                            "external_subscription_id": subscription,
                            "code": rule.code,
                            "timestamp": ts,
                            "properties": dict(properties),
                        }
                    )
                continue
            tid = rid + rule.suffix
            events.append(
                {
                    "transaction_id": tid if len(tid) <= MAX_TRANSACTION_ID else hashed_id(tid),
                    "external_subscription_id": subscription,
                    "code": rule.code,
                    "timestamp": ts,
                    "properties": properties,
                }
            )
        return rid, events

    def _subscription(self, mapping: _CompiledMapping, values: tuple[Any, ...], rid: str) -> str:
        if mapping.subscription is not None:
            value = values[mapping.subscription]
            if type(value) is str and value:
                return value
            if type(value) is int:
                return str(value)
        if mapping.tenant is not None:
            tenant = values[mapping.tenant]
            if tenant is MISSING or tenant is None or tenant == "":
                raise RecordRejected(
                    "missing_subscription", "the record names no subscription or tenant", rid
                )
            if not isinstance(tenant, str) or tenant not in self._tenants:
                raise RecordRejected("unknown_tenant", f"unknown tenant {tenant!r}", rid)
            target = self._tenants[tenant]
            if target is None:
                raise RecordRejected(
                    "unknown_tenant",
                    f"tenant {tenant!r} has no subscription marked usage_target",
                    rid,
                )
            return target
        raise RecordRejected("missing_subscription", "the record names no subscription", rid)

    @staticmethod
    def _slow_quantity(rule: _Rule, raw: Any, rid: str) -> Any:
        if not rule.numeric:  # unique_count: the "quantity" is the value itself
            return None if raw is MISSING or raw is None or raw == "" else raw
        try:
            return quantity(raw)
        except ValueError as err:
            raise RecordRejected("invalid_quantity", f"{rule.quantity_path}: {err}", rid) from None

    @staticmethod
    def _filter_value(dyn: _Dynamic, value: Any, code: str, rid: str) -> str:
        assert dyn.allowed is not None
        if value is MISSING or value is None:
            if dyn.default is not MISSING:
                return str(dyn.default)
            raise RecordRejected(
                "missing_filter_value",
                f"filter property {dyn.name!r} ({dyn.path}) is missing "
                f"(a `defaults: {{{dyn.name}: ...}}` in the mapping bills such records)",
                rid,
            )
        text: str = value if type(value) is str else str(value)
        if text not in dyn.allowed:
            raise RecordRejected(
                "filter_value_not_allowed",
                f"{dyn.name}={text!r} is not a filter value of metric {code} "
                f"(allowed: {', '.join(sorted(dyn.allowed))})",
                rid,
            )
        return text

    @staticmethod
    def _repeat_count(rule: _Rule, raw: Any, rid: str) -> int:
        if raw is MISSING or raw is None:
            return 0
        try:
            return repeat_count(raw)
        except ValueError as err:
            raise RecordRejected("invalid_quantity", f"{rule.repeat_path}: {err}", rid) from None


def mapper_for_project(project: Any) -> Mapper:
    """The mapper for a loaded ``lagoform.catalog.project.Project`` (catalog + tenants)."""
    tenants: dict[str, str | None] = {}
    for tenant in project.tenants:
        target = tenant.usage_target
        tenants[tenant.external_id] = target.external_id if target is not None else None
    return Mapper(project.catalog.usage_mappings, project.catalog.billable_metrics, tenants)
