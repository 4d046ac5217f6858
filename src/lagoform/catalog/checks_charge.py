"""Offline copies of the rules Lago enforces on charges (API_NOTES §3.2, §4.3–§4.5).

Each function takes a ``Report`` (collects located problems) and a path prefix into the raw
YAML, so a problem points at the exact key or value that is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from lagoform.catalog.checks_units import check_filter_units, check_unit_prices
from lagoform.catalog.diagnose import suggest, walk
from lagoform.catalog.models_charge import (
    WILDCARD,
    Charge,
    ChargeFilter,
    GraduatedPercentageProperties,
    GraduatedProperties,
    PackageProperties,
    PercentageProperties,
    StandardProperties,
    VolumeProperties,
)
from lagoform.catalog.models_metric import BillableMetric
from lagoform.catalog.money import decimal_text, sub_unit_error
from lagoform.catalog.yamlsrc import LocDict, LocList, SourceLocation
from lagoform.errors import Problem
from lagoform.model.filters import ALL_FILTER_VALUES

Path = tuple[Any, ...]
PAY_IN_ADVANCE_AGGREGATIONS = ("count", "sum", "unique_count", "custom")


class Report:
    """Problems located inside one raw YAML object."""

    def __init__(self, raw: Any, problems: list[Problem]) -> None:
        self.raw = raw
        self.problems = problems

    def at(
        self,
        path: Path,
        message: str,
        hint: str | None = None,
        *,
        key: bool = False,
        warning: bool = False,
    ) -> None:
        location = self.where(path, key=key)
        self.problems.append(location.problem(message, hint, warning=warning))

    def where(self, path: Path, *, key: bool = False) -> SourceLocation:
        start = self.raw.loc if isinstance(self.raw, LocDict) else SourceLocation("<input>")
        if key and path:
            _, parent, found = walk(self.raw, path[:-1], start)
            if found and isinstance(parent, LocDict) and path[-1] in parent:
                return parent.key_loc(path[-1])
        location, _, _ = walk(self.raw, path, start)
        return location


def check_amount(report: Report, path: Path, value: Decimal | None, what: str) -> None:
    if value is not None and value < 0:
        report.at(path, f"{what} must be 0 or more, got {decimal_text(value)}")


def check_cents(report: Report, path: Path, value: Decimal | None, currency: str) -> None:
    if value is None:
        return
    if value < 0:
        report.at(path, f"expected an amount of 0 or more, got {decimal_text(value)}")
        return
    error = sub_unit_error(value, currency)
    if error:
        report.at(path, error)


def _check_tiers(report: Report, path: Path, tiers: Any, *, volume: bool) -> None:
    tiers_path = (*path, "tiers")
    if tiers[0].from_ not in (0, 1):
        report.at(
            (*tiers_path, 0, "from"), f"the first tier must start at 0 or 1, got {tiers[0].from_}"
        )
    for index, tier in enumerate(tiers):
        here = (*tiers_path, index)
        last = index == len(tiers) - 1
        if last and tier.to is not None:
            report.at((*here, "to"), f"the last tier must be open-ended (to: null), got {tier.to}")
        if not last and tier.to is None:
            report.at((*here, "to"), "only the last tier may be open-ended; expected a number")
        if not last and tier.to is not None and tier.to <= tier.from_:
            report.at(
                (*here, "to"), f"expected 'to' greater than 'from' ({tier.from_}), got {tier.to}"
            )
        if index > 0 and tiers[index - 1].to is not None:
            prev = tiers[index - 1].to
            allowed = (prev + 1, prev + 2) if volume else (prev, prev + 1)
            if tier.from_ not in allowed:
                report.at(
                    (*here, "from"),
                    f"expected this tier to start at {allowed[0]} or {allowed[1]} "
                    f"(previous tier ends at {prev}), got {tier.from_}",
                )
        for name in ("per_unit", "rate", "flat"):
            check_amount(report, (*here, name), getattr(tier, name, None), name)


def check_properties(report: Report, path: Path, properties: Any) -> None:
    """Values Lago's charge-model validators refuse (amounts, ranges, package sizes)."""
    match properties:
        case StandardProperties():
            check_amount(report, (*path, "amount"), properties.amount, "amount")
        case GraduatedProperties() | GraduatedPercentageProperties():
            _check_tiers(report, path, properties.tiers, volume=False)
        case VolumeProperties():
            _check_tiers(report, path, properties.tiers, volume=True)
        case PackageProperties():
            check_amount(report, (*path, "amount"), properties.amount, "amount")
            if properties.package_size <= 0:
                report.at(
                    (*path, "package_size"),
                    f"package_size must be a whole number above 0, got {properties.package_size}",
                )
            if properties.free_units < 0:
                report.at(
                    (*path, "free_units"),
                    f"free_units must be a whole number of 0 or more, got {properties.free_units}",
                )
        case PercentageProperties():
            _check_percentage(report, path, properties)
    for index, key in enumerate(properties.pricing_group_keys):
        if not key.strip():
            report.at((*path, "pricing_group_keys", index), "expected a non-empty property name")


