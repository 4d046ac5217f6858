"""A negotiated charge against its base charge: only what an override can say, priced exactly.

An override's ``filters`` name only the base filters they negotiate: an exact price must be for
one of the base charge's filters (Lago cannot add a filter to a subscription's copy), and a
discount must cover at least one. Discounted prices and prices written ``per:`` a unit must
convert to Lago's per-unit amount exactly (``checks_units``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from lagoform.catalog.checks_charge import check_filter_values, check_properties
from lagoform.catalog.checks_units import check_unit_prices
from lagoform.catalog.diagnose import suggest
from lagoform.catalog.models_charge import Charge, ChargeFilter, discounted
from lagoform.catalog.models_metric import BillableMetric
from lagoform.catalog.models_tenant import ChargeOverride

if TYPE_CHECKING:
    from lagoform.catalog.checks_charge import Path, Report


def check_charge_override(
    report: Report,
    path: Path,
    override: ChargeOverride,
    charge: Charge,
    metric: BillableMetric | None,
) -> None:
    if override.properties is not None:
        check_properties(report, (*path, "properties"), override.properties)
        check_unit_prices(report, (*path, "properties"), override.properties, charge.per)
    elif override.discount is not None:
        _check_discount(report, (*path, "discount"), charge, override.discount, None)
    base = {_key(f.values): f for f in charge.filters}
    seen: dict[str, int] = {}
    for index, entry in enumerate(override.filters or ()):
        here = (*path, "filters", index)
        known_problems = len(report.problems)
        for key, values in entry.values.items():
            check_filter_values(report, (*here, "values", key), key, values, metric)
        if len(report.problems) > known_problems:
            continue  # its values are wrong already: nothing more to say about them
        key = _key(entry.values)
        if key in seen:
            report.at(
                (*here, "values"),
                f"this filter repeats filter #{seen[key] + 1} of the override (same values)",
            )
        seen.setdefault(key, index)
        if entry.discount is not None:
            covered = [f for f in charge.filters if entry.covers(f.values)]
            if not covered:
                report.at(
                    (*here, "values"),
                    f"this discount covers none of charge '{charge.code}''s filters",
                    "name values that some filter of the base charge has (a key alone, such "
                    "as {model: gpt-5}, covers every filter of that model)",
                )
            for each in covered:
                _check_discount(report, (*here, "discount"), charge, entry.discount, each)
            continue
        listed = base.get(key)
        if listed is None:
            known = sorted(base)
            report.at(
                (*here, "values"),
                f"charge '{charge.code}' of the plan has no filter {_label(entry.values)}: an "
                "override prices the base charge's filters, it cannot add one",
                suggest(key, known) if known else None,
            )
            continue
        if entry.properties is not None:
            check_properties(report, (*here, "properties"), entry.properties)
            unit = entry.per or listed.per or charge.per
            check_unit_prices(report, (*here, "properties"), entry.properties, unit)


def _check_discount(
    report: Report, path: Path, charge: Charge, percent: Decimal, listed: ChargeFilter | None
) -> None:
    """The discounted prices of the charge (or of one of its filters) convert exactly."""
    if listed is not None:
        props, unit = listed.properties, listed.per or charge.per
    else:
        props, unit = charge.properties, charge.per
    try:
        price = discounted(props, percent)
    except ValueError as err:
        report.at(path, str(err))
        return
    check_unit_prices(report, path, price, unit or "1 unit")


def _key(values: dict[str, tuple[str, ...]]) -> str:
    return ";".join(f"{k}={'|'.join(v)}" for k, v in sorted(values.items()))


def _label(values: dict[str, tuple[str, ...]]) -> str:
    return "{" + ", ".join(f"{k}: {'/'.join(v)}" for k, v in sorted(values.items())) + "}"
