"""``lagoform.serving``: servers report the port they really bound (``--port 0``)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from lagoform.serving import bind, url_of


def test_bind_port_zero_reports_the_chosen_port() -> None:
    sock = bind("127.0.0.1", 0)
    try:
        url = url_of(sock)
        port = int(url.rsplit(":", 1)[1])
        assert url.startswith("http://127.0.0.1:")
        assert port == sock.getsockname()[1]
        assert port > 0
    finally:
        sock.close()


def test_dispatch_serve_port_zero_prints_a_reachable_url(tmp_path: Path) -> None:
    spool = tmp_path / "spool.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lagoform", "dispatch", "serve", "--port", "0",
         "--spool", str(spool), "--root", str(tmp_path)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        match = re.search(r"ingest: (http://127\.0\.0\.1:(\d+))/records", line)
        assert match, line
        assert int(match.group(2)) != 0
        deadline = time.monotonic() + 20
        while True:
            try:
                reply = httpx.post(
                    f"{match.group(1)}/records",
                    content=b'{"id": "r1", "type": "t", "timestamp": 1700000000}\n',
                    timeout=5,
                )
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert reply.status_code == 202
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
