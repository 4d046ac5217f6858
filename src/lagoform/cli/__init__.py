"""The command line: parse, call the core, print, and map errors to exit codes (here only).

Each command group lives in its own module under ``lagoform.cli``; this module builds the root
group, its global options (``--no-color``, ``-q/--quiet``, ``-v/--verbose``: ``console``), and
owns the single place where an error becomes an exit code:

====  ==========================================================================
0     success; with ``plan --detailed-exitcode``: no changes
1     any error: invalid YAML or lagoform.yaml, a usage error (unknown option or
      command, bad value), Lago refused or unreachable, a stale or blocked plan,
      a failed apply, an audit sink that refused a record
2     changes pending (never anything else): ``plan --detailed-exitcode``,
      ``prices sync --check``
130   interrupted (Ctrl-C)
====  ==========================================================================

Click exits 2 on a usage error; lagoform exits 1, so that 2 keeps Terraform's one meaning.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from lagoform import __version__
from lagoform.cli.console import Console
from lagoform.errors import (
    EXIT_ERROR,
    CatalogError,
    ChangesPending,
    ConfigError,
    LagoformError,
)

# A usage error (unknown option or command, a bad value) exits with this, not click's 2.
EXIT_USAGE = EXIT_ERROR


class UsageError(click.UsageError):
    """Click's usage error, shown the same way, with lagoform's exit code."""

    exit_code = EXIT_USAGE


def _usage(err: click.UsageError) -> UsageError:
    return UsageError(err.format_message(), err.ctx)


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

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as err:
            raise _usage(err) from None

    def invoke(self, ctx: click.Context) -> Any:
        _warnings_to_stderr()
        try:
            return super().invoke(ctx)
        except click.UsageError as err:  # a subcommand's (or a subgroup's): not exit code 2
            raise _usage(err) from None
        except ChangesPending as pending:
            ctx.exit(pending.exit_code)
        except LagoformError as err:
            report_error(err)
            ctx.exit(err.exit_code)
        except KeyboardInterrupt:
            click.secho("Interrupted.", fg="red", err=True)
            ctx.exit(130)


EPILOG = """\b
Exit codes: 0 ok (plan --detailed-exitcode: no changes), 1 error (usage errors
included), 2 changes pending (plan --detailed-exitcode, prices sync --check),
130 interrupted.
Colour: off with --no-color, NO_COLOR=1, TERM=dumb, or when not a terminal.
Shell completion: eval "$(_LAGOFORM_COMPLETE=bash_source lagoform)" (docs/cli.md)."""


@click.group(
    "lagoform",
    cls=LagoformGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=EPILOG,
)
@click.version_option(__version__, prog_name="lagoform")
@click.option("--no-color", is_flag=True, help="No colours (also: NO_COLOR=1, TERM=dumb).")
@click.option("-q", "--quiet", is_flag=True, help="Results and errors only: no notes, no progress.")
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Log every Lago request on stderr (method, path, status, time; secrets masked).",
)
@click.pass_context
def root(ctx: click.Context, no_color: bool, quiet: bool, verbose: bool) -> None:
    """Lago billing configuration as reviewed code."""
    console = Console(quiet=quiet, verbose=verbose, no_color=no_color)
    ctx.obj = console
    if not console.colors_allowed:
        ctx.color = False  # click strips the styles of every message
    console.start_logging()


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
