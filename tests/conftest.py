"""Shared fixtures.

``sandbox``
    A fresh in-process :class:`lagoform.sandbox.Sandbox` (premium on, any bearer key accepted).
    Use ``sandbox.transport()`` with ``httpx.Client``/``AsyncClient`` (or lagoform's client).
``sandbox_server``
    The sandbox over real HTTP: ``python -m lagoform sandbox serve --port 0`` as a subprocess on
    127.0.0.1 with a temporary state file, started once per session and reset (state, faults,
    premium) before each test. Attributes and helpers: ``.url`` (``http://127.0.0.1:PORT``),
    ``.api_key`` (the only key it accepts), ``.pid``, ``.state_file``, ``.control(**faults)``
    (keys of ``lagoform.sandbox.Faults`` plus ``outage_seconds``/``rate_limit``),
    ``.premium(bool)``, ``.advance_clock(seconds)``, ``.settings(**kw)``, ``.dump()``,
    ``.reset()``. Stopped by PID at session end.
Contract fixtures (``contract``, ``lago_client``, ``lago_http_client``) come from
``tests/openapi_contract.py``.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from lagoform.sandbox import Sandbox

pytest_plugins = ["tests.openapi_contract"]

SERVER_KEY = "lagoform-test-sandbox-key"


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(premium=True)


@dataclass
class SandboxServer:
    url: str
    api_key: str
    pid: int
    state_file: Path
    # one keep-alive client for the whole session (building an httpx client is not free)
    client: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=10)

    def _post(self, action: str, payload: dict[str, Any] | None = None) -> Any:
        response = self.client.post(f"/__sandbox/{action}", json=payload or {})
        response.raise_for_status()
        return response.json()

    def control(self, **faults: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._post("faults", faults)["faults"]
        return result

    def premium(self, on: bool = True) -> None:
        self._post("premium", {"premium": on})

    def advance_clock(self, seconds: float) -> None:
        self._post("clock", {"advance_seconds": seconds})

    def settings(self, **values: Any) -> None:
        self._post("settings", values)

    def dump(self) -> Any:
        return self.client.get("/__sandbox/dump", timeout=30).json()

    def reset(self) -> None:
        self._post("reset")


def _start_server(state_file: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    """``lagoform sandbox serve`` on 127.0.0.1:0 (``extra``: more serve options); (process, url)."""
    env = {**os.environ, "LAGOFORM_SANDBOX_API_KEY": SERVER_KEY}
    stderr = state_file.with_suffix(".log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lagoform",
            "sandbox",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--state",
            str(state_file),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=env,
    )
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + 30
    buffer = b""
    while b"Listening on " not in buffer:
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError(f"sandbox server did not start: {buffer!r}")
        if selector.select(timeout=0.2):
            buffer += os.read(process.stdout.fileno(), 4096)
    selector.close()
    url = buffer.split(b"Listening on ", 1)[1].split()[0].decode()
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("sandbox server never answered /health")


@pytest.fixture(scope="session")
def _sandbox_server_session(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SandboxServer]:
    state_file = tmp_path_factory.mktemp("sandbox-server") / "sandbox.json"
    process, url = _start_server(state_file)
    server = SandboxServer(url=url, api_key=SERVER_KEY, pid=process.pid, state_file=state_file)
    try:
        yield server
    finally:
        server.client.close()
        process.terminate()  # by PID: only the server this fixture started
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture
def sandbox_server(_sandbox_server_session: SandboxServer) -> SandboxServer:
    _sandbox_server_session.reset()
    return _sandbox_server_session
