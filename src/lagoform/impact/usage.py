"""Lago's usage of one period, and how it re-routes onto a charge's (possibly new) filters.

``parse_usage`` reads a ``customer_usage`` object (``GET /customers/{id}/current_usage`` or an
item of ``past_usage``): per charge (by the charge's ``lago_id``) the units, the events count,
Lago's amount, and the same per filter (values map; the charge's default price has none).

``route`` turns one charge's report into the calculator's ``ChargeUsage`` for a target
charge. Lago reports totals, not events, so re-routing is exact only where no event could
change filter: same filters; a removed filter whose events can only fall back to the default
price; an added filter that no reported event could match better. Anything else returns a
reason instead of a guess.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lagoform.impact.forms import PricedCharge, PricedFilter
from lagoform.model.filters import ALL_FILTER_VALUES, filter_key, filter_values
from lagoform.model.properties import GROUPING_KEYS
from lagoform.pricing import ChargeUsage, GroupUsage, PricingError, refines, to_decimal

__all__ = ["ChargeReport", "GroupReport", "PeriodUsage", "parse_usage", "route"]

ZERO = Decimal(0)
# Aggregations whose filter totals add up to the charge's total (so groups may be merged).
_ADDITIVE = frozenset({"sum_agg", "count_agg"})


@dataclass(frozen=True)
class GroupReport:
    key: str | None  # ``filter_key`` of the filter's values; None = the default price
    values: dict[str, list[str]] | None
    units: Decimal
    events_count: int
    amount_cents: int

    @property
    def used(self) -> bool:
        return self.units != ZERO or self.events_count != 0


@dataclass(frozen=True)
class ChargeReport:
    charge_lago_id: str
    metric: str
    aggregation: str
    units: Decimal
    events_count: int
    amount_cents: int
    groups: tuple[GroupReport, ...] = ()  # per filter; empty for a charge without filters
    grouped: bool = False  # Lago priced pricing_group_keys groups separately

    @property
    def used(self) -> bool:
        return self.units != ZERO or self.events_count != 0


@dataclass(frozen=True)
class PeriodUsage:
    period: str  # "current", "past-1" (the last closed period), "past-2", ...
    from_datetime: str | None
    to_datetime: str | None
    currency: str | None
    charges: tuple[ChargeReport, ...]

    def report(self, lago_id: str | None) -> ChargeReport | None:
        return next((c for c in self.charges if lago_id and c.charge_lago_id == lago_id), None)


def _int(value: Any, field: str) -> int:
    number = to_decimal(value, field=field)
    if number != number.to_integral_value():
        raise PricingError(f"{field}: expected a whole number, got {value!r}")
    return int(number)


def _group(raw: Mapping[str, Any]) -> GroupReport:
    values = raw.get("values")
    values_map = filter_values(values) if isinstance(values, Mapping) and values else None
    return GroupReport(
        key=filter_key(values_map) if values_map else None,
        values=values_map,
        units=to_decimal(raw.get("units"), field="filters[].units"),
        events_count=_int(raw.get("events_count"), "filters[].events_count"),
        amount_cents=_int(raw.get("amount_cents"), "filters[].amount_cents"),
    )


def _charge(raw: Mapping[str, Any]) -> ChargeReport:
    charge = raw.get("charge")
    charge = charge if isinstance(charge, Mapping) else {}
    metric = raw.get("billable_metric")
    metric = metric if isinstance(metric, Mapping) else {}
    return ChargeReport(
        charge_lago_id=str(charge.get("lago_id") or ""),
        metric=str(metric.get("code") or ""),
        aggregation=str(metric.get("aggregation_type") or ""),
        units=to_decimal(raw.get("units"), field="charges_usage[].units"),
        events_count=_int(raw.get("events_count"), "charges_usage[].events_count"),
        amount_cents=_int(raw.get("amount_cents"), "charges_usage[].amount_cents"),
        groups=tuple(_group(f) for f in raw.get("filters") or [] if isinstance(f, Mapping)),
        grouped=bool(raw.get("grouped_usage")),
    )


def parse_usage(raw: Mapping[str, Any], period: str) -> PeriodUsage:
    """One period of Lago usage; raises ``PricingError`` on a malformed amount or count."""
    items = raw.get("charges_usage") or []
    if not isinstance(items, Sequence) or isinstance(items, str):
        raise PricingError("customer_usage.charges_usage must be a list")
    return PeriodUsage(
        period=period,
        from_datetime=_text(raw.get("from_datetime")),
        to_datetime=_text(raw.get("to_datetime")),
        currency=_text(raw.get("currency")),
        charges=tuple(_charge(c) for c in items if isinstance(c, Mapping)),
    )


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


# -- re-routing onto a target charge's filters ------------------------------------------------


def _compatible(a: Mapping[str, list[str]], b: Mapping[str, list[str]]) -> bool:
    """Could one event match both values maps? (keys only one side names are unknown.)"""
    for key in set(a) & set(b):
        if ALL_FILTER_VALUES in a[key] or ALL_FILTER_VALUES in b[key]:
            continue
        if not set(a[key]) & set(b[key]):
            return False
    return True


def _destination(
    group: GroupReport, target: PricedCharge, added: Sequence[PricedFilter]
) -> str | Exception | None:
    """The target filter key (None = default) a reported group's events all land in."""
    if group.key is None or group.values is None:
        if added:
            return PricingError("a new filter may take events now billed at the default price")
        return None
    if target.filter(group.key) is not None:
        # Lago counts an event in every filter it matches but the ones it refines
        # (pricing.FilterRouter): a new filter an event of this one could match takes or shares
        # it — which totals cannot tell — unless this filter refines the new one.
        takers = [
            f.key
            for f in added
            if _compatible(f.values, group.values) and not refines(group.values, f.values)
        ]
        if takers:
            return PricingError(f"new filter {takers[0]} may count events of filter {group.key}")
        return group.key
    others = [f.key for f in target.filters if _compatible(f.values, group.values)]
    if others:
        return PricingError(f"events of removed filter {group.key} may now match {others[0]}")
    return None


