"""`lagoform prices sync`: rewrite the catalog's model prices from a provider's price list.

Exit codes (the root group maps errors): 0 done (or nothing to change), 1 error (bad snapshot,
bad prices.yaml, invalid result — nothing written), 2 with ``--check`` only: the catalog would
change (nothing written), like ``plan --detailed-exitcode``.
"""

from __future__ import annotations

from pathlib import Path

import click

from lagoform.catalog import load_project
from lagoform.engine.price_sync import (
    CONFIG_FILE,
    SOURCES,
    check_result,
    load_settings,
    read_price_list,
    read_snapshot,
    sync_json,
    sync_prices,
    sync_text,
    write_result,
)
from lagoform.errors import CatalogError, ChangesPending


@click.group("prices")
def prices() -> None:
    """Model price lists: keep the catalog's LLM prices in step with a provider's list."""


@prices.command("sync")
@click.option(
    "--from",
    "source_path",
    required=True,
    metavar="FILE|URL",
    help="The price list snapshot: a file, or an http(s) URL.",
)
@click.option(
    "--source",
    type=click.Choice(SOURCES),
    default=None,
    help="Its shape (default: the config's `source:`, else recognised from the snapshot).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"The sync settings (default: {CONFIG_FILE} in --root).",
)
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Project directory holding catalog/ and overrides/.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@click.option(
    "--check",
    is_flag=True,
    help="Like --dry-run, and exit 2 when the catalog would change (0 when it matches).",
)
def sync_command(
    source_path: str,
    source: str | None,
    config_path: Path | None,
    root: Path,
    output_format: str,
    dry_run: bool,
    check: bool,
) -> None:
    """Write a provider's model prices (marked up and rounded as prices.yaml says) into the
    catalog as a reviewable change: prices, new models in the metric's filter, and models the
    list no longer has retired through remove.filter_values. Never calls Lago."""
    project = load_project(root)
    config = config_path or root / CONFIG_FILE
    shown = str(config_path) if config_path is not None else CONFIG_FILE
    settings, data = load_settings(config, shown, project)
    text, name = read_snapshot(source_path)
    chosen = source or settings.source
    price_list, problems = read_price_list(text, name, chosen)  # type: ignore[arg-type]
    if price_list is None or problems:
        raise CatalogError(problems)
    result = sync_prices(project, settings, data, price_list)
    check_result(root, result)
    write = not (dry_run or check)
    if write:
        write_result(root, result)
    if output_format == "json":
        click.echo(sync_json(result, wrote=write))
    else:
        click.echo(sync_text(result, wrote=write))
    if check and result.changed:
        raise ChangesPending(len(result.texts))
