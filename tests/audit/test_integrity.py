"""Audit integrity (issue 15): seals over the bytes as written, a keyed chain, a pinned head,
corrupt lines reported instead of crashing, and no record added to a broken chain."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from lagoform.audit.chain import read_records, unsettled_intents, verify_file
from lagoform.audit.seal import seal_line
from lagoform.audit.sinks import JsonlFileSink, StdoutSink
from lagoform.audit.trail import AuditTrail
from lagoform.cli import _register, root
from lagoform.errors import AuditError
from tests.audit.helpers import change, context, file_trail

_register()
KEY = b"a-long-random-audit-chain-key-0123"


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(root, list(args), env=env)


def write(path: Path, n: int = 2, key: bytes | None = None, key_name: str = "café") -> list[bytes]:
    sink = JsonlFileSink(path)
    with AuditTrail(context(), [sink], key=key) as trail:
        for i in range(n):
            rid = trail.intent(change("plan", f"{key_name}-{i}"), {"method": "PUT", "path": "/p"})
            trail.outcome(rid, True, 200, None, {"plan": {"code": f"p{i}"}})
    return path.read_bytes().splitlines()


def problems(path: Path, **kw: Any) -> list[tuple[int | None, str]]:
    return [(p.line, p.message) for p in verify_file(path, **kw).problems]


# -- the bytes as written ---------------------------------------------------------------------


def _same_json_other_bytes(line: bytes) -> dict[str, bytes]:
    text = line.decode()
    data = json.loads(text)
    head, _, _ = text.rpartition(',"hash":')
    return {
        # json.loads keeps the last of two equal keys: the record reads the same
        "duplicate key": text.replace('{"action":', '{"actor":"mallory","action":', 1).encode(),
        "re-encoded": text.replace("é", "\\u00e9").encode(),
        "crlf": line + b"\r",
        "spaces": json.dumps(data).encode(),  # same content, other serialization
        "reordered": (
            head.replace('"action":"update",', "")
            + ',"action":"update","hash":'
            + json.dumps(data["hash"])
            + "}"
        ).encode(),
    }


@pytest.mark.parametrize("how", ["duplicate key", "re-encoded", "crlf", "spaces", "reordered"])
def test_a_change_of_bytes_is_detected_even_when_the_json_reads_the_same(
    log_path: Path, how: str
) -> None:
    lines = write(log_path)
    assert verify_file(log_path).ok
    variant = _same_json_other_bytes(lines[0])[how]
    if how in ("re-encoded", "spaces", "reordered"):  # the content itself is unchanged
        assert json.loads(variant) == json.loads(lines[0])
    log_path.write_bytes(b"\n".join([variant, *lines[1:]]) + b"\n")
    found = problems(log_path)
    assert found and found[0][0] == 1, found
    assert "content was" in found[0][1]


def test_version_1_lines_still_verify_byte_for_byte(log_path: Path) -> None:
    from lagoform.audit.record import canonical_json
    from lagoform.audit.seal import GENESIS, legacy_hash

    record = json.loads(write(log_path, 1)[0])
    record.update(schema_version=1, prev_hash=GENESIS)
    record.pop("hash")
    record["hash"] = legacy_hash(record)
    log_path.write_text(canonical_json(record) + "\n")
    assert verify_file(log_path).ok
    log_path.write_text(json.dumps(record) + "\n")  # the same record, re-serialized
    assert "not written as its canonical JSON" in problems(log_path)[0][1]


# -- keyed chain and pinned head --------------------------------------------------------------


def test_a_keyed_chain_cannot_be_rehashed_without_the_key(log_path: Path) -> None:
    lines = write(log_path, key=KEY)
    assert all(json.loads(x)["hash"].startswith("hmac-sha256:") for x in lines)
    report = verify_file(log_path, key=KEY)
    assert report.ok and report.keyed == len(lines)
    # without the key nothing can be checked: that is a failure, not a pass
    assert "cannot be checked without the key" in problems(log_path)[0][1]
    assert "content was edited" in problems(log_path, key=b"another-key-of-16-bytes")[0][1]
    # an attacker edits a record and re-seals the whole file without the key
    forged: list[str] = []
    prev = json.loads(lines[0])["prev_hash"]
    for index, raw in enumerate(lines):
        record = json.loads(raw)
        if index == 1:
            record["object_key"] = "forged"
        sealed, line = seal_line(record, prev, None)
        forged.append(line)
        prev = sealed["hash"]
    log_path.write_text("\n".join(forged) + "\n")
    assert verify_file(log_path).ok  # a keyless chain cannot tell...
    found = problems(log_path, key=KEY)  # ...the key can, on every record
    assert len(found) == len(lines) and all("is not keyed" in m for _, m in found)


def test_a_pinned_head_catches_a_cut_tail_and_a_rehashed_log(log_path: Path) -> None:
    lines = write(log_path, n=3)
    head = json.loads(lines[-1])["hash"]
    assert verify_file(log_path, expect_head=head).head_line == len(lines)
    log_path.write_bytes(b"\n".join(lines[:-2]) + b"\n")  # the last call cut away
    assert verify_file(log_path).ok  # the documented limit of a plain chain
    [(line, message)] = problems(log_path, expect_head=head)
    assert line is None and "records were cut from its end, or the log was re-hashed" in message
    # the log grows after the pin: still fine
    write(log_path.with_name("other.jsonl"))
    log_path.write_bytes(b"\n".join(lines) + b"\n")
    more = JsonlFileSink(log_path)
    with AuditTrail(context(), [more]) as trail:
        trail.check()
        trail.outcome(
            trail.intent(change(), {"method": "PUT", "path": "/x"}), True, 200, None, None
        )
    assert verify_file(log_path, expect_head=head).ok


def test_cli_verify_with_key_and_expect_head(log_path: Path, tmp_path: Path) -> None:
    lines = write(log_path, key=KEY)
    head = json.loads(lines[-1])["hash"]
    env = {"AUDIT_KEY": KEY.decode()}
    ok = run("audit", "verify", str(log_path), "--key-env", "AUDIT_KEY", "--expect-head", head,
             env=env)  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert f"{len(lines)} keyed, chain intact" in ok.stdout and "pinned head" in ok.stdout
    assert KEY.decode() not in ok.output
    cut = run("audit", "verify", str(log_path), "--key-env", "AUDIT_KEY", "--expect-head",
              "sha256:" + "0" * 63 + "1", env=env)  # fmt: skip
    assert cut.exit_code == 1 and "is not in this log" in cut.stdout
    nokey = run("audit", "verify", str(log_path), "--key-env", "AUDIT_KEY", env={})
    assert nokey.exit_code == 1 and "AUDIT_KEY is not set" in nokey.stderr


# -- corrupt lines ----------------------------------------------------------------------------

CORRUPT = {
    "non-UTF-8": b'{"action":"caf\xe9"}',
    "NaN": b'{"schema_version": NaN}',
    "deep": b"[" * 100_000 + b"]" * 100_000,
    "5000 digits": b'{"pull_request": ' + b"9" * 5000 + b"}",
    "huge": b'{"x":"' + b"y" * (5 * 1024 * 1024) + b'"}',
}


@pytest.mark.parametrize("kind", sorted(CORRUPT))
def test_a_corrupt_line_is_reported_never_a_crash(log_path: Path, kind: str) -> None:
    lines = write(log_path)
    log_path.write_bytes(b"\n".join([lines[0], CORRUPT[kind], *lines[1:]]) + b"\n")
    line, message = problems(log_path)[0]
    assert line == 2 and ("not a JSON" in message or "not UTF-8" in message or "longer" in message)
    for args in (["audit", "verify", str(log_path)], ["audit", "show", str(log_path)],
                 ["audit", "show", "--pending", str(log_path)]):  # fmt: skip
        result = run(*args)
        assert result.exit_code == 1, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert f"{log_path}:2" in result.output
    with pytest.raises(AuditError, match=f"{log_path}:2"):
        read_records(log_path)
    with pytest.raises(AuditError, match=f"{log_path}:2"):
        unsettled_intents(log_path)


# -- never extend a broken chain; sinks checked before anything is sent ------------------------


def test_the_trail_refuses_to_extend_a_broken_chain(log_path: Path) -> None:
    lines = write(log_path)
    record = json.loads(lines[0])
    record["actor"] = "mallory"
    log_path.write_bytes(b"\n".join([json.dumps(record).encode(), *lines[1:]]) + b"\n")
    with file_trail(log_path) as trail, pytest.raises(AuditError) as info:
        trail.check()
    assert "fails verification" in str(info.value) and "will not add records" in str(info.value)
    assert log_path.read_bytes().count(b"\n") == len(lines)  # nothing appended


def test_a_keyed_chain_refuses_records_without_its_key_or_on_an_unkeyed_log(
    log_path: Path,
) -> None:
    write(log_path)  # an unkeyed log
    trail = AuditTrail(context(), [JsonlFileSink(log_path)], key=KEY)
    with trail, pytest.raises(AuditError, match="is not keyed"):
        trail.check()


@pytest.mark.parametrize("kind", ["directory", "fifo", "device"])
def test_a_log_path_that_is_not_a_regular_file_is_refused(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "audit.jsonl"
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path = Path("/dev/null")
    sink = JsonlFileSink(path)
    with pytest.raises(AuditError, match=f"is a {kind}|is a FIFO|is a device"):
        sink.check()
    sink.close()


def test_a_closed_stdout_is_refused_before_any_call() -> None:
    import io

    closed = io.StringIO()
    closed.close()
    with pytest.raises(AuditError, match="standard output is closed"):
        StdoutSink(closed).check()
    StdoutSink(io.StringIO()).check()  # an open stream is fine


def test_apply_with_stdout_closed_stops_before_anything_is_sent(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.engine.e2e_helpers import example_project

    project = example_project(tmp_path)
    (project / "lagoform.yaml").write_text(
        "version: 1\naudit:\n  sinks:\n    - kind: jsonl\n      path: audit/{env}.jsonl\n"
        "    - kind: stdout\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "lagoform", "apply", "--auto-approve", "--root", str(project)],
        preexec_fn=lambda: os.close(1),  # `lagoform apply >&-`
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "standard output is closed" in done.stderr and "Traceback" not in done.stderr
    assert (project / "audit" / "sandbox.jsonl").read_text() == ""  # no intent: nothing sent
    state = project / ".lagoform" / "sandbox.json"  # the sandbox saves only what changed
    assert not state.exists() or not json.loads(state.read_text()).get("plans")
