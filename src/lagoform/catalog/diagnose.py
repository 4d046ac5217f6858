"""Turn pydantic validation errors into located, plain-English problems.

Each pydantic error path is walked through the located YAML data (``LocDict``/``LocList``) to
find its file:line:column. Messages say what was expected and, for a typo, the closest name.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from lagoform.catalog.yamlsrc import LocDict, LocList, SourceLocation
from lagoform.errors import Problem

M = TypeVar("M", bound=BaseModel)

_SKIPPED = {"union_tag_not_found", "union_tag_invalid"}  # the charge `model` error says it


def suggest(name: object, candidates: Iterable[str]) -> str | None:
    """``did you mean 'x'?`` for the closest candidate, if any is close enough."""
    if not isinstance(name, str):
        return None
    pool = sorted(set(candidates))
    match = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    if not match:
        lowered = {c.lower(): c for c in pool}
        match = [lowered[name.lower()]] if name.lower() in lowered else []
    if not match and len(name) >= 3:
        # an abbreviation: "uniq" -> "unique_count"
        match = [c for c in pool if c.lower().startswith(name.lower())][:1]
    return f"did you mean '{match[0]}'?" if match else None


def describe(value: Any) -> str:
    if isinstance(value, LocDict | dict):
        return "a mapping" if value else "an empty mapping"
    if isinstance(value, LocList | list | tuple):
        return "a list" if value else "an empty list"
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'" if len(value) <= 60 else f"'{value[:57]}...'"
    return str(value)


def walk(raw: Any, path: Iterable[Any], start: SourceLocation) -> tuple[SourceLocation, Any, bool]:
    """Follow ``path`` into located data: (location, value there, whether the full path exists).

    Path parts that are not in the data (a union tag, a missing key) are skipped.
    """
    location = start if not isinstance(raw, LocDict | LocList) else raw.loc
    current = raw
    found = True
    for part in path:
        if isinstance(current, dict) and part in current:
            location = current.value_loc(part) if isinstance(current, LocDict) else location
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            location = current.item_loc(part) if isinstance(current, LocList) else location
            current = current[part]
        elif isinstance(current, list) and isinstance(part, str):
            index = _find_item(current, part)
            if index is None:
                found = False
                continue
            location = current.item_loc(index) if isinstance(current, LocList) else location
            current = current[index]
        else:
            found = False
    return location, current, found


def _find_item(items: list[Any], name: str) -> int | None:
    for index, item in enumerate(items):
        if item == name:
            return index
        if isinstance(item, dict):
            for key in ("code", "external_id", "key", "record_type"):
                if item.get(key) == name:
                    return index
            if "metric" in item and "code" not in item and item.get("metric") == name:
                return index
    return None


def _key_location(raw: Any, loc: tuple[Any, ...], start: SourceLocation) -> SourceLocation:
    parent_loc, parent, _ = walk(raw, loc[:-1], start)
    if isinstance(parent, LocDict) and loc and loc[-1] in parent:
        return parent.key_loc(loc[-1])
    return parent_loc


def _unwrap(annotation: Any) -> list[Any]:
    """The classes an annotation may hold (through Optional, unions, Annotated, containers)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [c for arg in typing.get_args(annotation) for c in _unwrap(arg)]
    if origin in (tuple, list, dict):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        return [c for arg in args[-1:] for c in _unwrap(arg)]
    return [annotation]


