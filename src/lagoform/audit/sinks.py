"""Where audit records go: an append-only JSON Lines file, stdout, and Grafana Loki over HTTP.

A sink takes one sealed record and its exact line, or raises AuditError: the trail treats any
failure on an intent as "stop before the call"; ``check()`` says before any call whether it
can take records at all (a closed stdout, a log path that is a directory, a FIFO or a device).
The JSON Lines file is also the chain's authority: it is locked while a record is sealed and
written, so two applies sharing a log still produce one valid chain. Sinks never see the API
key (records are scrubbed before sealing), and their error messages name hosts, never URLs with
credentials.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import stat
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol, TextIO

import httpx

from lagoform.audit.record import time_ns
from lagoform.audit.seal import GENESIS
from lagoform.errors import AuditError

LOKI_PUSH_PATH = "/loki/api/v1/push"
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_TAIL_CHUNK = 64 * 1024


class Sink(Protocol):
    name: str

    def write(self, record: Mapping[str, Any], line: str) -> None:
        """Take one record (``line`` is its sealed JSON) or raise AuditError."""
        ...

    def check(self) -> None:
        """Raise AuditError (before any call to Lago) if this sink cannot take records."""
        ...

    def close(self) -> None: ...


class JsonlFileSink:
    """Append-only JSON Lines file: O_APPEND, one write per record, fsync before returning."""

    def __init__(self, path: Path, *, lock_timeout: float = 30.0) -> None:
        self.path = path
        self.name = f"file {path}"
        self._lock_timeout = lock_timeout
        self._fd: int | None = None

    def check(self) -> None:
        """The log must be a regular file we can append to: records written to a directory, a
        FIFO or a device could not be chained or read back."""
        try:
            info = self.path.stat()
        except FileNotFoundError:
            info = None
        except OSError as err:
            raise AuditError(f"audit log {self.path}: cannot inspect: {err.strerror}") from None
        if info is not None and not stat.S_ISREG(info.st_mode):
            raise AuditError(
                f"audit log {self.path} is {_kind(info.st_mode)}, not a regular file: records "
                "written there could not be chained or read back; point the jsonl sink at a "
                "file path in lagoform.yaml"
            )
        fd = self._open()
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced between the two looks
            raise AuditError(f"audit log {self.path} is not a regular file")

    def _open(self) -> int:
        if self._fd is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                created = not self.path.exists()
                self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
                if created:
                    _fsync_dir(self.path.parent)
            except OSError as err:
                raise AuditError(f"audit log {self.path}: cannot open: {err.strerror}") from None
        return self._fd

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive lock on the log while a record is sealed and written (bounded wait)."""
        fd = self._open()
        deadline = time.monotonic() + self._lock_timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as err:
                if err.errno not in (errno.EAGAIN, errno.EACCES):
                    raise AuditError(
                        f"audit log {self.path}: cannot lock: {err.strerror}"
                    ) from None
                if time.monotonic() >= deadline:
                    raise AuditError(
                        f"audit log {self.path} is locked by another lagoform process "
                        f"for more than {self._lock_timeout:.0f}s"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def tail_hash(self) -> str:
        """The hash of the last record (GENESIS for an empty log). Call under ``locked()``."""
        fd = self._open()
        size = os.fstat(fd).st_size
        if size == 0:
            return GENESIS
        start = size
        buffer = b""
        while True:
            start = max(0, start - _TAIL_CHUNK)
            buffer = os.pread(fd, size - start, start)
            body = buffer[:-1]
            if b"\n" in body or start == 0:
                break
        if not buffer.endswith(b"\n"):
            raise AuditError(
                f"audit log {self.path} ends with a partial record (a crash while writing?); "
                f"run `lagoform audit verify {self.path}` and repair the last line before applying"
            )
        last = buffer[:-1].rsplit(b"\n", 1)[-1]
        try:
            value = json.loads(last).get("hash")
        except (ValueError, AttributeError):
            value = None
        if not isinstance(value, str):
            raise AuditError(
                f"audit log {self.path}: the last line is not an audit record; "
                f"run `lagoform audit verify {self.path}`"
            )
        return value

    def write(self, record: Mapping[str, Any], line: str) -> None:
        data = (line + "\n").encode()
        fd = self._open()
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        except OSError as err:
            raise AuditError(f"audit log {self.path}: cannot write: {err.strerror}") from None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _fsync_dir(directory: Path) -> None:
    # A new file's directory entry is durable only once its directory is synced.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class StdoutSink:
    """One JSON line per record on stdout (or a given stream), flushed, for log shippers."""

    name = "stdout"

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def check(self) -> None:
        stream: TextIO | None = self._stream or sys.stdout
        closed = stream is None or bool(getattr(stream, "closed", False))
        if stream is not None and not closed and stream is sys.__stdout__:
            try:  # the descriptor itself: `lagoform apply >&-` leaves nothing behind it
                os.fstat(int(stream.fileno()) if stream is not None else -1)
            except (OSError, ValueError):
                closed = True
        if closed:
            raise AuditError(
                "audit sink stdout: standard output is closed, so records sent there would be "
                "lost; nothing was sent to Lago (redirect stdout to a file, or drop the stdout "
                "sink from lagoform.yaml)"
            )

    def write(self, record: Mapping[str, Any], line: str) -> None:
        stream = self._stream or sys.stdout  # looked up late: the CLI may swap stdout
        try:
            if stream is None:
                raise OSError("standard output is closed")
            stream.write(line + "\n")
            stream.flush()
        except (OSError, ValueError) as err:
            raise AuditError(f"audit sink stdout: cannot write: {err}") from None

    def close(self) -> None:
        return None


def safe_url(url: str) -> str:
    """Scheme, host and port only: what error messages may show of a sink URL."""
    parts = httpx.URL(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.host}{port}"


class LokiSink:
    """Grafana Loki push API: ``POST /loki/api/v1/push`` with one stream and one value per record.

    Retries 429, 5xx and transport errors with exponential backoff, up to ``attempts`` tries,
    each bounded by ``timeout`` seconds; any other status fails at once.
    """

    def __init__(
        self,
        url: str,
        labels: Mapping[str, str],
        *,
        timeout: float = 5.0,
        attempts: int = 4,
        backoff: float = 0.25,
        headers: Mapping[str, str] | None = None,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        bad = [name for name in labels if not _LABEL_NAME.fullmatch(name)]
        if bad:
            raise AuditError(f"Loki label names must match [a-zA-Z_][a-zA-Z0-9_]*: {bad}")
        base = url.rstrip("/")
        self.endpoint = base if base.endswith(LOKI_PUSH_PATH) else base + LOKI_PUSH_PATH
        self.name = f"loki {safe_url(self.endpoint)}"
        self.labels = {str(k): str(v) for k, v in labels.items()}
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._sleep = sleep
        self._own_client = client is None
        self._client = client or httpx.Client(timeout=timeout, headers=dict(headers or {}))

    def check(self) -> None:
        return None  # reached over the network: the first record tells

    def payload(self, record: Mapping[str, Any], line: str) -> dict[str, Any]:
        return {"streams": [{"stream": self.labels, "values": [[str(time_ns(record)), line]]}]}

    def write(self, record: Mapping[str, Any], line: str) -> None:
        body = json.dumps(self.payload(record, line), ensure_ascii=False).encode()
        problem = ""
        for attempt in range(1, self._attempts + 1):
            try:
                response = self._client.post(
                    self.endpoint, content=body, headers={"Content-Type": "application/json"}
                )
            except httpx.HTTPError as err:
                problem = f"{type(err).__name__}"
            else:
                if response.is_success:
                    return
                problem = f"HTTP {response.status_code}: {response.text[:200].strip()}"
                if response.status_code != 429 and response.status_code < 500:
                    raise AuditError(f"audit sink {self.name} refused the record: {problem}")
            if attempt < self._attempts:
                self._sleep(self._backoff * 2 ** (attempt - 1))
        raise AuditError(
            f"audit sink {self.name} did not take the record after {self._attempts} attempts "
            f"(last: {problem})"
        )

    def close(self) -> None:
        if self._own_client:
            self._client.close()
