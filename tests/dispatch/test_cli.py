"""The `lagoform dispatch` commands that need no Lago: send, status, dlq list/show, errors."""

from __future__ import annotations

from pathlib import Path

import orjson
from click.testing import CliRunner

from lagoform.cli import LagoformGroup
from lagoform.cli.dispatch import dispatch
from lagoform.dispatch.spool import Spool

CLI = LagoformGroup(name="lagoform", commands={"dispatch": dispatch})


def test_send_from_file_and_stdin_then_status_and_dlq(tmp_path: Path) -> None:
    spool = tmp_path / "spool.db"
    usage = tmp_path / "usage.jsonl"
    usage.write_bytes(b'{"id": "a", "type": "t"}\n{broken\n{"id": "b", "type": "t"}\n')
    runner = CliRunner()
    result = runner.invoke(CLI, ["dispatch", "send", str(usage), "--spool", str(spool)])
    assert result.exit_code == 0, result.output
    assert "enqueued 2 records" in result.stdout and "1 dead-lettered" in result.stdout
    assert "usage.jsonl line 2: not valid JSON" in result.stderr

    result = runner.invoke(
        CLI, ["dispatch", "send", "-", "--spool", str(spool)], input='{"id": "c"}\n[3]\n'
    )
    assert result.exit_code == 0 and "enqueued 1 records" in result.stdout
    with Spool(spool) as s:
        assert s.backlog() == 3

    result = runner.invoke(CLI, ["dispatch", "status", "--spool", str(spool)])
    assert "backlog 3 records; 2 dead letters" in result.stdout

    result = runner.invoke(CLI, ["dispatch", "dlq", "list", "--spool", str(spool)])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and "malformed_json" in lines[0] and "not_an_object" in lines[1]
    letter_id = lines[0].split()[0]

    result = runner.invoke(CLI, ["dispatch", "dlq", "show", letter_id, "--spool", str(spool)])
    shown = orjson.loads(result.stdout)
    assert shown["record"] == "{broken" and shown["reason"] == "malformed_json"
    assert shown["error"].startswith("line 2:")


def test_errors_are_messages_not_tracebacks(tmp_path: Path) -> None:
    runner = CliRunner()
    spool = str(tmp_path / "spool.db")
    result = runner.invoke(CLI, ["dispatch", "dlq", "show", "42", "--spool", spool])
    assert result.exit_code == 1 and "no dead letter with id 42" in result.stderr
    result = runner.invoke(
        CLI, ["dispatch", "send", str(tmp_path / "nope.jsonl"), "--spool", spool]
    )
    assert result.exit_code != 0 and "Traceback" not in result.output
    result = runner.invoke(CLI, ["dispatch", "dlq", "replay", "--spool", spool])
    assert result.exit_code == 1 and "give dead-letter ids, or --all" in result.stderr
