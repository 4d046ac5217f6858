"""Line-aware YAML loading: plain data that remembers where every key and value came from.

PyYAML composes a node tree (which carries marks); we build the Python data ourselves so that
every mapping and sequence knows the file/line/column of its items, numbers keep their source
text (floats become ``Decimal``, never ``float``), only ``true``/``false`` are booleans (no
YAML 1.1 "Norway problem"), and duplicate keys are errors. Hostile input is bounded first
(``yamlguard``: size, encoding, characters, alias expansion) and so are numbers
(``numbers``: digits and exponent). Nothing here knows about Lago.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from lagoform.catalog.numbers import extent_problem, integer_text_problem
from lagoform.catalog.yamlguard import MAX_VALUES, expansion_problem, position, text_problems
from lagoform.errors import CatalogError, Problem


@dataclass(frozen=True)
class SourceLocation:
    """A place in a YAML file (1-based line and column)."""

    file: str
    line: int | None = None
    column: int | None = None

    def problem(self, message: str, hint: str | None = None, *, warning: bool = False) -> Problem:
        return Problem(
            message, file=self.file, line=self.line, column=self.column, hint=hint, warning=warning
        )

    def __str__(self) -> str:
        parts = [self.file] + [str(p) for p in (self.line, self.column) if p is not None]
        return ":".join(parts)


class LocDict(dict[Any, Any]):
    """A mapping that knows where it, each of its keys and each of its values were written."""

    loc: SourceLocation
    key_locs: dict[Any, SourceLocation]
    value_locs: dict[Any, SourceLocation]

    def __init__(self, *args: Any, loc: SourceLocation | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.loc = loc or SourceLocation("<input>")
        self.key_locs = {}
        self.value_locs = {}

    def copy_with(self, **changes: Any) -> LocDict:
        """A copy (locations kept) with some keys set; a value of ``...`` removes the key."""
        out = LocDict(self, loc=self.loc)
        out.key_locs = dict(self.key_locs)
        out.value_locs = dict(self.value_locs)
        for key, value in changes.items():
            if value is ...:
                out.pop(key, None)
            else:
                out[key] = value
        return out

    def key_loc(self, key: Any) -> SourceLocation:
        return self.key_locs.get(key, self.loc)

    def value_loc(self, key: Any) -> SourceLocation:
        return self.value_locs.get(key, self.key_locs.get(key, self.loc))


class LocList(list[Any]):
    """A sequence that knows where it and each of its items were written."""

    loc: SourceLocation
    item_locs: list[SourceLocation]

    def __init__(self, *args: Any, loc: SourceLocation | None = None) -> None:
        super().__init__(*args)
        self.loc = loc or SourceLocation("<input>")
        self.item_locs = []

    def item_loc(self, index: int) -> SourceLocation:
        if 0 <= index < len(self.item_locs):
            return self.item_locs[index]
        return self.loc


def loc_of(value: Any, default: SourceLocation) -> SourceLocation:
    if isinstance(value, LocDict | LocList):
        return value.loc
    return default


# YAML 1.2 core-schema scalars: predictable for prices, codes and country codes.
_INT = re.compile(r"^[-+]?[0-9][0-9_]*$|^0o[0-7]+$|^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$")
_SPECIAL_FLOAT = re.compile(r"^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULL = {"", "~", "null", "Null", "NULL"}
_TIMESTAMP = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([Tt ][0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]*)?\s*(Z|[-+][0-9]{1,2}(:?[0-9]{2})?)?)?$"
)


class _Resolve:
    """Plain scalars are resolved by ``_Builder._scalar`` (YAML 1.2 core), not YAML 1.1."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            return "?"
        return str(super().resolve(kind, value, implicit))  # type: ignore[misc]


class _Loader(_Resolve, yaml.SafeLoader):
    """Pure-Python parser: slower, but its syntax error messages are the clearest."""


# libyaml's parser when present: several times faster, same marks.
_FastLoader: Any = (
    type("_FastLoader", (_Resolve, yaml.CSafeLoader), {})
    if hasattr(yaml, "CSafeLoader")
    else _Loader
)