def route(report: ChargeReport, source: PricedCharge, target: PricedCharge) -> ChargeUsage | str:
    """The usage ``report`` (of charge ``source``) as it would bill on ``target``, or why not.

    Percentage and dynamic charges get no per-event values here: the calculator then prices
    what totals allow and raises ``PricingError`` for the rest.
    """
    if report.grouped or any(k in target.properties for k in GROUPING_KEYS):
        return "pricing_group_keys: Lago prices each group separately (not modelled)"
    if not target.filters:
        if report.groups and report.aggregation not in _ADDITIVE and report.used:
            return f"filters of a {report.aggregation} metric cannot be merged from totals"
        return ChargeUsage.single(report.units, events_count=report.events_count)
    if not source.filters or not report.groups:
        if report.used:
            return "the charge gains filters: Lago's usage is not split by filter"
        return ChargeUsage({})
    source_keys = {f.key for f in source.filters}
    added = [f for f in target.filters if f.key not in source_keys]
    index = {f.key: i for i, f in enumerate(target.filters)}
    merged: dict[int | None, list[GroupReport]] = {}
    for group in report.groups:
        if not group.used:
            continue
        where = _destination(group, target, added)
        if isinstance(where, Exception):
            return f"filters change and Lago reports totals per filter: {where}"
        merged.setdefault(None if where is None else index[where], []).append(group)
    out: dict[int | None, GroupUsage] = {}
    for key, groups in merged.items():
        if len(groups) > 1 and report.aggregation not in _ADDITIVE:
            return f"filters of a {report.aggregation} metric cannot be merged from totals"
        out[key] = GroupUsage(
            sum((g.units for g in groups), ZERO), sum(g.events_count for g in groups)
        )
    return ChargeUsage(out)
