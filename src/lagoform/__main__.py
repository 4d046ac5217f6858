"""``python -m lagoform`` runs the CLI."""

from __future__ import annotations

from lagoform.cli import main

main()
