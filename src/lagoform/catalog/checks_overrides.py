"""Cross-checks of a subscription's negotiated prices (``overrides:`` in overrides/<tenant>.yaml).

An override lists only what it changes: a plan-level field, or per charge its properties,
minimum, display name, taxes, and the filters it negotiates (matched to the base charge's
filters by their values map; every other filter follows the catalog). So an override must name
filters the base charge has (Lago cannot add one through an override), must set something, and
should differ from the catalog somewhere: an override that restates the catalog negotiates
nothing and only pins this tenant to today's list price.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lagoform.catalog.checks_charge import (
    Report,
    check_cents,
    check_filters,
    check_properties,
    fallback_bills,
    filter_label,
)
from lagoform.catalog.diagnose import suggest
from lagoform.catalog.models_charge import WILDCARD, Charge, ChargeFilter
from lagoform.catalog.models_metric import BillableMetric
from lagoform.catalog.models_plan import BillingPlan
from lagoform.catalog.models_tenant import ChargeOverride, PlanOverrides

if TYPE_CHECKING:
    from lagoform.catalog.checks import Refs

Path = tuple[object, ...]
PLAN_FIELDS = ("amount", "name", "invoice_display_name", "description", "trial_days", "tax_codes")
CHARGE_FIELDS = ("properties", "filters", "min_amount", "invoice_display_name", "tax_codes")
_REMOVE_OR_SET = "remove it, or set the negotiated value"


def check_overrides(
    report: Report,
    path: Path,
    overrides: PlanOverrides,
    plan: BillingPlan | None,
    metrics: dict[str, BillableMetric],
    refs: Refs,
) -> None:
    for name in ("reason", "approval"):
        if not getattr(overrides, name).strip():
            report.at(
                (*path, name),
                f"overrides need a non-empty {name}",
                "every override needs a reason and an approval reference (MSA or ticket id)",
            )
    for index, code in enumerate(overrides.tax_codes or ()):
        refs.check(report, (*path, "tax_codes", index), "tax", code)
    if plan is None:
        return
    if overrides.amount is not None and overrides.amount.currency != plan.currency:
        report.at(
            (*path, "amount"),
            f"expected an amount in the plan's currency {plan.currency}, "
            f"got {overrides.amount.currency}",
        )
    codes = [c.code for c in plan.charges]
    for code, override in overrides.charges.items():
        here = (*path, "charges", code)
        charge = plan.charge(code)
        if charge is None:
            report.at(
                here,
                f"plan '{plan.code}' has no charge '{code}'"
                + (f" (charges: {', '.join(codes)})" if codes else ""),
                suggest(code, codes),
                key=True,
            )
            continue
        _check_charge_override(report, here, override, charge, plan, metrics.get(charge.metric))
        for index, tax_code in enumerate(override.tax_codes or ()):
            refs.check(report, (*here, "tax_codes", index), "tax", tax_code)
    _check_negotiates_something(report, path, overrides, plan)
    _check_double_fallback(report, path, overrides, plan)


def _check_charge_override(
    report: Report,
    here: Path,
    override: ChargeOverride,
    charge: Charge,
    plan: BillingPlan,
    metric: BillableMetric | None,
) -> None:
    if override.properties is not None:
        check_properties(report, (*here, "properties"), override.properties)
    if override.filters is not None:
        check_filters(report, (*here, "filters"), override.filters, metric)
        if not override.filters:
            report.at(
                (*here, "filters"),
                "an empty filters list changes nothing: an override lists the filters it "
                "negotiates, every other filter follows the catalog",
                "remove it, or list the filters whose prices differ for this tenant",
                key=True,
            )
        _check_filters_exist(report, (*here, "filters"), override.filters, charge, plan, metric)
    if override.min_amount is not None:
        check_cents(report, (*here, "min_amount"), override.min_amount, plan.currency)
        if charge.pay_in_advance and override.min_amount != 0:
            report.at((*here, "min_amount"), "a pay_in_advance charge cannot have a min_amount")
    if all(getattr(override, name) is None for name in CHARGE_FIELDS):
        report.at(
            here,
            f"the override of charge '{charge.code}' sets nothing",
            "set its properties, filters, min_amount, invoice_display_name or tax_codes, "
            "or remove it",
            key=True,
        )


def _check_filters_exist(
    report: Report,
    path: Path,
    filters: tuple[ChargeFilter, ...],
    charge: Charge,
    plan: BillingPlan,
    metric: BillableMetric | None,
) -> None:
    """Each negotiated filter must be one of the base charge's (by its values map)."""
    if metric is None:
        return
    base = {filter_label(f.values): f for f in charge.filters}
    for index, charge_filter in enumerate(filters):
        if not _known_values(charge_filter, metric):
            continue  # its unknown key or value is reported already
        label = filter_label(charge_filter.values)
        if label in base:
            continue
        way = (
            "add the filter to the plan's charge in the catalog at its list price, then "
            "negotiate its price here"
        )
        hint = suggest(label, base)
        report.at(
            (*path, index, "values"),
            f"charge '{charge.code}' of plan '{plan.code}' has no filter {label}: an override "
            "can only change the price of a filter the plan's charge has",
            f"{hint} Or {way}" if hint else way,
        )