def _mark(file: str, mark: yaml.Mark | None) -> SourceLocation:
    if mark is None:
        return SourceLocation(file)
    return SourceLocation(file, mark.line + 1, mark.column + 1)


class _TooManyValues(Exception):
    def __init__(self, node: yaml.Node) -> None:
        self.node = node


class _Builder:
    def __init__(self, file: str, max_values: int = MAX_VALUES) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self._active: set[int] = set()
        self._left = max_values  # counted as built: the guard behind yamlguard's estimate

    def build(self, node: yaml.Node) -> Any:
        self._left -= 1
        if self._left < 0:
            raise _TooManyValues(node)
        if id(node) in self._active:
            self._problem(node, "an alias refers to the mapping or list that contains it")
            return None
        if isinstance(node, yaml.MappingNode):
            self._active.add(id(node))
            try:
                return self._mapping(node)
            finally:
                self._active.discard(id(node))
        if isinstance(node, yaml.SequenceNode):
            self._active.add(id(node))
            try:
                out = LocList(loc=_mark(self.file, node.start_mark))
                for item in node.value:
                    out.append(self.build(item))
                    out.item_locs.append(_mark(self.file, item.start_mark))
                return out
            finally:
                self._active.discard(id(node))
        assert isinstance(node, yaml.ScalarNode)
        return self._scalar(node)

    def _problem(self, node: yaml.Node, message: str, hint: str | None = None) -> None:
        self.problems.append(_mark(self.file, node.start_mark).problem(message, hint))

    def _mapping(self, node: yaml.MappingNode) -> LocDict:
        out = LocDict(loc=_mark(self.file, node.start_mark))
        for key_node, value_node in node.value:
            is_merge = isinstance(key_node, yaml.ScalarNode) and key_node.value == "<<"
            if key_node.tag == "tag:yaml.org,2002:merge" or (is_merge and not key_node.style):
                self._problem(key_node, "YAML merge keys (<<) are not supported", "use `extends`")
                continue
            key = self.build(key_node)
            if isinstance(key, LocDict | LocList):
                self._problem(key_node, "expected a plain key (text), got a mapping or list")
                continue
            if isinstance(key, Decimal | int | bool | dt.date) or key is None:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key)
            if key in out:
                first = out.key_locs[key]
                self._problem(
                    key_node, f"duplicate key '{key}' (first written at line {first.line})"
                )
                continue
            out[key] = self.build(value_node)
            out.key_locs[key] = _mark(self.file, key_node.start_mark)
            out.value_locs[key] = _mark(self.file, value_node.start_mark)
        return out

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        text: str = node.value
        tag = node.tag
        if node.style or tag in ("!", "tag:yaml.org,2002:str"):
            return text  # quoted, literal or explicitly tagged text stays text
        if tag != "?" and not tag.startswith("tag:yaml.org,2002:"):
            self._problem(node, f"unsupported YAML tag {tag}")
            return text
        if text in _NULL:
            return None
        if text in _BOOL:
            return _BOOL[text]
        if _INT.match(text):
            clean = text.replace("_", "")
            too_long = integer_text_problem(clean.removeprefix("0o").removeprefix("0x"))
            if too_long:
                self._problem(node, too_long)
                return None
            if clean.startswith("0o"):
                return int(clean[2:], 8)
            if clean.startswith("0x"):
                return int(clean[2:], 16)
            return int(clean)
        if _FLOAT.match(text):
            try:
                number = Decimal(text.replace("_", ""))
            except InvalidOperation:
                return text
            out_of_range = extent_problem(number)
            if out_of_range:
                self._problem(node, out_of_range)
                return None
            return number
        if _SPECIAL_FLOAT.match(text):
            self._problem(node, f"expected a finite number, got {text}")
            return None
        if _TIMESTAMP.match(text):
            return _timestamp(text) or text
        return text


def _timestamp(text: str) -> dt.date | dt.datetime | None:
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        return dt.datetime.fromisoformat(text.replace("t", "T").replace("z", "Z"))
    except ValueError:
        return None


