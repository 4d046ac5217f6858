"""Sinks: the Loki push format against a real local HTTP server, retries, the JSON Lines file."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from lagoform.audit.record import time_ns
from lagoform.audit.sinks import LOKI_PUSH_PATH, JsonlFileSink, LokiSink, StdoutSink
from lagoform.audit.trail import AuditTrail
from lagoform.errors import AuditError
from tests.audit.helpers import Clock, FakeLoki, change, context, file_trail

LABELS = {"app": "lagoform", "environment": "staging"}
RECORD = {"time": "2026-05-01T12:00:00.123456Z", "phase": "intent"}


def test_push_format_and_labels(loki: FakeLoki, log_path: Path) -> None:
    sink = LokiSink(loki.url, LABELS, sleep=lambda s: None)
    with file_trail(log_path, sink) as trail:
        rid = trail.intent(change(), {"method": "PUT", "path": "/plans/pro"})
        trail.outcome(rid, True, 200, None, None)
    written = log_path.read_text().splitlines()
    assert len(loki.requests) == 2
    for request, line in zip(loki.requests, written, strict=True):
        assert request["path"] == LOKI_PUSH_PATH
        assert request["content_type"] == "application/json"
        body = request["body"]
        assert list(body) == ["streams"] and len(body["streams"]) == 1
        stream = body["streams"][0]
        assert stream["stream"] == LABELS
        [[stamp, pushed]] = stream["values"]
        assert isinstance(stamp, str) and stamp.isdigit()
        assert pushed == line  # the exact chained line, so Loki holds a verifiable copy
        assert int(stamp) == time_ns(json.loads(line))


def test_time_ns_is_exact() -> None:
    assert time_ns(RECORD) == 1777636800123456000


def test_retries_after_a_500_then_succeeds(loki: FakeLoki) -> None:
    loki.statuses = [500, 503]
    sleeps: list[float] = []
    sink = LokiSink(loki.url, LABELS, attempts=4, backoff=0.1, sleep=sleeps.append)
    sink.write(RECORD, '{"phase":"intent"}')
    sink.close()
    assert len(loki.requests) == 3
    assert sleeps == [0.1, 0.2]
    assert loki.requests[0]["body"] == loki.requests[2]["body"]


def test_client_error_is_not_retried(loki: FakeLoki) -> None:
    loki.statuses = [400]
    sink = LokiSink(loki.url, LABELS, sleep=lambda s: None)
    with pytest.raises(AuditError, match="refused the record: HTTP 400: server says no"):
        sink.write(RECORD, "{}")
    assert len(loki.requests) == 1


def test_gives_up_after_bounded_attempts_without_showing_credentials(loki: FakeLoki) -> None:
    loki.statuses = [500] * 10
    url = loki.url.replace("http://", "http://ops:s3cret-token@")
    sink = LokiSink(url, LABELS, attempts=3, sleep=lambda s: None)
    with pytest.raises(AuditError, match="after 3 attempts") as caught:
        sink.write(RECORD, "{}")
    assert len(loki.requests) == 3
    assert "s3cret-token" not in str(caught.value)
    assert loki.requests[0]["authorization"].startswith("Basic ")  # credentials still used


def test_timeout_is_retried_then_fails(loki: FakeLoki) -> None:
    loki.delay = 0.5
    sink = LokiSink(loki.url, LABELS, timeout=0.1, attempts=2, sleep=lambda s: None)
    started = time.monotonic()
    with pytest.raises(AuditError, match="ReadTimeout"):
        sink.write(RECORD, "{}")
    assert time.monotonic() - started < 2.0
    assert len(loki.requests) == 2


def test_refusing_loki_stops_apply_before_the_mutation(loki: FakeLoki) -> None:
    loki.statuses = [400]
    mutated = []
    trail = AuditTrail(context(), [LokiSink(loki.url, LABELS, sleep=lambda s: None)], clock=Clock())
    with pytest.raises(AuditError, match="nothing was sent to Lago"):
        trail.guarded(change(), {"method": "PUT", "path": "/plans/pro"}, lambda: mutated.append(1))
    trail.close()
    assert mutated == []


def test_push_url_may_already_name_the_endpoint(loki: FakeLoki) -> None:
    sink = LokiSink(loki.url + LOKI_PUSH_PATH, LABELS)
    sink.write(RECORD, "{}")
    assert loki.requests[0]["path"] == LOKI_PUSH_PATH


def test_bad_label_name_is_refused() -> None:
    with pytest.raises(AuditError, match="label names"):
        LokiSink("http://127.0.0.1:9", {"bad-name": "x"})


def test_file_sink_appends_and_fsyncs(log_path: Path) -> None:
    sink = JsonlFileSink(log_path)
    sink.write({}, '{"a":1}')
    sink.write({}, '{"b":2}')
    sink.close()
    assert log_path.read_text() == '{"a":1}\n{"b":2}\n'


def test_file_tail_hash_reads_a_long_last_line(log_path: Path) -> None:
    long_line = json.dumps({"hash": "sha256:" + "a" * 64, "pad": "x" * 200_000})
    log_path.parent.mkdir(parents=True)
    log_path.write_text('{"hash":"first"}\n' + long_line + "\n")
    sink = JsonlFileSink(log_path)
    with sink.locked():
        assert sink.tail_hash() == "sha256:" + "a" * 64
    sink.close()


def test_stdout_sink_refuses_a_closed_stream() -> None:
    import io

    stream = io.StringIO()
    stream.close()
    with pytest.raises(AuditError, match="stdout"):
        StdoutSink(stream).write({}, "{}")
