"""Charge properties per charge model: slicing, defaults and validation (API_NOTES §4.4).

Every amount must be a JSON string holding a decimal ≥ 0; errors are the codes Lago's
validators emit, reported by the caller under the single key ``properties``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from lagoform.sandbox.numbers import decimal_string
from lagoform.sandbox.state import Record

CHARGE_MODELS = (
    "standard",
    "graduated",
    "graduated_percentage",
    "package",
    "percentage",
    "volume",
    "dynamic",
    "custom",
)
MODEL_KEYS: dict[str, tuple[str, ...]] = {
    "standard": ("amount",),
    "graduated": ("graduated_ranges",),
    "volume": ("volume_ranges",),
    "package": ("amount", "package_size", "free_units"),
    "percentage": (
        "rate",
        "fixed_amount",
        "free_units_per_events",
        "free_units_per_total_aggregation",
        "per_transaction_min_amount",
        "per_transaction_max_amount",
    ),
    "graduated_percentage": ("graduated_percentage_ranges",),
    "dynamic": (),
    "custom": ("custom_properties",),
}


def _open_range(amount_key: str) -> Record:
    return {"from_value": 0, "to_value": None, amount_key: "0", "flat_amount": "0"}


def default_properties(model: Any) -> Record:
    match model:
        case "standard":
            return {"amount": "0"}
        case "graduated":
            return {"graduated_ranges": [_open_range("per_unit_amount")]}
        case "volume":
            return {"volume_ranges": [_open_range("per_unit_amount")]}
        case "package":
            return {"package_size": 1, "amount": "0", "free_units": 0}
        case "percentage":
            return {"rate": "0"}
        case "graduated_percentage":
            return {"graduated_percentage_ranges": [_open_range("rate")]}
        case _:
            return {}


def _present(value: Any) -> bool:
    """Ruby's ``present?``: not null, not an empty list, map or blank string."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | dict):
        return bool(value)
    return True


def normalize(model: Any, raw: Any, *, for_filter: bool = False) -> Record:
    """Keep only the keys the model knows, plus grouping keys that are present (an empty list is
    dropped, empty key names removed, legacy ``grouped_by`` read as ``pricing_group_keys`` —
    charge_models/filter_properties/base_service.rb:33-71); a filter never keeps
    ``presentation_group_keys`` (charge_filters/create_or_update_batch_service.rb:65). Defaults
    when nothing was sent."""
    if not isinstance(raw, dict) or not raw:
        return default_properties(model)
    keys = MODEL_KEYS.get(model, ()) if isinstance(model, str) else ()
    out: Record = {k: raw[k] for k in keys if k in raw}
    pricing, legacy = raw.get("pricing_group_keys"), raw.get("grouped_by")
    group_keys = pricing if _present(pricing) else legacy if _present(legacy) else None
    if isinstance(group_keys, list):
        group_keys = [k for k in group_keys if k != ""]
    if group_keys is not None:
        out["pricing_group_keys"] = group_keys
    if not for_filter and _present(raw.get("presentation_group_keys")):
        out["presentation_group_keys"] = raw["presentation_group_keys"]
    return out


def echo(properties: Record) -> Record:
    """Response form: both ``pricing_group_keys`` and its legacy alias ``grouped_by``."""
    out = dict(properties)
    if "pricing_group_keys" in out:
        out["grouped_by"] = out["pricing_group_keys"]
    return out


def valid_amount(value: Any) -> bool:
    """A decimal string ≥ 0 (validators/decimal_amount_service.rb#valid_amount?)."""
    number = decimal_string(value)
    return number is not None and number >= 0


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def valid_bounds(ranges: list[Any], *, volume: bool) -> bool:
    """First range starts at 0 or 1; each next one at the expected start or one above it
    (graduated: previous ``to_value``; volume: previous ``to_value`` + 1); only the last is open.
    """
    expected: float = 0
    for index, item in enumerate(ranges):
        if not isinstance(item, dict):
            return False
        start, end = item.get("from_value"), item.get("to_value")
        if not _is_number(start) or start not in (expected, expected + 1):
            return False
        if index == len(ranges) - 1:
            if end is not None:
                return False
        elif not _is_number(end) or end <= start:
            return False
        if end is not None:
            expected = end + 1 if volume else end
    return True


