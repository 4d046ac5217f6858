"""Price units: ``2.50 USD per 1M tokens`` as written, ``0.0000025`` per unit as Lago holds it.

A charge (or one of its filters) may say what its unit prices are per: ``per: 1M tokens``
(``K`` = 1,000, ``M`` = 1,000,000, ``B`` = 1,000,000,000, or any whole number, then an optional
label). Lago keeps a price per single unit as a decimal string of at most ``LAGO_DECIMALS``
decimals (API_NOTES §4.4), so a price converts exactly or not at all: ``1 USD per 3 calls`` is
refused, never rounded. Renderers show a price in the unit the YAML used. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["LAGO_DECIMALS", "UNIT_PATTERN", "Unit", "is_unit_price", "parse_unit"]

# Lago's charge amounts: decimal strings with up to 15 decimals (API_NOTES §4.4).
LAGO_DECIMALS = 15
_SUFFIX = {"K": 1_000, "M": 1_000_000, "B": 1_000_000_000}
# What ``per:`` accepts; the JSON Schema carries it for editors ([0-9]: ASCII digits only).
UNIT_PATTERN = r"^\s*[0-9][0-9_,]*\s*[KMB]?(\s+\S.*)?$"
_UNIT = re.compile(r"^\s*([0-9][0-9_,]*)\s*([KMB])?(?:\s+(\S.*?))?\s*$")
# The prices ``per:`` scales, as paths in a Lago-shaped charge (or filter): a standard charge's
# amount, and each tier's per-unit amount of a graduated or volume charge. A package's amount
# (per package), flat amounts and rates are not per unit.
_UNIT_PRICE_PATHS = {
    "standard": re.compile(r"^properties\.amount$"),
    "graduated": re.compile(r"^properties\.graduated_ranges\[\d+\]\.per_unit_amount$"),
    "volume": re.compile(r"^properties\.volume_ranges\[\d+\]\.per_unit_amount$"),
}


@dataclass(frozen=True)
class Unit:
    """``per: 1M tokens``: ``scale`` units per priced amount, ``label`` what they are."""

    scale: int
    label: str = ""
    written: str = ""  # as the YAML wrote it ("1M tokens"), for messages and renders

    def __str__(self) -> str:
        return self.written or f"{self.scale:,} {self.label}".strip()

    def per_unit(self, price: Decimal) -> Decimal:
        """The price Lago holds per single unit (exact; see ``problem``)."""
        return price / self.scale

    def per_scale(self, per_unit: Decimal) -> Decimal:
        """A per-unit price back in this unit (what renders show)."""
        return per_unit * self.scale

    def problem(self, price: Decimal) -> str | None:
        """Why ``price`` per this unit cannot be sent to Lago exactly (None: it can)."""
        exact = price / self.scale
        if exact != exact.quantize(Decimal(1).scaleb(-LAGO_DECIMALS)):
            return (
                f"{_plain(price)} per {self} is not a price Lago can hold per unit: it keeps "
                f"{LAGO_DECIMALS} decimals, and {_plain(price)} / {self.scale:,} needs more"
            )
        return None


def is_unit_price(charge_model: str | None, path: str) -> bool:
    """Is ``path`` (inside a Lago-shaped charge or filter, ``properties.amount``) a price per
    unit for ``charge_model`` — one that a ``per:`` unit scales?"""
    pattern = _UNIT_PRICE_PATHS.get(charge_model or "")
    return pattern is not None and pattern.match(path) is not None


def parse_unit(text: str) -> Unit:
    """``"1M tokens"`` → ``Unit(1_000_000, "tokens")``; ValueError saying what is expected."""
    match = _UNIT.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(
            f"expected a unit such as '1M tokens', '1K images' or '100 calls', got {text!r}"
        )
    number = int(match.group(1).replace("_", "").replace(",", ""))
    scale = number * _SUFFIX.get(match.group(2) or "", 1)
    if scale <= 0:
        raise ValueError(f"a unit counts at least one, got {text!r}")
    return Unit(scale, match.group(3) or "", " ".join(text.split()))


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text
