"""Reading values out of usage records: record paths, quantities, timestamps, transaction ids.

Small pure functions the mapper calls per record. The paths of a mapping are compiled once
(``PathReader``) into one function that reads them all and returns ``MISSING`` (never raises)
where a field is absent or an intermediate is not an object.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
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


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class PathReader:
    """Every path one usage mapping reads, read by one generated function.

    ``slot`` registers a record path (or ``constant`` a value) and returns its index in the
    tuple ``build()``'s function returns. The function is straight-line code: each prefix the
    paths share (``$usage.input`` of ``$usage.input.text`` and ``$usage.input.audio``) is read
    once, with no call per path — it runs for every record, and the per-path getters it
    replaces cost the mapper about a third of its time. Its answers are ``compile_path``'s for
    any record parsed from JSON (a test drives both): an absent key, or a step into anything
    but an object (or, for a digit segment, a list), reads ``MISSING``; it never raises.
    """

    def __init__(self) -> None:
        self._slots: dict[Any, int] = {}
        self._items: list[tuple[str, ...] | tuple[None, Any]] = []

    def slot(self, path: str) -> int:
        try:
            keys = parse_record_path(path)
        except ValueError as err:
            raise DispatchError(f"usage mapping: {err}") from None
        return self._add(keys, keys)

    def constant(self, value: Any) -> int:
        return self._add((None, len(self._items)), (None, value))  # never shared

    def constant_or_path(self, value: str | Decimal | int | None) -> int | None:
        """A record path, or a constant written in the mapping (``quantity: 1``)."""
        if value is None:
            return None
        if is_record_path(value):
            return self.slot(str(value))
        return self.constant(_constant_value(value))

    def _add(self, key: Any, item: tuple[str, ...] | tuple[None, Any]) -> int:
        found = self._slots.get(key)
        if found is None:
            found = self._slots[key] = len(self._items)
            self._items.append(item)
        return found

    def build(self) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
        names: dict[tuple[str, ...], str] = {(): "record"}
        lines = ["def read(record):"]
        namespace: dict[str, Any] = {"MISSING": MISSING}
        results: list[str] = []
        for position, item in enumerate(self._items):
            if item and item[0] is None:
                namespace[f"c{position}"] = item[1]
                results.append(f"c{position}")
                continue
            keys = tuple(str(k) for k in item)
            for depth in range(1, len(keys) + 1):
                prefix = keys[:depth]
                if prefix in names:
                    continue
                parent, key = names[prefix[:-1]], prefix[-1]
                name = names[prefix] = f"n{len(names)}"
                read = f"{parent}.get({key!r}, MISSING) if type({parent}) is dict else "
                if key.isdigit():
                    index = int(key)
                    read += (
                        f"{parent}[{index}] if type({parent}) is list and "
                        f"{index} < len({parent}) else MISSING"
                    )
                else:
                    read += "MISSING"
                lines.append(f"    {name} = {read}")
            results.append(names[keys])
        lines.append(f"    return ({''.join(r + ', ' for r in results)})")
        exec("\n".join(lines), namespace)  # keys are repr()-quoted literals, nothing else
        reader: Callable[[Mapping[str, Any]], tuple[Any, ...]] = namespace["read"]
        return reader


def _constant_value(value: str | Decimal | int) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else decimal_text(value)
    return value


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
