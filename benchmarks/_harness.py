"""What every benchmark shares: its own ``lagoform sandbox serve``, CPU time, machine facts and
its section of RESULTS.md.

The server runs in a subprocess on 127.0.0.1 (port 0, state in the benchmark's temporary
directory, one API key) and is stopped by its PID, never by name. Nothing here measures: each
benchmark decides what to time and how to report it.
"""

from __future__ import annotations

import os
import platform
import re
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "RESULTS.md"
START_TIMEOUT = 30.0  # seconds for the server to print its address and answer /health


@dataclass(frozen=True)
class SandboxServer:
    """A running ``lagoform sandbox serve``: where it listens and its process id."""

    url: str
    pid: int

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def set_faults(self, **settings: Any) -> None:
        """Latency, faults or rate limits, e.g. ``set_faults(latency_ms=50)``."""
        response = httpx.post(f"{self.url}/__sandbox/faults", json=settings, timeout=10)
        response.raise_for_status()


@contextmanager
def sandbox_server(
    state: Path, api_key: str, *, stop_timeout: float = 10.0
) -> Iterator[SandboxServer]:
    """Start the server (state file ``state``, answering only ``api_key``) and wait until it
    answers /health; terminate it on exit (killed if it has not stopped in ``stop_timeout``).
    Its stderr goes to ``state`` with the suffix ``.log`` and is quoted if it fails to start."""
    log_path = state.with_suffix(".log")
    env = {**os.environ, "LAGOFORM_SANDBOX_API_KEY": api_key}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "lagoform", "sandbox", "serve", "--host", "127.0.0.1",
             "--port", "0", "--state", str(state)],
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
            cwd=REPO,
        )  # fmt: skip
        try:
            url = _wait_until_ready(process, log_path)
            yield SandboxServer(url, process.pid)
        finally:
            process.terminate()  # by PID: only the server this benchmark started
            try:
                process.wait(timeout=stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            if process.stdout is not None:
                process.stdout.close()


def _wait_until_ready(process: subprocess.Popen[bytes], log_path: Path) -> str:
    assert process.stdout is not None
    deadline, buffer = time.monotonic() + START_TIMEOUT, b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while b"Listening on " not in buffer:
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(_start_failure(buffer, log_path))
            if selector.select(timeout=0.2):
                buffer += os.read(process.stdout.fileno(), 4096)
    url = buffer.split(b"Listening on ", 1)[1].split()[0].decode()
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return url
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise SystemExit(_start_failure(buffer, log_path) + " (it never answered /health)")


def _start_failure(stdout: bytes, log_path: Path) -> str:
    try:
        log = log_path.read_text(errors="replace").strip().splitlines()[-10:]
    except OSError:
        log = []
    tail = "\n".join(log)
    return f"sandbox server did not start: {stdout!r}" + (f"\n{tail}" if tail else "")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc; 0.0 where it cannot be read)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Machine:
    nproc: str
    cpu: str | None  # the CPU model, None where /proc/cpuinfo cannot say
    python: str
    os: str


def machine() -> Machine:
    cpu = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return Machine(str(os.cpu_count()), cpu, platform.python_version(), platform.platform())


def load() -> str:
    """The 1/5/15-minute load averages, as recorded next to every result (2 shared cores)."""
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def rss_kib(pid: int) -> int:
    """Resident memory of a process now (KiB; 0 where /proc cannot say)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def write_section(section: str, text: str) -> None:
    """Replace the section of RESULTS.md headed ``section`` with ``text`` (or append it),
    keeping every other section and one blank line between sections."""
    current = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    # The section runs up to the newline before the next heading (or the end of the file).
    pattern = re.compile(rf"^{re.escape(section)}\n.*?(?=\n## |\Z)", re.M | re.S)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text.rstrip("\n") + "\n", current, count=1)
    else:
        updated = current.rstrip("\n") + "\n\n" + text
    RESULTS.write_text(updated.rstrip("\n") + "\n")
