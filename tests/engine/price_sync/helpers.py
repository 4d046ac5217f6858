"""Fixtures of the price-sync tests: snapshots of each source, and a small LLM catalog with its
``prices.yaml`` (copied into a temporary directory before a test edits it)."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner, Result

from lagoform.cli import _register, root

FIXTURES = Path(__file__).resolve().parent / "fixtures"
LITELLM = FIXTURES / "litellm.json"
OPENROUTER = FIXTURES / "openrouter.json"
CSV = FIXTURES / "prices.csv"

_register()


def project_copy(tmp_path: Path) -> Path:
    """The small example catalog (metric, price table, two plans) and its prices.yaml."""
    target = tmp_path / "project"
    shutil.copytree(FIXTURES / "project", target)
    return target


def lagoform(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(root, list(args), env=env)


def sync(project: Path, *args: str) -> Result:
    return lagoform("prices", "sync", "--root", str(project), *args)
