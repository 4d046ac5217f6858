"""The hash chain over audit records: verification, pinned heads, and the calls still unsettled.

Each record carries ``prev_hash`` (the ``hash`` of the record before it; ``GENESIS`` for the
first) and ``hash``, a seal over its own bytes as written (``seal.py``; HMAC when the chain is
keyed). Editing a record breaks its seal; removing or reordering records breaks a
``prev_hash``. Verification names the file, the line and the record id of every problem, and
reports a corrupt line (not UTF-8, NaN, absurd nesting or digits) instead of crashing.

What a keyless chain cannot show: records cut from its *end*, or a whole file re-hashed. Two
anchors close that gap: a keyed chain (without the key nobody can re-hash; ``key`` here) and a
pinned head (``expect_head``: a hash printed by an earlier apply must still be in the log).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from lagoform.audit.lines import decode_line, raw_lines
from lagoform.audit.record import Record, parse_record
from lagoform.audit.seal import GENESIS, KEYED, KeyMissing, legacy_hash, seal_problem
from lagoform.errors import AuditError

__all__ = [
    "GENESIS",
    "ChainProblem",
    "Unsettled",
    "VerifyReport",
    "legacy_hash",
    "pending_intents",
    "read_records",
    "unsettled_intents",
    "verify_file",
    "verify_lines",
]


@dataclass(frozen=True)
class ChainProblem:
    file: str
    line: int | None
    record_id: str | None
    message: str

    def __str__(self) -> str:
        who = f"record {self.record_id}: " if self.record_id else ""
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {who}{self.message}"


@dataclass(frozen=True)
class VerifyReport:
    file: str
    records: int
    last_hash: str
    last_record_id: str | None
    problems: list[ChainProblem] = field(default_factory=list)
    keyed: int = 0  # records sealed with the key
    head_line: int | None = None  # where the pinned head was found (expect_head)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class _Line:
    number: int
    data: dict[str, Any] | None  # None: unreadable (reported already)

    @property
    def record_id(self) -> str | None:
        rid = self.data.get("record_id") if self.data else None
        return rid if isinstance(rid, str) else None

    @property
    def stored_hash(self) -> str | None:
        value = self.data.get("hash") if self.data else None
        return value if isinstance(value, str) else None


def _schema_problem(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "record"
    return f"does not match audit schema: {where}: {first['msg']} ({err.error_count()} error(s))"


class _Checker:
    """One pass over a log's lines, collecting every problem."""

    def __init__(self, file: str, key: bytes | None) -> None:
        self.file = file
        self.key = key
        self.problems: list[ChainProblem] = []
        self.lines: list[_Line] = []
        self.keyed = 0
        self.first_keyed: int | None = None
        self.unchecked: list[int] = []  # keyed lines we hold no key for

    def report(self, line: int | None, record_id: str | None, message: str) -> None:
        self.problems.append(ChainProblem(self.file, line, record_id, message))

    def read(self, number: int, raw: bytes, ended: bool) -> None:
        data, why = decode_line(raw)
        if not ended:
            self.report(number, None, "the last line ends without a newline: a write was cut short")
        if data is None:
            self.report(number, None, why or "unreadable")
            self.lines.append(_Line(number, None))
            return
        entry = _Line(number, data)
        self.lines.append(entry)
        try:
            parse_record(data)
        except ValidationError as err:
            self.report(number, entry.record_id, _schema_problem(err))
        self._seal(number, raw, entry)

    def _seal(self, number: int, raw: bytes, entry: _Line) -> None:
        assert entry.data is not None
        keyed = (entry.stored_hash or "").startswith(KEYED)
        if keyed:
            self.keyed += 1
            if self.first_keyed is None:
                self.first_keyed = number
        elif self.key is not None:
            self.report(
                number,
                entry.record_id,
                "is not keyed: with the chain's key, every record must be sealed with it (the "
                "log was re-hashed without the key, or predates it: a keyed chain starts a new "
                "log file)",
            )
        elif self.first_keyed is not None:
            self.report(
                number,
                entry.record_id,
                f"is not keyed although records before it are (from line {self.first_keyed}): "
                "the log was re-hashed without the key",
            )
        try:
            problem = seal_problem(raw, entry.data, self.key)
        except KeyMissing:
            self.unchecked.append(number)
            return
        if problem:
            self.report(number, entry.record_id, problem)

    def links(self) -> None:
        by_hash: dict[str, _Line] = {}
        for entry in self.lines:
            if entry.stored_hash is not None:
                by_hash.setdefault(entry.stored_hash, entry)
        by_id: dict[str, int] = {}
        intents: set[str] = set()
        previous: _Line | None = None
        for entry in self.lines:
            if entry.data is None:
                previous = entry
                continue
            data, rid = entry.data, entry.record_id

            def report(message: str, *, _n: int = entry.number, _r: str | None = rid) -> None:
                self.report(_n, _r, message)

            if rid is not None:
                if rid in by_id:
                    report(f"record id also used on line {by_id[rid]}")
                by_id[rid] = entry.number
            _check_link(entry, previous, by_hash, report)
            phase = data.get("phase")
            if phase == "intent" and rid is not None:
                intents.add(rid)
            if phase in ("outcome", "settlement") and data.get("intent_id") not in intents:
                report(f"{phase} of intent {data.get('intent_id')}, not found earlier in the log")
            previous = entry
        if self.unchecked:
            self.report(
                self.unchecked[0],
                None,
                f"{len(self.unchecked)} record(s) from here are keyed (hmac-sha256) and cannot be "
                "checked without the key: set the variable lagoform.yaml's audit key_env names "
                "(or pass --key-env)",
            )


