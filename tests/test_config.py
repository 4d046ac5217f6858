"""lagoform.yaml: environments, keys from variables, audit sinks, errors with line numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from lagoform.config import (
    JsonlSink,
    LokiSink,
    StdoutSink,
    load_config,
    parse_config,
)
from lagoform.errors import ConfigError
from lagoform.lago import PacingConfig, RetryPolicy, Timeouts

REPO = Path(__file__).resolve().parents[1]

GOOD = """\
environments:
  sandbox:
    premium: false
  staging:
    api_url: https://staging.lago.example.com
    api_key_env: LAGO_KEY_STAGING
    timeouts: {connect: 2, read: 10}
    pacing: {config: 20, events: null}
    retry: {max_attempts: 3}
    audit:
      sinks: [{kind: stdout}]
audit:
  sinks:
    - kind: jsonl
      path: audit/{env}.jsonl
    - kind: loki
      url: http://127.0.0.1:3100
      labels: {app: lagoform}
"""


def test_repo_example_config_loads() -> None:
    config = load_config(REPO)
    assert set(config.environments) == {"sandbox", "staging", "production"}
    prod = config.environment("production")
    assert prod.kind == "lago" and prod.api_url == "https://api.getlago.com"
    assert prod.api_key_env == "LAGO_API_KEY_PRODUCTION"
    assert config.environment("sandbox").is_sandbox
    sinks = config.audit_for("production").sinks
    assert isinstance(sinks[0], JsonlSink) and sinks[0].path_for("production").startswith("audit/")


def test_parse_everything() -> None:
    config = parse_config(GOOD)
    sandbox, staging = config.environment("sandbox"), config.environment("staging")
    assert sandbox.is_sandbox and not sandbox.premium
    assert sandbox.state_path(Path("/r")) == Path("/r/.lagoform/sandbox.json")
    assert staging.timeouts.build() == Timeouts(connect=2.0, read=10.0, write=30.0, pool=10.0)
    assert staging.pacing.build() == PacingConfig(config=20.0, events=None, usage=200.0)
    assert staging.retry.build() == RetryPolicy(max_attempts=3)
    assert [type(s) for s in config.audit_for("staging").sinks] == [StdoutSink]
    jsonl, loki = config.audit_for("sandbox").sinks
    assert isinstance(jsonl, JsonlSink) and jsonl.path_for("sandbox") == "audit/sandbox.jsonl"
    assert isinstance(loki, LokiSink) and loki.labels == {"app": "lagoform"}


def test_missing_file_means_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config.environments == {}
    assert config.environment("sandbox").is_sandbox  # the embedded default always exists
    assert isinstance(config.audit.sinks[0], JsonlSink)


def test_unknown_environment_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown environment 'prod'.*production"):
        parse_config(GOOD.replace("staging", "production")).environment("prod")


def test_key_comes_from_the_named_variable_and_stays_secret() -> None:
    env = parse_config(GOOD).environment("staging")
    key = env.api_key({"LAGO_KEY_STAGING": "lago_canary_9f3b_config"})
    assert key.reveal() == "lago_canary_9f3b_config"
    assert "canary" not in repr(key)
    with pytest.raises(ConfigError) as info:
        env.api_key({})
    assert "LAGO_KEY_STAGING" in str(info.value) and "staging" in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "environments:\n  prod:\n    api_url: https://x\n    api_key_env: lower\n",
            "lagoform.yaml:4:18: environments.prod.api_key_env: must name an environment variable",
        ),
        (
            "environments:\n  prod:\n    api_url: https://x\n    api_key_env: K\n"
            "    api_key: s3cr3t\n",
            "lagoform.yaml:5:5: environments.prod.api_key: API keys never go in lagoform.yaml",
        ),
        (
            "environments:\n  prod:\n    api_url: https://x\n",
            "lagoform.yaml:3:5: environments.prod: api_key_env is required",
        ),
        (
            "environments:\n  sandbox:\n    api_url: https://x\n",
            "lagoform.yaml:3:14: environments.sandbox.api_url: "
            "a sandbox environment takes no api_url",
        ),
        (
            "environments:\n  Prod:\n    api_url: https://x\n    api_key_env: K\n",
            "lagoform.yaml:3:5: environments.Prod: environment names are lower case",
        ),
        (
            "environments:\n  p:\n    api_url: x\n    api_key_env: K\n",
            "lagoform.yaml:3:14: environments.p.api_url: must be an http:// or https:// URL",
        ),
        (
            "environments:\n  p:\n    api_url: https://x\n    api_key_env: K\n"
            "    pacing: {config: 0}\n",
            "lagoform.yaml:5:22: environments.p.pacing.config: must be above 0",
        ),
        (  # a timer this long would overflow: bounded, located
            "environments:\n  p:\n    api_url: https://x\n    api_key_env: K\n"
            "    timeouts: {read: 1e20}\n",
            "lagoform.yaml:5:22: environments.p.timeouts.read: must be at most 3600",
        ),
        (  # numbers beyond any sane extent are refused where they are written
            "environments:\n  p:\n    api_url: https://x\n    api_key_env: K\n"
            "    retry: {base_delay: 1e-999999999}\n",
            "lagoform.yaml:5:25: 1e-999999999 is out of range",
        ),
        (
            "audit:\n  sinks:\n    - kind: jsonl\n",
            "lagoform.yaml:3:7: audit.sinks[0].path: Field required",
        ),
        (
            "audit:\n  sinks:\n    - kind: kafka\n",
            "lagoform.yaml:3:7: audit.sinks[0]: Input tag 'kafka'",
        ),
        (
            "audit:\n  sinks:\n    - {kind: stdout, colour: true}\n",
            "lagoform.yaml:3:22: audit.sinks[0].colour: unknown key",
        ),
        (
            "environments: [a, b]\n",
            "lagoform.yaml:1:15: environments: Input should be a valid dictionary",
        ),
        ("version: 2\n", "lagoform.yaml:1:10: version: Input should be 1"),
        ("environments:\n  p: {\n", "lagoform.yaml:3"),
        ("- a\n", "lagoform.yaml:1: expected a mapping at the top level"),
    ],
)
def test_errors_name_file_line_column(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert expected in str(info.value)
    assert "s3cr3t" not in str(info.value)
    # The same problems, as data: each one located in the file.
    problems = info.value.problems
    assert problems and any(expected in str(p) for p in problems)
    assert all(p.file == "lagoform.yaml" and p.line is not None for p in problems)
    assert all("s3cr3t" not in str(p) for p in problems)


def test_all_errors_at_once(tmp_path: Path) -> None:
    (tmp_path / "lagoform.yaml").write_text(
        "environments:\n  a:\n    api_url: nope\n    api_key_env: K\n"
        "  b:\n    api_url: https://x\n    api_key_env: k\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    lines = str(info.value).splitlines()
    assert lines[1].strip().startswith("lagoform.yaml:3:14")
    assert lines[2].strip().startswith("lagoform.yaml:7:18")


def test_problems_are_data_and_the_message_lists_them(tmp_path: Path) -> None:
    (tmp_path / "lagoform.yaml").write_text(
        "environments:\n  b:\n    api_url: https://x\n    api_key_env: k\n"
        "  a:\n    api_url: nope\n    api_key_env: K\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    problems = info.value.problems
    assert [(p.file, p.line, p.column) for p in problems] == [
        ("lagoform.yaml", 4, 18),
        ("lagoform.yaml", 6, 14),
    ]
    assert problems[0].message.startswith("environments.b.api_key_env: must name")
    assert str(info.value) == "invalid configuration:\n" + "\n".join(f"  {p}" for p in problems)


def test_other_config_errors_carry_no_problems(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(GOOD).environment("prod")
    assert info.value.problems == []


def test_an_unreadable_config_file_is_a_problem_of_that_file(tmp_path: Path) -> None:
    (tmp_path / "lagoform.yaml").mkdir()
    with pytest.raises(ConfigError, match="cannot read") as unreadable:
        load_config(tmp_path)
    # an unreadable file is a problem of that file (its name, and why)
    [problem] = unreadable.value.problems
    assert problem.file == "lagoform.yaml" and "Is a directory" in problem.message