def _syntax_problem(file: str, err: yaml.YAMLError, text: str) -> Problem:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    if isinstance(err, yaml.reader.ReaderError):  # carries a character offset, not a mark
        line, column = position(text, err.position)
        return Problem(f"invalid YAML: {err.reason}", file=file, line=line, column=column)
    problem = getattr(err, "problem", None) or str(err)
    context = getattr(err, "context", None)
    message = f"invalid YAML: {problem}"
    if context:
        message += f" ({context})"
    loc = _mark(file, mark) if mark is not None else SourceLocation(file, 1, 1)
    return loc.problem(message, _syntax_hint(problem))


def _syntax_hint(problem: str) -> str | None:
    if "expected <block end>" in problem or "mapping values are not allowed" in problem:
        return "check the indentation and that each `key: value` has a space after the colon"
    if "found character '\\t'" in problem:
        return "indent with spaces, not tabs"
    if "expected ',' or ']'" in problem or "expected ',' or '}'" in problem:
        return "close the [ ] or { } flow collection"
    return None


def parse_yaml(text: str, file: str) -> tuple[Any, list[Problem]]:
    """Parse one YAML document; returns (data, problems). Never raises for bad input."""
    refused = text_problems(text, file)
    if refused:
        return None, refused
    try:
        node = yaml.compose(text, Loader=_FastLoader)
    except yaml.YAMLError as fast_err:
        try:  # parse again with the pure-Python parser for its clearer message
            yaml.compose(text, Loader=_Loader)
        except yaml.YAMLError as err:
            return None, [_syntax_problem(file, err, text)]
        except (ValueError, RecursionError):
            pass
        return None, [_syntax_problem(file, fast_err, text)]
    except RecursionError:
        return None, [Problem("invalid YAML: nested too deeply", file=file, line=1, column=1)]
    except ValueError as err:
        return None, [Problem(f"invalid YAML: {err}", file=file, line=1, column=1)]
    if node is None:
        return None, []
    too_big = expansion_problem(node, file)
    if too_big is not None:
        return None, [too_big]
    builder = _Builder(file)
    try:
        data = builder.build(node)
    except RecursionError:
        return None, [Problem("invalid YAML: nested too deeply", file=file, line=1, column=1)]
    except _TooManyValues as err:
        where = _mark(file, err.node.start_mark)
        return None, [where.problem(f"this document holds more than {MAX_VALUES:,} values")]
    return data, builder.problems


def load_yaml(text: str, file: str) -> Any:
    """Parse one YAML document or raise ``CatalogError`` with every problem found."""
    data, problems = parse_yaml(text, file)
    if problems:
        raise CatalogError(problems)
    return data


class _Dumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    if style is None and _reads_as_non_text(data):
        style = "'"  # e.g. "0E0": PyYAML's 1.1 rules write it plain, our 1.2 reading is a number
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def _reads_as_non_text(text: str) -> bool:
    return bool(
        text in _NULL
        or text in _BOOL
        or _INT.match(text)
        or _FLOAT.match(text)
        or _SPECIAL_FLOAT.match(text)
        or _TIMESTAMP.match(text)
    )


_Dumper.add_representer(str, _str_presenter)
_Dumper.add_representer(LocDict, _Dumper.represent_dict)
_Dumper.add_representer(LocList, _Dumper.represent_list)


def _decimal_presenter(dumper: yaml.SafeDumper, data: Decimal) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:float", format(data, "f"))


_Dumper.add_representer(Decimal, _decimal_presenter)


def dump_yaml(data: Any) -> str:
    """Write plain data as YAML in the order given (Decimals written exactly)."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def copy_mapping(value: dict[Any, Any]) -> dict[Any, Any]:
    """A shallow copy that keeps source locations when the mapping came from YAML."""
    if isinstance(value, LocDict):
        return value.copy_with()
    return dict(value)


def copy_sequence(original: list[Any], items: list[Any]) -> list[Any]:
    """New items in place of ``original``'s, keeping its source locations when it had them."""
    if isinstance(original, LocList):
        out = LocList(items, loc=original.loc)
        out.item_locs = list(original.item_locs)
        return out
    return list(items)
