"""The HTTP ingest endpoint over a real socket: JSON lines, JSON arrays, bad input, health."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import uvicorn

from lagoform.dispatch.deadletters import DeadLetterStore
from lagoform.dispatch.ingest import IngestApp
from lagoform.dispatch.spool import Spool


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def ingest(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    path = tmp_path / "spool.db"
    port = _free_port()
    config = uvicorn.Config(IngestApp(path), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "ingest server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", path
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_json_lines_and_arrays_are_spooled(ingest: tuple[str, Path]) -> None:
    url, path = ingest
    lines = b'{"id": "a"}\n\n{"id": "b"}\nnope\n'
    with httpx.Client(base_url=url) as http:
        r = http.post("/records", content=lines)
        assert r.status_code == 202
        assert r.json()["accepted"] == 2 and r.json()["dead_lettered"] == 1
        assert "line 4" in r.json()["problems"][0]
        r = http.post("/", content=orjson.dumps([{"id": "c"}, 5, {"id": "d"}]))
        assert r.status_code == 202 and r.json()["accepted"] == 2
        r = http.post("/records", content=b'[{"id": "e"}, ')
        assert r.status_code == 400 and "not valid JSON" in r.json()["error"]
        assert http.get("/health").json() == {"status": "ok", "backlog": 4}
        assert http.get("/records").status_code == 405
        assert http.post("/elsewhere", content=b"{}").status_code == 404
    with Spool(path) as spool:
        ids = [orjson.loads(r.payload)["id"] for r in spool.claim(10)]
        assert ids == ["a", "b", "c", "d"]
    with DeadLetterStore(path) as store:
        assert [d.reason for d in store.list()] == ["malformed_json", "not_an_object"]
        assert store.list()[1].source.endswith(":1")  # item 1 of the array
