"""Charges and charge filters: building, updating (§4.6 table), validation, filter batches
(§4.5), code generation and serialization. Shared by plans, granular charge endpoints and
subscription overrides; knows nothing about HTTP routes.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from lagoform.model.filters import ALL_FILTER_VALUES
from lagoform.sandbox import properties as props_mod
from lagoform.sandbox import taxes
from lagoform.sandbox.api_errors import FieldErrors, invalid, not_found
from lagoform.sandbox.state import Record, State, iso, new_id

PAY_IN_ADVANCE_AGGS = ("count_agg", "sum_agg", "unique_count_agg", "custom_agg")
# Fields frozen once the plan has ever had a direct subscription (§4.6).
LOCKED_ON_ATTACHED = (
    "pay_in_advance",
    "prorated",
    "billable_metric_id",
    "regroup_paid_fees",
    "invoiceable",
    "min_amount_cents",
    "code",
)


def new_charge(state: State, metric_id: str, now: float) -> Record:
    return {
        "lago_id": new_id(),
        "_seq": state.next_seq(),
        "created_at": now,
        "billable_metric_id": metric_id,
        "code": None,
        "invoice_display_name": None,
        "charge_model": None,
        "pay_in_advance": False,
        "invoiceable": True,
        "regroup_paid_fees": None,
        "prorated": False,
        "min_amount_cents": 0,
        "properties": {},
        "filters": [],
        "tax_ids": [],
        "applied_pricing_unit": None,
        "accepts_target_wallet": False,
        "parent_id": None,
    }


def generate_code(taken: set[str], metric_code: str) -> str:
    if metric_code not in taken:
        return metric_code
    pattern = re.compile(rf"^{re.escape(metric_code)}_(\d+)$")
    suffixes = [int(m.group(1)) for c in taken if (m := pattern.match(c))]
    return f"{metric_code}_{max([1, *suffixes]) + 1}"


def create_from_item(
    state: State,
    plan: Record,
    item: Record,
    *,
    now: float,
    premium: bool,
    generate: bool = True,
    wallet_targets: bool = False,
) -> Record:
    """A new charge on ``plan`` from an input item; validates; does not attach it.

    ``wallet_targets``: the organization has ``events_targeting_wallets`` (with premium); without
    it ``accepts_target_wallet`` is silently left false (charges/create_service.rb:46-54)."""
    metric = state.metrics.get(str(item.get("billable_metric_id")))
    if metric is None:
        raise not_found("billable_metric")
    charge = new_charge(state, metric["lago_id"], now)
    charge["charge_model"] = item.get("charge_model")
    for key in ("pay_in_advance", "prorated", "invoice_display_name"):
        if key in item:
            charge[key] = item[key]
    if wallet_targets:
        charge["accepts_target_wallet"] = item.get("accepts_target_wallet") or False
    if premium:
        for key in ("invoiceable", "regroup_paid_fees", "min_amount_cents"):
            if key in item:
                charge[key] = item[key]
    taken = {c["code"] for c in plan["charges"] if c["code"]}
    code = item.get("code")
    if isinstance(code, str) and code.strip():
        if code in taken:
            raise invalid("code", "value_already_exist")
        charge["code"] = code
    elif generate:
        charge["code"] = generate_code(taken, metric["code"])
    else:
        raise invalid("code", "value_is_mandatory")
    charge["properties"] = props_mod.normalize(charge["charge_model"], item.get("properties"))
    _apply_pricing_unit(charge, item)
    validate(charge, metric, premium=premium)
    if "filters" in item:
        replace_filters(state, charge, metric, item["filters"], premium=premium)
    if "tax_codes" in item:
        charge["tax_ids"] = taxes.resolve_codes(state, item["tax_codes"])
    return charge


def update_from_item(
    state: State,
    plan: Record,
    charge: Record,
    item: Record,
    *,
    attached: bool,
    premium: bool,
    wallet_targets: bool = False,
) -> None:
    """Full-replacement update of an existing charge (§4.6 table); validates.
    ``accepts_target_wallet`` changes, attached or not, only with ``wallet_targets``
    (charges/update_service.rb:45-48)."""
    if not attached:
        charge["charge_model"] = item.get("charge_model")
        for key in ("pay_in_advance", "prorated"):
            if key in item:
                charge[key] = item[key]
        if (
            "billable_metric_id" in item
            and item["billable_metric_id"] != (charge["billable_metric_id"])
        ):
            if str(item["billable_metric_id"]) not in state.metrics:
                raise not_found("billable_metrics")
            charge["billable_metric_id"] = item["billable_metric_id"]
            charge["filters"] = []
        if premium:
            for key in ("invoiceable", "regroup_paid_fees"):
                if key in item:
                    charge[key] = item[key]
            charge["min_amount_cents"] = item.get("min_amount_cents", 0)
        code = item.get("code")
        if isinstance(code, str) and code.strip() and code != charge["code"]:
            if any(c["code"] == code for c in plan["charges"] if c is not charge):
                raise invalid("code", "value_already_exist")
            charge["code"] = code
    charge["invoice_display_name"] = item.get("invoice_display_name")
    charge["properties"] = props_mod.normalize(charge["charge_model"], item.get("properties"))
    if wallet_targets and item.get("accepts_target_wallet") is not None:
        charge["accepts_target_wallet"] = item["accepts_target_wallet"]
    _apply_pricing_unit(charge, item)
    metric = state.metrics[charge["billable_metric_id"]]
    validate(charge, metric, premium=premium)
    if "filters" in item:
        replace_filters(state, charge, metric, item["filters"], premium=premium)
    if "tax_codes" in item:
        charge["tax_ids"] = taxes.resolve_codes(state, item["tax_codes"])


def patch_override(state: State, charge: Record, item: Record, *, premium: bool) -> None:
    """Override semantics (§5.4/§5.5): only the keys present are applied."""
    if "properties" in item:
        charge["properties"] = props_mod.normalize(charge["charge_model"], item["properties"])
    if "invoice_display_name" in item:
        charge["invoice_display_name"] = item["invoice_display_name"]
    if "min_amount_cents" in item and premium:
        charge["min_amount_cents"] = item["min_amount_cents"]
    _apply_pricing_unit(charge, item)
    metric = state.metrics[charge["billable_metric_id"]]
    validate(charge, metric, premium=premium)
    if "filters" in item:
        replace_filters(state, charge, metric, item["filters"], premium=premium)
    if "tax_codes" in item:
        charge["tax_ids"] = taxes.resolve_codes(state, item["tax_codes"])


def _apply_pricing_unit(charge: Record, item: Record) -> None:
    unit = item.get("applied_pricing_unit")
    if isinstance(unit, dict):
        current = charge["applied_pricing_unit"] or {}
        charge["applied_pricing_unit"] = {
            "code": unit.get("code", current.get("code")),
            "conversion_rate": unit.get("conversion_rate", current.get("conversion_rate")),
        }


def validate(charge: Record, metric: Record, *, premium: bool) -> None:
    errors = FieldErrors()
    model = charge["charge_model"]
    agg = metric["aggregation_type"]
    if model is None or model == "":
        errors.add("charge_model", "value_is_mandatory")
    elif model not in props_mod.CHARGE_MODELS:
        errors.add("charge_model", "value_is_invalid")
    elif model == "graduated_percentage" and not premium:
        errors.add("charge_model", "graduated_percentage_requires_premium_license")
    elif (model == "custom" and agg != "custom_agg") or (model == "dynamic" and agg != "sum_agg"):
        # models/charge.rb:124-129 (dynamic needs sum_agg) and :169-174 (custom needs custom_agg)
        errors.add("charge_model", "invalid_aggregation_type_or_charge_model")
    for key in ("pay_in_advance", "prorated", "invoiceable"):
        if not isinstance(charge[key], bool):
            errors.add(key, "value_is_invalid")
    pay_in_advance = charge["pay_in_advance"] is True
    if pay_in_advance and (agg not in PAY_IN_ADVANCE_AGGS or model == "volume"):
        errors.add("pay_in_advance", "invalid_aggregation_type_or_charge_model")
    if charge["invoiceable"] is False and not pay_in_advance:
        errors.add("invoiceable", "must_be_true_unless_pay_in_advance")
    if charge["regroup_paid_fees"] is not None and (
        charge["regroup_paid_fees"] != "invoice"
        or not pay_in_advance
        or charge["invoiceable"] is not False
    ):
        errors.add("regroup_paid_fees", "only_compatible_with_pay_in_advance_and_non_invoiceable")
    if charge["prorated"] is True and not _prorate_allowed(charge, metric):
        errors.add("prorated", "invalid_billable_metric_or_charge_model")
    minimum = charge["min_amount_cents"]
    if not isinstance(minimum, int) or isinstance(minimum, bool) or minimum < 0:
        errors.add("min_amount_cents", "value_is_invalid")
    elif minimum > 0 and pay_in_advance:
        errors.add("min_amount_cents", "not_compatible_with_pay_in_advance")
    if model in props_mod.CHARGE_MODELS:
        for code in props_mod.validate(
            model, charge["properties"], premium=premium, metric_agg=agg
        ):
            errors.add("properties", code)
    errors.raise_if_any()


def _prorate_allowed(charge: Record, metric: Record) -> bool:
    if metric["aggregation_type"] == "weighted_sum_agg" or not metric["recurring"]:
        return False
    if charge["pay_in_advance"]:
        return bool(charge["charge_model"] == "standard")
    return charge["charge_model"] in ("standard", "volume", "graduated")


def values_key(values: dict[str, list[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((k, tuple(values[k])) for k in sorted(values))


def replace_filters(
    state: State, charge: Record, metric: Record, raw: Any, *, premium: bool
) -> None:
    """§4.5 batch replace: match by exact values map, update or create, discard the rest."""
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise invalid("filters", "value_is_invalid")
    existing = {values_key(f["values"]): f for f in charge["filters"]}
    result: list[Record] = []
    for item in raw:
        if not isinstance(item, dict):
            raise invalid("filters", "value_is_invalid")
        values = check_filter_values(metric, item.get("values"))
        properties = check_filter_properties(charge, metric, item.get("properties"), premium)
        key = values_key(values)
        match = existing.pop(key, None)
        if match is None:
            match = new_filter(state, values)
        match["invoice_display_name"] = item.get("invoice_display_name")
        match["properties"] = properties
        if all(f is not match for f in result):
            result.append(match)
    # Kept in creation order: the older of two identical filters counts their events (§4.5).
    charge["filters"] = sorted(result, key=lambda f: int(f["_seq"]))


def new_filter(state: State, values: dict[str, list[str]]) -> Record:
    return {
        "lago_id": new_id(),
        "_seq": state.next_seq(),
        "invoice_display_name": None,
        "properties": {},
        "values": values,
    }


def check_filter_values(metric: Record, raw: Any) -> dict[str, list[str]]:
    if not isinstance(raw, dict) or not raw:
        raise invalid("values", "value_is_mandatory")
    values: dict[str, list[str]] = {}
    for key, chosen in raw.items():
        if not isinstance(chosen, list) or not chosen:
            raise invalid("values", "value_is_mandatory")
        chosen = [str(v) for v in chosen]
        allowed = metric["filters"].get(key)
        if allowed is None:
            raise invalid("values", "value_is_invalid")
        if chosen != [ALL_FILTER_VALUES] and any(v not in allowed for v in chosen):
            raise invalid("values", "value_is_invalid")
        values[key] = chosen
    return values


def check_filter_properties(charge: Record, metric: Record, raw: Any, premium: bool) -> Record:
    properties = props_mod.normalize(charge["charge_model"], raw, for_filter=True)
    codes = props_mod.validate(
        charge["charge_model"], properties, premium=premium, metric_agg=metric["aggregation_type"]
    )
    errors = FieldErrors()
    for code in codes:
        errors.add("properties", code)
    errors.raise_if_any()
    return properties


def copy_for_child(state: State, charge: Record, now: float) -> Record:
    """A child plan's copy of a parent charge (§5.4): new ids, parent link, same code."""
    child = copy.deepcopy(charge)
    child["lago_id"] = new_id()
    child["_seq"] = state.next_seq()
    child["created_at"] = now
    child["parent_id"] = charge["lago_id"]
    for charge_filter in child["filters"]:
        charge_filter["lago_id"] = new_id()
    return child


