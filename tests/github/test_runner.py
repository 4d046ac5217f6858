"""Runner I/O: event parsing, annotations, step outputs, job summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lagoform.errors import ConfigError, Problem
from lagoform.github import runner
from lagoform.github.runner import RunnerContext


def _ctx(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, event: dict[str, object]
) -> RunnerContext:
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(event))
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event_file))
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/pricing")
    monkeypatch.setenv("GITHUB_ACTOR", "workflow-actor")
    monkeypatch.setenv("GITHUB_SHA", "a" * 40)
    monkeypatch.setenv("INPUT_GITHUB_TOKEN", "ghs_input_token_value")
    return RunnerContext.from_environ()


def test_pull_request_event(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ctx = _ctx(
        monkeypatch,
        tmp_path,
        {
            "number": 12,
            "pull_request": {
                "number": 12,
                "head": {"sha": "b" * 40},
                "merged_by": {"login": "finance-lead"},
            },
            "sender": {"login": "someone-else"},
        },
    )
    assert ctx.pull_request_number() == 12
    assert ctx.head_sha() == "b" * 40
    assert ctx.merge_actor() == "finance-lead"
    assert "ghs_input_token_value" not in repr(ctx)
    assert ctx.token is not None and ctx.token.reveal() == "ghs_input_token_value"


def test_push_event_actor_falls_back(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ctx = _ctx(monkeypatch, tmp_path, {"sender": {"login": "merger"}, "pusher": {"name": "x"}})
    assert ctx.pull_request_number() is None
    assert ctx.head_sha() == "a" * 40
    assert ctx.merge_actor() == "merger"
    bare = _ctx(monkeypatch, tmp_path, {})
    assert bare.merge_actor() == "workflow-actor"


def test_unreadable_event_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bad = tmp_path / "event.json"
    bad.write_text("{not json")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(bad))
    with pytest.raises(ConfigError, match="cannot read the event payload"):
        RunnerContext.from_environ()


def test_problem_annotation_carries_file_line_and_escapes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ctx = _ctx(monkeypatch, tmp_path, {})
    project = tmp_path / "billing"
    runner.annotate_problem(
        Problem("bad value: 50%\nsecond line", file="overrides/globex.yaml", line=4, column=9),
        ctx,
        project,
    )
    runner.annotate_problem(Problem("no file here"), ctx, project)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "::error title=lagoform,file=billing/overrides/globex.yaml,col=9,line=4::"
        "bad value: 50%25%0Asecond line",
        "::error title=lagoform::no file here",
    ]


def test_outputs_are_single_line_and_not_percent_escaped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out = tmp_path / "output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    runner.set_output("plan-json", "/tmp/run 100%/plan.json")
    with pytest.raises(ValueError, match="single line"):
        runner.set_output("plan", "line 1\nline 2")
    lines = out.read_text().splitlines()
    assert lines[0].startswith("plan-json<<ghadelimiter_")
    assert lines[1] == "/tmp/run 100%/plan.json"
    assert lines[2] == lines[0].split("<<")[1]
    assert len(lines) == 3


def test_summary_is_raw_markdown_and_bounded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    runner.write_summary("```diff\n- a < b\n+ a > b\n```")
    assert summary.read_text() == "```diff\n- a < b\n+ a > b\n```\n"
    runner.write_summary("x" * (runner.MAX_SUMMARY_BYTES + 10))
    text = summary.read_text()
    assert len(text.encode()) <= runner.MAX_SUMMARY_BYTES + 40
    assert text.endswith("the full plan is in the plan.md artifact._\n")


def test_log_group_closes_on_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(RuntimeError), runner.log_group("step"):
        raise RuntimeError("boom")
    lines = capsys.readouterr().out.splitlines()
    # The toolkit writes "::group ::step"; the runner ignores the empty property list.
    assert [line.replace(" ", "") for line in lines] == ["::group::step", "::endgroup::"]


def test_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INPUT_COMMENT", "false")
    assert runner.input_flag("comment", True) is False
    monkeypatch.setenv("INPUT_COMMENT", "maybe")
    with pytest.raises(ConfigError, match="must be true or false"):
        runner.input_flag("comment", True)
