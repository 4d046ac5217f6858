"""Field-level differences between two objects in the comparison form (``normal.py``).

Pure. Mappings are walked key by key (they are already keyed by identity: charges by code,
filters by values map), lists of mappings position by position (tiers), and anything else is
compared as a whole value. A key present on one side only is one change carrying the whole
sub-object, so "charge ``tokens`` added" is a single entry rather than one per nested field.

Why a hand-written walk rather than deepdiff: on the keyed form both report the same changes
(``tests/engine/test_diff.py`` checks they agree), but on 500 plans × 10 charges × 2 filters
with 5 plans changed, DeepDiff took ~32 s and this walk 40–80 ms, unchanged objects being skipped
by one canonical-JSON comparison (``benchmarks/plan_scale.py``, recorded in
``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict


class FieldChange(BaseModel):
    """One field that differs: ``path`` from the object's root, ``old`` → ``new``.

    ``old`` is None for an added field/sub-object, ``new`` is None for a removed one.
    """

    model_config = ConfigDict(frozen=True)

    path: tuple[str, ...]
    old: Any = None
    new: Any = None

    def dotted(self) -> str:
        return ".".join(self.path)


def diff(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[FieldChange]:
    """Every field that differs between ``old`` (live) and ``new`` (desired), in path order."""
    out: list[FieldChange] = []
    if _same(old, new):
        return out
    _walk((), old or {}, new or {}, out)
    return out


def _same(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> bool:
    """Fast path for the common case (most objects are unchanged): one C-level comparison of
    canonical JSON, which also keeps ``True`` and ``1`` apart where ``==`` would not."""
    if old is None or new is None:
        return old is new
    options = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
    try:
        return orjson.dumps(old, option=options) == orjson.dumps(new, option=options)
    except TypeError:  # a value orjson cannot serialize: let the walk decide
        return False


def _walk(path: tuple[str, ...], old: Any, new: Any, out: list[FieldChange]) -> None:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new)):
            if key not in old:
                out.append(FieldChange(path=(*path, key), old=None, new=new[key]))
            elif key not in new:
                out.append(FieldChange(path=(*path, key), old=old[key], new=None))
            else:
                _walk((*path, key), old[key], new[key], out)
        return
    if _dict_list(old) and _dict_list(new):
        for index in range(max(len(old), len(new))):
            here = (*path, str(index))
            if index >= len(old):
                out.append(FieldChange(path=here, old=None, new=new[index]))
            elif index >= len(new):
                out.append(FieldChange(path=here, old=old[index], new=None))
            else:
                _walk(here, old[index], new[index], out)
        return
    # bool is an int in Python: True == 1 must still count as a change
    if old != new or isinstance(old, bool) != isinstance(new, bool):
        out.append(FieldChange(path=path, old=old, new=new))


def _dict_list(value: Any) -> bool:
    return (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and bool(value)
        and all(isinstance(v, Mapping) for v in value)
    )


def touches(changes: Sequence[FieldChange], *prefix: str) -> list[FieldChange]:
    """The changes at or under ``prefix``."""
    n = len(prefix)
    return [c for c in changes if c.path[:n] == prefix]
