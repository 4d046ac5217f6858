"""Charge properties as Lago keeps them, per charge model.

Lago slices a charge's (or a charge filter's) properties to the keys its model uses and drops
the rest silently (API_NOTES §4.4); amounts are decimal strings, counts integers, tiers lists of
ranges. ``properties`` reproduces that on either side of a comparison. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from lagoform.model.values import Normal, clean, dec, num

__all__ = ["GROUPING_KEYS", "MODEL_KEYS", "properties"]

# Properties that group usage rather than price it (Lago cascades them even onto a customised
# charge, §4.6).
GROUPING_KEYS = ("pricing_group_keys", "presentation_group_keys")

_DEC = "dec"
_INT = "int"
_RANGES = "ranges"

# Keys Lago keeps per charge model (it slices everything else away, API_NOTES §4.4).
MODEL_KEYS: dict[str, dict[str, str]] = {
    "standard": {"amount": _DEC},
    "graduated": {"graduated_ranges": _RANGES},
    "volume": {"volume_ranges": _RANGES},
    "graduated_percentage": {"graduated_percentage_ranges": _RANGES},
    "package": {"amount": _DEC, "package_size": _INT, "free_units": _INT},
    "percentage": {
        "rate": _DEC,
        "fixed_amount": _DEC,
        "free_units_per_events": _INT,
        "free_units_per_total_aggregation": _DEC,
        "per_transaction_min_amount": _DEC,
        "per_transaction_max_amount": _DEC,
    },
    "dynamic": {},
}
_RANGE_DECIMALS = ("per_unit_amount", "flat_amount", "rate")


def _range(item: Mapping[str, Any]) -> Normal:
    out: Normal = {
        "from_value": num(item.get("from_value")) or 0,
        "to_value": num(item.get("to_value")),
    }
    for field in _RANGE_DECIMALS:
        if field in item or field == "flat_amount":
            out[field] = dec(item.get(field)) or "0"
    return clean(out)


def properties(model: str | None, props: Mapping[str, Any] | None) -> Normal:
    """Charge (or charge filter) properties as Lago keeps them for ``model``."""
    props = props or {}
    spec = MODEL_KEYS.get(model or "")
    out: Normal = {}
    if spec is None:  # a model we don't know: compare what is there, canonically
        for key, value in props.items():
            out[key] = _generic(value)
    else:
        for key, kind in spec.items():
            value = props.get(key)
            if value is None:
                continue
            if kind == _DEC:
                out[key] = dec(value)
            elif kind == _INT:
                out[key] = num(value)
            else:
                out[key] = [_range(r) for r in value]
    group_keys = props.get("pricing_group_keys") or props.get("grouped_by")
    if group_keys:
        out["pricing_group_keys"] = [str(k) for k in group_keys]
    if props.get("presentation_group_keys"):
        out["presentation_group_keys"] = _generic(props["presentation_group_keys"])
    out.pop("grouped_by", None)
    return clean(out)


def _generic(value: Any) -> Any:
    if isinstance(value, Mapping):
        return clean({str(k): _generic(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_generic(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | Decimal):
        return dec(value)
    return value
