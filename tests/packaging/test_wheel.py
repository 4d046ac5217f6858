"""The released artefact: build the wheel, install it alone into a fresh venv, and use it.

Offline and fast: the wheel is built without build isolation (setuptools from the dev venv), and
the fresh venv installs lagoform's runtime dependencies with ``--no-index`` from the wheelhouse
``make setup`` downloads into ``.venv/wheelhouse``. A plain install must validate a project and
print its version; the commands that need an extra must say which one, in one line.
"""

from __future__ import annotations

import email
import json
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

import lagoform

ROOT = Path(__file__).resolve().parents[2]
WHEELHOUSE = Path(sys.prefix) / "wheelhouse"
# Never in a plain install: each belongs to an extra (or to the tests).
EXTRAS_ONLY = {"uvicorn", "httptools", "uvloop", "github-action-toolkit", "confluent-kafka"}
TEST_ONLY = {"deepdiff", "jsonschema", "pytest", "hypothesis"}

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path

    def run(self, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.venv / "bin" / args[0]), *args[1:]],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def _pip(*args: str) -> str:
    # The dev venv's pip drives the fresh venv (--python): the fresh venv needs no pip of its own.
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    assert WHEELHOUSE.is_dir(), f"{WHEELHOUSE} is missing: run `make setup`"
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    # Build from a copy: what the wheel needs must be in these files, and the checkout stays clean.
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        source.mkdir(exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src" / "lagoform",
        source / "src" / "lagoform",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    dist = tmp / "dist"
    _pip(
        "wheel",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "-w",
        str(dist),
        str(source),
    )
    (wheel,) = dist.glob("lagoform-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    _pip(
        "--python",
        str(venv / "bin" / "python"),
        "install",
        "-q",
        "--no-index",
        "--find-links",
        str(WHEELHOUSE),
        str(wheel),
    )
    return Installed(wheel, venv)


def test_the_wheel_is_named_and_described_by_the_one_version(installed: Installed) -> None:
    assert installed.wheel.name == f"lagoform-{lagoform.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(installed.wheel) as archive:
        names = set(archive.namelist())
        info = f"lagoform-{lagoform.__version__}.dist-info"
        metadata = email.message_from_bytes(archive.read(f"{info}/METADATA"))
    assert metadata["Version"] == lagoform.__version__
    assert metadata["License-Expression"] == "Apache-2.0"
    assert f"{info}/licenses/LICENSE" in names
    urls = {value.split(",")[0] for value in metadata.get_all("Project-URL") or []}
    assert {"Homepage", "Documentation", "Source", "Issues", "Changelog"} <= urls
    assert any(
        c.startswith("Programming Language :: Python :: 3")
        for c in metadata.get_all("Classifier") or []
    )
    # Package data: templates, the editor schemas, the typing marker.
    assert "lagoform/py.typed" in names
    assert "lagoform/schemas/catalog.schema.json" in names
    assert "lagoform/schemas/overrides.schema.json" in names
    assert "lagoform/schemas/policies.schema.json" in names
    assert any(n.endswith(".md.j2") for n in names)


def test_version_and_validate_work_from_a_plain_install(installed: Installed) -> None:
    version = installed.run("lagoform", "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"lagoform, version {lagoform.__version__}"
    valid = installed.run("lagoform", "validate", "--root", str(ROOT))
    assert valid.returncode == 0, valid.stdout + valid.stderr
    assert valid.stdout.startswith("Valid: ")


def test_the_installed_schemas_are_the_committed_ones(installed: Installed) -> None:
    for kind in ("catalog", "overrides", "policies"):
        printed = installed.run("lagoform", "schema", "--kind", kind)
        assert printed.returncode == 0, printed.stderr
        committed = ROOT / "src" / "lagoform" / "schemas" / f"{kind}.schema.json"
        assert json.loads(printed.stdout) == json.loads(committed.read_text(encoding="utf-8"))


def test_a_plain_install_holds_only_the_runtime_dependencies(installed: Installed) -> None:
    listed = json.loads(
        _pip("--python", str(installed.venv / "bin" / "python"), "list", "--format=json")
    )
    names = {item["name"].lower() for item in listed}
    assert "lagoform" in names
    assert not names & (EXTRAS_ONLY | TEST_ONLY)
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not any(d.split(">")[0].split("=")[0].lower() in EXTRAS_ONLY for d in declared)
    _pip("--python", str(installed.venv / "bin" / "python"), "check")


@pytest.mark.parametrize(
    ("command", "extra"),
    [
        (("lagoform", "sandbox", "serve", "--port", "0"), "server"),
        (("lagoform", "dispatch", "serve", "--port", "0"), "server"),
        (("python", "-m", "lagoform.github", "pr"), "github"),
    ],
    ids=["sandbox-serve", "dispatch-serve", "github-action"],
)
def test_a_command_needing_an_extra_names_it_in_one_line(
    installed: Installed, tmp_path: Path, command: tuple[str, ...], extra: str
) -> None:
    result = installed.run(*command, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # one line, no traceback
    assert f"'{extra}' extra" in lines[0]
    assert f"pip install 'lagoform[{extra}]'" in lines[0]