def verify_lines(
    lines: Iterable[tuple[int, bytes, bool]],
    file: str,
    *,
    key: bytes | None = None,
    expect_head: str | None = None,
) -> VerifyReport:
    """Check every line of a log; reports every problem, not just the first."""
    checker = _Checker(file, key)
    for number, raw, ended in lines:
        checker.read(number, raw, ended)
    checker.links()
    records = [e for e in checker.lines if e.data is not None]
    last = records[-1] if records else None
    head_line = None
    if expect_head is not None:
        head_line = next((e.number for e in records if e.stored_hash == expect_head), None)
        if head_line is None:
            checker.report(
                None,
                None,
                f"the pinned head {expect_head} is not in this log: records were cut from its "
                "end, or the log was re-hashed",
            )
    return VerifyReport(
        file=file,
        records=len(records),
        last_hash=(last.stored_hash if last else None) or GENESIS,
        last_record_id=last.record_id if last else None,
        problems=sorted(checker.problems, key=lambda p: (p.line is None, p.line or 0)),
        keyed=checker.keyed,
        head_line=head_line,
    )


def _check_link(
    entry: _Line,
    previous: _Line | None,
    by_hash: Mapping[str, _Line],
    report: Callable[[str], None],
) -> None:
    prev_hash = entry.data.get("prev_hash") if entry.data else None
    if previous is None:
        if prev_hash != GENESIS:
            report("first record is not the start of the chain: records before it were removed")
        return
    if previous.data is None:
        return  # the line before is unreadable; already reported there
    if prev_hash == previous.stored_hash:
        return
    if prev_hash == GENESIS:
        report(
            f"starts a new chain after line {previous.number}: records were reordered or spliced"
        )
    elif isinstance(prev_hash, str) and prev_hash in by_hash:
        other = by_hash[prev_hash]
        report(
            f"chained to line {other.number} (record {other.record_id}), not to line "
            f"{previous.number}: records were reordered"
        )
    else:
        report(
            "the record it was chained to is missing: a record was removed before this line "
            f"(after line {previous.number}, record {previous.record_id})"
        )


def verify_file(
    path: Path, *, key: bytes | None = None, expect_head: str | None = None
) -> VerifyReport:
    if not path.exists():
        raise AuditError(f"audit log {path} does not exist (has apply written to it yet?)")
    if not path.is_file():
        raise AuditError(f"audit log {path} is not a regular file")
    return verify_lines(raw_lines(path), str(path), key=key, expect_head=expect_head)


def read_records(path: Path) -> list[tuple[int, Record]]:
    """Every record of a log with its line number. A line that is not a valid record is an
    AuditError naming it: a log we cannot read must not be trusted for anything."""
    if not path.exists():
        return []
    out: list[tuple[int, Record]] = []
    for number, raw, _ in raw_lines(path):
        data, why = decode_line(raw)
        try:
            if data is None:
                raise ValueError(why)
            out.append((number, parse_record(data)))
        except (ValueError, ValidationError) as err:
            kind = "schema" if isinstance(err, ValidationError) else str(err)
            raise AuditError(
                f"{path}:{number}: not a valid audit record ({kind}); "
                f"run `lagoform audit verify {path}`"
            ) from None
    return out


@dataclass(frozen=True)
class Unsettled:
    """An intent whose result nobody knows: apply stopped between the call and its outcome
    (``no outcome``), or the answer was lost (``unknown``) — and no settlement followed."""

    record: Record
    line: int
    why: Literal["no outcome", "unknown"]


def unsettled_intents(path: Path) -> list[Unsettled]:
    """The log's unsettled intents, oldest first (see ``Unsettled``)."""
    records = read_records(path)
    closed: dict[str, str] = {}  # intent id -> its last known status
    for _, record in records:
        if record.phase in ("outcome", "settlement") and record.intent_id is not None:
            status: str = record.outcome.status if record.outcome else "unknown"
            closed[record.intent_id] = "settled" if record.phase == "settlement" else status
    out: list[Unsettled] = []
    for number, record in records:
        if record.phase != "intent":
            continue
        last = closed.get(record.record_id)
        if last is None:
            out.append(Unsettled(record, number, "no outcome"))
        elif last == "unknown":
            out.append(Unsettled(record, number, "unknown"))
    return out


def pending_intents(path: Path) -> list[Record]:
    """The intents of ``unsettled_intents``: calls that may or may not have reached Lago. Apply
    settles them by reading Lago before it sends anything (``lagoform.engine.settle``); plan and
    ``lagoform audit show --pending`` list them."""
    return [u.record for u in unsettled_intents(path)]
