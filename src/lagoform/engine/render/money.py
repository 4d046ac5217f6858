"""Prices as finance reviewers read them. Pure string formatting for the renderers.

Cents become money in their currency (``500000`` USD → ``5,000.00 USD``, JPY has no cents),
unit prices stay exact decimal strings with the currency (``0.0000018 USD/unit``), tiers become
one compact line (``0–100: 0 per unit | 101–∞: 0.04 per unit (USD)``), and a price move gets
its direction and percentage (``▲ +25.0%``). Never rounds a price: what is shown is what Lago
bills.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from lagoform.model import currency as currencies
from lagoform.model.units import parse_unit
from lagoform.model.values import finite as decimal

NONE = "(none)"
_RANGE_KEYS = ("graduated_ranges", "volume_ranges", "graduated_percentage_ranges")


def number(value: Any) -> str:
    """An exact number with thousands separators on its whole part: ``1000000`` →
    ``1,000,000``, ``0.0000018`` stays as written, anything else as text."""
    parsed = decimal(value)
    if parsed is None:
        return NONE if value is None else str(value)
    text = format(parsed.normalize(), "f") if parsed != 0 else "0"
    sign = "-" if text.startswith("-") else ""
    whole, _, fraction = text.lstrip("-").partition(".")
    grouped = f"{int(whole):,}"
    return f"{sign}{grouped}.{fraction}" if fraction else f"{sign}{grouped}"


def money(cents: Any, currency_code: str | None) -> str:
    """Lago's minor units as money: ``money(500000, "USD") == "5,000.00 USD"``."""
    return NONE if cents is None else currencies.money(cents, currency_code)


def worth(value: Decimal, currency: str | None) -> str:
    """A currency amount (not cents) as money when it is whole minor units: ``500`` USD →
    ``500.00 USD``; kept exact otherwise."""
    if currency and not currencies.sub_unit_error(value, currency):
        return money(currencies.to_cents(value, currency), currency)
    return amount(value, currency)


def amount(value: Any, currency: str | None, unit: str = "") -> str:
    """A decimal amount in currency (not cents): ``0.0000018 USD/unit``."""
    if value is None:
        return NONE
    text = number(value)
    return f"{text} {currency}{unit}" if currency else f"{text}{unit}"


def _bounds(item: Mapping[str, Any]) -> str:
    low = number(item.get("from_value") or 0)
    high = item.get("to_value")
    return f"{low}–{number(high) if high is not None else '∞'}"


def _count(value: Any) -> str:
    """A tier bound as people read it: ``1,000,000`` as ``1M``, ``2,500`` as ``2.5K``."""
    parsed = decimal(value)
    if parsed is None:
        return number(value)
    for size, suffix in ((10**9, "B"), (10**6, "M"), (10**3, "K")):
        if abs(parsed) >= size:
            scaled = parsed / size
            if scaled == scaled.quantize(Decimal("0.001")):
                return f"{number(scaled)}{suffix}"
    return number(parsed)


def unit_price(value: Any, currency: str | None, per: str) -> str:
    """A per-unit price in the unit the YAML wrote it in: ``0.0000025`` per ``1M tokens`` →
    ``2.5 USD per 1M tokens`` (exact; a zero price is ``free``)."""
    parsed = decimal(value)
    if parsed is None:
        return NONE if value is None else str(value)
    if parsed == 0:
        return "free"
    shown = number(parse_unit(per).per_scale(parsed))
    return f"{shown} {currency} per {per}" if currency else f"{shown} per {per}"


def _tiers_per(ranges: Sequence[Mapping[str, Any]], currency: str | None, per: str) -> str:
    """``free up to 1M; 8 USD per 1M tokens above 1M``: tiers in the unit the YAML used."""
    parts = []
    for index, item in enumerate(ranges):
        low, high = item.get("from_value") or 0, item.get("to_value")
        price = unit_price(item.get("per_unit_amount"), currency, per)
        flat = decimal(item.get("flat_amount"))
        if flat:
            price += f" + flat {amount(flat, currency)}"
        if index == 0 and high is not None:
            parts.append(f"{price} up to {_count(high)}")
        elif high is None:
            above = max(int(decimal(low) or 0) - 1, 0)
            parts.append(f"{price} above {_count(above)}" if index else price)
        else:
            parts.append(f"{price} {_count(low)}–{_count(high)}")
    return "; ".join(parts) if parts else NONE


