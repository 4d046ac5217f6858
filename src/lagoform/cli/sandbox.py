"""`lagoform sandbox serve` (the emulator over HTTP) and `lagoform sandbox reset`.

The state file defaults to the sandbox environment's (``.lagoform/sandbox.json`` unless
lagoform.yaml says otherwise), the same file the CLI's embedded default target uses.
"""

from __future__ import annotations

from pathlib import Path

import click
import httpx

from lagoform.config import SANDBOX, load_config
from lagoform.errors import ConfigError, LagoTransportError
from lagoform.extras import require_extra

_root_option = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Project directory holding lagoform.yaml.",
)
_state_option = click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="State file (default: the sandbox environment's, .lagoform/sandbox.json).",
)


def _state_path(root: Path, state_file: Path | None) -> Path:
    if state_file is not None:
        return state_file
    return load_config(root).environment(SANDBOX).state_path(root)


@click.group()
def sandbox() -> None:
    """The embedded Lago emulator."""


@sandbox.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=0, type=int, show_default=True, help="0 picks a free port.")
@_state_option
@_root_option
@click.option("--no-premium", is_flag=True, help="Behave like Lago without a premium licence.")
@click.option("--latency-ms", default=0.0, type=float, help="Added latency per request.")
@click.option("--fault-rate", default=0.0, type=float, help="Share of requests answered 500.")
@click.option("--fault-seed", default=0, type=int, help="Seed for the fault draws.")
@click.option(
    "--api-key",
    envvar="LAGOFORM_SANDBOX_API_KEY",
    default=None,
    help="Only accept this bearer key (default: any non-empty key). Env: LAGOFORM_SANDBOX_API_KEY.",
)
@click.option(
    "--max-body-mb",
    type=click.FloatRange(min=0.001, max=1024),
    default=16.0,
    show_default=True,
    help="Refuse request bodies larger than this (413).",
)
@click.option(
    "--read-timeout",
    type=click.FloatRange(min=0.1, max=3600),
    default=30.0,
    show_default=True,
    help="Seconds a client may pause while sending a body (then 408).",
)
def serve(
    host: str,
    port: int,
    state_file: Path | None,
    root: Path,
    no_premium: bool,
    latency_ms: float,
    fault_rate: float,
    fault_seed: int,
    api_key: str | None,
    max_body_mb: float,
    read_timeout: float,
) -> None:
    """Serve Lago's REST API (/api/v1) from the emulator until interrupted."""
    require_extra("server", "lagoform sandbox serve")
    from lagoform.sandbox import Sandbox
    from lagoform.sandbox import serve as serve_http

    if not 0 <= fault_rate <= 1:
        raise ConfigError("--fault-rate must be between 0 and 1")
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.secho(f"warning: binding {host}, not loopback", fg="yellow", err=True)
    path = _state_path(root, state_file)
    try:
        emulator = Sandbox(
            premium=not no_premium,
            api_key=api_key or None,
            state_file=path,
            latency_ms=latency_ms,
            fault_rate=fault_rate,
            fault_seed=fault_seed,
        )
    except (ValueError, OSError) as exc:
        raise ConfigError(f"cannot load sandbox state {path}: {exc}") from exc

    def announce(url: str) -> None:
        premium = "off" if no_premium else "on"
        click.echo(f"lagoform sandbox: Lago API at {url}/api/v1 (state {path}, premium {premium})")
        click.echo(f"Listening on {url}", nl=True)

    try:
        serve_http(
            emulator,
            host,
            port,
            on_ready=announce,
            max_body=int(max_body_mb * 1024 * 1024),
            read_timeout=read_timeout,
        )
    except OSError as exc:  # e.g. the port is taken
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


@sandbox.command()
@_state_option
@_root_option
@click.option("--url", default=None, help="Reset a running `sandbox serve` at this base URL.")
def reset(state_file: Path | None, root: Path, url: str | None) -> None:
    """Empty the sandbox: its state file, or a running server's state."""
    if url is not None:
        try:
            httpx.post(url.rstrip("/") + "/__sandbox/reset", timeout=10).raise_for_status()
        except httpx.HTTPError as exc:
            raise LagoTransportError(f"cannot reset the sandbox at {url}: {exc}") from exc
        click.echo(f"lagoform sandbox: reset the server at {url}")
        return
    from lagoform.sandbox.persistence import StateFile

    path = _state_path(root, state_file)
    removed = StateFile(path).remove()
    if removed:
        click.echo(f"lagoform sandbox: removed {', '.join(str(p) for p in removed)}")
    else:
        click.echo(f"lagoform sandbox: {path} did not exist; nothing to reset")
