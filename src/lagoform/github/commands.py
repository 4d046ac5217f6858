"""The lagoform commands the Action runs, and the scrubbing of whatever they print.

Plan and apply run as ``python -m lagoform …`` subprocesses: that is the boundary a CI job has
(exit codes 0/1/2, the API key only in the child's environment), and it keeps one crashed command
from taking the Action's reporting down with it. Validation runs in-process, because the
annotations need the structured ``Problem`` list rather than printed text.

Every text that came from a child process goes through ``Scrubber`` before it reaches a log,
comment, issue or summary: secrets the runner gave us (the GitHub token, Lago API keys) are
masked even if some command were to print them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lagoform.errors import LagoformError
from lagoform.lago.secret import Secret, named_secrets, without_userinfo

COMMAND_TIMEOUT_S = 30 * 60  # an apply against a large catalog is slow but never hours


@dataclass(frozen=True)
class Scrubber:
    """Masks known secret values in text."""

    secrets: tuple[Secret, ...] = ()

    @classmethod
    def from_environ(
        cls, env: Mapping[str, str] | None = None, extra: Iterable[Secret] = ()
    ) -> Scrubber:
        env = os.environ if env is None else env
        return cls(tuple([*named_secrets(env), *extra]))

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = secret.redact(text)
        return text


@dataclass(frozen=True)
class Target:
    """Where plan/apply point: an environment from lagoform.yaml, or an ad-hoc API URL."""

    environment: str = ""
    api_url: str = ""

    @property
    def label(self) -> str:
        """The name shown to people and used in markers (one sticky comment per label)."""
        return self.environment or ("api-url" if self.api_url else "sandbox")

    @property
    def audit_environment(self) -> str:
        """The environment name lagoform's audit records (and log path) use for this target:
        the CLI names an ``--api-url`` target "ad-hoc" and no target "sandbox"."""
        if self.api_url:
            return "ad-hoc"
        return self.environment or "sandbox"

    def args(self) -> list[str]:
        # With an ad-hoc URL the environment is only a label: the key comes from LAGO_API_KEY.
        if self.api_url:
            return ["--api-url", self.api_url]
        return ["-e", self.environment] if self.environment else []


@dataclass(frozen=True)
class Completed:
    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str = field(repr=False)

    def message(self) -> str:
        """What the command said about its failure, for an annotation or a comment."""
        text = (self.stderr.strip() or self.stdout.strip()).splitlines()
        return "\n".join(text[-40:]) or f"lagoform exited with code {self.exit_code}"


def run_lagoform(args: Sequence[str], *, cwd: Path, scrub: Scrubber) -> Completed:
    """Run ``python -m lagoform ARGS`` in ``cwd``; output scrubbed, never raises on exit code."""
    argv = [sys.executable, "-m", "lagoform", *args]
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise LagoformError(
            f"`lagoform {' '.join(without_userinfo(a) for a in args)}` did not finish in "
            f"{COMMAND_TIMEOUT_S // 60} minutes"
        ) from None
    except OSError as err:
        raise LagoformError(f"cannot run lagoform: {err.strerror}") from None
    return Completed(tuple(args), proc.returncode, scrub(proc.stdout), scrub(proc.stderr))
