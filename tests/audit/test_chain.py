"""A tampered log (edited, removed, reordered records) fails verification, naming the line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from lagoform.audit.chain import GENESIS, pending_intents, verify_file
from lagoform.audit.seal import seal_line
from lagoform.audit.sinks import JsonlFileSink
from lagoform.errors import AuditError
from tests.audit.helpers import change, file_trail


def write_log(path: Path, mutations: int = 3) -> list[str]:
    with file_trail(path) as trail:
        for i in range(mutations):
            rid = trail.intent(change("plan", f"p{i}"), {"method": "PUT", "path": f"/plans/p{i}"})
            trail.outcome(rid, True, 200, None, {"plan": {"code": f"p{i}"}})
    return path.read_text().splitlines()


def rewrite(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines))


def edit_amount(lines: list[str]) -> list[str]:
    record = json.loads(lines[2])
    record["object_key"] = "p9"  # the hash is left as it was
    return [*lines[:2], json.dumps(record), *lines[3:]]


def edit_and_rehash(lines: list[str]) -> list[str]:
    # someone who knows the (keyless) scheme edits a record and seals it again
    record = json.loads(lines[2])
    record["object_key"] = "p9"
    _, line = seal_line(record, record["prev_hash"], None)
    return [*lines[:2], line, *lines[3:]]


def delete_third(lines: list[str]) -> list[str]:
    return [*lines[:2], *lines[3:]]


def delete_fourth(lines: list[str]) -> list[str]:
    return [*lines[:3], *lines[4:]]


def swap_third_fourth(lines: list[str]) -> list[str]:
    return [*lines[:2], lines[3], lines[2], *lines[4:]]


def delete_first(lines: list[str]) -> list[str]:
    return lines[1:]


def truncate_last(lines: list[str]) -> list[str]:
    return [*lines[:-1], lines[-1][:40]]


TAMPERING = [
    pytest.param(edit_amount, [(3, "content was edited")], id="edited"),
    pytest.param(edit_and_rehash, [(4, "chained to is missing")], id="edited-and-rehashed"),
    pytest.param(
        delete_third,
        [(3, "chained to is missing"), (3, "not found earlier")],
        id="removed-intent",
    ),
    pytest.param(delete_fourth, [(4, "chained to is missing")], id="removed-outcome"),
    pytest.param(
        swap_third_fourth,
        [
            (3, "chained to line 4"),
            (3, "not found earlier"),  # the outcome now precedes its intent
            (4, "chained to line 2"),
            (5, "chained to line 3"),
        ],
        id="reordered",
    ),
    pytest.param(
        delete_first,
        [(1, "first record is not the start"), (1, "not found earlier")],
        id="first-removed",
    ),
    pytest.param(truncate_last, [(6, "not a JSON record")], id="partial-last-line"),
]


@pytest.mark.parametrize(("tamper", "expected"), TAMPERING)
def test_tampered_log_fails_with_the_line(
    log_path: Path,
    tamper: Callable[[list[str]], list[str]],
    expected: list[tuple[int, str]],
) -> None:
    original = write_log(log_path)
    assert verify_file(log_path).ok
    rewrite(log_path, tamper(original))
    report = verify_file(log_path)
    assert not report.ok
    got = [(p.line, p.message) for p in report.problems]
    assert len(got) == len(expected), got
    for (line, message), (want_line, want_text) in zip(got, expected, strict=True):
        assert line == want_line
        assert want_text in message
    for problem in report.problems:
        assert str(problem).startswith(f"{log_path}:{problem.line}: ")


def test_problem_names_the_record_id(log_path: Path) -> None:
    original = write_log(log_path)
    rewrite(log_path, edit_amount(original))
    problem = verify_file(log_path).problems[0]
    assert problem.record_id == json.loads(original[2])["record_id"]
    assert f"record {problem.record_id}" in str(problem)


def test_intact_log_reports_count_and_last_hash(log_path: Path) -> None:
    lines = write_log(log_path)
    report = verify_file(log_path)
    assert report.ok and report.records == 6
    assert report.last_hash == json.loads(lines[-1])["hash"]
    assert json.loads(lines[0])["prev_hash"] == GENESIS


def test_seal_is_deterministic_and_covers_prev_hash() -> None:
    body = {"a": 1, "b": "x"}
    assert seal_line(body, GENESIS, None) == seal_line(dict(reversed(body.items())), GENESIS, None)
    other = seal_line(body, "sha256:" + "1" * 64, None)
    assert seal_line(body, GENESIS, None)[0]["hash"] != other[0]["hash"]


def test_appending_after_a_partial_line_is_refused(log_path: Path) -> None:
    lines = write_log(log_path, mutations=1)
    log_path.write_text(lines[0] + "\n" + lines[1][:30])
    sink = JsonlFileSink(log_path)
    with sink.locked(), pytest.raises(AuditError, match="partial record"):
        sink.tail_hash()
    sink.close()


def test_unreadable_log_is_an_error_for_pending(log_path: Path) -> None:
    lines = write_log(log_path, mutations=1)
    rewrite(log_path, [lines[0], "{not json"])
    with pytest.raises(AuditError, match=r"audit\.jsonl:2: not a valid audit record"):
        pending_intents(log_path)


def test_missing_log_has_no_pending_intents(tmp_path: Path) -> None:
    assert pending_intents(tmp_path / "none.jsonl") == []
    with pytest.raises(AuditError, match="does not exist"):
        verify_file(tmp_path / "none.jsonl")
