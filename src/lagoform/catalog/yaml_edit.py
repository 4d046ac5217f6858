"""Edit a person's YAML in place: comments, key order, quoting and flow style stay as written.

``lagoform import`` into an existing project rewrites only what Lago changed. ``update`` walks a
round-trip node beside the model it was read as and the model Lago holds now: a value that
compares equal keeps its text; a changed one is rewritten where it is written (charges matched
by code, filters by their values, subscriptions by external id, tiers by position); a value
back at its default is removed; a new one is appended. ruamel.yaml's round-trip mode (YAML 1.2,
like the loader) reads and writes the files: it keeps a file it did not change byte for byte.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from decimal import Decimal
from itertools import pairwise
from typing import Any

from pydantic import BaseModel
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from lagoform.catalog.checks_charge import filter_label
from lagoform.catalog.models_charge import Charge, ChargeFilter
from lagoform.catalog.models_tenant import OverrideFilter, Subscription, Wallet
from lagoform.catalog.yaml_out import to_yaml

__all__ = [
    "dump_roundtrip",
    "item_of",
    "load_roundtrip",
    "plain",
    "to_node",
    "update",
    "update_value",
]

Identity = Callable[[Any], str]
_IDENTITY: dict[type[BaseModel], Identity] = {
    Charge: lambda c: str(c.code),
    ChargeFilter: lambda f: filter_label(f.values),
    OverrideFilter: lambda f: filter_label(f.values),
    Subscription: lambda s: str(s.external_id),
    Wallet: lambda w: str(w.code),
}
_DASH = re.compile(r"^( *)- ", re.MULTILINE)
_KEY = re.compile(r"^( *)[^\s#-][^:]*:\s*$")


def _yaml(text: str) -> YAML:
    yaml = YAML()  # round-trip
    yaml.width = 4096  # never re-wrap a long line someone wrote
    yaml.preserve_quotes = True
    offset = _sequence_offset(text)
    yaml.indent(mapping=_mapping_indent(text), sequence=offset + 2, offset=offset)
    yaml.representer.add_representer(Decimal, _represent_decimal)
    yaml.representer.add_representer(type(None), _represent_null)
    return yaml


def _sequence_offset(text: str) -> int:
    """How far this file indents a list's dashes under its key (2 in lagoform's examples)."""
    lines = text.splitlines()
    for index, line in enumerate(lines[1:], start=1):
        dash = _DASH.match(line)
        key = _KEY.match(lines[index - 1])
        if dash and key:
            return max(0, len(dash.group(1)) - len(key.group(1)))
    return 2


def _mapping_indent(text: str) -> int:
    """How far this file indents a mapping's keys under their parent key (2 usually)."""
    lines = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    for before, line in pairwise(lines):
        parent, child = _KEY.match(before), re.match(r"^( *)[^\s#-]", line)
        if parent and child and len(child.group(1)) > len(parent.group(1)):
            return len(child.group(1)) - len(parent.group(1))
    return 2


def _represent_decimal(representer: Any, value: Decimal) -> Any:
    text = format(value, "f")
    tag = "tag:yaml.org,2002:float" if "." in text else "tag:yaml.org,2002:int"
    return representer.represent_scalar(tag, text)


def _represent_null(representer: Any, value: None) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


def load_roundtrip(text: str) -> Any:
    return _yaml(text).load(text)


def dump_roundtrip(data: Any, like: str) -> str:
    """``data`` as YAML text, indented like ``like`` (the file's text as it was read)."""
    out = io.StringIO()
    _yaml(like).dump(data, out)
    return out.getvalue()


def plain(model: BaseModel) -> CommentedMap:
    """A model as new round-trip YAML (defaults left out, numbers written as numbers)."""
    converted = to_node(to_yaml(model, exact=True))
    assert isinstance(converted, CommentedMap)
    return converted


def to_node(value: Any) -> Any:
    """Plain YAML data as round-trip nodes (mappings keep their order)."""
    if isinstance(value, dict):
        return CommentedMap((k, to_node(v)) for k, v in value.items())
    if isinstance(value, list):
        return CommentedSeq(to_node(v) for v in value)
    return value


