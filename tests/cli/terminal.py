"""Run ``python -m lagoform`` on a real pseudo-terminal, as a person at a shell would.

``run_on_terminal`` gives the command a pty for stdin, stdout and (unless ``stderr_to_pipe``)
stderr, feeds it ``keys`` and returns its exit code with everything the terminal showed, and
what went to the pipe. Bounded in time; the child is killed (by its PID) if it overruns.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Shown:
    exit_code: int
    terminal: str  # what the terminal showed (stdout, and stderr unless it went to the pipe)
    piped: str = ""  # stderr, when it went to a pipe


def terminal_env(**extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "TERM": "xterm-256color",
    }
    env.update(extra)
    return env


def run_on_terminal(
    args: list[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    keys: bytes = b"",
    stderr_to_pipe: bool = False,
    timeout: float = 90.0,
) -> Shown:
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lagoform", *args],
        stdin=slave,
        stdout=slave,
        stderr=subprocess.PIPE if stderr_to_pipe else slave,
        cwd=cwd,
        env=dict(env),
        close_fds=True,
    )
    os.close(slave)
    if keys:
        os.write(master, keys)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"lagoform {' '.join(args)} did not finish in {timeout} s")
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    data = os.read(master, 65_536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        piped = proc.stderr.read().decode() if proc.stderr is not None else ""
        proc.wait(timeout=10)
    finally:
        os.close(master)
        if proc.stderr is not None:
            proc.stderr.close()
    return Shown(proc.returncode, b"".join(chunks).decode(errors="replace"), piped)
