"""The GitHub Actions runner as seen from the Action's entry point.

Reads the runner's environment (``GITHUB_*`` variables, the event payload, ``INPUT_*`` inputs)
into one frozen ``RunnerContext``, and writes back through the runner's channels: step outputs,
the job summary, log groups and annotations. Inputs, groups, annotations and the summary go
through github-action-toolkit; step outputs are written here (see ``set_output``). Nothing in this
module talks to the network, and the token is never part of any ``repr`` or message.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import github_action_toolkit as gat

from lagoform.errors import ConfigError, Problem
from lagoform.lago.secret import Secret

# GitHub's own limits: a step summary may hold 1 MiB; an issue or comment body 65,536 chars.
MAX_SUMMARY_BYTES = 1024 * 1024
ANNOTATION_TITLE = "lagoform"


@dataclass(frozen=True)
class RunnerContext:
    """Everything the modes need to know about the run that started them."""

    workspace: Path
    repository: str  # "owner/name"
    event_name: str
    event: Mapping[str, Any]
    api_url: str
    server_url: str
    run_id: str | None
    sha: str | None
    actor: str | None
    token: Secret | None = field(default=None, repr=False)

    @classmethod
    def from_environ(cls) -> RunnerContext:
        env = os.environ
        workspace = Path(env.get("GITHUB_WORKSPACE") or os.getcwd()).resolve()
        event: Mapping[str, Any] = {}
        if env.get("GITHUB_EVENT_PATH"):
            try:
                payload = gat.EventPayload().get_payload()
            except (OSError, ValueError) as err:  # unreadable file or invalid JSON
                raise ConfigError(f"cannot read the event payload: {err}") from None
            event = payload if isinstance(payload, dict) else {}
        raw_token = input_value("github_token") or env.get("GITHUB_TOKEN", "").strip()
        return cls(
            workspace=workspace,
            repository=env.get("GITHUB_REPOSITORY", ""),
            event_name=env.get("GITHUB_EVENT_NAME", ""),
            event=event,
            api_url=(env.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/"),
            server_url=(env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/"),
            run_id=env.get("GITHUB_RUN_ID") or None,
            sha=env.get("GITHUB_SHA") or None,
            actor=env.get("GITHUB_ACTOR") or None,
            token=Secret(raw_token) if raw_token else None,
        )

    @property
    def run_url(self) -> str | None:
        if not (self.run_id and self.repository):
            return None
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"

    def pull_request_number(self) -> int | None:
        pr = self.event.get("pull_request")
        number = pr.get("number") if isinstance(pr, Mapping) else self.event.get("number")
        return number if isinstance(number, int) else None

    def head_sha(self) -> str | None:
        pr = self.event.get("pull_request")
        if isinstance(pr, Mapping):
            head = pr.get("head")
            if isinstance(head, Mapping) and isinstance(head.get("sha"), str):
                return str(head["sha"])
        return self.sha

    def merge_actor(self) -> str | None:
        """Who merged: the PR's ``merged_by``, else the event's sender, else GITHUB_ACTOR."""
        pr = self.event.get("pull_request")
        if isinstance(pr, Mapping):
            login = _login(pr.get("merged_by"))
            if login:
                return login
        return _login(self.event.get("sender")) or self.actor

    def relative_to_workspace(self, path: Path) -> str:
        """A path as GitHub wants it in annotations: relative to the repository root."""
        try:
            return path.resolve().relative_to(self.workspace).as_posix()
        except ValueError:
            return path.as_posix()


def _login(user: object) -> str | None:
    if isinstance(user, Mapping) and isinstance(user.get("login"), str) and user["login"]:
        return str(user["login"])
    return None


def input_value(name: str, default: str = "") -> str:
    """An action input (``INPUT_<NAME>``), stripped; ``default`` when unset or empty."""
    value = gat.get_user_input(name)
    return value.strip() if value and value.strip() else default


def input_flag(name: str, default: bool) -> bool:
    value = input_value(name).lower()
    if not value:
        return default
    if value in {"true", "yes", "1", "on"}:
        return True
    if value in {"false", "no", "0", "off"}:
        return False
    raise ConfigError(f"input '{name}' must be true or false, not {value!r}")


def set_output(name: str, value: str) -> None:
    """Write one single-line step output.

    Not the toolkit's ``set_output``: it percent-escapes values (``%`` → ``%25``, newline →
    ``%0A``) in a file the runner does not unescape, which corrupts paths. Multi-line values
    are refused on purpose: outputs carry file paths, never plan text.
    """
    if "\n" in value or "\r" in value:
        raise ValueError(f"output {name!r} must be a single line (pass a file path instead)")
    target = os.environ.get("GITHUB_OUTPUT")
    if not target:
        gat.info(f"{name}={value}")
        return
    delimiter = f"ghadelimiter_{uuid.uuid4()}"
    with open(target, "a", encoding="utf-8") as out:
        out.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def write_summary(markdown: str) -> None:
    """Append markdown to the job summary verbatim (the toolkit's raw mode, no HTML escaping)."""
    if not os.environ.get("GITHUB_STEP_SUMMARY"):
        return
    text = markdown if markdown.endswith("\n") else markdown + "\n"
    encoded = text.encode("utf-8")
    if len(encoded) > MAX_SUMMARY_BYTES:
        note = "\n\n_Truncated to fit the job summary; the full plan is in the plan.md artifact._\n"
        room = MAX_SUMMARY_BYTES - len(note.encode("utf-8"))
        text = encoded[:room].decode("utf-8", errors="ignore") + note
    gat.JobSummary().add_raw(text).write()


@contextmanager
def log_group(title: str) -> Iterator[None]:
    """A collapsible log group that is closed even when the body raises."""
    gat.start_group(title)
    try:
        yield
    finally:
        gat.end_group()


def _command_text(text: str) -> str:
    # Workflow-command messages are one line; the runner turns these escapes back into text.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def annotate_error(message: str, *, title: str = ANNOTATION_TITLE) -> None:
    gat.error(_command_text(message), title=title)


def annotate_warning(message: str, *, title: str = ANNOTATION_TITLE) -> None:
    gat.warning(_command_text(message), title=title)


def annotate_notice(message: str, *, title: str = ANNOTATION_TITLE) -> None:
    gat.notice(_command_text(message), title=title)


def annotate_problem(problem: Problem, ctx: RunnerContext, project_root: Path) -> None:
    """One ``::error file=…,line=…::`` annotation, placed on the YAML line in the PR's diff."""
    message = problem.message + (f" ({problem.hint})" if problem.hint else "")
    if problem.file is None:
        where = f"record {problem.record_id}: " if problem.record_id else ""
        gat.error(_command_text(where + message), title=ANNOTATION_TITLE)
        return
    path = Path(problem.file)
    if not path.is_absolute():
        path = project_root / path
    gat.error(
        _command_text(message),
        title=ANNOTATION_TITLE,
        file=ctx.relative_to_workspace(path),
        line=problem.line,
        col=problem.column,
    )
