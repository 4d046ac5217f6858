"""Release metadata: one version, a changelog entry for it, the licence pyproject declares."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import lagoform

ROOT = Path(__file__).resolve().parents[2]


def _pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_version_has_one_source() -> None:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    assert "version" not in project and project["dynamic"] == ["version"]
    tool = _pyproject()["tool"]
    assert isinstance(tool, dict)
    assert tool["setuptools"]["dynamic"]["version"] == {"attr": "lagoform.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?", lagoform.__version__)


def test_the_changelog_describes_the_current_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## \[([^\]]+)\]", changelog, flags=re.MULTILINE)
    assert headings, "CHANGELOG.md has no '## [version]' sections"
    assert lagoform.__version__ in headings
    released = [h for h in headings if h != "Unreleased"]
    assert released[0] == lagoform.__version__, "the newest release section comes first"


def test_the_licence_file_is_the_declared_licence() -> None:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text


def test_the_docs_pin_the_current_version() -> None:
    """Install lines, action pins and schema addresses in the docs name this release."""
    version = re.escape(lagoform.__version__)
    for name in ("README.md", "docs/github.md", "docs/validation.md"):
        text = (ROOT / name).read_text(encoding="utf-8")
        pinned = re.findall(r"lagoform(?:\[[a-z,]+\])?==([0-9][^'\s]*)", text)
        pinned += re.findall(r"# v([0-9][^\s`]*)", text)
        pinned += re.findall(r"/v([0-9][^/]*)/src/lagoform/schemas/", text)
        assert pinned or name == "docs/validation.md"
        stale = [v for v in pinned if not re.fullmatch(version, v.rstrip(".,)"))]
        assert stale == [], f"{name} names {stale}, lagoform is {lagoform.__version__}"
