"""Helpers for the dispatch integration tests: run the CLI as a real process, read the sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from lagoform.sandbox.state import E_SUB, E_TXN

REPO = Path(__file__).resolve().parents[2]


def cli_env(server: Any) -> dict[str, str]:
    return {**os.environ, "LAGO_API_KEY": server.api_key, "PYTHONUNBUFFERED": "1"}


def dispatch_args(root: Path, spool: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "lagoform",
        "dispatch",
        *args,
        "--root",
        str(root),
        "--spool",
        str(spool),
    ]


def run_cli(server: Any, root: Path, spool: Path, *args: str, timeout: float = 120) -> Any:
    """``lagoform dispatch ARGS --root R --spool S --api-url URL`` to completion."""
    command = dispatch_args(root, spool, *args)
    if args[0] in ("run", "kafka") or args[:2] == ("dlq", "replay"):
        command += ["--api-url", server.url]
    return subprocess.run(
        command, env=cli_env(server), capture_output=True, text=True, timeout=timeout, cwd=REPO
    )


def start_worker(
    server: Any, root: Path, spool: Path, *args: str, quiet: bool = True
) -> subprocess.Popen[bytes]:
    flags = ["-q"] if quiet else []
    command = [*dispatch_args(root, spool, "run", *flags, *args), "--api-url", server.url]
    return subprocess.Popen(
        command, env=cli_env(server), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO
    )


def transaction_counts(server: Any) -> Counter[tuple[str | None, str]]:
    """(external_subscription_id, transaction_id) → how many times the sandbox stored it."""
    return Counter((e[E_SUB], e[E_TXN]) for e in server.dump()["events"])


def create_metric(server: Any, body: dict[str, Any]) -> None:
    response = httpx.post(
        f"{server.url}/api/v1/billable_metrics",
        json={"billable_metric": body},
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=10,
    )
    response.raise_for_status()
