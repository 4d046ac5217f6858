"""Billable metrics: CRUD by code, the attached-metric lock (§3.3), filter cascades (§3.4),
delete removing the metric's charges on every plan (§3.5), and ``POST
/billable_metrics/evaluate_expression`` (§3.1)."""

from __future__ import annotations

import re
from typing import Any

from lagoform.model.filters import ALL_FILTER_VALUES
from lagoform.sandbox import expression
from lagoform.sandbox.api_errors import FieldErrors, feature_unavailable, invalid, not_found
from lagoform.sandbox.numbers import scalar_text
from lagoform.sandbox.request import Request
from lagoform.sandbox.state import Record, State, iso, new_id, newest_first, paginate

AGGREGATION_TYPES = (
    "count_agg",
    "sum_agg",
    "max_agg",
    "unique_count_agg",
    "weighted_sum_agg",
    "latest_agg",
    "custom_agg",
)
NON_RECURRING_TYPES = ("count_agg", "max_agg", "latest_agg")
# Applied only while no kept plan (parent or child) has a charge on the metric.
LOCKED_WHEN_ATTACHED = (
    "code",
    "aggregation_type",
    "weighted_interval",
    "field_name",
    "recurring",
    "rounding_function",
    "rounding_precision",
    "expression",
)


def serialize(metric: Record) -> Record:
    return {
        "lago_id": metric["lago_id"],
        "name": metric["name"],
        "code": metric["code"],
        "description": metric["description"],
        "aggregation_type": metric["aggregation_type"],
        "weighted_interval": metric["weighted_interval"],
        "recurring": metric["recurring"],
        "rounding_function": metric["rounding_function"],
        "rounding_precision": metric["rounding_precision"],
        "created_at": iso(metric["created_at"]),
        "field_name": metric["field_name"],
        "expression": metric["expression"],
        "filters": [{"key": k, "values": list(v)} for k, v in sorted(metric["filters"].items())],
        # Deprecated counters Lago still emits, hard-coded to 0 (§3.3).
        "active_subscriptions_count": 0,
        "draft_invoices_count": 0,
        "plans_count": 0,
    }


def find(state: State, code: str) -> Record:
    metric = state.metric_by_code(code)
    if metric is None:
        raise not_found("billable_metric")
    return metric


def is_attached(state: State, metric_id: str) -> bool:
    return any(
        charge["billable_metric_id"] == metric_id
        for plan in state.live_plans()
        for charge in plan["charges"]
    )


def create(req: Request) -> Record:
    body = req.root("billable_metric")
    metric: Record = {
        "lago_id": new_id(),
        "_seq": req.state.next_seq(),
        "created_at": req.now,
        "name": None,
        "code": None,
        "description": None,
        "aggregation_type": None,
        "weighted_interval": None,
        "recurring": False,
        "field_name": None,
        "expression": None,
        "rounding_function": None,
        "rounding_precision": None,
        "filters": {},
    }
    for key in ("name", "description", *LOCKED_WHEN_ATTACHED):
        if key in body:
            metric[key] = body[key]
    if metric["aggregation_type"] == "custom_agg":
        # Needs the org flag `custom_aggregation` and a server-side aggregator: never in sandbox.
        raise feature_unavailable()
    if metric["recurring"] is None:
        metric["recurring"] = False
    filters = _parse_filters(body["filters"]) if "filters" in body else {}
    _validate(req.state, metric, own_id=None)
    metric["filters"] = filters
    req.state.metrics[metric["lago_id"]] = metric
    return {"billable_metric": serialize(metric)}


def index(req: Request) -> Record:
    items, meta = paginate(newest_first(list(req.state.metrics.values())), req.query)
    return {"billable_metrics": [serialize(m) for m in items], "meta": meta}


def show(req: Request) -> Record:
    return {"billable_metric": serialize(find(req.state, req.params["code"]))}


def update(req: Request) -> Record:
    metric = find(req.state, req.params["code"])
    body = req.root("billable_metric")
    candidate = dict(metric)
    for key in ("name", "description"):
        if key in body:
            candidate[key] = body[key]
    if not is_attached(req.state, metric["lago_id"]):
        for key in LOCKED_WHEN_ATTACHED:
            if key in body:
                candidate[key] = body[key]
        if candidate["aggregation_type"] == "custom_agg" and metric["aggregation_type"] != (
            "custom_agg"
        ):
            raise feature_unavailable()
    filters = _parse_filters(body["filters"]) if "filters" in body else None
    _validate(req.state, candidate, own_id=metric["lago_id"])
    metric.update(candidate)
    if filters is not None:
        old = metric["filters"]
        metric["filters"] = filters
        cascade_filter_change(req.state, metric["lago_id"], old, filters)
    return {"billable_metric": serialize(metric)}


def delete(req: Request) -> Record:
    metric = find(req.state, req.params["code"])
    for plan in req.state.plans.values():
        plan["charges"] = [
            c for c in plan["charges"] if c["billable_metric_id"] != metric["lago_id"]
        ]
    del req.state.metrics[metric["lago_id"]]
    return {"billable_metric": serialize(metric)}


