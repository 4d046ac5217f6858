"""docs/dispatch.md stays true: its commands and flags exist, and its worked example maps as
the guide says (the example record through the example project's usage mapping)."""

from __future__ import annotations

import re
from pathlib import Path

import click
import orjson
import pytest

from lagoform.catalog.project import load_project
from lagoform.cli.dispatch import dispatch
from lagoform.dispatch.mapping import mapper_for_project

REPO = Path(__file__).resolve().parents[2]
GUIDE = (REPO / "docs" / "dispatch.md").read_text(encoding="utf-8")
# Flags the guide mentions for other commands (`lagoform apply --auto-approve`).
OTHER_COMMANDS = {"--auto-approve"}


def _options(command: click.Command) -> set[str]:
    names: set[str] = set()
    for param in command.params:
        if isinstance(param, click.Option):
            names.update(param.opts)
            names.update(param.secondary_opts)
    return names


def _commands(group: click.Group = dispatch) -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        found[name] = command
        if isinstance(command, click.Group):
            found.update({f"{name} {sub}": c for sub, c in _commands(command).items()})
    return found


COMMANDS = _commands()


def _resolve(words: list[str]) -> tuple[str, click.Command]:
    if words[:2] and " ".join(words[:2]) in COMMANDS:
        name = " ".join(words[:2])
    elif words and words[0] in COMMANDS:
        name = words[0]
    else:
        raise AssertionError(f"docs/dispatch.md names `lagoform dispatch {' '.join(words)}`")
    return name, COMMANDS[name]


def _invocations() -> list[str]:
    return re.findall(r"lagoform dispatch ([^`\n#]*)", GUIDE)


def test_the_guide_shows_every_dispatch_command() -> None:
    used = {_resolve(line.split())[0] for line in _invocations() if line.split()}
    leaves = {name for name, c in COMMANDS.items() if not isinstance(c, click.Group)}
    assert leaves <= used, sorted(leaves - used)


@pytest.mark.parametrize("line", _invocations())
def test_each_command_line_uses_options_of_that_command(line: str) -> None:
    words = line.split()
    if not words:
        return
    name, command = _resolve(words)
    for flag in re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", line):
        assert flag in _options(command), f"`lagoform dispatch {name}` has no option {flag}"


def test_every_flag_in_the_guide_exists_on_some_dispatch_command() -> None:
    known = set().union(*(_options(c) for c in COMMANDS.values())) | OTHER_COMMANDS
    flags = set(re.findall(r"(?<![\w-])(--[a-z][\w-]*|-[a-zA-Z](?=[\s/`]))", GUIDE))
    assert flags, "the guide documents options"
    assert flags <= known, sorted(flags - known)


def test_the_documented_defaults_match_the_options() -> None:
    run = COMMANDS["run"]
    defaults = {p.name: p.default for p in run.params}
    assert defaults["max_in_flight"] == 4 and "| `--max-in-flight N` | 4 |" in GUIDE
    assert defaults["max_attempts"] == 10 and "| `--max-attempts N` | 10 |" in GUIDE
    assert {p.name: p.default for p in COMMANDS["dlq list"].params}["limit"] == 100


def test_the_worked_example_maps_to_the_documented_events() -> None:
    record = re.search(r"```json\n(\{\"id\": \"gen_123\".*?)\n```", GUIDE, re.S)
    event = re.search(r"```json\n(\{\"transaction_id\".*?)\n```", GUIDE, re.S)
    assert record is not None and event is not None
    mapper = mapper_for_project(load_project(REPO))
    record_id, events = mapper.map(orjson.loads(record.group(1)))
    assert record_id == "gen_123"
    assert len(events) == 7  # "the record above produces 7 events"
    documented = orjson.loads(event.group(1))
    assert documented["timestamp"] == events[0]["timestamp"]
    assert documented in events
    ids = {e["transaction_id"] for e in events}
    assert {"gen_123:images#0", "gen_123:images#1", "gen_123:tokens.input.text"} <= ids
    assert "gen_123:tokens.input.audio" not in ids  # zero quantity: no event


def test_the_guide_quotes_the_example_mapping_verbatim() -> None:
    usage = (REPO / "catalog" / "usage.yaml").read_text(encoding="utf-8")
    body = usage[usage.index("usage_mappings:") :].rstrip()
    assert body in GUIDE
