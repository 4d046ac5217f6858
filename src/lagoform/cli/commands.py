"""The list of command groups; each lives in its own module."""

from __future__ import annotations

import click


def register(root: click.Group) -> None:
    from lagoform.cli import validate

    root.add_command(validate.validate)
    root.add_command(validate.schema)
    from lagoform.cli.dispatch import dispatch

    root.add_command(dispatch)
    from lagoform.cli.audit import audit

    root.add_command(audit)
    from lagoform.cli import sandbox as sandbox_cli

    root.add_command(sandbox_cli.sandbox)
    from lagoform.cli import plan as plan_cli

    root.add_command(plan_cli.plan_command)
    root.add_command(plan_cli.show_command)
    root.add_command(plan_cli.import_command)
    from lagoform.cli.apply import apply_command

    root.add_command(apply_command)
    from lagoform.cli.impact import impact_command

    root.add_command(impact_command)
    from lagoform.cli.prices import prices

    root.add_command(prices)
