"""Running lagoform from the Action: targets, secret scrubbing, validation, the entry point."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lagoform.cli.target import ADHOC
from lagoform.config import SANDBOX
from lagoform.github import pr
from lagoform.github.__main__ import main
from lagoform.github.commands import Scrubber, Target, run_lagoform
from lagoform.github.runner import RunnerContext
from lagoform.github.settings import Settings
from lagoform.lago.secret import Secret
from lagoform.validation import validate_project
from tests.github.fake_github import FakeGitHub

PROJECT = Path(__file__).parent / "project"


def test_scrubber_masks_secret_looking_variables_only() -> None:
    scrub = Scrubber.from_environ(
        {
            "LAGO_API_KEY_PRODUCTION": "lago-prod-key-123456",
            "INPUT_GITHUB_TOKEN": "ghs_abcdefghijkl",
            "MY_SECRET": "short",  # too short to mask safely
            "HOME": "/home/runner-with-long-path",
        }
    )
    text = scrub("key lago-prod-key-123456 token ghs_abcdefghijkl in /home/runner-with-long-path")
    assert text == "key ******** token ******** in /home/runner-with-long-path"
    assert "short" in scrub("short")


def test_target_arguments_and_labels() -> None:
    assert Target("production").args() == ["-e", "production"]
    assert Target("", "http://lago:3000").args() == ["--api-url", "http://lago:3000"]
    assert Target("staging", "http://lago:3000").label == "staging"
    assert Target().args() == [] and Target().label == "sandbox"
    # Must name the audit log the way the CLI names its targets.
    assert Target("", "http://lago:3000").audit_environment == ADHOC
    assert Target().audit_environment == SANDBOX
    assert Target("production").audit_environment == "production"


def test_command_output_is_scrubbed(tmp_path: Path) -> None:
    scrub = Scrubber.from_environ({"LAGO_API_KEY": "canary-key-987654321"})
    # An unknown environment is echoed back in the error: the value must not survive.
    completed = run_lagoform(["plan", "-e", "canary-key-987654321"], cwd=tmp_path, scrub=scrub)
    assert completed.exit_code != 0
    assert "canary-key-987654321" not in completed.stderr + completed.stdout
    assert "********" in completed.message()


def test_validate_project_collects_config_and_catalog_problems(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(PROJECT, root)
    config = (root / "lagoform.yaml").read_text().replace("SANDBOX_URL", "http://127.0.0.1:9")
    (root / "lagoform.yaml").write_text(config)
    assert validate_project(root) == []
    (root / "lagoform.yaml").write_text("version: 1\nenvironments:\n  staging:\n    kind: lago\n")
    (root / "catalog" / "pricing.yaml").write_text("plans:\n  - code: x\n    interval: hourly\n")
    problems = validate_project(root)
    assert any(
        p.file == "lagoform.yaml" and p.line == 4 and "api_url" in p.message for p in problems
    ), problems
    assert any(p.file == "catalog/pricing.yaml" and p.line is not None for p in problems)
    config_problems = [p for p in problems if p.file == "lagoform.yaml"]
    assert [(p.line, p.column, p.message) for p in config_problems] == [
        (4, 5, "environments.staging: api_key_env is required for a Lago environment"),
        (4, 5, "environments.staging: api_url is required for a Lago environment"),
    ]


def test_validate_project_names_an_unreadable_config_file(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(PROJECT, root)
    (root / "lagoform.yaml").unlink()
    (root / "lagoform.yaml").mkdir()  # exists but cannot be read
    problems = validate_project(root)
    assert len(problems) == 1 and problems[0].file == "lagoform.yaml"
    assert "cannot read file" in problems[0].message


def test_entry_point_rejects_an_unknown_mode(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    monkeypatch.delenv("GITHUB_EVENT_PATH", raising=False)
    assert main(["deploy"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("::error title=lagoform::unknown mode 'deploy'")
    assert "Traceback" not in out


def test_entry_point_missing_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    monkeypatch.setenv("INPUT_WORKING_DIRECTORY", "billing")
    monkeypatch.delenv("GITHUB_EVENT_PATH", raising=False)
    assert main(["pr"]) == 1
    assert "working-directory billing does not exist" in capsys.readouterr().out


def test_a_read_only_token_downgrades_the_comment_to_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fork's pull request: the token cannot comment, the check is not failed for that."""
    with FakeGitHub("ghs_fork_token_123", "acme/pricing") as github:
        github.state.forbid_writes = True
        ctx = RunnerContext(
            workspace=tmp_path,
            repository="acme/pricing",
            event_name="pull_request",
            event={"pull_request": {"number": 3}},
            api_url=github.url,
            server_url="https://github.test",
            run_id=None,
            sha=None,
            actor=None,
            token=Secret("ghs_fork_token_123"),
        )
        settings = Settings(
            mode="pr", target=Target("staging"), project_root=tmp_path, output_dir=tmp_path / "out"
        )
        pr._comment(ctx, settings, "body")
    out = capsys.readouterr().out
    assert out.startswith("::warning title=lagoform::could not post the plan comment: POST ")
    assert "HTTP 403: Resource not accessible by integration" in out
    assert "ghs_fork_token_123" not in out
