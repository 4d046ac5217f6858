"""The command line: parse, call the core, print, and map errors to exit codes (here only).

Each command group lives in its own module under ``lagoform.cli``; this module builds the root
group and owns the single place where ``LagoformError`` becomes an exit code.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from lagoform import __version__
from lagoform.errors import (
    EXIT_ERROR,
    CatalogError,
    ChangesPending,
    ConfigError,
    LagoformError,
)


def report_error(err: LagoformError) -> None:
    """Print an expected error for a person (and for tools parsing ``file:line:col``)."""
    if isinstance(err, CatalogError) or (isinstance(err, ConfigError) and err.problems):
        # One problem per line, starting with its location, so editors, CI log parsers and
        # GitHub annotations can read them; the summary goes last.
        for problem in err.problems:
            click.echo(str(problem), err=True)
        n = len(err.problems)
        found = f"{n} problem{'s' if n != 1 else ''} found"
        summary = found if isinstance(err, CatalogError) else f"invalid configuration: {found}"
        click.secho(f"{summary}; nothing was sent to Lago.", fg="red", err=True)
        return
    click.secho(f"Error: {err}", fg="red", err=True)


class _Stderr(logging.Handler):
    """Warnings (a retry, a lost answer) go to the stderr of the moment, as people read it."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            click.echo(f"warning: {record.getMessage()}", err=True)
        except Exception:  # a closed stderr must not turn a warning into a crash
            self.handleError(record)


def _warnings_to_stderr() -> None:
    logger = logging.getLogger("lagoform")
    if not any(isinstance(h, _Stderr) for h in logger.handlers):
        logger.addHandler(_Stderr(logging.WARNING))
        logger.setLevel(logging.WARNING)


class LagoformGroup(click.Group):
    """Root group: turns every expected error into a message and an exit code, no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        _warnings_to_stderr()
        try:
            return super().invoke(ctx)
        except ChangesPending as pending:
            ctx.exit(pending.exit_code)
        except LagoformError as err:
            report_error(err)
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
        report_error(err)
        sys.exit(EXIT_ERROR)
