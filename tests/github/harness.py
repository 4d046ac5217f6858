"""A simulated GitHub Actions runner for the Action's entry point.

``run_action`` starts ``python -m lagoform.github <mode>`` the way the composite action does: a
checkout in ``GITHUB_WORKSPACE``, an event payload file, ``GITHUB_*`` variables, ``INPUT_*``
inputs, and fresh ``GITHUB_OUTPUT`` / ``GITHUB_STEP_SUMMARY`` files, which it parses back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = "acme/pricing"
GITHUB_TOKEN = "ghs_canaryGitHubToken_5d1e0c9b8a7f"


@dataclass(frozen=True)
class ActionRun:
    exit_code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    raw_outputs: str

    def annotations(self, level: str = "error") -> list[str]:
        return [line for line in self.stdout.splitlines() if line.startswith(f"::{level} ")]


def parse_outputs(text: str) -> dict[str, str]:
    """``name<<DELIM`` / value lines / ``DELIM`` blocks, as the runner reads GITHUB_OUTPUT."""
    outputs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        name, _, delimiter = line.partition("<<")
        assert delimiter, f"not a heredoc output line: {line!r}"
        value: list[str] = []
        for item in lines:
            if item == delimiter:
                break
            value.append(item)
        else:
            raise AssertionError(f"output {name} is not terminated")
        outputs[name] = "\n".join(value)
    return outputs


def run_action(
    mode: str,
    *,
    workspace: Path,
    runner_dir: Path,
    github_url: str,
    event_name: str,
    event: dict[str, Any],
    inputs: dict[str, str],
    env: dict[str, str],
    sha: str = "0123456789abcdef0123456789abcdef01234567",
    run_id: str = "4242",
) -> ActionRun:
    runner_dir.mkdir(parents=True, exist_ok=True)
    event_path = runner_dir / "event.json"
    event_path.write_text(json.dumps(event), encoding="utf-8")
    output_file = runner_dir / "github_output"
    summary_file = runner_dir / "step_summary.md"
    for f in (output_file, summary_file):
        f.write_text("", encoding="utf-8")
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(runner_dir),
        "LANG": "C.UTF-8",
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_API_URL": github_url,
        "GITHUB_SERVER_URL": "https://github.test",
        "GITHUB_RUN_ID": run_id,
        "GITHUB_SHA": sha,
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_ACTOR": "workflow-actor",
        "GITHUB_OUTPUT": str(output_file),
        "GITHUB_STEP_SUMMARY": str(summary_file),
        "RUNNER_TEMP": str(runner_dir / "temp"),
        "INPUT_GITHUB_TOKEN": GITHUB_TOKEN,
        **{f"INPUT_{k.upper().replace('-', '_')}": v for k, v in inputs.items()},
        **env,
    }
    proc = subprocess.run(
        [sys.executable, "-m", "lagoform.github", mode],
        cwd=workspace,
        env=environ,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    raw = output_file.read_text(encoding="utf-8")
    return ActionRun(
        exit_code=proc.returncode,
        stdout=proc.stdout,
        stderr=proc.stderr,
        outputs=parse_outputs(raw),
        summary=summary_file.read_text(encoding="utf-8"),
        raw_outputs=raw,
    )


def pull_request_event(number: int, head_sha: str) -> dict[str, Any]:
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"sha": head_sha, "ref": "pricing-change"},
            "base": {"ref": "main"},
            "merged_by": None,
        },
        "repository": {"full_name": REPO},
        "sender": {"login": "pr-author"},
    }


def push_event(sender: str, head_sha: str) -> dict[str, Any]:
    return {
        "ref": "refs/heads/main",
        "after": head_sha,
        "repository": {"full_name": REPO},
        "pusher": {"name": sender},
        "sender": {"login": sender},
    }


def schedule_event() -> dict[str, Any]:
    return {"schedule": "17 6 * * *", "repository": {"full_name": REPO}}
