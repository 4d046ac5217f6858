"""The layer contract (pyproject's [tool.importlinter], run by `make test`) holds, and bites:
an import pointing up the layers breaks it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(src: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT,
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_package_keeps_its_layers() -> None:
    done = _lint(ROOT / "src")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 kept, 0 broken" in done.stdout


def test_an_import_up_the_layers_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "src" / "lagoform", tmp_path / "lagoform")
    # the pure model reaching up into the engine, and the engine into the revenue section
    model = tmp_path / "lagoform" / "model" / "values.py"
    model.write_text(model.read_text() + "\nfrom lagoform.engine import diff  # noqa\n")
    engine = tmp_path / "lagoform" / "engine" / "diff.py"
    engine.write_text(engine.read_text() + "\nfrom lagoform.impact import model  # noqa\n")
    done = _lint(tmp_path)
    assert done.returncode == 1
    assert "Layers point down BROKEN" in done.stdout
    assert "lagoform.model.values -> lagoform.engine.diff" in done.stdout
    assert "lagoform.engine.diff -> lagoform.impact.model" in done.stdout
