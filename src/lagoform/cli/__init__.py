"""The command line: parse, call the core, print, and map errors to exit codes (here only).

Each command group lives in its own module under ``lagoform.cli``; this module builds the root
group and owns the single place where ``LagoformError`` becomes an exit code.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from lagoform import __version__
from lagoform.errors import EXIT_ERROR, ChangesPending, LagoformError


class LagoformGroup(click.Group):
    """Root group: turns every expected error into a message and an exit code, no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ChangesPending as pending:
            ctx.exit(pending.exit_code)
        except LagoformError as err:
            click.secho(f"Error: {err}", fg="red", err=True)
            ctx.exit(err.exit_code)
        except KeyboardInterrupt:
            click.secho("Interrupted.", fg="red", err=True)
            ctx.exit(130)


@click.group(cls=LagoformGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lagoform")
def root() -> None:
    """Lago billing configuration as reviewed code."""


def _register() -> None:
    # Explicit imports (no plugin registry): grep and mypy can follow every command.
    from lagoform.cli import commands

    commands.register(root)


def main() -> None:
    _register()
    try:
        root.main(standalone_mode=True)
    except LagoformError as err:  # errors raised while parsing options
        click.secho(f"Error: {err}", fg="red", err=True)
        sys.exit(EXIT_ERROR)
