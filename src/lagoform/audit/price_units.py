"""What the finance section's prices are written in: the currency, and each unit price's unit.

Lago holds a unit price per single unit (``0.0000025``); the YAML may write it ``per: 1M
tokens`` (``lagoform.model.units``). A record keeps Lago's amounts — they are what was sent —
and says beside each unit price what the YAML wrote it per, so ``audit show`` and the plan's
audit preview print ``2.5 USD per 1M tokens`` as the change was reviewed. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lagoform.audit.record import OverrideDiffEntry
from lagoform.model.filters import key_of_values
from lagoform.model.units import is_unit_price

__all__ = ["Units", "currency_of", "in_units"]

# What one plan's YAML writes each price per, as ``DesiredState.units`` holds it for a plan:
# charge code -> ``""`` (the charge's own prices) or a filter's key -> the unit as written.
Units = Mapping[str, Mapping[str, str]]


def in_units(
    entries: Iterable[OverrideDiffEntry], base_plan: Mapping[str, Any], units: Units
) -> list[OverrideDiffEntry]:
    """``entries`` with ``per`` set on each unit price the base plan's YAML writes in a unit.

    A filter's price is in its filter's unit (a filter's own ``per:``, else its charge's); an
    override is shown in its base plan's units, as the plan shows it, so base and negotiated
    prices read side by side in one unit.
    """
    models = {
        str(c.get("code")): c.get("charge_model")
        for c in base_plan.get("charges") or []
        if isinstance(c, Mapping)
    }
    out: list[OverrideDiffEntry] = []
    for entry in entries:
        per = _unit(entry, models, units)
        out.append(entry.model_copy(update={"per": per}) if per is not None else entry)
    return out


def _unit(entry: OverrideDiffEntry, models: Mapping[str, Any], units: Units) -> str | None:
    code = entry.charge_code
    if code is None or not is_unit_price(models.get(code), entry.field):
        return None
    written = units.get(code) or {}
    key = key_of_values(entry.filter_values) if entry.filter_values is not None else ""
    # a filter the base charge lacks is written in the charge's unit (``charge_override_body``)
    return written.get(key) or written.get("")


def currency_of(base_plan: Mapping[str, Any], overrides: Mapping[str, Any]) -> str | None:
    """The subscription's currency: its overrides' ``amount_currency``, else its base plan's."""
    currency = overrides.get("amount_currency") or base_plan.get("amount_currency")
    return str(currency) if currency else None
