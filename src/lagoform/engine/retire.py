"""Retiring filter values (a model no longer sold) in one declared step.

``remove: {filter_values: [{metric: tokens, values: {model: [gpt-4]}}]}`` takes the values out of
the metric's filter, out of every plan charge filter on that metric (a filter left without
values for a key goes), and out of every tenant's negotiated filters — on the Lago request
bodies the catalog produces, before anything is compared. The YAML may keep mentioning them
until someone tidies it; Lago holds them nowhere once applied. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lagoform.model.filters import ALL_FILTER_VALUES

__all__ = ["Retired", "retire"]

Body = dict[str, Any]
Retired = Mapping[str, Mapping[str, frozenset[str]]]  # metric code -> filter key -> values


def retire(bodies: Mapping[Any, list[Body]], retired: Retired) -> dict[str, int]:
    """Take ``retired`` values out of ``bodies`` (by kind, edited in place); returns how many
    places held them, per kind (for the plan's note)."""
    counts = {"billable_metric": 0, "plan": 0, "subscription": 0}
    if not retired:
        return counts
    metric_of: dict[tuple[str, str], str] = {}
    for body in bodies.get("billable_metric", ()):
        gone = retired.get(str(body.get("code")), {})
        for item in body.get("filters") or []:
            drop = gone.get(str(item.get("key")), frozenset())
            if drop & set(item.get("values") or []):
                item["values"] = [v for v in item["values"] if v not in drop]
                counts["billable_metric"] += 1
    for body in bodies.get("plan", ()):
        for charge in body.get("charges") or []:
            metric = str(charge.get("billable_metric_code"))
            metric_of[str(body.get("code")), str(charge.get("code") or metric)] = metric
            kept, hit = _filters(charge.get("filters"), retired.get(metric, {}))
            if hit:
                charge["filters"] = kept
                counts["plan"] += hit
    for body in bodies.get("subscription", ()):
        overrides = body.get("plan_overrides") or {}
        for charge in overrides.get("charges") or []:
            on = metric_of.get((str(body.get("plan_code")), str(charge.get("code"))))
            if on is None or "filters" not in charge:
                continue
            kept, hit = _filters(charge["filters"], retired.get(on, {}))
            if hit:
                charge["filters"] = kept
                counts["subscription"] += hit
    return counts


def _filters(
    items: Iterable[Body] | None, gone: Mapping[str, frozenset[str]]
) -> tuple[list[Body], int]:
    kept: list[Body] = []
    hit = 0
    for item in items or []:
        values = dict(item.get("values") or {})
        touched = False
        for key, drop in gone.items():
            listed = list(values.get(key) or [])
            if not listed or listed == [ALL_FILTER_VALUES] or not drop & set(listed):
                continue
            values[key] = [v for v in listed if v not in drop]
            touched = True
        if not touched:
            kept.append(item)
            continue
        hit += 1
        if all(values.values()):
            kept.append({**item, "values": values})
    return kept, hit
