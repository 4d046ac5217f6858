"""State persistence (load at start, periodic save when dirty, save on shutdown), a server
restart keeping state, and the ``lagoform sandbox`` CLI."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from lagoform.cli import root
from lagoform.cli.commands import register
from lagoform.sandbox import Sandbox
from tests.conftest import SERVER_KEY, SandboxServer, _start_server
from tests.sandbox.helpers import InProcessApi, charge_item, create_metric, create_plan, subscribe


def test_state_survives_close_and_reload(tmp_path: Path) -> None:
    state = tmp_path / ".lagoform" / "sandbox.json"
    with Sandbox(state_file=state) as first:
        api = InProcessApi(first)
        metric = create_metric(api, "calls")
        create_plan(api, "pro", charges=[charge_item(metric["lago_id"])])
        subscribe(api, plan_overrides={"amount_cents": 7})
        api.ok(
            "POST",
            "/events",
            {
                "event": {
                    "transaction_id": "t1",
                    "external_subscription_id": "sub-1",
                    "code": "calls",
                    "properties": {"n": 2},
                }
            },
        )
    assert state.exists()
    second = Sandbox(state_file=state)
    try:
        api = InProcessApi(second)
        sub = api.ok("GET", "/subscriptions/sub-1")["subscription"]
        assert (sub["plan"]["amount_cents"], sub["plan"]["parent_id"] is not None) == (7, True)
        assert [p["code"] for p in api.ok("GET", "/plans")["plans"]] == ["pro"]
        duplicate = api.post(
            "/events",
            {
                "event": {
                    "transaction_id": "t1",
                    "external_subscription_id": "sub-1",
                    "code": "calls",
                }
            },
        )
        assert duplicate.status == 422  # the dedup index was rebuilt
        assert api.ok("GET", "/events/t1")["event"]["properties"] == {"n": 2}
    finally:
        second.close()


def test_periodic_save_only_when_dirty(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.json"
    sandbox = Sandbox(state_file=state, save_interval=0.05)
    try:
        InProcessApi(sandbox).get("/plans")
        time.sleep(0.2)
        assert not state.exists()  # reads do not make the state dirty
        create_metric(InProcessApi(sandbox), "calls")
        deadline = time.monotonic() + 5
        while not state.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert b'"code":"calls"' in state.read_bytes()
    finally:
        sandbox.close()


def test_server_restart_keeps_state_and_stops_by_pid(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.json"
    headers = {"Authorization": f"Bearer {SERVER_KEY}"}
    for round_ in range(2):
        process, url = _start_server(state)
        try:
            if round_ == 0:
                created = httpx.post(
                    f"{url}/api/v1/taxes",
                    headers=headers,
                    json={"tax": {"name": "VAT", "code": "vat", "rate": "20"}},
                )
                assert created.status_code == 200
            else:
                listed = httpx.get(f"{url}/api/v1/taxes", headers=headers).json()
                assert [t["code"] for t in listed["taxes"]] == ["vat"]
        finally:
            process.terminate()
            # uvicorn shuts down gracefully, then re-raises SIGTERM: -15 is a clean stop
            assert process.wait(timeout=15) in (0, -15)
            assert process.stdout is not None
            process.stdout.close()


def _cli() -> CliRunner:
    register(root)
    return CliRunner()


def test_cli_reset_removes_the_state_file(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with Sandbox(state_file=state) as sandbox:
        create_metric(InProcessApi(sandbox), "calls")
    result = _cli().invoke(root, ["sandbox", "reset", "--state", str(state)])
    assert result.exit_code == 0, result.output
    assert not state.exists()
    again = _cli().invoke(root, ["sandbox", "reset", "--state", str(state)])
    assert "nothing to reset" in again.output


def test_cli_reset_of_a_running_server(sandbox_server: SandboxServer) -> None:
    headers = {"Authorization": f"Bearer {sandbox_server.api_key}"}
    httpx.post(
        f"{sandbox_server.url}/api/v1/taxes",
        headers=headers,
        json={"tax": {"name": "VAT", "code": "vat", "rate": "1"}},
    ).raise_for_status()
    result = _cli().invoke(root, ["sandbox", "reset", "--url", sandbox_server.url])
    assert result.exit_code == 0, result.output
    assert httpx.get(f"{sandbox_server.url}/api/v1/taxes", headers=headers).json()["taxes"] == []


def test_cli_serve_refuses_a_corrupt_state_file_without_traceback(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text("{not json")
    result = _cli().invoke(root, ["sandbox", "serve", "--state", str(state)])
    assert result.exit_code == 1
    assert "cannot load sandbox state" in result.output
    assert "Traceback" not in result.output


def _events(api: InProcessApi, *txns: str) -> None:
    api.ok(
        "POST",
        "/events/batch",
        {
            "events": [
                {"transaction_id": t, "external_subscription_id": "s", "code": "c"} for t in txns
            ]
        },
    )


def test_events_are_journaled_incrementally(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.json"
    journal = tmp_path / "sandbox.json.events"
    sandbox = Sandbox(state_file=state)
    api = InProcessApi(sandbox)
    _events(api, "a", "b")
    sandbox.save()
    assert len(journal.read_bytes().splitlines()) == 1  # one line per save
    assert b'"events"' not in state.read_bytes()  # the snapshot holds no events
    _events(api, "c")
    sandbox.save()
    lines = journal.read_bytes().splitlines()
    assert len(lines) == 2 and b'"c"' in lines[1]  # appended, not rewritten
    sandbox.reset()
    _events(api, "z")
    sandbox.close()
    assert len(journal.read_bytes().splitlines()) == 1  # a reset rewrites the journal
    with journal.open("ab") as handle:  # a crash after appending, before the snapshot
        handle.write(b'[[99,"orphan","c",1.0,{},"s",null,1.0]]\n')
    reloaded = Sandbox(state_file=state)
    try:
        listed = InProcessApi(reloaded).ok("GET", "/events")["events"]
        assert [e["transaction_id"] for e in listed] == ["z"]
    finally:
        reloaded.close()


def test_two_sandboxes_on_one_file_never_mix_journals(tmp_path: Path) -> None:
    # holder=None: the lock is off (its callers coordinate), so the journal guard must hold
    state = tmp_path / "sandbox.json"
    first = Sandbox(state_file=state, holder=None)
    second = Sandbox(state_file=state, holder=None)
    try:
        _events(InProcessApi(first), "from-first")
        first.save()
        _events(InProcessApi(second), "from-second")
        second.save()  # last writer wins, whole
    finally:
        first.close()  # nothing new since its last save: the file stays the second's
        second.close()
    reloaded = Sandbox(state_file=state)
    try:
        listed = InProcessApi(reloaded).ok("GET", "/events")["events"]
        assert [e["transaction_id"] for e in listed] == ["from-second"]
    finally:
        reloaded.close()


def test_cli_serve_on_a_taken_port_fails_cleanly(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = _cli().invoke(
            root, ["sandbox", "serve", "--port", str(port), "--state", str(tmp_path / "s.json")]
        )
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output
