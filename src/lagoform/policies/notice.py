"""When a price change reaches customers: the one seam the notice rule reads.

``effective_date(move)`` is the date a changed price starts to bill. A change without one
reaches every current subscriber at apply, i.e. today: it breaks any notice of more than 0
days. Scheduled price changes (``effective:``) are read from the YAML written around the price,
nearest first (the filter, then its charge, then the plan or the subscription's overrides):
``effective: 2027-01-01``, or a mapping with ``date:`` (``effective: {date: 2027-01-01,
notice: 30 days}``). This is the only place the policies learn about scheduling; when the
scheduled changes carry their date in the plan itself, read it here instead.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from lagoform.policies.prices import PriceMove

__all__ = ["effective_date"]

KEY = "effective"


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    if isinstance(value, dict):
        return _as_date(value.get("date"))
    return None


def effective_date(move: PriceMove) -> dt.date | None:
    """The date ``move``'s new price starts to bill (None: when apply runs)."""
    for node in reversed(move.spot.chain):
        if KEY in node:
            return _as_date(node[KEY])
    return None
