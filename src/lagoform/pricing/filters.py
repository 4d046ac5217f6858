"""Which filter of a charge prices an event (API_NOTES §4.5, §13.6).

An event matches a filter when, for every key of the filter's ``values``, the event's property is
one of the listed values (``["__ALL_FILTER_VALUES__"]`` accepts any value of that key). Among the
matching filters Lago bills the event on the one with the most keys, then the fewest allowed
values, then the oldest — in a charge's filter list (kept in creation order) the first. An event
matching no filter is priced with the charge's own properties (its default price).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from lagoform.model.filters import ALL_FILTER_VALUES

__all__ = ["event_value_text", "match_filter"]


def event_value_text(value: Any) -> str:
    """An event property as Lago compares it with filter values (its JSON text, unquoted)."""
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value)


def _filter_values(charge_filter: Mapping[str, Any]) -> Mapping[str, Sequence[Any]]:
    values = charge_filter.get("values")
    return values if isinstance(values, Mapping) else {}


def _is_wildcard(allowed: Sequence[Any]) -> bool:
    return list(allowed) == [ALL_FILTER_VALUES]


def _matches(
    values: Mapping[str, Sequence[Any]],
    event_properties: Mapping[str, Any],
    metric_filters: Mapping[str, Sequence[str]] | None,
) -> bool:
    for key, allowed in values.items():
        if key not in event_properties or event_properties[key] is None:
            return False
        text = event_value_text(event_properties[key])
        if _is_wildcard(allowed):
            # The wildcard stands for every value the metric declares for the key.
            declared = None if metric_filters is None else metric_filters.get(key)
            if declared is not None and text not in {str(v) for v in declared}:
                return False
            continue
        if text not in {str(v) for v in allowed}:
            return False
    return True


def _allowed_count(
    key: str, allowed: Sequence[Any], metric_filters: Mapping[str, Sequence[str]] | None
) -> float:
    if not _is_wildcard(allowed):
        return len(allowed)
    if metric_filters is not None and key in metric_filters:
        return len(metric_filters[key])
    return math.inf  # without the metric's list, a wildcard allows more than any explicit list


def match_filter(
    filters: Sequence[Mapping[str, Any]],
    event_properties: Mapping[str, Any],
    *,
    metric_filters: Mapping[str, Sequence[str]] | None = None,
) -> int | None:
    """Index in ``filters`` of the filter that prices this event, or None for the default price.

    ``filters`` are Lago-shaped charge filters (``{"values": {key: [..]}, "properties": ..}``) in
    the order Lago returns them (creation order). ``metric_filters`` (the billable metric's
    ``{key: [values]}``) makes the wildcard exact: it then matches only declared values and
    counts as that many allowed values when ranking; without it, it matches any value.
    """
    best: int | None = None
    best_rank: tuple[int, float] | None = None
    for index, charge_filter in enumerate(filters):
        values = _filter_values(charge_filter)
        if not values or not _matches(values, event_properties, metric_filters):
            continue  # a filter without values matches no event
        allowed = sum(_allowed_count(k, v, metric_filters) for k, v in values.items())
        rank = (-len(values), allowed)
        if best_rank is None or rank < best_rank:  # strict: of equals, the first (oldest) wins
            best, best_rank = index, rank
    return best
