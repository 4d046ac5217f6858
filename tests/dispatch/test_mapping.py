"""Usage record → Lago events: fan-out, zero quantities, targets, ids, and every rejection."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from lagoform.dispatch import mapping
from lagoform.dispatch.mapping import MAX_TRANSACTION_ID, RecordRejected, transaction_id
from tests.dispatch.fixtures import build_mapper, llm_record

MAPPER = build_mapper()


def _summary(events: list[dict[str, Any]]) -> list[tuple[str, str, Any]]:
    """(transaction_id, code, quantity-or-properties) per event, for compact tables."""
    out = []
    for e in events:
        props = dict(e["properties"])
        quantity = props.pop("tokens", None) or props.pop("user_id", None)
        out.append((e["transaction_id"], e["code"], quantity))
    return out


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # one event per non-zero (type, modality) count
        (
            {},
            [
                ("r:tokens.input.text", "token_usage", 100),
                ("r:tokens.output.text", "token_usage", 40),
            ],
        ),
        # zero count -> no event; missing newer field -> no event
        (
            {"usage": {"input": {"text": 0, "audio": 7}}},
            [("r:tokens.input.audio", "token_usage", 7)],
        ),
        # a record with no usage at all is valid and bills nothing
        ({"usage": {}}, []),
        ({"usage": None}, []),
        # newer field present: reasoning tokens
        (
            {"usage": {"reasoning": {"text": 5}}},
            [("r:tokens.reasoning.text", "token_usage", 5)],
        ),
        # repeat for a count metric: keys images#0..N-1
        (
            {"usage": {}, "images": 3},
            [
                ("r:images#0", "image_generation", None),
                ("r:images#1", "image_generation", None),
                ("r:images#2", "image_generation", None),
            ],
        ),
        ({"usage": {}, "images": 0}, []),
        # unique_count: the quantity path carries the value itself
        ({"usage": {}, "user_id": "u-7"}, [("r:users", "active_users", "u-7")]),
        # numeric text keeps its exact form (no float rounding)
        (
            {"usage": {"input": {"text": "0.000000000000000001"}}},
            [("r:tokens.input.text", "token_usage", "0.000000000000000001")],
        ),
        ({"usage": {"input": {"text": 2.5}}}, [("r:tokens.input.text", "token_usage", 2.5)]),
    ],
)
def test_fan_out(fields: dict[str, Any], expected: list[tuple[str, str, Any]]) -> None:
    record_id, events = MAPPER.map(llm_record("r", **fields))
    assert record_id == "r"
    assert _summary(events) == expected


def test_event_shape_and_properties() -> None:
    _, events = MAPPER.map(llm_record("r", usage={"reasoning": {"text": 5}}, model="atlas-2"))
    assert events == [
        {
            "transaction_id": "r:tokens.reasoning.text",
            "external_subscription_id": "globex-main",
            "code": "token_usage",
            "timestamp": 1767225600,
            # `$$raw` in the mapping is the literal text "$raw"
            "properties": {
                "model": "atlas-2",
                "type": "reasoning",
                "modality": "text",
                "note": "$raw",
                "tokens": 5,
            },
        }
    ]


@pytest.mark.parametrize(
    ("fields", "subscription"),
    [
        ({"subscription_id": "sub-explicit"}, "sub-explicit"),  # the record names it
        ({}, "globex-main"),  # the tenant's usage_target subscription
        ({"subscription_id": ""}, "globex-main"),  # empty -> fall back to the tenant
        ({"subscription_id": None, "tenant": "globex"}, "globex-main"),
        ({"subscription_id": "sub-x", "tenant": "nobody"}, "sub-x"),  # record wins
    ],
)
def test_target_subscription(fields: dict[str, Any], subscription: str) -> None:
    _, events = MAPPER.map(llm_record("r", **fields))
    assert {e["external_subscription_id"] for e in events} == {subscription}


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        (1767225600, 1767225600),
        (1767225600.25, 1767225600.25),
        ("1767225600", 1767225600),
        ("2026-01-01T00:00:00Z", 1767225600),
        ("2026-01-01T01:00:00+01:00", 1767225600),
        ("2026-01-01T00:00:00", 1767225600),  # no offset: UTC
        ("2026-01-01T00:00:00.5Z", 1767225600.5),
    ],
)
def test_timestamps(timestamp: Any, expected: float) -> None:
    _, events = MAPPER.map(llm_record("r", timestamp=timestamp))
    assert events[0]["timestamp"] == expected
    assert type(events[0]["timestamp"]) is type(expected)


def _without(record: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != key}


@pytest.mark.parametrize(
    ("record", "reason", "words"),
    [
        ([1, 2], "not_an_object", "JSON object"),
        (_without(llm_record("r"), "id"), "missing_id", "no id"),
        (llm_record(""), "missing_id", "no id"),
        (llm_record(True), "missing_id", "no id"),  # type: ignore[arg-type]
        (llm_record("r", type="llm.unknown"), "unknown_record_type", "llm.unknown"),
        (_without(llm_record("r"), "timestamp"), "missing_timestamp", "no timestamp"),
        (llm_record("r", timestamp="yesterday"), "invalid_timestamp", "yesterday"),
        (llm_record("r", timestamp=1767225600000), "invalid_timestamp", "milliseconds"),
        (llm_record("r", timestamp=-5), "invalid_timestamp", "out of range"),
        (llm_record("r", tenant="umbrella"), "unknown_tenant", "umbrella"),
        (llm_record("r", tenant="initech"), "unknown_tenant", "usage_target"),
        (llm_record("r", tenant=None), "missing_subscription", "no subscription"),
        (llm_record("r", model="gpt-9"), "filter_value_not_allowed", "gpt-9"),
        (_without(llm_record("r"), "model"), "missing_filter_value", "model"),
        (llm_record("r", usage={"input": {"text": "lots"}}), "invalid_quantity", "lots"),
        (llm_record("r", usage={"input": {"text": True}}), "invalid_quantity", "number"),
        (llm_record("r", usage={"input": {"text": [1]}}), "invalid_quantity", "number"),
        (llm_record("r", usage={"input": {"text": "NaN"}}), "invalid_quantity", "finite"),
        (llm_record("r", images=2.5), "invalid_quantity", "whole number"),
        (llm_record("r", images=-1), "invalid_quantity", "whole number"),
        (llm_record("r", images=10**6), "invalid_quantity", "limit"),
    ],
)
def test_rejections(record: Any, reason: str, words: str) -> None:
    with pytest.raises(RecordRejected) as caught:
        MAPPER.map(record)
    assert caught.value.reason == reason
    assert words in str(caught.value)


def test_malformed_json_is_rejected() -> None:
    with pytest.raises(RecordRejected) as caught:
        MAPPER.map_bytes(b'{"id": "r", "type": ')
    assert caught.value.reason == "malformed_json"
    record_id, events = MAPPER.map_bytes(orjson.dumps(llm_record("ok")))
    assert record_id == "ok" and len(events) == 2


def test_constant_quantity_and_tenant_only_mapping() -> None:
    record = {"id": 7, "type": "api.call", "timestamp": 1, "tenant": "globex", "region": "eu"}
    record_id, events = MAPPER.map(record)
    assert record_id == "7"
    assert events == [
        {
            "transaction_id": "7:calls",
            "external_subscription_id": "globex-main",
            "code": "api_calls",
            "timestamp": 1,
            "properties": {"model": "atlas-1", "region": "eu", "calls": 1},
        }
    ]
    # a non-filter property missing from the record is left out, not an error
    _, events = MAPPER.map({**record, "region": None} | {"id": 8})
    assert events[0]["properties"] == {"model": "atlas-1", "region": None, "calls": 1}
    _, events = MAPPER.map({k: v for k, v in record.items() if k != "region"})
    assert events[0]["properties"] == {"model": "atlas-1", "calls": 1}


def test_transaction_ids_are_deterministic_and_bounded() -> None:
    assert transaction_id("rec-1", "tokens.input.text") == "rec-1:tokens.input.text"
    long_id = "x" * 200
    hashed = transaction_id(long_id, "images#3")
    assert hashed.startswith("sha256:") and len(hashed) <= MAX_TRANSACTION_ID
    assert hashed == transaction_id(long_id, "images#3")
    assert hashed != transaction_id(long_id, "images#4")
    # the same record maps to the same ids in a fresh interpreter (no per-process salt)
    record = llm_record(long_id, images=2)
    _, events = MAPPER.map(record)
    code = (
        "import orjson,sys; from tests.dispatch.fixtures import build_mapper;"
        "print(orjson.dumps([e['transaction_id'] for e in "
        "build_mapper().map(orjson.loads(sys.stdin.buffer.read()))[1]]).decode())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=orjson.dumps(record),
        capture_output=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    assert orjson.loads(out.stdout) == [e["transaction_id"] for e in events]
    assert len({e["transaction_id"] for e in events}) == len(events)


FORBIDDEN_MODULES = {"uuid", "random", "secrets"}
FORBIDDEN_CALLS = {
    "uuid1",
    "uuid4",
    "getrandbits",
    "urandom",
    "token_hex",
    "token_bytes",
    "token_urlsafe",
    "randint",
    "choice",
    "time_ns",
    "utcnow",
}
# where ids are made, no clock at all
CLOCK_CALLS = {"time", "now", "today", "monotonic", "perf_counter"}


def _offenders(source: str, name: str, *, clock_free: bool) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + [getattr(node, "module", "") or ""]
            bad = [n for n in names if n.split(".")[0] in FORBIDDEN_MODULES]
            if clock_free and "time" in [n.split(".")[0] for n in names]:
                bad.append("time")
            if bad:
                found.append(f"{name}:{node.lineno}: imports {sorted(set(bad))}")
        elif isinstance(node, ast.Attribute | ast.Name):
            ident = node.attr if isinstance(node, ast.Attribute) else node.id
            if ident in FORBIDDEN_MODULES or ident in FORBIDDEN_CALLS:
                found.append(f"{name}:{node.lineno}: uses {ident}")
            elif clock_free and isinstance(node, ast.Attribute) and ident in CLOCK_CALLS:
                found.append(f"{name}:{node.lineno}: reads the clock ({ident})")
    return found


def test_no_random_or_time_based_ids_in_dispatch() -> None:
    """Dispatch must never mint ids from randomness or clocks: only from record ids and keys."""
    package = Path(mapping.__file__).parent
    offenders = []
    for path in sorted(package.rglob("*.py")):
        offenders += _offenders(path.read_text(), path.name, clock_free=path.name == "mapping.py")
    assert offenders == []


@pytest.mark.parametrize(
    ("source", "clock_free"),
    [
        ("import uuid\ntid = str(uuid.uuid4())", False),
        ("from uuid import uuid4\ntid = uuid4().hex", False),
        ("import random", False),
        ("import secrets\ntid = secrets.token_hex(8)", False),
        ("import os\ntid = os.urandom(8).hex()", False),
        ("import time\ntid = f'{time.time_ns()}'", False),
        ("import time\ntid = f'r:{time.time()}'", True),
        ("import datetime\ntid = datetime.datetime.now().isoformat()", True),
    ],
)
def test_scan_catches_random_and_clock_ids(source: str, clock_free: bool) -> None:
    """The scan above is not vacuous: it flags the usual ways to mint an id."""
    assert _offenders(source, "probe.py", clock_free=clock_free)
