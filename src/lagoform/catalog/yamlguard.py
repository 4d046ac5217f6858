"""Bounds that keep one YAML file from taking lagoform down, each reported as file:line:col.

Any pull-request author can put YAML in front of ``lagoform validate`` on a CI runner, so
before a document is built into Python data:

* its size is capped (``MAX_FILE_BYTES``): composing YAML costs time and memory per byte;
* it must be UTF-8 (a leading BOM is fine) without control characters, and a bad byte or
  character is located to line and column, not to a byte offset;
* the values it expands to are counted on the composed graph, where an alias is one shared
  node: ``expanded_size`` sums each node once per use without building anything, so a
  410-byte "billion laughs" file (aliases of aliases) is refused in microseconds instead of
  eating gigabytes. The builder in ``yamlsrc`` counts again as it builds, as a second guard.

``yamlsrc`` applies these; ``project`` and ``config`` read files through ``read_yaml_file``.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import yaml

from lagoform.errors import Problem

MAX_FILE_BYTES = 4 * 1024 * 1024
# Values (mappings, lists, keys and scalars) one document may hold once aliases are expanded.
MAX_VALUES = 250_000
MAX_REPORTED = 10  # bad characters listed per file; a binary file would list thousands

# What YAML 1.1/1.2 allows in a stream (PyYAML's reader refuses the rest).
_NOT_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
_BOM = b"\xef\xbb\xbf"


def position(text: str, index: int) -> tuple[int, int]:
    """1-based (line, column) of character ``index`` in ``text``."""
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


def read_yaml_file(path: Path, shown: str) -> tuple[str | None, list[Problem]]:
    """The text of a YAML file, or the problems that make it unreadable (never raises)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        return None, [Problem(f"cannot read file: {err.strerror or err}", file=shown)]
    if len(data) > MAX_FILE_BYTES:
        return None, [_too_big(shown)]
    data = data.removeprefix(_BOM)
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as err:
        return None, [_not_utf8(data, err, shown)]


def _too_big(file: str) -> Problem:
    return Problem(
        f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB; split it into several "
        "files (lagoform reads every file under catalog/ and overrides/)",
        file=file,
        line=1,
        column=1,
    )


def _not_utf8(data: bytes, err: UnicodeDecodeError, file: str) -> Problem:
    start = data.rfind(b"\n", 0, err.start) + 1
    line = data.count(b"\n", 0, err.start) + 1
    column = len(data[start : err.start].decode("utf-8", errors="replace")) + 1
    bad = data[err.start : min(err.end, err.start + 4)]
    return Problem(
        f"not UTF-8: byte {' '.join(f'0x{b:02x}' for b in bad)} cannot be read",
        file=file,
        line=line,
        column=column,
        hint="save the file as UTF-8",
    )


def text_problems(text: str, file: str) -> list[Problem]:
    """Size and characters of a document already decoded (``parse_yaml`` checks this first)."""
    if len(text) > MAX_FILE_BYTES:  # characters ≤ bytes: a larger text is a larger file
        return [_too_big(file)]
    found = list(itertools.islice(_NOT_PRINTABLE.finditer(text), MAX_REPORTED + 1))
    problems: list[Problem] = []
    for index, match in enumerate(found[:MAX_REPORTED]):
        line, column = position(text, match.start())
        char = match.group()
        what = "a NUL byte" if char == "\0" else f"control character U+{ord(char):04X}"
        # a binary file would list thousands: the last one listed says more follow
        more = " (more follow, not listed)" if index == MAX_REPORTED - 1 < len(found) - 1 else ""
        problems.append(
            Problem(
                f"{what} is not allowed in YAML{more}",
                file=file,
                line=line,
                column=column,
                hint=f"remove it, or write it as \\u{ord(char):04x} inside double quotes",
            )
        )
    return problems


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def expanded_size(root: yaml.Node, limit: int = MAX_VALUES) -> tuple[dict[int, int], set[int]]:
    """Values under each node (itself included) once aliases are expanded, capped at
    ``limit + 1``, and the nodes that aliases share (used more than once). Each distinct node
    is visited once, so the cost is the file's, not the expansion's. A node inside its own
    alias cycle counts 1 (the builder reports the cycle)."""
    sizes: dict[int, int] = {}
    uses: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        key = id(node)
        children = _children(node)
        if ready:
            total = 1 + sum(sizes.get(id(c), 1) for c in children)
            sizes[key] = min(total, limit + 1)
            continue
        if key in sizes:
            continue
        sizes[key] = 1  # provisional: a cycle back to this node counts 1
        stack.append((node, True))
        for child in children:
            uses[id(child)] = uses.get(id(child), 0) + 1
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes, {key for key, count in uses.items() if count > 1}


def expansion_problem(root: yaml.Node, file: str, limit: int = MAX_VALUES) -> Problem | None:
    """None when the document stays within ``limit`` values; else a problem at the anchor whose
    repetition blows it up (or, without aliases, where the limit is crossed)."""
    sizes, shared = expanded_size(root, limit)
    if sizes[id(root)] <= limit:
        return None
    node, budget = root, limit
    while budget > 0:  # each step down spends at least one value: this ends
        used = 1
        for child in _children(node):
            size = sizes.get(id(child), 1)
            if used + size > budget:  # this child crosses the limit: look inside it
                if id(child) in shared:
                    return _located(child, file, _ALIASES.format(limit=limit), _ALIAS_HINT)
                if not _children(child):
                    return _located(child, file, _TOO_MANY.format(limit=limit), _SPLIT_HINT)
                node, budget = child, budget - used
                break
            used += size
        else:
            break
    return _located(node, file, _TOO_MANY.format(limit=limit), _SPLIT_HINT)


_ALIASES = (
    "this document expands to more than {limit:,} values: the value anchored here (&name) is "
    "repeated by aliases (*name) that are themselves repeated"
)
_ALIAS_HINT = "write the values out instead of nesting aliases"
_TOO_MANY = "this document holds more than {limit:,} values"
_SPLIT_HINT = "split it into several files"


def _located(node: yaml.Node, file: str, message: str, hint: str) -> Problem:
    mark = node.start_mark
    return Problem(
        message,
        file=file,
        line=mark.line + 1 if mark else None,
        column=mark.column + 1 if mark else None,
        hint=hint,
    )