def tiers(
    ranges: Sequence[Mapping[str, Any]],
    currency: str | None,
    *,
    rate: bool = False,
    per: str | None = None,
) -> str:
    """``0–100: 0 per unit | 101–∞: 0.04 per unit, flat 5 (USD)``; percentages with ``rate``;
    with ``per`` (the YAML's unit) ``free up to 1M; 8 USD per 1M tokens above 1M``."""
    if per is not None and not rate:
        return _tiers_per(ranges, currency, per)
    parts = []
    for item in ranges:
        price = (
            f"{number(item.get('rate'))}%"
            if rate
            else f"{number(item.get('per_unit_amount'))} per unit"
        )
        flat = decimal(item.get("flat_amount"))
        if flat:
            price += f", flat {number(flat)}"
        parts.append(f"{_bounds(item)}: {price}")
    suffix = f" ({currency})" if currency else ""
    return " | ".join(parts) + suffix if parts else NONE


def tier_label(ranges: Any, index: int, field: str) -> str:
    """Which tier a changed tier field is, for a price move: ``101–∞ per unit``."""
    what = {"per_unit_amount": "per unit", "flat_amount": "flat", "rate": "rate"}.get(field, field)
    if isinstance(ranges, list) and 0 <= index < len(ranges) and isinstance(ranges[index], dict):
        return f"{_bounds(ranges[index])} {what}"
    return f"tier {index + 1} {what}"


def properties(model: str | None, props: Any, currency: str | None, per: str | None = None) -> str:
    """A charge's (or filter's) price in words for its model; ``per``: the unit its prices are
    written per in YAML (``1M tokens``), shown that way."""
    if props is None:
        return NONE
    if not isinstance(props, Mapping):
        return str(props)
    text = _properties(model, props, currency, per)
    groups = props.get("pricing_group_keys")
    if groups:
        text += f", priced per {', '.join(str(g) for g in groups)}"
    return text


def _properties(
    model: str | None, props: Mapping[str, Any], cur: str | None, per: str | None = None
) -> str:
    for key in _RANGE_KEYS:
        if isinstance(props.get(key), list):
            return tiers(props[key], cur, rate=key == "graduated_percentage_ranges", per=per)
    if model == "package":
        size = number(props.get("package_size"))
        text = f"{amount(props.get('amount'), cur)} per {size} units"
        free = decimal(props.get("free_units"))
        return text + (f", first {number(free)} free" if free else "")
    if model == "percentage" or "rate" in props:
        parts = [f"{number(props.get('rate'))}%"]
        if decimal(props.get("fixed_amount")):
            parts.append(f"+ {amount(props.get('fixed_amount'), cur)} per transaction")
        for key, label in (
            ("per_transaction_min_amount", "min"),
            ("per_transaction_max_amount", "max"),
        ):
            if props.get(key) is not None:
                parts.append(f"{label} {amount(props.get(key), cur)} per transaction")
        if props.get("free_units_per_events"):
            parts.append(f"first {number(props['free_units_per_events'])} events free")
        if decimal(props.get("free_units_per_total_aggregation")):
            parts.append(f"first {number(props['free_units_per_total_aggregation'])} units free")
        return " ".join(parts[:2]) + "".join(f", {p}" for p in parts[2:])
    if model == "dynamic":
        return "dynamic (each event carries its price)"
    if "amount" in props:
        if per is not None:
            return unit_price(props.get("amount"), cur, per)
        return amount(props.get("amount"), cur, "/unit")
    return ", ".join(f"{k}: {v}" for k, v in props.items()) or NONE


def change(old: Any, new: Any) -> str:
    """A price move with its direction: ``▲ +25.0%``, ``▼ -20.0%``; empty when not a number
    move (or from zero)."""
    before, after = decimal(old), decimal(new)
    if before is None or after is None or before == after:
        return ""
    if before == 0:
        return "▲ from 0" if after > 0 else "▼ from 0"
    pct = (after - before) / abs(before) * 100
    arrow = "▲" if after > before else "▼"
    return f"{arrow} {pct:+.1f}%"
