"""The Action's inputs as Settings: the revenue section's past periods reach `lagoform plan`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lagoform.errors import ConfigError
from lagoform.github.runner import RunnerContext
from lagoform.github.settings import Settings


def _ctx(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> RunnerContext:
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps({"number": 3, "pull_request": {"number": 3}}))
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event_file))
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/pricing")
    return RunnerContext.from_environ()


@pytest.mark.parametrize(("given", "expected"), [("", 0), ("0", 0), ("3", 3), ("24", 24)])
def test_past_periods_input(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, given: str, expected: int
) -> None:
    ctx = _ctx(monkeypatch, tmp_path)
    monkeypatch.setenv("INPUT_PAST_PERIODS", given)
    assert Settings.from_inputs("pr", ctx).past_periods == expected


@pytest.mark.parametrize("given", ["-1", "25", "two", "1.5"])
def test_past_periods_out_of_range_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, given: str
) -> None:
    ctx = _ctx(monkeypatch, tmp_path)
    monkeypatch.setenv("INPUT_PAST_PERIODS", given)
    with pytest.raises(ConfigError, match="past-periods"):
        Settings.from_inputs("pr", ctx)


def test_plan_step_passes_past_periods_to_lagoform_plan(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import shutil

    from lagoform.github import steps
    from lagoform.github.commands import Target

    repo = Path(__file__).resolve().parents[2]
    project = tmp_path / "project"
    shutil.copytree(repo / "catalog", project / "catalog")
    shutil.copytree(repo / "overrides", project / "overrides")
    shutil.copy(repo / "lagoform.yaml", project / "lagoform.yaml")
    ctx = _ctx(monkeypatch, tmp_path)
    settings = Settings(
        mode="pr",
        target=Target("", ""),  # the embedded sandbox, state under the project
        project_root=project,
        output_dir=tmp_path / "out",
        past_periods=2,
    )
    outcome = steps.plan(ctx, settings)
    args = outcome.completed.args
    assert args[args.index("--past-periods") + 1] == "2"
    assert outcome.plan is not None and outcome.plan.has_changes  # a fresh sandbox: creates