def model_at(cls: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that owns the last part of ``loc`` (to list its allowed keys)."""
    current: type[BaseModel] | None = cls
    pending: list[type[BaseModel]] = []
    for part in loc:
        if current is None:
            return None
        if isinstance(part, int):
            continue
        if pending and isinstance(part, str):
            tagged = [c for c in pending if _tag_of(c) == part]
            if tagged:
                current, pending = tagged[0], []
                continue
            pending = []
        field = _field(current, part)
        if field is None:
            continue  # a dict key (e.g. a charge code in overrides)
        models = [
            c for c in _unwrap(field.annotation) if isinstance(c, type) and issubclass(c, BaseModel)
        ]
        if len(models) > 1:
            pending = models
        current = models[0] if models else None
    return current


def _tag_of(cls: type[BaseModel]) -> str | None:
    field = cls.model_fields.get("model")
    return field.default if field is not None and isinstance(field.default, str) else None


def _field(cls: type[BaseModel], name: Any) -> Any:
    for fname, field in cls.model_fields.items():
        if name in (fname, field.alias):
            return field
    return None


def allowed_keys(cls: type[BaseModel] | None) -> list[str]:
    if cls is None:
        return []
    return [
        f.alias or n
        for n, f in cls.model_fields.items()
        if n != "model" or cls.__name__ == "Charge"
    ]


_QUOTED = re.compile(r"'([^']*)'")


def _message(err: dict[str, Any], cls: type[BaseModel]) -> tuple[str, str | None]:
    kind = err["type"]
    loc = tuple(err["loc"])
    value = err.get("input")
    ctx = err.get("ctx") or {}
    name = loc[-1] if loc else None
    if kind == "missing":
        if name in ("reason", "approval") and "overrides" in loc:
            return (
                f"overrides need '{name}'",
                "every override needs a reason and an approval reference (MSA or ticket id)",
            )
        return f"missing required key '{name}'", None
    if kind == "extra_forbidden":
        owner = model_at(cls, loc[:-1])
        keys = allowed_keys(owner)
        return f"unknown key '{name}'", suggest(name, keys) or (
            f"allowed: {', '.join(keys)}" if keys and len(keys) <= 12 else None
        )
    if kind == "literal_error":
        options = _QUOTED.findall(str(ctx.get("expected", "")))
        return f"expected one of {ctx.get('expected')}, got {describe(value)}", suggest(
            value, options
        )
    simple = {
        "int_type": "expected a whole number",
        "int_parsing": "expected a whole number",
        "int_from_float": "expected a whole number",
        "bool_type": "expected true or false",
        "bool_parsing": "expected true or false",
        "string_type": "expected text",
        "list_type": "expected a list",
        "tuple_type": "expected a list",
        "dict_type": "expected a mapping (key: value)",
        "model_type": "expected a mapping (key: value)",
        "model_attributes_type": "expected a mapping (key: value)",
        "decimal_type": "expected a number",
        "decimal_parsing": "expected a number",
        "datetime_type": "expected a date-time such as 2026-01-01T00:00:00Z",
        "datetime_parsing": "expected a date-time such as 2026-01-01T00:00:00Z",
        "datetime_from_date_parsing": "expected a date-time such as 2026-01-01T00:00:00Z",
    }
    if kind in simple:
        return f"{simple[kind]}, got {describe(value)}", None
    if kind == "too_short":
        n = ctx.get("min_length", 1)
        return f"expected at least {n} item{'s' if n != 1 else ''}, got {describe(value)}", None
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, "), None
    return f"{err['msg']}, got {describe(value)}", None


def problems_from(
    error: ValidationError, cls: type[BaseModel], raw: Any, start: SourceLocation
) -> list[Problem]:
    problems = []
    errors = error.errors()
    locs = [tuple(e["loc"]) for e in errors]
    for err in errors:
        loc = tuple(err["loc"])
        if err["type"] in _SKIPPED:
            continue
        if err["type"] == "too_short" and any(o[: len(loc)] == loc and o != loc for o in locs):
            continue  # the list only looks short because its items were refused
        if err["type"] == "extra_forbidden":
            where = _key_location(raw, loc, start)
        elif err["type"] == "missing" and len(loc) > 1 and isinstance(loc[-2], str):
            where = _key_location(raw, loc[:-1], start)  # at `overrides:`, not its first key
        else:
            where, _, _ = walk(raw, loc, start)
        message, hint = _message(dict(err), cls)
        problems.append(where.problem(message, hint))
    if not problems:  # only skipped errors: still never pass silently
        where, _, _ = walk(raw, locs[0] if locs else (), start)
        problems.append(where.problem(str(errors[0]["msg"]) if errors else "invalid value"))
    return problems


def validate(cls: type[M], raw: Any, start: SourceLocation) -> tuple[M | None, list[Problem]]:
    """Validate located raw data; never raises for bad data."""
    try:
        return cls.model_validate(raw), []
    except ValidationError as err:
        return None, problems_from(err, cls, raw, start)


def piece(cls: type[M], raw: Any) -> M | None:
    """Validate one part of an object that failed as a whole (its errors are already reported),
    so the cross-checks can still look at the parts that are fine."""
    try:
        return cls.model_validate(raw)
    except ValidationError:
        return None
