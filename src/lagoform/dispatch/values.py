"""Reading values out of usage records: record paths, quantities, timestamps, transaction ids.

Small pure functions the mapper calls per record. Paths are compiled once into getters that
return ``MISSING`` (never raise) when a field is absent or an intermediate is not an object;
the common shapes (one to three plain keys) get straight-line getters because they run for
every fan-out rule of every record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from lagoform.catalog.models_usage import is_record_path, parse_record_path
from lagoform.catalog.money import decimal_text
from lagoform.catalog.numbers import extent_problem
from lagoform.dispatch.exact import exact_text, needs_text
from lagoform.errors import DispatchError

# Lago stores transaction ids as plain strings; beyond this length the readable form is
# replaced by its sha256 (still deterministic) so no downstream column or log line overflows.
MAX_TRANSACTION_ID = 100
# A record asking for millions of count events is almost certainly a bug upstream.
MAX_REPEAT = 10_000
# Unix seconds above this are far-future dates: the producer almost certainly sent milliseconds.
MAX_UNIX_SECONDS = 100_000_000_000

Getter = Callable[[Mapping[str, Any]], Any]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def compile_path(path: str) -> Getter:
    """``$usage.input.text`` → a function reading that value from a record (or ``MISSING``).

    A segment of digits also indexes a list (``$items.0.count``).
    """
    try:
        keys = parse_record_path(path)
    except ValueError as err:
        raise DispatchError(f"usage mapping: {err}") from None
    if any(k.isdigit() for k in keys) or len(keys) > 3:
        return _walker(keys)
    if len(keys) == 1:
        (k0,) = keys
        return lambda record: record.get(k0, MISSING)
    if len(keys) == 2:
        k0, k1 = keys

        def get2(record: Mapping[str, Any]) -> Any:
            try:
                return record.get(k0, _EMPTY).get(k1, MISSING)
            except AttributeError:  # an intermediate value is not an object
                return MISSING

        return get2
    k0, k1, k2 = keys

    def get3(record: Mapping[str, Any]) -> Any:
        try:
            return record.get(k0, _EMPTY).get(k1, _EMPTY).get(k2, MISSING)
        except AttributeError:
            return MISSING

    return get3


def _walker(keys: tuple[str, ...]) -> Getter:
    def get(record: Mapping[str, Any]) -> Any:
        node: Any = record
        for key in keys:
            if isinstance(node, dict):
                node = node.get(key, MISSING)
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                return MISSING
            if node is MISSING:
                return MISSING
        return node

    return get


def constant_or_path(value: str | Decimal | int | None) -> Getter | None:
    """A record path, or a constant written in the mapping (``quantity: 1``)."""
    if value is None:
        return None
    if is_record_path(value):
        return compile_path(str(value))
    constant: Any = value
    if isinstance(value, Decimal):
        constant = int(value) if value == value.to_integral_value() else decimal_text(value)
    return lambda record: constant


def transaction_id(record_id: str, key: str) -> str:
    """Deterministic id of one fan-out event: readable when short, sha256 when long."""
    readable = f"{record_id}:{key}"
    if len(readable) <= MAX_TRANSACTION_ID:
        return readable
    return hashed_id(readable)


def hashed_id(readable: str) -> str:
    return "sha256:" + hashlib.sha256(readable.encode()).hexdigest()


def unix_seconds(value: Any) -> int | float:
    """A record timestamp (unix seconds, numeric text or ISO-8601) as Lago's unix seconds."""
    if type(value) is int and 0 <= value < MAX_UNIX_SECONDS:
        return value
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
    elif isinstance(value, int | float | Decimal):
        seconds = float(value)
    else:
        raise ValueError("expected unix seconds or an ISO-8601 time")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"timestamp out of range: {value!r}")
    if seconds >= MAX_UNIX_SECONDS:
        raise ValueError(f"timestamp {value!r} looks like milliseconds; send unix seconds")
    whole = int(seconds)
    return whole if whole == seconds else round(seconds, 6)


def quantity(value: Any) -> int | float | str | None:
    """A numeric quantity as Lago takes it, or None for 'no usage' (missing or zero).

    Exact end to end: an integer past 64 bits and a decimal read exactly (``exact``) become
    decimal text, and so does numeric text (kept as written); every number must stay within
    lagoform's extent (``catalog.numbers``: 40 digits, exponents ±40)."""
    kind = type(value)
    if kind is int:
        if not needs_text(value):
            return value or None
        value = Decimal(value)  # past 64 bits: checked and sent as text, like a Decimal
        kind = Decimal
    if value is MISSING or value is None:
        return None
    if kind is Decimal:
        problem = extent_problem(value)
        if problem:
            raise ValueError(problem)
        return None if value.is_zero() else exact_text(value)
    if kind is float:
        if not math.isfinite(value):
            raise ValueError(f"expected a finite number, got {value!r}")
        return value or None
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"expected a number, got {value!r}") from None
        problem = extent_problem(number)
        if problem:
            raise ValueError(problem)
        return None if number == 0 else value.strip()  # keep the text: no float rounding
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, int | float):  # subclasses of int/float other than bool
        return quantity(float(value) if isinstance(value, float) else int(value))
    raise ValueError(f"expected a number, got {kind.__name__}")


def repeat_count(value: Any) -> int:
    """How many events ``repeat`` asks for (0 for missing or zero)."""
    number = quantity(value)
    if number is None:
        return 0
    count = Decimal(str(number))
    if count != count.to_integral_value() or count < 0:
        raise ValueError(f"expected a whole number of events, got {value!r}")
    if count > MAX_REPEAT:
        raise ValueError(f"{count} events from one record exceeds the limit of {MAX_REPEAT}")
    return int(count)
