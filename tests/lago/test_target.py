"""Target selection: the sandbox by default, -e ENV, --api-url; the key stays secret."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
from click.testing import CliRunner

from lagoform.cli.target import open_target, resolve_target, target_options
from lagoform.errors import ConfigError, LagoServerError
from lagoform.lago import DEFAULT_MAX_CONNECTIONS, NO_RETRY, Secret
from lagoform.sandbox import Sandbox

CANARY = "lago_canary_9f3b_target_0c1d2e"
CONFIG = """\
environments:
  sandbox:
    state: .lagoform/sandbox.json
  production:
    api_url: https://api.getlago.com
    api_key_env: LAGO_API_KEY_PRODUCTION
    pacing: {config: 40}
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "lagoform.yaml").write_text(CONFIG)
    return tmp_path


def test_default_is_the_embedded_sandbox_and_its_state_survives(root: Path) -> None:
    with resolve_target(None, None, root, environ={}) as target:
        assert target.is_sandbox
        assert target.describe() == (
            "target: sandbox (embedded emulator, state .lagoform/sandbox.json)"
        )
        client = target.client()
        client.create_tax({"code": "vat", "name": "VAT", "rate": "20.0"})
    assert (root / ".lagoform" / "sandbox.json").is_file()
    with resolve_target("sandbox", None, root, environ={}) as again:
        tax = again.client().get_tax("vat")
        assert tax is not None and tax["name"] == "VAT"


def test_sandbox_without_a_config_file(tmp_path: Path) -> None:
    target = resolve_target(None, None, tmp_path, environ={})
    assert target.describe() == "target: sandbox (embedded emulator, state .lagoform/sandbox.json)"
    target.close()


def test_environment_takes_its_key_from_the_named_variable(root: Path) -> None:
    target = resolve_target("production", None, root, environ={"LAGO_API_KEY_PRODUCTION": CANARY})
    assert target.describe() == "target: production (https://api.getlago.com)"
    client = target.client()
    assert client.api_root == "https://api.getlago.com/api/v1"
    assert client.core.pacer.config is not None and client.core.pacer.config.config == 40.0
    assert client.core.secret.reveal() == CANARY
    for text in (target.describe(), repr(target), repr(client), str(vars(target))):
        assert CANARY not in text
    target.close()


def test_missing_variable_is_named_not_shown(root: Path) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_target("production", None, root, environ={"LAGO_API_KEY": CANARY})
    assert "LAGO_API_KEY_PRODUCTION" in str(info.value)
    assert CANARY not in str(info.value)


def test_api_url_reads_lago_api_key(root: Path) -> None:
    target = resolve_target(
        None, "https://lago.example.com/", root, environ={"LAGO_API_KEY": CANARY}
    )
    assert (
        target.describe() == "target: https://lago.example.com (--api-url, key from LAGO_API_KEY)"
    )
    assert target.client().api_root == "https://lago.example.com/api/v1"
    target.close()
    with pytest.raises(ConfigError, match="LAGO_API_KEY, which is not set"):
        resolve_target(None, "https://lago.example.com", root, environ={})
    with pytest.raises(ConfigError, match="--api-url"):
        resolve_target(None, "lago.example.com", root, environ={"LAGO_API_KEY": CANARY})


def test_url_credentials_reach_the_request_but_no_text(root: Path) -> None:
    target = resolve_target(
        None, "http://user:hunter2@lago.example.com", root, environ={"LAGO_API_KEY": CANARY}
    )
    assert target.describe() == "target: http://lago.example.com (--api-url, key from LAGO_API_KEY)"
    assert target.client().api_root == "http://user:hunter2@lago.example.com/api/v1"  # sent
    target.close()
    with pytest.raises(ConfigError) as info:
        resolve_target(None, "ftp://user:hunter2@x", root, environ={"LAGO_API_KEY": CANARY})
    assert "hunter2" not in str(info.value)


def test_both_or_unknown_is_an_error(root: Path) -> None:
    with pytest.raises(ConfigError, match="not both"):
        resolve_target("production", "https://x.test", root, environ={})
    with pytest.raises(ConfigError, match="unknown environment 'staging'"):
        resolve_target("staging", None, root, environ={})


def test_click_options_and_announcement(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    @click.command()
    @target_options
    def show(env: str | None, api_url: str | None) -> None:
        target = open_target(env, api_url, root)
        click.echo(f"ok {target.name}")
        target.close()

    monkeypatch.setenv("LAGO_API_KEY_PRODUCTION", CANARY)
    result = CliRunner().invoke(show, ["-e", "production"])
    assert result.exit_code == 0, result.output
    assert "target: production (https://api.getlago.com)" in result.output
    assert "ok production" in result.output
    assert CANARY not in result.output
    result = CliRunner().invoke(show, [])
    assert "target: sandbox (embedded emulator" in result.output
    help_text = CliRunner().invoke(show, ["--help"]).output
    assert "-e, --env ENV" in help_text and "--api-url URL" in help_text


def test_api_key_accessor_holds_the_resolved_secret(root: Path) -> None:
    with resolve_target(None, None, root, environ={}) as sandbox:
        assert sandbox.api_key is None
    target = resolve_target("production", None, root, environ={"LAGO_API_KEY_PRODUCTION": CANARY})
    key = target.api_key
    assert isinstance(key, Secret) and key.reveal() == CANARY
    assert key is target._key  # the private name still works for older callers
    assert CANARY not in repr(target) and CANARY not in str(key)
    target.close()


def test_async_client_defaults_come_from_the_environment(root: Path) -> None:
    target = resolve_target("production", None, root, environ={"LAGO_API_KEY_PRODUCTION": CANARY})
    client = target.async_client()
    assert client.api_root == "https://api.getlago.com/api/v1"
    assert client.core.retry == target.environment.retry.build()
    assert client.core.retry.max_attempts > 1
    assert client.max_connections == DEFAULT_MAX_CONNECTIONS
    asyncio.run(client.aclose())


def test_async_client_overrides_reach_lago_with_the_targets_key(root: Path) -> None:
    # A sandbox that answers only this key stands in for the remote Lago through `transport`.
    lago = Sandbox(api_key=CANARY)
    lago.set_faults(outage=True)
    seen: list[str] = []

    class Recording(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(request.url.path)
            return await inner.handle_async_request(request)

    inner: httpx.AsyncBaseTransport = lago.transport()
    target = resolve_target("production", None, root, environ={"LAGO_API_KEY_PRODUCTION": CANARY})

    async def main() -> None:
        async with target.async_client(
            retry=NO_RETRY, transport=Recording(), max_connections=3
        ) as client:
            assert client.max_connections == 3
            with pytest.raises(LagoServerError):  # an outage; NO_RETRY: one attempt only
                await client.get("/taxes")
            assert seen == ["/api/v1/taxes"]
            lago.set_faults(outage=False)
            assert "taxes" in await client.get("/taxes")  # the target's key was accepted

    asyncio.run(main())
    target.close()
    lago.close()


def test_async_client_on_the_sandbox_keeps_its_in_process_transport(root: Path) -> None:
    with resolve_target(None, None, root, environ={}) as target:
        target.client().create_tax({"code": "vat", "name": "VAT", "rate": "20.0"})

        async def main() -> dict[str, Any]:
            async with target.async_client(retry=NO_RETRY, max_connections=2) as client:
                assert client.core.retry is NO_RETRY
                return await client.get("/taxes/vat")

        assert asyncio.run(main())["tax"]["name"] == "VAT"
