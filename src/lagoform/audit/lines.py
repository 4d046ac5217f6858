"""Reading audit log lines as bytes, so that no line — however corrupt — can crash a reader.

A line that is not UTF-8, holds NaN or Infinity, nests 100,000 levels deep, carries a
5,000-digit number or runs to megabytes is *reported* (``decode_line`` returns why), never
raised: ``audit verify``, ``audit show``, plan and apply all read logs through here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MAX_LINE_BYTES = 4 * 1024 * 1024  # a record is a few KiB; an override diff a few hundred


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def decode_line(raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """(the JSON object of a line, None) or (None, why it is not one)."""
    if len(raw) > MAX_LINE_BYTES:
        return None, f"longer than {MAX_LINE_BYTES // (1024 * 1024)} MiB: not an audit record"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        column = len(raw[: err.start].decode("utf-8", errors="replace")) + 1
        return None, f"not UTF-8 (byte 0x{raw[err.start]:02x} at column {column})"
    if not text.strip():
        return None, "blank line inside the log"
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        return None, "not a JSON record (nested too deeply)"
    except json.JSONDecodeError as err:
        return None, f"not a JSON record ({err.msg})"
    except ValueError as err:  # e.g. NaN, or an integer longer than Python will read
        return None, f"not a JSON record ({str(err)[:80]})"
    if not isinstance(data, dict):
        return None, "not a JSON object"
    return data, None


def raw_lines(path: Path) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, bytes without the newline, whether a newline ended it) for every line."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            ended = raw.endswith(b"\n")
            yield number, raw[:-1] if ended else raw, ended