def serialize_filter(charge_filter: Record) -> Record:
    return {
        "lago_id": charge_filter["lago_id"],
        "invoice_display_name": charge_filter["invoice_display_name"],
        "properties": props_mod.echo(charge_filter["properties"]),
        "values": {k: list(v) for k, v in charge_filter["values"].items()},
    }


def serialize_filter_full(charge: Record, charge_filter: Record) -> Record:
    out = serialize_filter(charge_filter)
    out["charge_code"] = charge["code"]
    return out


def serialize(state: State, charge: Record) -> Record:
    metric = state.metrics.get(charge["billable_metric_id"])
    return {
        "lago_id": charge["lago_id"],
        "lago_billable_metric_id": charge["billable_metric_id"],
        "code": charge["code"],
        "invoice_display_name": charge["invoice_display_name"],
        "billable_metric_code": metric["code"] if metric else None,
        "created_at": iso(charge["created_at"]),
        "charge_model": charge["charge_model"],
        "invoiceable": charge["invoiceable"],
        "regroup_paid_fees": charge["regroup_paid_fees"],
        "pay_in_advance": charge["pay_in_advance"],
        "prorated": charge["prorated"],
        "min_amount_cents": charge["min_amount_cents"],
        "accepts_target_wallet": charge["accepts_target_wallet"],
        "properties": props_mod.echo(charge["properties"]),
        "applied_pricing_unit": charge["applied_pricing_unit"],
        "lago_parent_id": charge["parent_id"],
        "filters": [serialize_filter(f) for f in charge["filters"]],
        "taxes": taxes.serialize_ids(state, charge["tax_ids"]),
    }
