"""The keyed walk: input → expected field changes, and agreement with deepdiff."""

from __future__ import annotations

from typing import Any

import pytest
from deepdiff import DeepDiff

from lagoform.engine.diff import FieldChange, diff, touches

TIERS_OLD = [
    {"from_value": 0, "to_value": 100, "per_unit_amount": "1", "flat_amount": "0"},
    {"from_value": 101, "per_unit_amount": "0.5", "flat_amount": "0"},
]
TIERS_NEW = [
    {"from_value": 0, "to_value": 100, "per_unit_amount": "1", "flat_amount": "0"},
    {"from_value": 101, "per_unit_amount": "0.4", "flat_amount": "0"},
]

CASES: list[tuple[str, dict[str, Any] | None, dict[str, Any] | None, list[tuple[Any, ...]]]] = [
    ("equal", {"a": 1, "b": {"c": "x"}}, {"a": 1, "b": {"c": "x"}}, []),
    ("scalar", {"name": "Pro"}, {"name": "Pro+"}, [(("name",), "Pro", "Pro+")]),
    ("field added", {}, {"description": "d"}, [(("description",), None, "d")]),
    ("field removed", {"description": "d"}, {}, [(("description",), "d", None)]),
    (
        "new charge is one change",
        {"charges": {}},
        {"charges": {"tokens": {"charge_model": "standard", "properties": {"amount": "1"}}}},
        [
            (
                ("charges", "tokens"),
                None,
                {"charge_model": "standard", "properties": {"amount": "1"}},
            )
        ],
    ),
    (
        "nested price",
        {"charges": {"t": {"properties": {"amount": "1"}}}},
        {"charges": {"t": {"properties": {"amount": "2"}}}},
        [(("charges", "t", "properties", "amount"), "1", "2")],
    ),
    (
        "tier by position",
        {"properties": {"graduated_ranges": TIERS_OLD}},
        {"properties": {"graduated_ranges": TIERS_NEW}},
        [(("properties", "graduated_ranges", "1", "per_unit_amount"), "0.5", "0.4")],
    ),
    (
        "tier appended",
        {"r": TIERS_OLD[:1]},
        {"r": TIERS_OLD},
        [(("r", "1"), None, TIERS_OLD[1])],
    ),
    (
        "tier dropped",
        {"r": TIERS_OLD},
        {"r": TIERS_OLD[:1]},
        [(("r", "1"), TIERS_OLD[1], None)],
    ),
    (
        "scalar list compared whole",
        {"tax_codes": ["a"]},
        {"tax_codes": ["a", "b"]},
        [(("tax_codes",), ["a"], ["a", "b"])],
    ),
    ("bool is not int", {"x": 1}, {"x": True}, [(("x",), 1, True)]),
    ("create", None, {"name": "n"}, [(("name",), None, "n")]),
    ("delete", {"name": "n"}, None, [(("name",), "n", None)]),
    (
        "filter keyed by values",
        {"filters": {"type=input": {"properties": {"amount": "1"}}}},
        {
            "filters": {
                "type=input": {"properties": {"amount": "1"}},
                "type=output": {"properties": {"amount": "2"}},
            }
        },
        [(("filters", "type=output"), None, {"properties": {"amount": "2"}})],
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_diff_table(
    old: dict[str, Any] | None, new: dict[str, Any] | None, expected: list[tuple[Any, ...]]
) -> None:
    got = diff(old, new)
    assert [(c.path, c.old, c.new) for c in got] == expected


def _deepdiff_paths(old: dict[str, Any], new: dict[str, Any]) -> set[str]:
    result = DeepDiff(old, new, verbose_level=2)
    paths: set[str] = set()
    for section in result.values():
        paths.update(section.keys() if isinstance(section, dict) else section)
    return paths


def _as_deepdiff_path(change: FieldChange, lists: set[tuple[str, ...]]) -> str:
    out = "root"
    for i, part in enumerate(change.path):
        out += f"[{part}]" if change.path[:i] in lists else f"['{part}']"
    return out


@pytest.mark.parametrize(
    ("old", "new"),
    [
        c[1:3]
        for c in CASES
        if c[1] is not None and c[2] is not None and c[0] != "scalar list compared whole"
    ],
    ids=[
        c[0]
        for c in CASES
        if c[1] is not None and c[2] is not None and c[0] != "scalar list compared whole"
    ],
)
def test_keyed_walk_agrees_with_deepdiff(old: dict[str, Any], new: dict[str, Any]) -> None:
    lists = {("properties", "graduated_ranges"), ("r",)}
    ours = {_as_deepdiff_path(c, lists) for c in diff(old, new)}
    assert ours == _deepdiff_paths(old, new)


def test_touches_filters_by_prefix() -> None:
    changes = diff(
        {"a": {"b": 1, "c": 1}, "d": 1},
        {"a": {"b": 2, "c": 2}, "d": 2},
    )
    assert [c.dotted() for c in touches(changes, "a")] == ["a.b", "a.c"]
    assert [c.dotted() for c in touches(changes, "d")] == ["d"]
