"""The list of command groups; each lives in its own module."""

from __future__ import annotations

import click


def register(root: click.Group) -> None:
    from lagoform.cli import validate

    root.add_command(validate.validate)
    root.add_command(validate.schema)
