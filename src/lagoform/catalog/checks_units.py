"""``per:`` units: every unit price must convert to Lago's per-unit amount exactly.

A price written ``per: 1M tokens`` is sent to Lago divided by a million; Lago keeps 15 decimals
(``lagoform.model.units``). A price that does not divide exactly is refused here, with the way
out, rather than rounded on the way to Lago.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lagoform.catalog.models_charge import ChargeFilter, unit_of, unit_prices

if TYPE_CHECKING:
    from lagoform.catalog.checks_charge import Path, Report


def check_unit_prices(report: Report, path: Path, properties: Any, per: str | None) -> None:
    """``properties`` (at ``path``) written per ``per``: each unit price divides exactly."""
    unit = unit_of(per)
    if unit is None:
        return
    for where, price in unit_prices(properties):
        problem = unit.problem(price)
        if problem:
            report.at(
                (*path, *where),
                problem,
                f"write a price that {unit.scale:,} divides into at most 15 decimals, or a "
                "smaller unit in `per:`",
            )


def check_filter_units(
    report: Report, path: Path, filters: tuple[ChargeFilter, ...], per: str | None
) -> None:
    """Each filter's prices, per its own ``per:`` or else ``per`` (its charge's)."""
    for index, charge_filter in enumerate(filters):
        unit = charge_filter.per or per
        check_unit_prices(report, (*path, index, "properties"), charge_filter.properties, unit)
