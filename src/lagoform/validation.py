"""Offline validation of a whole project: ``lagoform.yaml``, the YAML under ``catalog/`` and
``overrides/``, and ``policies.yaml``, every problem at once (``lagoform validate`` and the
GitHub Action use it).

Nothing here talks to Lago. Each problem names its file, line and column where it has them.
"""

from __future__ import annotations

from pathlib import Path

from lagoform.errors import CatalogError, ConfigError, Problem


def validate_project(root: Path) -> list[Problem]:
    """Every problem in lagoform.yaml and the catalog (empty when the project is valid)."""
    from lagoform.catalog.policies_file import policy_problems
    from lagoform.catalog.project import load_project
    from lagoform.config import load_config

    problems: list[Problem] = []
    try:
        load_config(root)
    except ConfigError as err:
        # a located mistake per line; an unlocated one (a missing variable) as its message
        problems.extend(err.problems or [Problem(str(err))])
    project = None
    try:
        project = load_project(root)
    except CatalogError as err:
        problems.extend(err.problems)
    problems.extend(policy_problems(root, project))
    return problems
