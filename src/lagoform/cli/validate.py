"""`lagoform validate` (offline checks of lagoform.yaml, catalog/ and overrides/) and
`lagoform schema`."""

from __future__ import annotations

from pathlib import Path

import click

from lagoform.catalog import load_project
from lagoform.catalog.project import Project
from lagoform.catalog.schema import SCHEMA_KINDS, SchemaKind, schema_text
from lagoform.errors import CatalogError, ConfigError
from lagoform.validation import validate_project


def _count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


@click.command()
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Project directory holding lagoform.yaml, catalog/ and overrides/.",
)
def validate(root: Path) -> None:
    """Check lagoform.yaml, catalog/ and overrides/ offline; exit 1 listing every problem."""
    problems = validate_project(root)
    if problems:
        raise CatalogError(problems)  # every problem, file:line:col first, exit 1 (root group)
    project = load_project(root)
    for warning in project.warnings:  # valid, but likely a mistake: said, never blocking
        click.echo(str(warning), err=True)
    _policies(root, project)
    catalog = project.catalog
    subscriptions = sum(len(t.subscriptions) for t in project.tenants)
    summary = ", ".join(
        [
            _count(len(catalog.billable_metrics), "metric"),
            _count(len(catalog.plans), "plan"),
            _count(len(catalog.add_ons), "add-on"),
            _count(len(catalog.coupons), "coupon"),
            _count(len(catalog.taxes), "tax", "taxes"),
            _count(len(catalog.usage_mappings), "usage mapping"),
            _count(len(project.tenants), "tenant"),
            _count(subscriptions, "subscription"),
        ]
        + ([_count(len(catalog.price_tables), "price table")] if catalog.price_tables else [])
    )
    click.echo(f"Valid: {summary}.")


def _policies(root: Path, project: Project) -> None:
    """The rules of policies.yaml the YAML alone decides: an open error fails validation, a
    warning is said; approved and acknowledged ones are counted."""
    from datetime import UTC, datetime

    from lagoform.catalog.policies_file import load_policies
    from lagoform.engine.desired import from_project
    from lagoform.policies import as_problem, check_project

    policies = load_policies(root, project)
    if policies is None:
        return
    today = datetime.now(UTC).date()
    found = check_project(policies, project, from_project(project), today=today)
    errors = [as_problem(f) for f in found if f.severity == "error" and not f.acknowledged]
    for f in found:
        if f.severity == "warning" and not f.acknowledged:
            click.echo(str(as_problem(f)), err=True)
    through = [f for f in found if f.acknowledged]
    if through:
        click.echo(f"policies: {len(through)} finding(s) approved or acknowledged", err=True)
    if errors:
        raise CatalogError(errors)


@click.command()
@click.option(
    "--kind",
    type=click.Choice(SCHEMA_KINDS),
    default="catalog",
    show_default=True,
    help="Which files the schema describes.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the JSON Schema to this file (default: print it).",
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write catalog.schema.json, overrides.schema.json and policies.schema.json into this "
    "directory.",
)
def schema(kind: SchemaKind, out: Path | None, out_dir: Path | None) -> None:
    """Write the JSON Schema of catalog or overrides files (for editor completion)."""
    try:
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            for name in SCHEMA_KINDS:
                target = out_dir / f"{name}.schema.json"
                target.write_text(schema_text(name), encoding="utf-8")
                click.echo(f"Wrote {target}")
            return
        text = schema_text(kind)
        if out is None:
            click.echo(text, nl=False)
            return
        out.write_text(text, encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot write the schema: {err}") from err
    click.echo(f"Wrote {out}")