def item_of(items: Any, key: str, value: str) -> int | None:
    """The index of the mapping in a YAML list whose ``key`` is ``value`` (a charge without a
    code is matched by its metric)."""
    for index, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        found = item.get(key)
        if found is None and key == "code":
            found = item.get("metric")
        if str(found) == value:
            return index
    return None


def update(node: CommentedMap, old: BaseModel, new: BaseModel) -> None:
    """Rewrite in ``node`` (``old`` as written) what differs in ``new``; leave the rest."""
    fresh = plain(new)
    for name, field in type(new).model_fields.items():
        key = field.alias or name
        if name == "model" and not isinstance(new, Charge):
            continue  # properties take their charge's model
        before, after = getattr(old, name), getattr(new, name)
        if before == after:
            continue
        if key not in fresh:  # back at its default (or a charge code equal to its metric)
            node.pop(key, None)
            continue
        update_value(node, key, before, after, fresh[key])


def update_value(node: CommentedMap, key: str, before: Any, after: Any, fresh: Any) -> None:
    """``node[key]`` (``before`` as written) rewritten to say ``after`` (``fresh`` as YAML):
    into a written mapping or list where the two line up, else replaced whole."""
    written = node.get(key)
    if _same_kind(before, after) and isinstance(written, CommentedMap):
        update(written, before, after)
    elif isinstance(written, CommentedSeq) and _updatable(before, after, written):
        _update_list(written, before, after)
    elif isinstance(written, CommentedMap) and isinstance(after, dict):
        _update_mapping(written, before, after, fresh)
    else:
        node[key] = _styled_like(written, fresh)


def _styled_like(written: Any, value: Any) -> Any:
    """A new list or mapping written on one line if the one it replaces was."""
    was_flow = isinstance(written, CommentedMap | CommentedSeq) and written.fa.flow_style()
    if was_flow and isinstance(value, CommentedMap | CommentedSeq):
        value.fa.set_flow_style()
    return value


def _same_kind(before: Any, after: Any) -> bool:
    return isinstance(before, BaseModel) and type(before) is type(after)


def _updatable(before: Any, after: Any, written: CommentedSeq) -> bool:
    if not (isinstance(before, tuple) and isinstance(after, tuple)) or not before or not after:
        return False
    if len(written) != len(before) or not all(isinstance(i, CommentedMap) for i in written):
        return False
    kinds = {type(v) for v in (*before, *after)}
    if len(kinds) != 1 or not issubclass(next(iter(kinds)), BaseModel):
        return False
    return next(iter(kinds)) in _IDENTITY or len(before) == len(after)  # tiers: by position


def _update_list(written: CommentedSeq, before: tuple[Any, ...], after: tuple[Any, ...]) -> None:
    identity = _IDENTITY.get(type(before[0]))
    if identity is None:  # same length, matched by position
        for index, (one, other) in enumerate(zip(before, after, strict=True)):
            if one != other:
                update(written[index], one, other)
        return
    wanted = {identity(item): item for item in after}
    seen = set()
    for index in range(len(before) - 1, -1, -1):
        key = identity(before[index])
        if key not in wanted:
            del written[index]
            continue
        seen.add(key)
        if before[index] != wanted[key]:
            update(written[index], before[index], wanted[key])
    for key, item in wanted.items():
        if key not in seen:
            written.append(plain(item))


def _update_mapping(
    written: CommentedMap, before: dict[str, Any], after: dict[str, Any], fresh: Any
) -> None:
    """A mapping (metric filters, metadata, charge overrides by code): each key on its own."""
    for key in list(written):
        if key not in after:
            del written[key]
    for key, value in after.items():
        if before.get(key) == value and key in written:
            continue
        if _same_kind(before.get(key), value) and isinstance(written.get(key), CommentedMap):
            update(written[key], before[key], value)
        else:
            written[key] = _styled_like(written.get(key), fresh[key])
