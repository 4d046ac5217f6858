"""``lagoform.yaml``: the environments lagoform can target and where audit records go.

An environment is either the embedded sandbox (the default target, state under ``.lagoform/``)
or a Lago reached at ``api_url`` whose API key is read from the variable named by
``api_key_env`` — never from a file. Each environment may tune timeouts, retries, pacing and
say whether Lago premium features are expected. Audit sinks are only *described* here
(jsonl file, stdout, Loki); the audit package writes to them. Errors name file, line, column.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lagoform.catalog.yamlguard import read_yaml_file
from lagoform.catalog.yamlsrc import LocDict, LocList, SourceLocation, parse_yaml
from lagoform.errors import ConfigError, Problem
from lagoform.lago import PacingConfig, RetryPolicy, Secret, Timeouts
from lagoform.lago.secret import api_key_problem

CONFIG_FILE = "lagoform.yaml"
SANDBOX = "sandbox"
DEFAULT_SANDBOX_STATE = ".lagoform/sandbox.json"
ADHOC_KEY_ENV = "LAGO_API_KEY"

_ENV_NAME = r"^[a-z][a-z0-9_-]{0,39}$"
_VAR_NAME = r"^[A-Z_][A-Z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Upper bounds keep a typo (``read: 1e20``) from overflowing a timer: an hour to wait for one
# answer, a day for a server's Retry-After, a million requests per second.
MAX_SECONDS = 3600.0
MAX_RETRY_AFTER = 86400.0
MAX_RATE = 1_000_000.0


class TimeoutsConfig(_Strict):
    """Seconds; every call to Lago has all four limits."""

    connect: float = Field(5.0, gt=0, le=MAX_SECONDS)
    read: float = Field(30.0, gt=0, le=MAX_SECONDS)
    write: float = Field(30.0, gt=0, le=MAX_SECONDS)
    pool: float = Field(10.0, gt=0, le=MAX_SECONDS)

    def build(self) -> Timeouts:
        return Timeouts(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


class PacingSettings(_Strict):
    """Requests per second per endpoint class (Lago Cloud's defaults); null = unpaced."""

    config: float | None = Field(50.0, gt=0, le=MAX_RATE)
    events: float | None = Field(500.0, gt=0, le=MAX_RATE)
    usage: float | None = Field(200.0, gt=0, le=MAX_RATE)
    burst: int | None = Field(None, ge=1, le=10_000)  # None: a tenth of a second's worth

    def build(self) -> PacingConfig:
        return PacingConfig(
            config=self.config, events=self.events, usage=self.usage, burst=self.burst
        )


class RetrySettings(_Strict):
    max_attempts: int = Field(5, ge=1, le=20)
    base_delay: float = Field(0.5, ge=0, le=MAX_SECONDS)
    max_delay: float = Field(20.0, ge=0, le=MAX_SECONDS)
    max_retry_after: float = Field(60.0, ge=0, le=MAX_RETRY_AFTER)

    def build(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.max_attempts,
            base_delay=self.base_delay,
            max_delay=self.max_delay,
            max_retry_after=self.max_retry_after,
        )


class JsonlSink(_Strict):
    """Append one JSON line per audit record. ``{env}`` in the path is the environment name."""

    kind: Literal["jsonl"]
    path: str = Field(min_length=1)

    def path_for(self, env: str) -> str:
        return self.path.replace("{env}", env)


class StdoutSink(_Strict):
    kind: Literal["stdout"]


class LokiSink(_Strict):
    """Push audit records to Grafana Loki (``/loki/api/v1/push``)."""

    kind: Literal["loki"]
    url: str = Field(pattern=r"^https?://")
    labels: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(5.0, gt=0, le=MAX_SECONDS)


AuditSink = Annotated[JsonlSink | StdoutSink | LokiSink, Field(discriminator="kind")]


def _default_sinks() -> list[JsonlSink | StdoutSink | LokiSink]:
    return [JsonlSink(kind="jsonl", path="audit/{env}.jsonl")]


class AuditConfig(_Strict):
    sinks: list[AuditSink] = Field(default_factory=_default_sinks)
    # A keyed chain: records are sealed with HMAC-SHA256 under the key this variable holds
    # (never stored anywhere); apply refuses to write without it.
    key_env: str | None = Field(None, pattern=_VAR_NAME)


class Environment(_Strict):
    """One target. ``kind`` defaults to ``sandbox`` for the environment named sandbox."""

    name: str = ""  # filled from the mapping key
    kind: Literal["lago", "sandbox"] = "lago"
    description: str | None = None
    api_url: str | None = Field(None, pattern=r"^https?://\S+$")
    api_key_env: str | None = Field(None, pattern=_VAR_NAME)
    state: str | None = None  # sandbox only: the state file, relative to the repo root
    premium: bool = True  # are plan overrides and other premium features expected to work?
    timeouts: TimeoutsConfig = Field(default_factory=TimeoutsConfig)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    pacing: PacingSettings = Field(default_factory=PacingSettings)
    audit: AuditConfig | None = None  # overrides the top-level audit sinks

    @property
    def is_sandbox(self) -> bool:
        return self.kind == "sandbox"

    def state_path(self, root: Path) -> Path:
        return root / (self.state or DEFAULT_SANDBOX_STATE)

    def api_key(self, environ: Mapping[str, str] | None = None) -> Secret:
        """The key from the variable this environment names (never logged or printed)."""
        if self.api_key_env is None:
            raise ConfigError(f"environment {self.name!r} has no api_key_env")
        return read_key(self.api_key_env, f"environment {self.name!r}", environ)


class LagoformConfig(_Strict):
    version: Literal[1] = 1
    environments: dict[str, Environment] = Field(default_factory=dict)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    source: str = Field("<defaults>", exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _names_and_kinds(cls, data: Any) -> Any:
        envs = data.get("environments") if isinstance(data, Mapping) else None
        if not isinstance(envs, Mapping):
            return data
        filled: dict[str, Any] = {}
        for name, env in envs.items():
            if isinstance(env, Mapping):
                env = {**env, "name": name}
                if name == SANDBOX and "kind" not in env:
                    env["kind"] = "sandbox"
            filled[name] = env
        return {**data, "environments": filled}

    def environment(self, name: str) -> Environment:
        if name in self.environments:
            return self.environments[name]
        if name == SANDBOX:
            return Environment(name=SANDBOX, kind="sandbox")
        known = ", ".join(sorted({SANDBOX, *self.environments}))
        raise ConfigError(f"unknown environment {name!r} in {self.source} (known: {known})")

    def audit_for(self, name: str) -> AuditConfig:
        env = self.environments.get(name)
        return env.audit if env is not None and env.audit is not None else self.audit


def read_key(var: str, who: str, environ: Mapping[str, str] | None = None) -> Secret:
    value = (os.environ if environ is None else environ).get(var, "")
    if not value.strip():
        raise ConfigError(
            f"{who} needs a Lago API key in the environment variable {var}, which is not set"
        )
    problem = api_key_problem(value)
    if problem is not None:
        raise ConfigError(f"the Lago API key in the environment variable {var} {problem}")
    return Secret(value)


# -- loading with locations -------------------------------------------------------------------
def load_config(root: Path, file: Path | None = None) -> LagoformConfig:
    """Read ``lagoform.yaml`` under ``root`` (defaults if it does not exist)."""
    path = file or root / CONFIG_FILE
    if not path.exists():
        if file is not None:
            raise ConfigError(f"{path}: no such file")
        return LagoformConfig()
    shown = _shown(path, root)
    text, unreadable = read_yaml_file(path, shown)
    if text is None:
        raise _config_error(unreadable)
    return parse_config(text, shown)


def parse_config(text: str, file: str = CONFIG_FILE) -> LagoformConfig:
    data, problems = parse_yaml(text, file)
    if problems:
        raise _config_error(problems)
    if data is None:
        return LagoformConfig(source=file)
    if not isinstance(data, dict):
        raise _config_error([Problem("expected a mapping at the top level", file=file, line=1)])
    try:
        config = LagoformConfig.model_validate({**data, "source": file})
    except ValidationError as err:
        raise _config_error(
            [
                _problem_at(data, e["loc"], _friendly(e), file, e["type"] == "extra_forbidden")
                for e in err.errors()
            ]
        ) from None
    problems = _check_environments(config, data, file)
    if problems:
        raise _config_error(problems)
    return config


def _check_environments(config: LagoformConfig, data: Any, file: str) -> list[Problem]:
    problems: list[Problem] = []
    for name, env in config.environments.items():

        def at(key: str | None, message: str, name: str = name) -> Problem:
            loc = ("environments", name) if key is None else ("environments", name, key)
            return _problem_at(data, loc, message, file)

        if not re.match(_ENV_NAME, name):
            problems.append(at(None, "environment names are lower case letters, digits, - or _"))
        if env.is_sandbox:
            for key in ("api_url", "api_key_env"):
                if getattr(env, key) is not None:
                    problems.append(at(key, f"a sandbox environment takes no {key}"))
        else:
            if name == SANDBOX:
                problems.append(at("kind", "the environment named sandbox is the embedded one"))
            for key in ("api_url", "api_key_env"):
                if getattr(env, key) is None:
                    problems.append(at(None, f"{key} is required for a Lago environment"))
            if env.state is not None:
                problems.append(at("state", "only a sandbox environment has a state file"))
    return problems


def _problem_at(
    data: Any, loc: tuple[Any, ...], message: str, file: str, at_key: bool = False
) -> Problem:
    """A problem placed at the deepest part of ``loc`` that exists in the YAML."""
    where = data.loc if isinstance(data, LocDict) else SourceLocation(file, 1, 1)
    node: Any = data
    label = ""
    for part in loc:
        if isinstance(node, LocDict) and part not in node and part == node.get("kind"):
            continue  # pydantic's discriminated-union tag, not a key the user wrote
        if isinstance(node, LocDict) and part in node:
            where = node.key_loc(part) if at_key else node.value_loc(part)
            node = node[part]
        elif isinstance(node, LocList) and isinstance(part, int) and 0 <= part < len(node):
            where, node = node.item_loc(part), node[part]
        else:
            node = None
        label += f"[{part}]" if isinstance(part, int) else f".{part}" if label else str(part)
    text = f"{label}: {message}" if label else message
    return Problem(text, file=where.file, line=where.line, column=where.column)


_PATTERN_WORDS = {
    "api_key_env": "must name an environment variable, e.g. LAGO_API_KEY_PRODUCTION",
    "api_url": "must be an http:// or https:// URL",
    "url": "must be an http:// or https:// URL",
}


def _friendly(error: Any) -> str:
    """Pydantic's message, reworded where a person would not understand it."""
    last = error["loc"][-1] if error["loc"] else None
    if error["type"] == "extra_forbidden" and last in ("api_key", "key", "token"):
        return "API keys never go in lagoform.yaml: set api_key_env to the variable holding it"
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "string_pattern_mismatch" and last in _PATTERN_WORDS:
        return _PATTERN_WORDS[last]
    bound = error.get("ctx") or {}
    if error["type"] == "less_than_equal":
        return f"must be at most {_number(bound.get('le'))}"
    if error["type"] in ("greater_than", "greater_than_equal"):
        limit = _number(bound.get("gt", bound.get("ge")))
        return f"must be {'above' if 'gt' in bound else 'at least'} {limit}"
    return str(error["msg"])


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _config_error(problems: list[Problem]) -> ConfigError:
    problems = sorted(problems, key=lambda p: (p.line or 0, p.column or 0, p.message))
    return ConfigError("invalid configuration:\n" + "\n".join(f"  {p}" for p in problems), problems)


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
