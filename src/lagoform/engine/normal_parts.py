"""The comparison form's building blocks: scalars, charge properties, filters and charges.

Split from ``normal.py`` (which normalizes whole objects and re-exports all of this). Money and
rates become canonical decimal strings, filters are keyed by their sorted values map, Lago's
per-model property slicing and defaults are reproduced. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

Normal = dict[str, Any]

ALL_VALUES = "__ALL_FILTER_VALUES__"

_DEC = "dec"
_INT = "int"
_RANGES = "ranges"

# Keys Lago keeps per charge model (it slices everything else away, API_NOTES §4.4).
_MODEL_KEYS: dict[str, dict[str, str]] = {
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


# -- scalars ---------------------------------------------------------------------------------


def dec(value: Any) -> str | None:
    """Canonical decimal string (``"0.50"`` → ``"0.5"``, ``10`` → ``"10"``); None stays None."""
    if value is None or isinstance(value, bool):
        return None if value is None else str(value)
    if isinstance(value, str | int):
        return _dec_cached(value)
    return _dec(value)


@lru_cache(maxsize=65536)
def _dec_cached(value: str | int) -> str:
    # Catalogs repeat a few hundred distinct prices across thousands of charges and filters.
    return _dec(value)


def _dec(value: Any) -> str:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return str(value)
    if not number.is_finite():
        return str(value)
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text


def num(value: Any) -> int | str | None:
    """A number as an int when integral, else its canonical decimal string."""
    if value is None or isinstance(value, bool):
        return None
    text = dec(value)
    if text is None:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    return int(number) if number == number.to_integral_value() else text


def text(value: Any) -> str | None:
    """Strings where Lago treats empty and null alike."""
    if value is None:
        return None
    out = str(value)
    return out if out != "" else None


def boolean(value: Any, default: bool) -> bool:
    return default if value is None else bool(value)


def timestamp(value: Any) -> str | None:
    """ISO-8601 instant in UTC to the second (``...Z``); a bare date means midnight UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    else:
        raw = str(value).strip()
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return raw
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def clean(mapping: Mapping[str, Any]) -> Normal:
    """Drop None values (absent and null are the same thing in the comparison form)."""
    return {k: v for k, v in mapping.items() if v is not None}


def codes(body: Mapping[str, Any], key: str = "tax_codes", objects: str = "taxes") -> list[str]:
    """Sorted codes from either a request's ``tax_codes`` or a response's ``taxes`` objects."""
    if body.get(key) is not None:
        return sorted(str(c) for c in body[key])
    return sorted(str(t["code"]) for t in body.get(objects) or [] if isinstance(t, Mapping))


# -- filters ---------------------------------------------------------------------------------


def filter_values(values: Mapping[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key in sorted(values):
        raw = values[key]
        items = [raw] if isinstance(raw, str) else list(raw or [])
        out[str(key)] = sorted(str(v) for v in items)
    return out


def filter_key(values: Mapping[str, Any]) -> str:
    """Identity of a charge filter: its values map, keys and values sorted.

    ``{"type": ["input"], "modality": ["audio"]}`` → ``"modality=audio;type=input"``.
    """
    return key_of_values(filter_values(values))


def key_of_values(values: Mapping[str, list[str]]) -> str:
    """``filter_key`` of a values map already in ``filter_values`` form."""
    return ";".join(f"{k}={'|'.join(v)}" for k, v in values.items())


# -- charge properties -----------------------------------------------------------------------


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
    spec = _MODEL_KEYS.get(model or "")
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


# -- charges ---------------------------------------------------------------------------------


def charge_filter(model: str | None, body: Mapping[str, Any]) -> Normal:
    return clean(
        {
            "values": filter_values(body.get("values") or {}),
            "invoice_display_name": text(body.get("invoice_display_name")),
            "properties": properties(model, body.get("properties")),
        }
    )


def charge(body: Mapping[str, Any]) -> Normal:
    model = body.get("charge_model")
    filters: dict[str, Normal] = {}
    for item in body.get("filters") or []:
        normal = charge_filter(model, item)
        filters[key_of_values(normal["values"])] = normal
    return clean(
        {
            "billable_metric_code": text(body.get("billable_metric_code")),
            "charge_model": model,
            "invoice_display_name": text(body.get("invoice_display_name")),
            "pay_in_advance": boolean(body.get("pay_in_advance"), False),
            "prorated": boolean(body.get("prorated"), False),
            "invoiceable": boolean(body.get("invoiceable"), True),
            "regroup_paid_fees": text(body.get("regroup_paid_fees")),
            "min_amount_cents": num(body.get("min_amount_cents")) or 0,
            "tax_codes": codes(body),
            "properties": properties(model, body.get("properties")),
            "filters": filters,
        }
    )


def charge_code(body: Mapping[str, Any]) -> str:
    """A charge's identity in its plan; Lago defaults it to the metric code."""
    return str(body.get("code") or body.get("billable_metric_code") or "")
