"""The sticky plan comment and the single drift issue, against a recording fake GitHub server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lagoform.github.rest import GitHubApiError, GitHubClient
from lagoform.github.sticky import (
    MAX_BODY_CHARS,
    IssueResult,
    drift_marker,
    plan_marker,
    sync_drift_issue,
    upsert_comment,
    with_marker,
)
from tests.github.fake_github import FakeGitHub

TOKEN = "ghs_fake_token_0123456789"
REPO = "acme/pricing"


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(TOKEN, REPO) as gh:
        yield gh


@pytest.fixture
def client(github: FakeGitHub) -> Iterator[GitHubClient]:
    with GitHubClient(github.url, REPO, TOKEN) as c:
        yield c


def test_comment_is_created_once_then_edited(github: FakeGitHub, client: GitHubClient) -> None:
    marker = plan_marker("staging")
    first = upsert_comment(client, 7, marker, "plan v1")
    second = upsert_comment(client, 7, marker, "plan v2")
    third = upsert_comment(client, 7, marker, "plan v2")

    assert (first.action, second.action, third.action) == ("created", "updated", "unchanged")
    assert first.comment_id == second.comment_id == third.comment_id
    comments = github.state.comments[7]
    assert len(comments) == 1
    assert comments[0]["body"] == f"{marker}\nplan v2"
    assert [c.method for c in github.state.writes()] == ["POST", "PATCH"]


def test_marker_found_on_a_later_page(github: FakeGitHub, client: GitHubClient) -> None:
    marker = plan_marker("production")
    for i in range(150):
        github.state.add_comment(7, f"chatter {i}")
    github.state.add_comment(7, f"{marker}\nold plan", author="bot")

    result = upsert_comment(client, 7, marker, "new plan")

    assert result.action == "updated"
    pages = [c.query.get("page", "1") for c in github.state.calls if c.method == "GET"]
    assert pages == ["1", "2"]
    assert github.state.comments[7][-1]["body"] == f"{marker}\nnew plan"
    assert len(github.state.comments[7]) == 151


def test_markers_are_per_environment_and_quotes_do_not_count(
    github: FakeGitHub, client: GitHubClient
) -> None:
    github.state.add_comment(7, f"> quoting\n{plan_marker('staging')}\nplan")
    upsert_comment(client, 7, plan_marker("staging"), "staging plan")
    upsert_comment(client, 7, plan_marker("production"), "production plan")

    bodies = [c["body"] for c in github.state.comments[7]]
    assert len(bodies) == 3
    assert bodies[1].startswith(plan_marker("staging"))
    assert bodies[2].startswith(plan_marker("production"))


def test_body_is_trimmed_to_github_limit() -> None:
    text = with_marker(plan_marker("x"), "a" * 70_000)
    assert len(text) == MAX_BODY_CHARS
    assert text.endswith("see the plan.md artifact._")


def test_drift_issue_opened_updated_closed(github: FakeGitHub, client: GitHubClient) -> None:
    marker = drift_marker("production")
    github.state.add_issue("unrelated", "body", ["lagoform-drift"], pr=True)

    def sync(body: str | None) -> IssueResult:
        return sync_drift_issue(
            client, marker, title="Drift in production", body=body, closing_note="gone"
        )

    opened, updated, same = sync("3 changes"), sync("4 changes"), sync("4 changes")
    closed, nothing = sync(None), sync(None)

    assert [r.action for r in (opened, updated, same, closed, nothing)] == [
        "opened",
        "updated",
        "unchanged",
        "closed",
        "none",
    ]
    assert opened.number == updated.number == closed.number
    assert opened.number is not None
    issue = github.state.issues[opened.number]
    assert issue["state"] == "closed"
    assert issue["body"] == f"{marker}\n4 changes"
    assert issue["labels"] == [{"name": "lagoform-drift"}]
    assert github.state.comments[opened.number][0]["body"] == "gone"
    assert sum(1 for c in github.state.writes() if c.path.endswith("/issues")) == 1


def test_errors_name_the_call_but_never_the_token(github: FakeGitHub) -> None:
    with (
        GitHubClient(github.url, REPO, "wrong-token-secret") as bad,
        pytest.raises(GitHubApiError) as caught,
    ):
        upsert_comment(bad, 7, plan_marker("x"), "body")
    assert caught.value.status == 401
    message = str(caught.value)
    assert "GET /repos/acme/pricing/issues/7/comments: HTTP 401: Bad credentials" in message
    assert "wrong-token-secret" not in str(caught.value)
    assert "wrong-token-secret" not in repr(bad)


def test_forbidden_write_is_reported(github: FakeGitHub, client: GitHubClient) -> None:
    github.state.forbid_writes = True
    with pytest.raises(GitHubApiError, match="HTTP 403: Resource not accessible"):
        upsert_comment(client, 7, plan_marker("x"), "body")


def test_missing_token_is_a_clear_error(github: FakeGitHub) -> None:
    with pytest.raises(GitHubApiError, match="no GitHub token"):
        GitHubClient(github.url, REPO, None)
