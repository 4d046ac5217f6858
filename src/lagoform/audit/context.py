"""Who runs an apply, from which commit and pull request, against which Lago: the record context.

Resolved once per run, before the first record. Sources, first hit wins:
actor: ``--actor`` → CI (GITHUB_ACTOR, GITLAB_USER_LOGIN) → ``git config user.name`` → OS user;
commit: GITHUB_SHA / CI_COMMIT_SHA → ``git rev-parse HEAD``;
pull request: GITHUB_REF ``refs/pull/N/…`` → the GitHub event payload (``pull_request.number``,
``number``, or a merge/squash commit message ``(#N)``) → CI_MERGE_REQUEST_IID (GitLab).
The Lago host is the API URL reduced to scheme, host and port: never a key, user info or query.
"""

from __future__ import annotations

import getpass
import json
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lagoform.errors import AuditError


@dataclass(frozen=True)
class RunContext:
    environment: str
    lago_host: str
    actor: str
    actor_source: str  # flag | ci | git | os
    git_commit: str | None
    pull_request: int | None
    plan_id: str | None


_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


def lago_host(api_url: str) -> str:
    """``https://user:key@api.getlago.com:443/api/v1?k=v`` → ``https://api.getlago.com:443``."""
    parts = urlsplit(api_url.strip())
    if not parts.scheme or not parts.hostname:
        # a bare label such as "sandbox" (the embedded emulator) names itself
        if _LABEL.fullmatch(api_url.strip()):
            return api_url.strip()
        raise AuditError("the Lago API URL has no scheme or host; cannot name it in the audit log")
    host = parts.hostname
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def _git(args: list[str], cwd: Path | None) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    value = done.stdout.strip()
    return value if done.returncode == 0 and value else None


def resolve_actor(
    explicit: str | None, env: Mapping[str, str], cwd: Path | None = None
) -> tuple[str, str]:
    """(actor, source). Never empty: an audit record must always name someone."""
    if explicit and explicit.strip():
        return explicit.strip(), "flag"
    for var in ("GITHUB_ACTOR", "GITLAB_USER_LOGIN"):
        if env.get(var, "").strip():
            return env[var].strip(), "ci"
    name = _git(["config", "user.name"], cwd)
    if name:
        return name, "git"
    try:
        return getpass.getuser(), "os"
    except (OSError, KeyError):
        return "unknown", "os"


def git_commit(env: Mapping[str, str], cwd: Path | None = None) -> str | None:
    for var in ("GITHUB_SHA", "CI_COMMIT_SHA"):
        if env.get(var, "").strip():
            return env[var].strip()
    return _git(["rev-parse", "HEAD"], cwd)


_PULL_REF = re.compile(r"^refs/pull/(\d+)/")
_PR_IN_MESSAGE = re.compile(r"(?:Merge pull request #(\d+)|\(#(\d+)\)\s*$)", re.MULTILINE)


def _from_event(payload: Mapping[str, Any]) -> int | None:
    pull = payload.get("pull_request")
    if isinstance(pull, Mapping) and isinstance(pull.get("number"), int):
        return int(pull["number"])
    if isinstance(payload.get("number"), int):
        return int(payload["number"])
    head = payload.get("head_commit")
    message = head.get("message") if isinstance(head, Mapping) else None
    if isinstance(message, str):
        first_line = message.splitlines()[0] if message else ""
        match = _PR_IN_MESSAGE.search(first_line)
        if match:
            return int(match.group(1) or match.group(2))
    return None


def pull_request_number(env: Mapping[str, str]) -> int | None:
    match = _PULL_REF.match(env.get("GITHUB_REF", ""))
    if match:
        return int(match.group(1))
    event_path = env.get("GITHUB_EVENT_PATH", "").strip()
    if event_path:
        try:
            payload = json.loads(Path(event_path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            payload = None
        if isinstance(payload, Mapping):
            number = _from_event(payload)
            if number is not None:
                return number
    iid = env.get("CI_MERGE_REQUEST_IID", "").strip()
    return int(iid) if iid.isdigit() else None


def detect_context(
    *,
    environment: str,
    api_url: str,
    plan_id: str | None,
    actor: str | None = None,
    env: Mapping[str, str],
    cwd: Path | None = None,
) -> RunContext:
    """The context for every record of one run. ``env`` is passed in (``os.environ`` in the
    CLI) so tests and the GitHub Action control it."""
    who, source = resolve_actor(actor, env, cwd)
    return RunContext(
        environment=environment,
        lago_host=lago_host(api_url),
        actor=who,
        actor_source=source,
        git_commit=git_commit(env, cwd),
        pull_request=pull_request_number(env),
        plan_id=plan_id,
    )
