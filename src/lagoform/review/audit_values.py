"""Prices in audit records as people read them: in the unit and currency the YAML used.

One rule for ``lagoform audit show`` and the plan's audit preview. A record's finance section
keeps Lago's amounts (a unit price per single unit, cents) — what was sent — and, from schema
version 3, the subscription's ``currency`` and each unit price's ``per`` (``1M tokens``). A
price is shown with the plan renders' own formatter (``engine.render.money``): ``0.0000025``
per ``1M tokens`` in USD reads ``2.5 USD per 1M tokens``, as it was reviewed; ``4500`` cents
``45.00 USD``. A record that does not say enough (one written before schema 3) gets None, and
its caller shows the value as it always has.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lagoform.engine.render import money as fmt
from lagoform.model.units import parse_unit

__all__ = ["entry_prices", "shown_price"]


def shown_price(field: str, value: Any, currency: str | None, per: str | None) -> str | None:
    """``value`` of the finance-section ``field`` as the plan shows prices, or None (no unit
    or currency known for it, or no value)."""
    if value is None:
        return None
    if per is not None:
        try:
            parse_unit(per)
        except ValueError:
            return None  # a hand-edited saved plan: show the value as Lago holds it
        return fmt.unit_price(value, currency, per)
    if field.endswith("amount_cents") and currency:
        return fmt.money(value, currency)
    return None


def entry_prices(entry: Mapping[str, Any], currency: str | None) -> tuple[str | None, str | None]:
    """(base, override) of one diff entry (its JSON form) as ``shown_price`` shows them."""
    field, per = str(entry.get("field")), entry.get("per")
    unit = per if isinstance(per, str) else None
    return (
        shown_price(field, entry.get("base_value"), currency, unit),
        shown_price(field, entry.get("override_value"), currency, unit),
    )
