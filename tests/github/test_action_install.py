"""The Action's install step, run as the runner runs it, offline.

The ``install`` step's script (from action.yml) runs with bash in a simulated runner: a fresh
venv, pip told to take wheels only from local directories (``PIP_NO_INDEX``, ``PIP_FIND_LINKS``:
the wheelhouse ``make setup`` fills, plus a lagoform wheel built here). Constraints files are
written by ``.github/action/lock.py`` — the tool ``make action-lock`` uses for the committed one.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement

import lagoform

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
LOCK = ROOT / ".github" / "action" / "constraints.txt"
WHEELHOUSE = Path(sys.prefix) / "wheelhouse"

pytestmark = pytest.mark.slow


def _lock_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("action_lock", LOCK.parent / "lock.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _steps() -> list[dict[str, Any]]:
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    steps: list[dict[str, Any]] = action["runs"]["steps"]
    return steps


def _install_script() -> str:
    (step,) = [s for s in _steps() if s.get("id") == "install"]
    assert step["env"] == {"PYTHON": "${{ steps.python.outputs.python-path }}"}
    script: str = step["run"]
    return script


def _write_lock(wheels: Path, action_dir: Path) -> Path:
    lock = action_dir / ".github" / "action" / "constraints.txt"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lines = _lock_tool().lock_lines(wheels)
    lock.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lock


def _copy_source(action_dir: Path) -> None:
    action_dir.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, action_dir / name)
    shutil.copytree(
        ROOT / "src" / "lagoform",
        action_dir / "src" / "lagoform",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )


def _run_install(tmp: Path, action_dir: Path, *links: Path) -> subprocess.CompletedProcess[str]:
    (tmp / "temp").mkdir()
    output = tmp / "github_output"
    output.write_text("", encoding="utf-8")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp),
        "LANG": "C.UTF-8",
        "GITHUB_ACTION_PATH": str(action_dir),
        "GITHUB_OUTPUT": str(output),
        "RUNNER_TEMP": str(tmp / "temp"),
        "PYTHON": sys.executable,
        # Offline: only these directories, and no machine-wide pip settings.
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": " ".join(str(p) for p in links),
    }
    return subprocess.run(
        ["bash", "-c", _install_script()],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _venv_python(tmp: Path) -> Path:
    outputs = dict(line.split("=", 1) for line in (tmp / "github_output").read_text().splitlines())
    python = Path(outputs["python"])
    assert python == tmp / "temp" / "lagoform-venv" / "bin" / "python"
    return python


def _check_installed(python: Path, result: subprocess.CompletedProcess[str]) -> None:
    assert result.stdout.strip().splitlines()[-1] == f"lagoform, version {lagoform.__version__}"
    probe = subprocess.run(
        [str(python), "-c", "import github_action_toolkit, lagoform.github.pr, lagoform.cli"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr


@pytest.fixture(scope="module")
def lagoform_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    _copy_source(source)
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", str(dist), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )  # fmt: skip
    (wheel,) = dist.glob("lagoform-*.whl")
    return wheel


def test_between_releases_lagoform_is_built_from_the_action_checkout(tmp_path: Path) -> None:
    assert WHEELHOUSE.is_dir(), f"{WHEELHOUSE} is missing: run `make setup`"
    action_dir = tmp_path / "action"
    _copy_source(action_dir)
    lock = _write_lock(WHEELHOUSE, action_dir)
    assert "lagoform==" not in lock.read_text()
    result = _run_install(tmp_path, action_dir, WHEELHOUSE)
    assert result.returncode == 0, result.stdout + result.stderr
    _check_installed(_venv_python(tmp_path), result)


def _release(tmp_path: Path, lagoform_wheel: Path) -> tuple[Path, Path, Path]:
    """A released action: its constraints pin the lagoform wheel; no sources beside it."""
    wheels = tmp_path / "wheels"
    shutil.copytree(WHEELHOUSE, wheels)
    shutil.copy2(lagoform_wheel, wheels)
    action_dir = tmp_path / "action"  # no sources: nothing can be built
    return wheels, action_dir, _write_lock(wheels, action_dir)


def test_a_release_installs_the_pinned_wheel_and_builds_nothing(
    tmp_path: Path, lagoform_wheel: Path
) -> None:
    wheels, action_dir, lock = _release(tmp_path, lagoform_wheel)
    assert f"lagoform=={lagoform.__version__} \\" in lock.read_text()
    result = _run_install(tmp_path, action_dir, wheels)
    assert result.returncode == 0, result.stdout + result.stderr
    _check_installed(_venv_python(tmp_path), result)


def test_a_wheel_that_does_not_match_its_hash_is_refused(
    tmp_path: Path, lagoform_wheel: Path
) -> None:
    wheels, action_dir, lock = _release(tmp_path, lagoform_wheel)
    text = lock.read_text()
    digest = re.search(r"lagoform==\S+ \\\n    --hash=sha256:([0-9a-f]{64})", text)
    assert digest
    lock.write_text(text.replace(digest.group(1), "0" * 64))
    result = _run_install(tmp_path, action_dir, wheels)
    assert result.returncode != 0
    assert "DO NOT MATCH THE HASHES" in result.stderr
    assert not (tmp_path / "github_output").read_text()  # no python output: the run stops


def _pins(text: str) -> dict[str, tuple[str, list[str]]]:
    pins: dict[str, tuple[str, list[str]]] = {}
    for block in re.split(r"\n(?=[a-z0-9])", text.split("\n", 5)[-1].strip()):
        head = re.match(r"([a-z0-9-]+)==(\S+) \\", block)
        assert head, f"not a pinned line: {block[:60]!r}"
        pins[head.group(1)] = (head.group(2), re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return pins


def test_the_committed_constraints_pin_and_hash_every_requirement() -> None:
    text = LOCK.read_text(encoding="utf-8")
    pins = _pins(text)
    assert all(hashes for _, hashes in pins.values())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    direct = [
        *project["dependencies"],
        *project["optional-dependencies"]["github"],
        "setuptools>=77",
    ]
    for line in direct:
        requirement = Requirement(line)
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert name in pins, f"{name} is not pinned for the Action: run `make action-lock`"
        assert requirement.specifier.contains(pins[name][0]), f"{name}=={pins[name][0]}"
    # Pinned wheels for every Python the action offers (pure wheels serve them all).
    assert len(pins["pydantic-core"][1]) >= 3 and len(pins["pyyaml"][1]) >= 3
    if "lagoform" in pins:  # a release
        assert pins["lagoform"][0] == lagoform.__version__


def test_the_pip_cache_is_keyed_on_the_constraints_file() -> None:
    steps = {s.get("id"): s for s in _steps()}
    assert ".github/action/constraints.txt" in steps["lock"]["run"]
    (cache,) = [s for s in _steps() if s.get("uses", "").startswith("actions/cache@")]
    key = cache["with"]["key"]
    assert "${{ steps.lock.outputs.hash }}" in key
    assert "${{ steps.python.outputs.python-version }}" in key
    assert cache["with"]["path"] == "${{ steps.lock.outputs.pip-cache }}"
