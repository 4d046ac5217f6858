"""Which Lago a command talks to: ``-e ENV`` from lagoform.yaml, ``--api-url``, or the sandbox.

With neither option the target is the embedded sandbox (a Lago emulator, state kept in
``.lagoform/sandbox.json``), and every run says so. ``--api-url`` takes its key from
``LAGO_API_KEY``; an environment takes it from the variable it names. A missing variable is a
``ConfigError`` naming the variable, never showing a value. The sandbox is imported lazily and
only here: the CLI may depend on it, the engine and the client may not.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import click
import click.shell_completion
import httpx

from lagoform.cli.console import console
from lagoform.config import (
    ADHOC_KEY_ENV,
    SANDBOX,
    Environment,
    LagoformConfig,
    load_config,
    read_key,
)
from lagoform.errors import ConfigError
from lagoform.lago import (
    DEFAULT_MAX_CONNECTIONS,
    AsyncLagoClient,
    LagoClient,
    RetryPolicy,
    Secret,
    api_root,
)
from lagoform.lago.secret import without_userinfo

if TYPE_CHECKING:
    from lagoform.sandbox import Sandbox

# The in-process sandbox accepts any key; this one only exists so the header is well formed.
SANDBOX_URL = "http://sandbox.lagoform.invalid"
SANDBOX_KEY = "lagoform-sandbox"
ADHOC = "ad-hoc"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Target:
    """A resolved target. Holds the key as a ``Secret``; ``describe()`` never shows it."""

    name: str
    environment: Environment
    root: Path
    api_url: str | None = None  # None for the embedded sandbox
    key_source: str | None = None  # the variable the key came from
    _key: Secret | None = field(default=None, repr=False)
    _sandbox: Sandbox | None = field(default=None, repr=False)
    _clients: list[LagoClient] = field(default_factory=list, repr=False)

    @property
    def api_key(self) -> Secret | None:
        """The resolved API key (None for the embedded sandbox, which needs none)."""
        return self._key

    @property
    def is_sandbox(self) -> bool:
        return self.environment.is_sandbox

    @property
    def state_path(self) -> Path | None:
        return self.environment.state_path(self.root) if self.is_sandbox else None

    def describe(self) -> str:
        if self.is_sandbox:
            state = self.state_path
            shown = _relative(state, self.root) if state is not None else "memory"
            return f"target: {self.name} (embedded emulator, state {shown})"
        shown = without_userinfo(self.api_url or "")  # credentials go into requests only
        if self.name == ADHOC:
            return f"target: {shown} (--api-url, key from {self.key_source})"
        return f"target: {self.name} ({shown})"

    def sandbox(self) -> Sandbox:
        """The embedded emulator, loaded from its state file on first use."""
        if self._sandbox is None:
            from lagoform.sandbox import Sandbox  # the CLI alone may import the sandbox

            # one writer per state file: wait a little for another embedded lagoform to
            # finish; a running `sandbox serve` is named, with the --api-url to use instead
            self._sandbox = Sandbox(
                premium=self.environment.premium,
                state_file=self.state_path,
                holder="lagoform (embedded sandbox)",
                lock_wait=10.0,
            )
        return self._sandbox

    def client(self) -> LagoClient:
        """A sync client for this target (closed by ``close()``)."""
        env = self.environment
        if self.is_sandbox:
            client = LagoClient(
                SANDBOX_URL,
                SANDBOX_KEY,
                transport=self.sandbox().transport(),
                timeouts=env.timeouts.build(),
                retry=env.retry.build(),
                pacing=None,  # in-process: nothing to protect
            )
        else:
            assert self.api_url is not None and self._key is not None
            client = LagoClient(
                self.api_url,
                self._key,
                timeouts=env.timeouts.build(),
                retry=env.retry.build(),
                pacing=env.pacing.build(),
            )
        self._clients.append(client)
        return client

    def async_client(
        self,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int | None = None,
    ) -> AsyncLagoClient:
        """An async client (the caller closes it with ``aclose()``).

        Each override replaces the environment's default when given: ``retry`` (e.g.
        ``NO_RETRY`` for a caller that counts attempts itself), ``transport`` (also over the
        sandbox's in-process one; a remote Lago is otherwise reached through aiohttp,
        ``lagoform.dispatch.http``, or httpx's transport when a proxy is configured) and
        ``max_connections`` (the pool size).
        """
        env = self.environment
        pool = DEFAULT_MAX_CONNECTIONS if max_connections is None else max_connections
        if self.is_sandbox:
            return AsyncLagoClient(
                SANDBOX_URL,
                SANDBOX_KEY,
                transport=transport if transport is not None else self.sandbox().transport(),
                timeouts=env.timeouts.build(),
                retry=retry if retry is not None else env.retry.build(),
                pacing=None,
                max_connections=pool,
            )
        assert self.api_url is not None and self._key is not None
        if transport is None:
            # aiohttp's pool, without httpx's models: httpx's pool costs CPU per queued request
            # times open connections, which dominated a 1,000-subscription impact analysis
            from lagoform.dispatch.http import event_transport

            transport = event_transport(pool)
        return AsyncLagoClient(
            self.api_url,
            self._key,
            timeouts=env.timeouts.build(),
            retry=retry if retry is not None else env.retry.build(),
            pacing=env.pacing.build(),
            transport=transport,
            max_connections=pool,
        )

    def close(self) -> None:
        """Close clients and write the sandbox state (idempotent)."""
        for client in self._clients:
            client.close()
        self._clients.clear()
        if self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None

    def __enter__(self) -> Target:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def resolve_target(
    env: str | None,
    api_url: str | None,
    root: Path,
    *,
    environ: Mapping[str, str] | None = None,
    config: LagoformConfig | None = None,
) -> Target:
    """The target for ``-e env`` / ``--api-url`` (neither: the embedded sandbox)."""
    environ = os.environ if environ is None else environ
    if env and api_url:
        raise ConfigError("give either -e/--env or --api-url, not both")
    if api_url:
        try:
            url = api_root(api_url).removesuffix("/api/v1")
        except ValueError as err:
            raise ConfigError(f"--api-url: {err}") from None
        key = read_key(ADHOC_KEY_ENV, "--api-url", environ)
        console().keep_secret(key)  # masked in the --verbose log whatever its name
        adhoc = Environment(name=ADHOC, kind="lago", api_url=url, api_key_env=ADHOC_KEY_ENV)
        return Target(ADHOC, adhoc, root, url, ADHOC_KEY_ENV, key)
    config = config if config is not None else load_config(root)
    chosen = config.environment(env or SANDBOX)
    if chosen.is_sandbox:
        return Target(chosen.name, chosen, root)
    key = chosen.api_key(environ)
    console().keep_secret(key)
    return Target(chosen.name, chosen, root, chosen.api_url, chosen.api_key_env, key)


def target_options(func: F) -> F:
    """Adds ``-e/--env`` and ``--api-url`` (passed as ``env`` and ``api_url``) to a command."""
    func = click.option(
        "--api-url",
        "api_url",
        metavar="URL",
        default=None,
        help=f"Talk to this Lago (key from ${ADHOC_KEY_ENV}) instead of an environment.",
    )(func)
    func = click.option(
        "-e",
        "--env",
        "env",
        metavar="ENV",
        default=None,
        shell_complete=complete_environments,
        help="Environment from lagoform.yaml (default: the embedded sandbox).",
    )(func)
    return func


def complete_environments(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[click.shell_completion.CompletionItem]:
    """Shell completion of ``-e``: the environments of lagoform.yaml under ``--root`` (or the
    current directory), with their descriptions; nothing when it cannot be read."""
    root = ctx.params.get("root") or ctx.params.get("project_root") or Path.cwd()
    try:
        config = load_config(Path(root))
    except Exception:  # completion must never print an error into the user's prompt
        return []
    names = {SANDBOX: None, **config.environments}
    items = []
    for name in sorted(names):
        if name.startswith(incomplete):
            env = config.environments.get(name)
            items.append(
                click.shell_completion.CompletionItem(
                    name, help=env.description if env is not None else None
                )
            )
    return items


def open_target(env: str | None, api_url: str | None, root: Path | None = None) -> Target:
    """Resolve the target and say which it is on stderr (every run prints its target)."""
    target = resolve_target(env, api_url, root or Path.cwd())
    click.echo(target.describe(), err=True)
    return target


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
