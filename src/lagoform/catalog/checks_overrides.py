"""Cross-checks of a subscription's negotiated prices (``overrides:`` in overrides/<tenant>.yaml).

An override lists only what it changes: a plan-level field, or per charge its prices (exact, or
a discount off list), minimum, display name, taxes, and the filters it negotiates (matched to
the base charge's filters by their values map; every other filter follows the catalog). So an
override must name filters the base charge has (Lago cannot add one to a subscription's copy),
a discount must cover at least one, discounted prices and prices written ``per:`` a unit must
convert to Lago's per-unit amount exactly (``checks_units``), an override must set something,
and it should differ from the catalog somewhere: one that restates the catalog negotiates
nothing and only pins the tenant to today's list prices (a warning).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from lagoform.catalog.checks_charge import (
    Report,
    check_cents,
    check_filter_values,
    check_properties,
    fallback_bills,
)
from lagoform.catalog.checks_units import check_unit_prices
from lagoform.catalog.diagnose import suggest
from lagoform.catalog.lago_overrides import same_price
from lagoform.catalog.models_charge import Charge, ChargeFilter, discounted
from lagoform.catalog.models_metric import BillableMetric
from lagoform.catalog.models_plan import BillingPlan
from lagoform.catalog.models_tenant import ChargeOverride, PlanOverrides

if TYPE_CHECKING:
    from lagoform.catalog.checks import Refs

Path = tuple[object, ...]
PLAN_FIELDS = ("amount", "name", "invoice_display_name", "description", "trial_days", "tax_codes")
CHARGE_FIELDS = (
    "properties",
    "discount",
    "filters",
    "min_amount",
    "invoice_display_name",
    "tax_codes",
)
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
    check_charge_override(report, here, override, charge, metric)
    if override.filters == ():
        report.at(
            (*here, "filters"),
            "an empty filters list changes nothing: an override lists the filters it "
            "negotiates, every other filter follows the catalog",
            "remove it, or list the filters whose prices differ for this tenant",
            key=True,
        )
    if override.min_amount is not None:
        check_cents(report, (*here, "min_amount"), override.min_amount, plan.currency)
        if charge.pay_in_advance and override.min_amount != 0:
            report.at((*here, "min_amount"), "a pay_in_advance charge cannot have a min_amount")
    if all(getattr(override, name) is None for name in CHARGE_FIELDS):
        report.at(
            here,
            f"the override of charge '{charge.code}' sets nothing",
            "set its properties, discount, filters, min_amount, invoice_display_name or "
            "tax_codes, or remove it",
            key=True,
        )


def _charge_restates(override: ChargeOverride, charge: Charge) -> bool:
    """Every value the charge override sets equals the base charge's (it sets something).
    Prices compare as Lago holds them (per single unit), whatever unit each is written in."""
    stated = [name for name in CHARGE_FIELDS if getattr(override, name) is not None]
    if not stated or override.filters == () or override.discount is not None:
        return False
    for name in stated:
        mine, base = getattr(override, name), getattr(charge, name)
        if name == "filters":
            listed = {_key(f.values): f for f in base}
            for entry in mine:
                same = listed.get(_key(entry.values))
                if same is None or entry.discount is not None or entry.properties is None:
                    return False
                theirs = same.per or charge.per
                alike = same_price(entry.properties, entry.per or theirs, same.properties, theirs)
                named = entry.invoice_display_name in (None, same.invoice_display_name)
                if not alike or not named:
                    return False
        elif name == "tax_codes":
            if set(mine) != set(base):
                return False
        elif name == "properties":
            if not same_price(mine, charge.per, base, charge.per):
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
            report.at(
                (*here, "values"),
                f"charge '{charge.code}' of the plan has no filter {_label(entry.values)}: an "
                "override prices the base charge's filters, it cannot add one",
                _closest(_label(entry.values), [_label(f.values) for f in charge.filters]),
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


def _closest(label: str, known: list[str]) -> str:
    hint = suggest(label, known) if known else None
    way = (
        "add the filter to the plan's charge in the catalog at its list price, then "
        "negotiate its price here"
    )
    return f"{hint} Or {way}" if hint else way


def _key(values: dict[str, tuple[str, ...]]) -> str:
    return ";".join(f"{k}={'|'.join(v)}" for k, v in sorted(values.items()))


def _label(values: dict[str, tuple[str, ...]]) -> str:
    return "{" + ", ".join(f"{k}: {'/'.join(v)}" for k, v in sorted(values.items())) + "}"
