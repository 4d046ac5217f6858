"""Sealing one audit line, and checking a line's seal over the bytes as they were written.

A line is the record's canonical JSON (sorted keys, no spaces, UTF-8) with ``prev_hash`` set,
then ``"hash"`` appended as its last field::

    {"action":"update",…,"prev_hash":"sha256:…","time":"…","hash":"sha256:<hex>"}

``hash`` covers the exact bytes before it (the canonical JSON, closed with ``}``). A keyed chain
uses HMAC-SHA256 with a secret key from an environment variable (``hmac-sha256:<hex>``): without
the key nobody can re-hash an edited log into a valid one. Since the bytes are hashed as
written, re-encoding (``\\u00e9`` for ``é``), a duplicated key, reordered keys or a CRLF line end
break the seal even when the JSON means the same.

Schema-version-1 lines (``hash`` inside the sorted keys, over the canonical JSON without it)
still verify; they must also be byte-for-byte the canonical JSON they parse to, which makes the
check byte-level for them too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from lagoform.audit.record import canonical_json

GENESIS = "sha256:" + "0" * 64
PLAIN = "sha256:"
KEYED = "hmac-sha256:"
MIN_KEY_BYTES = 16


def _digest(data: bytes, key: bytes | None) -> str:
    if key is None:
        return PLAIN + hashlib.sha256(data).hexdigest()
    return KEYED + hmac.new(key, data, hashlib.sha256).hexdigest()


def seal_line(
    body: Mapping[str, Any], prev_hash: str, key: bytes | None
) -> tuple[dict[str, Any], str]:
    """The sealed record and its exact line (without the newline)."""
    sealed = {k: v for k, v in body.items() if k not in ("prev_hash", "hash")}
    sealed["prev_hash"] = prev_hash
    head = canonical_json(sealed)
    value = _digest(head.encode(), key)
    sealed["hash"] = value
    return sealed, head[:-1] + ',"hash":' + json.dumps(value) + "}"


def legacy_hash(record: Mapping[str, Any]) -> str:
    """Version 1: sha256 over the canonical JSON of the record without ``hash``."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return _digest(canonical_json(body).encode(), None)


class KeyMissing(Exception):
    """A keyed line cannot be checked without the key."""


def seal_problem(raw: bytes, data: Mapping[str, Any], key: bytes | None) -> str | None:
    """Why the line ``raw`` (its bytes as read, without the newline) does not carry a valid
    seal for what it says; None when it does. Raises ``KeyMissing`` for a keyed line when no
    key is given."""
    stored = data.get("hash")
    if not isinstance(stored, str):
        return "has no hash"
    if raw.endswith(b"\r"):
        return "content was re-encoded: the line ends with a carriage return (CRLF)"
    if data.get("schema_version") == 1:
        if raw != canonical_json(data).encode():
            return "content was edited or re-encoded: it is not written as its canonical JSON"
        return None if stored == legacy_hash(data) else _EDITED
    suffix = b',"hash":' + json.dumps(stored).encode() + b"}"
    if not raw.endswith(suffix) or len(raw) <= len(suffix):
        return "content was edited or re-encoded: its hash is not the last field as written"
    head = raw[: -len(suffix)] + b"}"
    if stored.startswith(KEYED):
        if key is None:
            raise KeyMissing
        expected = _digest(head, key)
    elif stored.startswith(PLAIN):
        expected = _digest(head, None)
    else:
        return f"its hash {stored[:20]!r} is neither sha256 nor hmac-sha256"
    return None if hmac.compare_digest(expected, stored) else _EDITED


_EDITED = "content was edited: its hash does not match its content"
