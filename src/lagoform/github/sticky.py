"""One comment per pull request and one issue per drift, found again by a hidden HTML marker.

Every body we write starts with a marker line (``<!-- lagoform-plan:<environment> -->``); the
next run finds that comment (or issue) and edits it in place instead of adding another. A body
is trimmed to GitHub's 65,536-character limit here, the last line of defence whatever the
caller built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lagoform.github.rest import GitHubClient

MAX_BODY_CHARS = 65_536
TRUNCATION_NOTE = "\n\n_…truncated to fit GitHub's comment size limit; see the plan.md artifact._"
DRIFT_LABEL = "lagoform-drift"


def plan_marker(environment: str) -> str:
    return f"<!-- lagoform-plan:{environment} -->"


def apply_marker(environment: str) -> str:
    """The merged pull request's comment about what apply did in ``environment``."""
    return f"<!-- lagoform-apply:{environment} -->"


def drift_marker(environment: str) -> str:
    return f"<!-- lagoform-drift:{environment} -->"


def with_marker(marker: str, body: str) -> str:
    """The body GitHub will store: the marker first, then the text, within the size limit."""
    text = f"{marker}\n{body}"
    if len(text) <= MAX_BODY_CHARS:
        return text
    return text[: MAX_BODY_CHARS - len(TRUNCATION_NOTE)] + TRUNCATION_NOTE


@dataclass(frozen=True)
class CommentResult:
    action: Literal["created", "updated", "unchanged"]
    comment_id: int
    url: str


@dataclass(frozen=True)
class IssueResult:
    action: Literal["opened", "updated", "unchanged", "closed", "none"]
    number: int | None
    url: str | None


def upsert_comment(client: GitHubClient, number: int, marker: str, body: str) -> CommentResult:
    """Edit the comment that starts with ``marker`` on issue/PR ``number``, or create it."""
    text = with_marker(marker, body)
    for comment in client.list_comments(number):
        # startswith, not "in": a human quoting our comment must not become the sticky one.
        if comment.body.startswith(marker):
            if comment.body == text:
                return CommentResult("unchanged", comment.id, comment.html_url)
            updated = client.update_comment(comment.id, text)
            return CommentResult("updated", updated.id, updated.html_url)
    created = client.create_comment(number, text)
    return CommentResult("created", created.id, created.html_url)


def sync_drift_issue(
    client: GitHubClient,
    marker: str,
    *,
    title: str,
    body: str | None,
    closing_note: str,
    label: str = DRIFT_LABEL,
) -> IssueResult:
    """Keep exactly one open drift issue while there is drift (``body``), none when there is not.

    With drift: update the open issue carrying ``marker`` (or open one). Without drift
    (``body is None``): comment ``closing_note`` on that issue and close it.
    """
    existing = next(
        (issue for issue in client.list_issues(label=label) if issue.body.startswith(marker)),
        None,
    )
    if body is None:
        if existing is None:
            return IssueResult("none", None, None)
        client.create_comment(existing.number, closing_note)
        closed = client.update_issue(existing.number, state="closed", state_reason="completed")
        return IssueResult("closed", closed.number, closed.html_url)
    text = with_marker(marker, body)
    if existing is None:
        opened = client.create_issue(title, text, [label])
        return IssueResult("opened", opened.number, opened.html_url)
    if existing.body == text and existing.title == title:
        return IssueResult("unchanged", existing.number, existing.html_url)
    updated = client.update_issue(existing.number, title=title, body=text)
    return IssueResult("updated", updated.number, updated.html_url)