def validate(model: Any, props: Record, *, premium: bool, metric_agg: str | None) -> list[str]:
    """Error codes for these properties (empty when valid)."""
    errors: list[str] = []

    def add(code: str) -> None:
        if code not in errors:
            errors.append(code)

    match model:
        case "standard":
            if not valid_amount(props.get("amount")):
                add("invalid_amount")
        case "graduated" | "volume" | "graduated_percentage":
            _validate_ranges(model, props, add)
        case "package":
            if not valid_amount(props.get("amount")):
                add("invalid_amount")
            size: Any = props.get("package_size")
            if not (_is_int(size) and size > 0):
                add("invalid_package_size")
            free: Any = props.get("free_units")
            if not (_is_int(free) and free >= 0):
                add("invalid_free_units")
        case "percentage":
            _validate_percentage(props, add, premium=premium, metric_agg=metric_agg)
    _validate_grouping(props, add)
    return errors


def _validate_ranges(model: str, props: Record, add: Any) -> None:
    key = f"{model}_ranges"
    ranges = props.get(key)
    if not isinstance(ranges, list) or not ranges:
        add(f"missing_{key}")
        return
    amount_key, amount_code = (
        ("rate", "invalid_rate") if model == "graduated_percentage" else ("per_unit_amount", "")
    )
    for item in ranges:
        if not isinstance(item, dict):
            continue
        if not valid_amount(item.get(amount_key)):
            add(amount_code or "invalid_amount")
        if not valid_amount(item.get("flat_amount")):
            add("invalid_amount")
    if not valid_bounds(ranges, volume=model == "volume"):
        add(f"invalid_{key}")


def _validate_percentage(props: Record, add: Any, *, premium: bool, metric_agg: str | None) -> None:
    if metric_agg == "latest_agg":
        add("invalid_value")
    if not valid_amount(props.get("rate")):
        add("invalid_rate")
    fixed = props.get("fixed_amount")
    if fixed is not None and not valid_amount(fixed):
        add("invalid_fixed_amount")
    per_events = props.get("free_units_per_events")
    if per_events is not None and not (_is_int(per_events) and per_events > 0):
        add("invalid_free_units_per_events")
    per_total = props.get("free_units_per_total_aggregation")
    if per_total is not None and not valid_amount(per_total):
        add("invalid_free_units_per_total_aggregation")
    if not premium:
        return
    low: Any = props.get("per_transaction_min_amount")
    high: Any = props.get("per_transaction_max_amount")
    if low not in (None, "") and not valid_amount(low):
        add("invalid_amount")
    if high not in (None, "") and not valid_amount(high):
        add("invalid_amount")
    if valid_amount(low) and valid_amount(high) and Decimal(low) > Decimal(high):
        add("per_transaction_max_lower_than_per_transaction_min")


def _validate_grouping(props: Record, add: Any) -> None:
    keys = props.get("pricing_group_keys")
    if keys is not None and (
        not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys)
    ):
        add("invalid_type")
    presentation = props.get("presentation_group_keys")
    if presentation is not None:
        _validate_presentation(presentation, add)


def _presentation_key_valid(item: Any) -> bool:
    """``{"value": non-blank string, "options": {"display_in_invoice": bool}}``, options
    optional (charges/validators/base_service.rb:58-103)."""
    if not isinstance(item, dict) or set(item) - {"value", "options"}:
        return False
    value = item.get("value")
    if not isinstance(value, str) or not value.strip():
        return False
    options = item.get("options", {"display_in_invoice": False})
    return (
        isinstance(options, dict)
        and list(options) == ["display_in_invoice"]
        and isinstance(options["display_in_invoice"], bool)
    )


def _validate_presentation(keys: Any, add: Any) -> None:
    if not isinstance(keys, list) or not all(_presentation_key_valid(k) for k in keys):
        add("invalid_type")
    if isinstance(keys, list):
        if len(keys) > 2:
            add("too_many_keys")
        values = [
            k["value"] for k in keys if isinstance(k, dict) and isinstance(k.get("value"), str)
        ]
        if len(values) != len(set(values)):
            add("value_is_duplicated")
