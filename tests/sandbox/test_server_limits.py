"""`lagoform sandbox serve` cannot be taken down or corrupted by one client (issue 15): body size
and read time bounded, fault settings all-or-nothing, non-JSON bodies refused like Lago, and one
writer per state file (the server and the embedded CLI never save over each other)."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from lagoform.cli import _register, root
from lagoform.sandbox import Sandbox
from lagoform.sandbox.persistence import StateInUse
from tests.conftest import SERVER_KEY, SandboxServer, _start_server

_register()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[tuple[str, int, Path]]:
    """A server of this test's own (short read timeout), stopped by its PID."""
    state = tmp_path / "state" / "sandbox.json"
    state.parent.mkdir()
    process, url = _start_server(state, "--read-timeout", "1", "--max-body-mb", "1")
    try:
        yield url, process.pid, state
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def test_a_huge_body_is_refused_without_being_held(own_server: tuple[str, int, Path]) -> None:
    url, pid, _ = own_server
    before = _rss_mb(pid)
    headers = {"Authorization": f"Bearer {SERVER_KEY}", "Content-Type": "application/json"}
    # announced: refused before a byte of it is read
    with socket.create_connection(("127.0.0.1", _port(url)), timeout=10) as sock:
        sock.sendall(
            b"POST /api/v1/events/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 314572800\r\n\r\n" + b"[" * 1000
        )
        head = sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 413"), head

    # streamed without a length (chunked): cut off past the limit, never buffered whole
    def stream() -> Iterator[bytes]:
        for _ in range(64):  # 64 MiB offered
            yield b" " * (1024 * 1024)

    try:
        response = httpx.post(f"{url}/api/v1/events/batch", content=stream(), headers=headers,
                              timeout=30)  # fmt: skip
    except httpx.TransportError:
        pass  # the server answered and closed while the client was still sending
    else:
        assert response.status_code == 413
        assert response.json() == {"status": 413, "error": "Payload Too Large"}
    assert _rss_mb(pid) - before < 40, (before, _rss_mb(pid))
    assert httpx.get(f"{url}/health", timeout=5).status_code == 200  # still serving


def test_a_stalled_upload_gets_408_instead_of_being_held_forever(
    own_server: tuple[str, int, Path],
) -> None:
    url, _, _ = own_server
    with socket.create_connection(("127.0.0.1", _port(url)), timeout=10) as sock:
        sock.sendall(
            b"POST /api/v1/plans HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"plan":'
        )
        started = time.monotonic()
        head = sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 408"), head
    assert time.monotonic() - started < 8


def test_a_refused_fault_setting_changes_nothing(sandbox_server: SandboxServer) -> None:
    client = sandbox_server.client
    before = client.get("/__sandbox/faults").json()["faults"]
    for bad in ({"fault_rate": 2}, {"latency_ms": 5, "fault_rate": 2}, {"latency_ms": "x"},
                {"fault_status": 200}, {"rate_limits": {"events": -1}}):  # fmt: skip
        response = client.put("/__sandbox/faults", json=bad)
        assert response.status_code == 422, (bad, response.text)
        assert client.get("/__sandbox/faults").json()["faults"] == before
    ok = client.get("/api/v1/plans", headers={"Authorization": f"Bearer {SERVER_KEY}"})
    assert ok.status_code == 200  # not every call a 500, as when the rejected value stuck


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_non_json_body_is_refused_like_lago(
    sandbox_server: SandboxServer, content_type: str | None
) -> None:
    body = json.dumps({"tax": {"code": "vat", "name": "VAT", "rate": "20"}}).encode()
    headers = {"Authorization": f"Bearer {SERVER_KEY}"}
    if content_type:
        headers["Content-Type"] = content_type
    refused = sandbox_server.client.post("/api/v1/taxes", content=body, headers=headers)
    assert refused.status_code == 400
    assert refused.json()["error"].startswith("BadRequest: param is missing")
    headers["Content-Type"] = "application/json; charset=utf-8"
    assert sandbox_server.client.post("/api/v1/taxes", content=body, headers=headers).is_success


def test_one_writer_per_state_file_in_process(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.json"
    first = Sandbox(state_file=state)
    with pytest.raises(StateInUse, match="is in use by lagoform"):
        Sandbox(state_file=state)
    first.close()
    Sandbox(state_file=state).close()  # free again once the first closed


def test_the_embedded_cli_is_told_to_use_the_running_server(
    own_server: tuple[str, int, Path], tmp_path: Path
) -> None:
    url, pid, state = own_server
    project = tmp_path / "project"
    (project / "catalog").mkdir(parents=True)
    (project / "lagoform.yaml").write_text(
        f"version: 1\nenvironments:\n  sandbox:\n    state: {state}\n"
    )
    result = CliRunner().invoke(root, ["plan", "--root", str(project)])
    assert result.exit_code == 1, result.output
    assert f"is in use by lagoform sandbox serve (pid {pid})" in result.stderr
    assert f"--api-url {url}" in result.stderr
    assert "Traceback" not in result.output
    reset = CliRunner().invoke(root, ["sandbox", "reset", "--state", str(state)])
    assert reset.exit_code == 1 and "is in use" in reset.stderr
    assert state.with_name("sandbox.json.lock").exists()


def test_the_server_keeps_what_it_holds_out_of_full_collections() -> None:
    """``StoreFreezer`` moves live objects to the permanent generation on its interval (and
    the test hands them back, so the rest of the suite's collector is untouched)."""
    import gc
    import time

    from lagoform.sandbox.asgi import StoreFreezer

    gc.unfreeze()
    held = [{"event": i} for i in range(1000)]
    freezer = StoreFreezer(interval=0.05)
    try:
        deadline = time.monotonic() + 10
        while gc.get_freeze_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert gc.get_freeze_count() >= len(held)
    finally:
        freezer.stop()
        gc.unfreeze()
    assert not freezer._thread.is_alive()