def _parse_filters(raw: Any) -> dict[str, list[str]]:
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise invalid("filters", "value_is_invalid")
    result: dict[str, list[str]] = {}
    for item in raw:
        if not isinstance(item, dict):
            raise invalid("filters", "value_is_invalid")
        key = item.get("key")
        values = item.get("values")
        if not isinstance(key, str) or not key:
            raise invalid("key", "value_is_mandatory")
        if not isinstance(values, list) or not values:
            raise invalid("values", "value_is_mandatory")
        result[key] = sorted({str(v) for v in values})
    return result


def _validate(state: State, metric: Record, own_id: str | None) -> None:
    errors = FieldErrors()
    for key in ("name", "code"):
        if not isinstance(metric[key], str) or not metric[key].strip():
            errors.add(key, "value_is_mandatory")
    agg = metric["aggregation_type"]
    if agg not in AGGREGATION_TYPES:
        errors.add("aggregation_type", "value_is_invalid")
    if isinstance(metric["code"], str) and metric["code"]:
        clash = state.metric_by_code(metric["code"])
        if clash is not None and clash["lago_id"] != own_id:
            errors.add("code", "value_already_exist")
    if agg == "count_agg":
        metric["field_name"] = None
    elif (
        agg in AGGREGATION_TYPES
        and agg != "custom_agg"
        and (not isinstance(metric["field_name"], str) or not metric["field_name"])
    ):
        errors.add("field_name", "value_is_mandatory")
    if not isinstance(metric["recurring"], bool):
        errors.add("recurring", "value_is_invalid")
    elif metric["recurring"] and agg in NON_RECURRING_TYPES:
        errors.add("recurring", "not_compatible_with_aggregation_type")
    if agg == "weighted_sum_agg" and metric["weighted_interval"] != "seconds":
        errors.add("weighted_interval", "value_is_invalid")
    if metric["rounding_function"] not in (None, "round", "ceil", "floor"):
        errors.add("rounding_function", "value_is_invalid")
    precision = metric["rounding_precision"]
    if precision is not None and (not isinstance(precision, int) or isinstance(precision, bool)):
        errors.add("rounding_precision", "value_is_invalid")
    expr = metric["expression"]
    if expr is not None and expr != "":
        if not isinstance(expr, str) or not expression.is_valid(expr):
            errors.add("expression", "invalid_expression")
    elif expr == "":
        metric["expression"] = None
    for key in ("name", "description"):
        if metric[key] is not None and not isinstance(metric[key], str):
            errors.add(key, "value_is_invalid")
    errors.raise_if_any()


def cascade_filter_change(
    state: State, metric_id: str, old: dict[str, list[str]], new: dict[str, list[str]]
) -> None:
    """§3.4: removed keys/values disappear from charge filters; the wildcard is never a literal."""
    removed_any = any(k not in new or set(v) - set(new[k]) for k, v in old.items())
    if not removed_any:
        return
    for plan in state.plans.values():
        for charge in plan["charges"]:
            if charge["billable_metric_id"] != metric_id:
                continue
            kept_filters = []
            for charge_filter in charge["filters"]:
                values: dict[str, list[str]] = {}
                for key, chosen in charge_filter["values"].items():
                    if key not in new:
                        continue
                    if chosen == [ALL_FILTER_VALUES]:
                        values[key] = chosen
                        continue
                    trimmed = [v for v in chosen if v in new[key]]
                    if trimmed:
                        values[key] = trimmed
                if values:
                    charge_filter["values"] = values
                    kept_filters.append(charge_filter)
            charge["filters"] = kept_filters


def _ruby_to_i(value: Any) -> int:
    """Ruby's ``to_i``: numbers truncate, strings read their leading integer (``"12x"`` → 12)."""
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, int | float):
        return int(value)
    found = re.match(r"\s*([-+]?\d+)", str(value))
    return int(found.group(1)) if found else 0


def _ruby_to_s(value: Any) -> str:
    if value is None:
        return ""
    return str(scalar_text(value))


def evaluate_expression(req: Request) -> Record:
    """Try an expression on a sample event (billable_metrics/evaluate_expression_service.rb):
    blank → ``value_is_mandatory``, unparsable → ``invalid_expression``, not computable for the
    event → ``{"event": ["invalid_event"]}``; the event's properties arrive as text."""
    doc = req.json()
    body = doc if isinstance(doc, dict) else {}
    text = body.get("expression")
    if not isinstance(text, str) or not text.strip():
        raise invalid("expression", "value_is_mandatory")
    if not expression.is_valid(text):
        raise invalid("expression", "invalid_expression")
    raw_event = body.get("event")
    event: Record = raw_event if isinstance(raw_event, dict) else {}
    raw_properties = event.get("properties")
    properties: Record = raw_properties if isinstance(raw_properties, dict) else {}
    stamp = event.get("timestamp")
    try:
        value = expression.evaluate(
            expression.parse(text),
            _ruby_to_s(event.get("code")),
            _ruby_to_i(stamp) if stamp is not None else int(req.now),
            {str(k): _ruby_to_s(v) for k, v in properties.items()},
        )
    except expression.ExpressionError as exc:
        raise invalid("event", "invalid_event") from exc
    return {"expression_result": {"value": expression.to_json_value(value)}}