def _check_percentage(report: Report, path: Path, props: PercentageProperties) -> None:
    for name in (
        "rate",
        "fixed_amount",
        "free_units_per_total_aggregation",
        "per_transaction_min_amount",
        "per_transaction_max_amount",
    ):
        check_amount(report, (*path, name), getattr(props, name), name)
    if props.free_units_per_events is not None and props.free_units_per_events <= 0:
        report.at(
            (*path, "free_units_per_events"),
            "free_units_per_events must be a whole number above 0, "
            f"got {props.free_units_per_events}",
        )
    low, high = props.per_transaction_min_amount, props.per_transaction_max_amount
    if low is not None and high is not None and low > high:
        report.at(
            (*path, "per_transaction_max_amount"),
            f"per_transaction_max_amount ({decimal_text(high)}) is below "
            f"per_transaction_min_amount ({decimal_text(low)})",
        )


def check_repeated_values(report: Report, path: Path, key: str) -> None:
    """A value written twice in one filter's list (Lago keeps the values as a set, so the second
    is a typo for another value or a leftover), located at the second one."""
    _, written, found = walk(report.raw, path, report.where(()))
    if not found or not isinstance(written, list):
        return
    first: dict[str, int] = {}
    for index, value in enumerate(written):
        text = str(value)
        if text in first:
            where = (
                written.item_loc(first[text]) if isinstance(written, LocList) else report.where(())
            )
            report.at(
                (*path, index),
                f"value '{text}' is listed twice in filter '{key}' (first at line {where.line}, "
                f"column {where.column})",
                "remove one; a value a filter lists twice counts once",
            )
        first.setdefault(text, index)


def fallback_bills(properties: Any) -> bool:
    """Whether a charge's own properties (its price for events matching none of its filters)
    can bill a non-zero amount."""
    match properties:
        case StandardProperties() | PackageProperties():
            return properties.amount > 0
        case GraduatedProperties() | VolumeProperties():
            return any(t.per_unit > 0 or t.flat > 0 for t in properties.tiers)
        case GraduatedPercentageProperties():
            return any(t.rate > 0 or t.flat > 0 for t in properties.tiers)
        case PercentageProperties():
            return any(
                v is not None and v > 0
                for v in (
                    properties.rate,
                    properties.fixed_amount,
                    properties.per_transaction_min_amount,
                )
            )
    return True  # dynamic: each event carries its own price


def filter_label(values: dict[str, tuple[str, ...]]) -> str:
    """A filter's values as a person writes them: ``{modality: audio, type: input}``."""
    parts = []
    for key, written in sorted(values.items()):
        vals = sorted(set(written))
        parts.append(f"{key}: {vals[0] if len(vals) == 1 else '[' + ', '.join(vals) + ']'}")
    return "{" + ", ".join(parts) + "}"


def check_filters(
    report: Report, path: Path, filters: tuple[ChargeFilter, ...], metric: BillableMetric | None
) -> None:
    seen: dict[tuple[Any, ...], int] = {}
    for index, charge_filter in enumerate(filters):
        here = (*path, index)
        check_properties(report, (*here, "properties"), charge_filter.properties)
        identity = tuple(sorted((k, tuple(v)) for k, v in charge_filter.values.items()))
        if identity in seen:
            report.at(
                (*here, "values"),
                f"this filter repeats filter #{seen[identity] + 1} (same values); Lago would "
                "bill only one of them",
            )
        seen.setdefault(identity, index)
        for key, values in charge_filter.values.items():
            check_filter_values(report, (*here, "values", key), key, values, metric)


