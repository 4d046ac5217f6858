"""Which fees of a charge count an event (API_NOTES §4.5, §13.6; docs/pricing-server-rules.md).

A charge with filters bills one fee per filter plus one for events matching no filter (its
default price). Lago does not pick one filter per event: each filter's fee counts the events that
match it, minus the events of the filters Lago treats as its refinements
(``app/services/charge_filters/matching_and_ignored_service.rb``):

* a filter with more keys that overlaps it on every one of its keys;
* a filter with the same keys whose values are a subset of its own on every key;
* an identical filter that is older (the older of two identical filters counts the events).

Filters that overlap without being nested — different keys (``region=eu`` and ``tier=gold``),
or the same key with partly shared values (``[eu, us]`` and ``[eu, asia]``) — both count the
shared events: one event is billed in each such fee. The default fee counts the events matching
no filter. ``["__ALL_FILTER_VALUES__"]`` stands for every value the metric declares for the key
(every value at all when the metric's list is not given).

``FilterRouter(filters).groups(properties)`` answers for one event; ``match_filter`` is the single
filter Lago picks when it must pick one (a pay-in-advance fee): the matching filter with the most
keys, the first of equals (``app/services/charge_filters/event_matching_service.rb:28``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lagoform.model.filters import ALL_FILTER_VALUES

__all__ = [
    "FilterRouter",
    "GroupKey",
    "event_value_text",
    "fee_groups",
    "match_filter",
    "refines",
]

GroupKey = int | None
"""A fee of a charge: the index of a filter in ``charge["filters"]``, or None for the default."""


def event_value_text(value: Any) -> str:
    """An event property as Lago compares it with filter values (its JSON text, unquoted)."""
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value)


@dataclass(frozen=True)
class _Values:
    """The values a filter allows for one key: ``only`` (None = every value) minus ``minus``."""

    only: frozenset[str] | None
    minus: frozenset[str] = frozenset()

    def __contains__(self, text: object) -> bool:
        return (self.only is None or text in self.only) and text not in self.minus

    def empty(self) -> bool:
        return self.only is not None and self.only <= self.minus

    def overlaps(self, other: _Values) -> bool:
        if self.only is None or other.only is None:
            return not (self.empty() or other.empty())
        return bool(self.only & other.only)

    def within(self, other: _Values) -> bool:
        if other.only is None:
            return True
        return self.only is not None and self.only <= other.only

    def without(self, other: _Values) -> _Values:
        if other.only is None:
            return _Values(frozenset())
        return _Values(self.only, self.minus | other.only)


Expanded = dict[str, _Values]


def _raw_values(charge_filter: Mapping[str, Any]) -> Mapping[str, Sequence[Any]]:
    values = charge_filter.get("values")
    return values if isinstance(values, Mapping) else {}


def _is_wildcard(allowed: Sequence[Any]) -> bool:
    return list(allowed) == [ALL_FILTER_VALUES]


def _expand(
    charge_filter: Mapping[str, Any], metric_filters: Mapping[str, Sequence[str]] | None
) -> Expanded:
    out: Expanded = {}
    for key, allowed in _raw_values(charge_filter).items():
        if _is_wildcard(allowed):
            declared = None if metric_filters is None else metric_filters.get(key)
            out[key] = _Values(None if declared is None else frozenset(map(str, declared)))
        else:
            out[key] = _Values(frozenset(str(v) for v in allowed))
    return out


def _text(event_properties: Mapping[str, Any], key: str) -> str | None:
    value = event_properties.get(key)
    return None if value is None else event_value_text(value)


def _matches(values: Expanded, event_properties: Mapping[str, Any]) -> bool:
    for key, allowed in values.items():
        text = _text(event_properties, key)
        if text is None or text not in allowed:
            return False
    return True


def _ignored(
    index: int, expanded: Sequence[Expanded], wildcard_keys: Sequence[frozenset[str]]
) -> list[Expanded]:
    """The refinements whose events filter ``index`` does not count (Lago's ignored filters)."""
    mine = expanded[index]
    out: list[Expanded] = []
    for other_index, child in enumerate(expanded):
        if other_index == index or not child:
            continue
        if not all(key in child and allowed.overlaps(child[key]) for key, allowed in mine.items()):
            continue
        res = dict(child)
        if set(child) == set(mine):
            if all(child[k].only == mine[k].only for k in child):
                if other_index > index:
                    continue  # a newer identical filter: this (older) one counts the events
            elif not all(child[k].within(mine[k]) for k in child):
                # partly overlapping: only the child's own values are set aside, so the shared
                # events stay here too (and are counted by both fees)
                res = {
                    k: v if k in wildcard_keys[index] else v.without(mine[k])
                    for k, v in child.items()
                }
        out.append(res)
    return out


def _hits(clause: Expanded, event_properties: Mapping[str, Any]) -> bool:
    """Whether an ignored filter excludes the event; keys left without values do not count."""
    keys = [k for k, v in clause.items() if not v.empty()]
    if not keys:
        return False
    return all((_text(event_properties, k) or "") in clause[k] for k in keys)


def refines(child: Mapping[str, Sequence[str]], parent: Mapping[str, Sequence[str]]) -> bool:
    """Whether Lago treats the filter with values map ``child`` as a refinement of ``parent``:
    the parent's fee does not count the events the child's counts (more keys, overlapping on
    every key of the parent; or the same keys, each a subset, not all equal)."""
    mine, theirs = _expand({"values": child}, None), _expand({"values": parent}, None)
    if not theirs or not all(k in mine and v.overlaps(mine[k]) for k, v in theirs.items()):
        return False
    if set(mine) != set(theirs):
        return True
    nested = all(mine[k].within(theirs[k]) for k in mine)
    return nested and any(mine[k].only != theirs[k].only for k in mine)


class FilterRouter:
    """The fees of one charge's filters, ready to route many events."""

    def __init__(
        self,
        filters: Sequence[Mapping[str, Any]],
        *,
        metric_filters: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.filters = list(filters)
        self._expanded = [_expand(f, metric_filters) for f in self.filters]
        wildcards = [
            frozenset(k for k, v in _raw_values(f).items() if _is_wildcard(v)) for f in self.filters
        ]
        self._ignored = [_ignored(i, self._expanded, wildcards) for i in range(len(self.filters))]

    def groups(self, event_properties: Mapping[str, Any]) -> tuple[GroupKey, ...]:
        """Every fee that counts the event: filter indexes, or ``(None,)`` for the default.

        Empty when the event matches filters that all set it aside (two wildcard filters can
        exclude each other's events: Lago then bills the event nowhere)."""
        if not self.filters:
            return (None,)
        found: list[GroupKey] = []
        matched_any = False
        for index, values in enumerate(self._expanded):
            if not values or not _matches(values, event_properties):
                continue  # a filter without values matches no event
            matched_any = True
            if not any(_hits(clause, event_properties) for clause in self._ignored[index]):
                found.append(index)
        if not matched_any:
            found.append(None)
        return tuple(found)

    def pick(self, event_properties: Mapping[str, Any]) -> int | None:
        """The one filter Lago prices a pay-in-advance event with (see ``match_filter``)."""
        best: int | None = None
        for index, values in enumerate(self._expanded):
            wider = best is None or len(values) > len(self._expanded[best])
            if values and wider and _matches(values, event_properties):
                best = index
        return best


def fee_groups(
    filters: Sequence[Mapping[str, Any]],
    event_properties: Mapping[str, Any],
    *,
    metric_filters: Mapping[str, Sequence[str]] | None = None,
) -> tuple[GroupKey, ...]:
    """Every fee of a charge that counts this event (see the module docstring)."""
    return FilterRouter(filters, metric_filters=metric_filters).groups(event_properties)


def match_filter(
    filters: Sequence[Mapping[str, Any]],
    event_properties: Mapping[str, Any],
    *,
    metric_filters: Mapping[str, Sequence[str]] | None = None,
) -> int | None:
    """The filter Lago prices a pay-in-advance event with, or None for the default price.

    Among the filters the event matches, the one with the most keys; of equals, the first in
    ``filters`` (Lago's creation order). Usage billed at the end of the period is routed by
    ``fee_groups`` instead, where one event can count in several fees.
    """
    return FilterRouter(filters, metric_filters=metric_filters).pick(event_properties)
