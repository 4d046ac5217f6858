"""``PathReader``: one generated function reads every path of a mapping; it answers what a
plain walk of each path answers, for any record parsed from JSON."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lagoform.dispatch.values import MISSING, PathReader
from lagoform.errors import DispatchError

KEYS = ["a", "b", "0", "1", "usage", "x-y", "k_2"]


def walk(record: Any, path: str) -> Any:
    """The rule, spelled out: objects by key, lists by a digit segment, anything else MISSING."""
    node = record
    for key in path[1:].split("."):
        if isinstance(node, dict):
            node = node.get(key, MISSING)
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return MISSING
        if node is MISSING:
            return MISSING
    return node


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner),
    max_leaves=12,
)
paths = st.lists(st.sampled_from(KEYS), min_size=1, max_size=5).map(lambda k: "$" + ".".join(k))


@given(record=st.dictionaries(st.sampled_from(KEYS), json_values), chosen=st.lists(paths))
@settings(max_examples=300, deadline=None)
def test_reads_what_a_walk_of_each_path_reads(record: dict[str, Any], chosen: list[str]) -> None:
    record = orjson.loads(orjson.dumps(record))  # as the worker gets it
    reader = PathReader()
    slots = [reader.slot(p) for p in chosen]
    values = reader.build()(record)
    assert [values[s] for s in slots] == [walk(record, p) for p in chosen]


def test_shared_prefixes_and_repeated_paths_share_slots() -> None:
    reader = PathReader()
    text, audio = reader.slot("$usage.input.text"), reader.slot("$usage.input.audio")
    assert reader.slot("$usage.input.text") == text != audio
    read = reader.build()
    record = {"usage": {"input": {"text": 7}}}
    assert read(record)[text] == 7 and read(record)[audio] is MISSING
    assert read({"usage": {"input": [1, 2]}})[text] is MISSING  # a list has no "text"
    assert read({"usage": "flat"})[text] is MISSING  # a string is not an object


def test_lists_are_indexed_by_digit_segments() -> None:
    reader = PathReader()
    first, third = reader.slot("$items.0.n"), reader.slot("$items.2.n")
    values = reader.build()({"items": [{"n": 3}, {"n": 4}]})
    assert values[first] == 3 and values[third] is MISSING


def test_constants_keep_their_value_and_their_own_slot() -> None:
    reader = PathReader()
    one, other = reader.constant_or_path(1), reader.constant(1)
    assert one is not None and one != other
    assert reader.constant_or_path(None) is None
    assert reader.build()({})[one] == 1


def test_keys_are_code_safe() -> None:
    """A key is a quoted literal in the generated code, never code."""
    reader = PathReader()
    slot = reader.slot("$a-b.c_d")
    assert reader.build()({"a-b": {"c_d": "ok"}})[slot] == "ok"
    with pytest.raises(DispatchError, match="malformed record path"):
        reader.slot("$a');import os;('")
