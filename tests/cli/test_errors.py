"""The root group's error printer: located problems one per line, location first; no traceback."""

from __future__ import annotations

from pathlib import Path

import click
from click.testing import CliRunner

from lagoform.cli import LagoformGroup
from lagoform.config import load_config


def _cli(root: Path) -> click.Group:
    group = LagoformGroup(name="lagoform")

    @group.command()
    @click.option("-e", "--env", "env", default=None)
    def show(env: str | None) -> None:
        click.echo(load_config(root).environment(env or "sandbox").name)

    return group


def test_config_problems_print_one_per_line_location_first(tmp_path: Path) -> None:
    (tmp_path / "lagoform.yaml").write_text(
        "environments:\n  a:\n    api_url: nope\n    api_key_env: K\n"
        "  b:\n    api_url: https://x\n    api_key_env: k\n"
    )
    result = CliRunner().invoke(_cli(tmp_path), ["show"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "lagoform.yaml:3:14: environments.a.api_url: must be an http:// or https:// URL",
        "lagoform.yaml:7:18: environments.b.api_key_env: must name an environment variable, "
        "e.g. LAGO_API_KEY_PRODUCTION",
        "invalid configuration: 2 problems found; nothing was sent to Lago.",
    ]
    assert result.stdout == ""


def test_a_config_error_without_located_problems_is_one_message(tmp_path: Path) -> None:
    (tmp_path / "lagoform.yaml").write_text("environments:\n  sandbox: {}\n")
    result = CliRunner().invoke(_cli(tmp_path), ["show", "-e", "prod"])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: unknown environment 'prod'")
    assert "Traceback" not in result.output