def check_filter_values(
    report: Report, path: Path, key: str, values: tuple[str, ...], metric: BillableMetric | None
) -> None:
    if not values:
        report.at(path, f"filter '{key}' needs at least one value (or '*' for any)")
        return
    check_repeated_values(report, path, key)
    if WILDCARD in values and len(values) > 1:
        report.at(path, f"'*' means any value of '{key}'; it cannot be combined with other values")
    if ALL_FILTER_VALUES in values:
        report.at(path, f"write '*' instead of {ALL_FILTER_VALUES}")
    if metric is None:
        return
    if key not in metric.filters:
        known = sorted(metric.filters)
        report.at(
            path,
            f"metric '{metric.code}' has no filter '{key}'"
            + (f" (filters: {', '.join(known)})" if known else " (it has no filters)"),
            suggest(key, known),
            key=True,
        )
        return
    allowed = metric.filters[key]
    for value in values:
        if value != WILDCARD and value not in allowed:
            report.at(
                (*path, value),
                f"'{value}' is not a value of filter '{key}' on metric '{metric.code}' "
                f"(allowed: {', '.join(allowed)}, or '*')",
                suggest(value, allowed),
            )


def check_charge(
    report: Report,
    path: Path,
    charge: Charge,
    metric: BillableMetric | None,
    currency: str | None,
    tax_exists: Callable[[Path, str], None],
) -> None:
    """One plan charge against its metric (API_NOTES §4.3)."""
    check_properties(report, (*path, "properties"), charge.properties)
    check_filters(report, (*path, "filters"), charge.filters, metric)
    check_unit_prices(report, (*path, "properties"), charge.properties, charge.per)
    check_filter_units(report, (*path, "filters"), charge.filters, charge.per)
    if currency is not None:
        check_cents(report, (*path, "min_amount"), charge.min_amount, currency)
    for index, code in enumerate(charge.tax_codes):
        tax_exists((*path, "tax_codes", index), code)
    if not charge.invoiceable and not charge.pay_in_advance:
        report.at(
            (*path, "invoiceable"), "invoiceable: false is only allowed with pay_in_advance: true"
        )
    if charge.pay_in_advance and charge.min_amount != 0:
        report.at((*path, "min_amount"), "a pay_in_advance charge cannot have a min_amount")
    if charge.pay_in_advance and charge.model == "volume":
        report.at((*path, "pay_in_advance"), "a volume charge cannot be pay_in_advance")
    if metric is None:
        return
    aggregation = metric.aggregation
    if charge.pay_in_advance and aggregation not in PAY_IN_ADVANCE_AGGREGATIONS:
        report.at(
            (*path, "pay_in_advance"),
            f"pay_in_advance needs a count, sum, unique_count or custom metric; "
            f"'{metric.code}' aggregates by {aggregation}",
        )
    if charge.model == "dynamic" and aggregation != "sum":
        report.at(
            (*path, "model"),
            f"the dynamic model needs a sum metric; '{metric.code}' aggregates by {aggregation}",
        )
    if charge.model in ("percentage", "graduated_percentage") and aggregation == "latest":
        report.at((*path, "model"), f"the {charge.model} model cannot price a latest metric")
    if charge.prorated:
        _check_prorated(report, (*path, "prorated"), charge, metric)


def _check_prorated(report: Report, path: Path, charge: Charge, metric: BillableMetric) -> None:
    if metric.aggregation == "weighted_sum":
        report.at(path, "a weighted_sum metric cannot be prorated")
    elif not metric.recurring:
        report.at(
            path, f"only charges on a recurring metric can be prorated; '{metric.code}' is not"
        )
    elif charge.pay_in_advance and charge.model != "standard":
        report.at(path, "a prorated pay_in_advance charge must use the standard model")
    elif not charge.pay_in_advance and charge.model not in ("standard", "volume", "graduated"):
        report.at(path, "a prorated charge must use the standard, volume or graduated model")
