"""Actor, commit, pull request and Lago host resolution for the record context."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from lagoform.audit.context import (
    detect_context,
    git_commit,
    lago_host,
    pull_request_number,
    resolve_actor,
)
from lagoform.errors import AuditError
from tests.audit.helpers import CANARY


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True, timeout=30)

    git("init", "-q")
    git("config", "user.name", "Ada Lovelace")
    git("config", "user.email", "ada@example.test")
    (tmp_path / "f").write_text("x")
    git("add", "f")
    git("commit", "-q", "-m", "first")
    return tmp_path


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://api.getlago.com/api/v1", "https://api.getlago.com"),
        (
            f"https://user:{CANARY}@lago.example:8443/api/v1?api_key={CANARY}",
            "https://lago.example:8443",
        ),
        ("http://127.0.0.1:3000", "http://127.0.0.1:3000"),
        ("sandbox", "sandbox"),
    ],
)
def test_lago_host_never_keeps_credentials(url: str, host: str) -> None:
    assert lago_host(url) == host


def test_lago_host_refuses_junk() -> None:
    with pytest.raises(AuditError):
        lago_host("not a url at all")


def test_actor_precedence(repo: Path) -> None:
    assert resolve_actor("release-bot", {"GITHUB_ACTOR": "octocat"}, repo) == (
        "release-bot",
        "flag",
    )
    assert resolve_actor(None, {"GITHUB_ACTOR": "octocat"}, repo) == ("octocat", "ci")
    assert resolve_actor(None, {"GITLAB_USER_LOGIN": "gl"}, repo) == ("gl", "ci")
    assert resolve_actor("  ", {}, repo) == ("Ada Lovelace", "git")


def test_actor_falls_back_to_the_os_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    actor, source = resolve_actor(None, {}, tmp_path)
    assert source == "os" and actor


def test_commit_from_ci_or_git(repo: Path) -> None:
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert git_commit({}, repo) == head
    assert git_commit({"GITHUB_SHA": "abc123"}, repo) == "abc123"


def test_pull_request_from_ref_event_or_gitlab(tmp_path: Path) -> None:
    assert pull_request_number({"GITHUB_REF": "refs/pull/17/merge"}) == 17
    assert pull_request_number({"GITHUB_REF": "refs/heads/main"}) is None
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 23}}))
    assert pull_request_number({"GITHUB_EVENT_PATH": str(event)}) == 23
    # apply on merge: a push event whose head commit is a squash merge
    event.write_text(json.dumps({"head_commit": {"message": "Raise Pro price (#31)\n\nbody"}}))
    assert pull_request_number({"GITHUB_EVENT_PATH": str(event)}) == 31
    event.write_text(json.dumps({"head_commit": {"message": "Merge pull request #40 from x/y"}}))
    assert pull_request_number({"GITHUB_EVENT_PATH": str(event)}) == 40
    event.write_text(json.dumps({"head_commit": {"message": "direct push"}}))
    assert pull_request_number({"GITHUB_EVENT_PATH": str(event)}) is None
    assert pull_request_number({"GITHUB_EVENT_PATH": str(tmp_path / "missing.json")}) is None
    assert pull_request_number({"CI_MERGE_REQUEST_IID": "8"}) == 8


def test_detect_context(repo: Path) -> None:
    ctx = detect_context(
        environment="production",
        api_url=f"https://x:{CANARY}@api.getlago.com/api/v1",
        plan_id="p1",
        actor=None,
        env={"GITHUB_ACTOR": "octocat", "GITHUB_REF": "refs/pull/5/merge"},
        cwd=repo,
    )
    assert (ctx.environment, ctx.lago_host, ctx.actor, ctx.pull_request, ctx.plan_id) == (
        "production", "https://api.getlago.com", "octocat", 5, "p1",
    )  # fmt: skip
    assert ctx.git_commit is not None and len(ctx.git_commit) == 40
    assert CANARY not in repr(ctx)
