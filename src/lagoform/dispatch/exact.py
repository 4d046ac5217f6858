"""Numbers in usage records, kept exact from the producer to Lago.

orjson (the hot path) reads a JSON number into a float or a 64-bit integer: an integer past
2**64 becomes a float and a decimal with more than ~15 significant digits loses some
(``12345678901234567890123`` → ``1.2345678901234568e+22``; ``1e-999`` → ``0.0``). So a record
whose bytes hold a run of 16 or more digits/points or a 3-digit exponent (``has_long_numbers``,
one C regex scan) is read again by
``loads_exact``: a number a float holds exactly stays a float (the record maps exactly as on the
fast path), any other becomes a ``Decimal`` (an integer stays a Python ``int``, whatever its
size). ``exact_text`` is how such a number travels on: a decimal string, as text quantities
already do. ``split_array`` cuts a JSON array body into the exact bytes of its items, so the
ingest endpoint stores what the producer sent, and ``dumps_exact`` writes records handed over
by the Python API (Decimals and big integers included) without a float in between.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from lagoform.catalog.money import decimal_text

# Digits and points become "1", e/E "2", signs "3", everything else "0": then 16+ digits or
# points in a row, or an exponent of 3 digits (orjson turns 1e-999 into 0.0, 1e400 into an
# error), are plain substring searches — cheaper per record than a regex (it runs per record).
_CLASSES = bytes(
    ord("1") if chr(c) in "0123456789." else ord("2") if chr(c) in "eE"
    else ord("3") if chr(c) in "+-" else ord("0")
    for c in range(256)
)  # fmt: skip
_RUN = b"1" * 16
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_INT64 = 1 << 63


def has_long_numbers(raw: bytes) -> bool:
    """Might orjson round a number in ``raw``? (False positives only cost a slower parse.)"""
    classes = raw.translate(_CLASSES)
    return _RUN in classes or b"2111" in classes or b"23111" in classes


def _float(text: str) -> float | Decimal:
    try:
        exact = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a number: {text[:40]}") from None
    value = float(text)
    if value == value and abs(value) != float("inf") and Decimal(repr(value)) == exact:
        return value
    return exact


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(parse_float=_float, parse_constant=_constant)


def loads_exact(raw: bytes | str) -> Any:
    """Parse JSON keeping every number exact. Raises ValueError (or RecursionError)."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    return _DECODER.decode(text)


def exact_text(value: Decimal | int) -> str:
    """A number orjson cannot carry exactly, as the decimal string Lago reads exactly."""
    return str(value) if isinstance(value, int) else decimal_text(value)


def needs_text(value: Any) -> bool:
    """Is ``value`` a number that must travel as text (a Decimal, or an integer past 64 bits)?"""
    kind = type(value)
    return kind is Decimal or (kind is int and not -_INT64 <= value < 2 * _INT64)


def split_array(body: bytes) -> list[bytes]:
    """The exact bytes of each item of a JSON array. Raises ValueError when it is not one."""
    text = body.decode("utf-8")
    index = _WHITESPACE.match(text, 0).end()  # type: ignore[union-attr]
    if text[index : index + 1] != "[":
        raise ValueError("expected a JSON array")
    items: list[bytes] = []
    index = _WHITESPACE.match(text, index + 1).end()  # type: ignore[union-attr]
    if text[index : index + 1] == "]":
        index += 1
    else:
        while True:
            _, end = _DECODER.raw_decode(text, index)
            items.append(text[index:end].encode())
            index = _WHITESPACE.match(text, end).end()  # type: ignore[union-attr]
            sep = text[index : index + 1]
            index = _WHITESPACE.match(text, index + 1).end()  # type: ignore[union-attr]
            if sep == "]":
                break
            if sep != ",":
                raise ValueError(f"expected ',' or ']' at character {index}")
    if text[index:].strip():
        raise ValueError("extra data after the JSON array")
    return items


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return exact_text(value)
    raise TypeError(f"cannot write a {type(value).__name__} into a usage record")


def dumps_exact(record: Any) -> bytes:
    """JSON bytes of a record; Decimals become decimal strings, big integers stay exact."""
    try:
        return orjson.dumps(record, default=_default)
    except orjson.JSONEncodeError:  # an integer past 64 bits: the standard library writes it
        return json.dumps(record, default=_default, separators=(",", ":")).encode()