def _known_values(charge_filter: ChargeFilter, metric: BillableMetric) -> bool:
    return all(
        key in metric.filters and all(v == WILDCARD or v in metric.filters[key] for v in values)
        for key, values in charge_filter.values.items()
    )


def _charge_restates(override: ChargeOverride, charge: Charge) -> bool:
    """Every value the charge override sets equals the base charge's (it sets something)."""
    stated = [name for name in CHARGE_FIELDS if getattr(override, name) is not None]
    if not stated or override.filters == ():
        return False
    for name in stated:
        mine, base = getattr(override, name), getattr(charge, name)
        if name == "filters":
            by_values = {filter_label(f.values): f for f in base}
            if any(by_values.get(filter_label(f.values)) != f for f in mine):
                return False
        elif name == "tax_codes":
            if set(mine) != set(base):
                return False
        elif mine != base:
            return False
    return True


def _plan_restates(overrides: PlanOverrides, plan: BillingPlan) -> bool | None:
    """None when the plan-level fields set nothing, else whether all equal the plan's."""
    stated = [name for name in PLAN_FIELDS if getattr(overrides, name) is not None]
    if not stated:
        return None
    same = set(overrides.tax_codes or ()) == set(plan.tax_codes)
    return all(
        same if name == "tax_codes" else getattr(overrides, name) == getattr(plan, name)
        for name in stated
    )


def _check_negotiates_something(
    report: Report, path: Path, overrides: PlanOverrides, plan: BillingPlan
) -> None:
    charges = {
        code: _charge_restates(override, charge)
        for code, override in overrides.charges.items()
        if (charge := plan.charge(code)) is not None
    }
    plan_level = _plan_restates(overrides, plan)
    if plan_level is None and not charges:
        return  # no prices: "managed, billed at catalog prices" (docs/overrides.md)
    if plan_level is not False and all(charges.values()) and len(charges) == len(overrides.charges):
        report.at(
            path,
            f"these overrides negotiate nothing: every value they set equals plan "
            f"'{plan.code}', so they only pin this tenant to today's catalog prices",
            "remove the values to bill at catalog prices, keeping reason and approval, "
            "or set the negotiated prices",
            key=True,
            warning=True,
        )
        return
    for code, restates in charges.items():
        if restates:
            report.at(
                (*path, "charges", code),
                f"the override of charge '{code}' negotiates nothing: every value it sets "
                f"equals plan '{plan.code}'",
                f"{_REMOVE_OR_SET}; without it the charge follows the catalog",
                key=True,
                warning=True,
            )


def _check_double_fallback(
    report: Report, path: Path, overrides: PlanOverrides, plan: BillingPlan
) -> None:
    """An override that turns a charge's fallback price non-zero while another charge on the
    same metric bills its fallback too: events matching no filter are billed twice, for this
    tenant only (the same pair on the plan itself is reported at the plan)."""
    for code, override in overrides.charges.items():
        charge = plan.charge(code)
        if charge is None or override.properties is None:
            continue
        if not fallback_bills(override.properties) or fallback_bills(charge.properties):
            continue
        for other in plan.charges:
            if other.code == code or other.metric != charge.metric:
                continue
            mine = overrides.charges.get(other.code)
            props: Any = mine.properties if mine and mine.properties else other.properties
            if fallback_bills(props):
                report.at(
                    (*path, "charges", code, "properties"),
                    f"with this price, charges '{code}' and '{other.code}' both bill metric "
                    f"'{charge.metric}' at a non-zero fallback price for this tenant: an event "
                    "that matches none of their filters is billed twice",
                    "keep this charge's own price at 0 and negotiate its filters instead, or "
                    f"override charge '{other.code}' to 0",
                    key=True,
                )
                break
