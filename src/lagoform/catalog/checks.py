"""Cross-checks over the whole project: references, uniqueness, and Lago's offline rules.

Runs after every object validated on its own. Codes are "declared" if written at all (even in
an object that failed validation), so one mistake is not reported again as a missing code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from lagoform.catalog.checks_charge import (
    Path,
    Report,
    check_charge,
    check_repeated_values,
    fallback_bills,
)
from lagoform.catalog.checks_schedule import check_scheduled
from lagoform.catalog.checks_tenant import check_tenants, check_usage_mappings
from lagoform.catalog.diagnose import piece, suggest, walk
from lagoform.catalog.models_charge import Charge
from lagoform.catalog.models_metric import BillableMetric, Tax
from lagoform.catalog.models_plan import AddOn, BillingPlan, Coupon
from lagoform.catalog.money import Money, decimal_text
from lagoform.catalog.yamlsrc import LocDict
from lagoform.errors import Problem
from lagoform.model.filters import ALL_FILTER_VALUES

if TYPE_CHECKING:
    from lagoform.catalog.project import Item, Project

KIND_NAMES = {
    "tax": "tax",
    "billable_metric": "metric",
    "add_on": "add-on",
    "plan": "plan",
    "price_table": "price table",
    "coupon": "coupon",
    "usage_mapping": "usage mapping",
}
__all__ = ["Refs", "check_project"]


class Refs:
    """Codes declared per kind, and a way to report an unknown one with a suggestion."""

    def __init__(self, items: Iterable[Item]) -> None:
        self.declared: dict[str, set[str]] = {}
        for item in items:
            if item.code is not None:
                self.declared.setdefault(item.kind, set()).add(item.code)

    def check(self, report: Report, path: Path, kind: str, code: str) -> None:
        known = self.declared.get(kind, set())
        if code not in known:
            report.at(path, f"unknown {KIND_NAMES[kind]} '{code}'", suggest(code, known))

    def checker(self, report: Report, kind: str) -> Callable[[Path, str], None]:
        return lambda path, code: self.check(report, path, kind, code)


def check_project(project: Project, removals: list[LocDict]) -> list[Problem]:
    problems: list[Problem] = []
    catalog_items = [i for i in project.items if i.kind != "tenant"]
    refs = Refs(catalog_items)
    _check_unique(catalog_items, problems)
    _check_removals(project, removals, refs, problems)
    metrics = {m.code: m for m in project.catalog.billable_metrics}
    for item in catalog_items:
        if item.model is None:
            if item.kind == "plan":
                _check_broken_plan(Report(item.raw, problems), metrics, refs)
            continue
        report = Report(item.raw, problems)
        match item.model:
            case Tax():
                if item.model.rate < 0:
                    report.at(
                        ("rate",), f"rate must be 0 or more, got {decimal_text(item.model.rate)}"
                    )
            case BillableMetric():
                _check_metric(report, item.model)
            case BillingPlan():
                _check_plan(report, item.model, metrics, refs)
            case AddOn():
                if item.model.amount.amount <= 0:
                    report.at(
                        ("amount",), f"an add-on amount must be above 0, got {item.model.amount}"
                    )
                for index, code in enumerate(item.model.tax_codes):
                    refs.check(report, ("tax_codes", index), "tax", code)
            case Coupon():
                _check_coupon(report, item.model, refs)
    check_usage_mappings(project, metrics, refs, problems)
    check_tenants(project, metrics, refs, problems)
    return problems


def _check_unique(items: list[Item], problems: list[Problem]) -> None:
    first: dict[tuple[str, str], Item] = {}
    for item in items:
        if item.code is None:
            continue
        key = (item.kind, item.code)
        if key in first:
            field = "record_type" if item.kind == "usage_mapping" else "code"
            where = first[key].raw.value_loc(field)
            Report(item.raw, problems).at(
                (field,),
                f"duplicate {KIND_NAMES[item.kind]} {field} '{item.code}' "
                f"(first defined at {where})",
            )
        else:
            first[key] = item


def _check_removals(
    project: Project, removals: list[LocDict], refs: Refs, problems: list[Problem]
) -> None:
    kinds = {
        "plans": "plan",
        "billable_metrics": "billable_metric",
        "add_ons": "add_on",
        "coupons": "coupon",
        "taxes": "tax",
    }
    for raw in removals:
        report = Report(raw, problems)
        for key, kind in kinds.items():
            codes = raw.get(key)
            for index, code in enumerate(codes if isinstance(codes, list) else []):
                if isinstance(code, str) and code in refs.declared.get(kind, set()):
                    report.at(
                        (key, index),
                        f"{KIND_NAMES[kind]} '{code}' is both defined and listed under remove",
                        "delete its definition, or take it off the remove list",
                    )


def _check_metric(report: Report, metric: BillableMetric) -> None:
    aggregation = metric.aggregation
    if aggregation in ("count", "custom"):
        if metric.field_name is not None and aggregation == "count":
            report.at(("field_name",), "a count metric takes no field_name (Lago ignores it)")
    elif not metric.field_name:
        report.at(
            ("aggregation",),
            f"a {aggregation} metric needs field_name (the event property it aggregates)",
        )
    if metric.recurring and aggregation in ("count", "max", "latest"):
        report.at(("recurring",), f"a {aggregation} metric cannot be recurring")
    if metric.weighted_interval is not None and aggregation != "weighted_sum":
        report.at(("weighted_interval",), "weighted_interval only applies to weighted_sum metrics")
    for key, values in metric.filters.items():
        path = ("filters", key)
        if not values:
            report.at(path, f"filter '{key}' needs at least one value")
        for value in sorted(set(values)):
            if value in ("*", ALL_FILTER_VALUES):
                report.at((*path, value), f"'{value}' is reserved (it means any value)")
        check_repeated_values(report, path, key)


def _check_plan(
    report: Report, plan: BillingPlan, metrics: dict[str, BillableMetric], refs: Refs
) -> None:
    currency = plan.currency
    tax = refs.checker(report, "tax")
    for index, code in enumerate(plan.tax_codes):
        tax(("tax_codes", index), code)
    if plan.bill_charges_monthly and plan.interval not in ("yearly", "semiannual"):
        report.at(
            ("bill_charges_monthly",),
            f"bill_charges_monthly only applies to yearly or semiannual plans, not {plan.interval}",
        )
    if plan.trial_days is not None and plan.trial_days < 0:
        report.at(("trial_days",), "trial_days must be 0 or more")
    for key, value in plan.metadata.items():
        if len(key) > 100:
            report.at(("metadata", key), "plan metadata keys are at most 100 characters", key=True)
        if value is not None and len(value) > 255:
            report.at(("metadata", key), "plan metadata values are at most 255 characters")
    commitment = plan.minimum_commitment
    if commitment is not None:
        _same_currency(
            report, ("minimum_commitment", "amount"), commitment.amount.currency, currency
        )
        for index, code in enumerate(commitment.tax_codes):
            tax(("minimum_commitment", "tax_codes", index), code)
    seen_thresholds: set[tuple[Any, bool]] = set()
    recurring = 0
    for index, threshold in enumerate(plan.usage_thresholds):
        path = ("usage_thresholds", index)
        _same_currency(report, (*path, "amount"), threshold.amount.currency, currency)
        identity = (threshold.amount.amount, threshold.recurring)
        if identity in seen_thresholds:
            report.at(path, f"usage threshold {threshold.amount} is listed twice")
        seen_thresholds.add(identity)
        recurring += threshold.recurring
        if threshold.recurring and recurring > 1:
            report.at((*path, "recurring"), "a plan can have at most one recurring usage threshold")
    codes: dict[str, int] = {}
    for index, charge in enumerate(plan.charges):
        path = ("charges", index)
        if charge.code in codes:
            report.at(
                (*path, "code") if "code" in _raw_at(report, path) else (*path, "metric"),
                f"duplicate charge code '{charge.code}' in plan '{plan.code}' "
                f"(charge #{codes[charge.code] + 1} has it)",
                "give each charge on the same metric its own code",
            )
        codes.setdefault(charge.code, index)
        if charge.metric not in metrics:
            refs.check(report, (*path, "metric"), "billable_metric", charge.metric)
        check_charge(report, path, charge, metrics.get(charge.metric), currency, tax)
    _check_double_fallback(report, plan)
    check_scheduled(report, plan)


def _check_double_fallback(report: Report, plan: BillingPlan) -> None:
    """Lago bills every charge of a plan for each event of its metric: when two charges on one
    metric both price the events matching none of their filters above zero, such an event is
    billed twice."""
    billing: dict[str, int] = {}
    for index, charge in enumerate(plan.charges):
        if not fallback_bills(charge.properties):
            continue
        first = billing.setdefault(charge.metric, index)
        other = plan.charges[first]
        if first == index or other.code == charge.code:
            continue  # one charge, or a duplicate code (reported as such)
        path = ("charges", index)
        where = report.where(("charges", first))
        report.at(
            (*path, "properties") if "properties" in _raw_at(report, path) else (*path, "metric"),
            f"charges '{other.code}' (at {where}) and '{charge.code}' both bill metric "
            f"'{charge.metric}' at a non-zero fallback price: an event that matches none of "
            "their filters is billed twice",
            "price one charge's own properties at 0 so it bills only its filters, "
            "or make the two charges one charge with filters",
            key=True,
        )


def _check_broken_plan(report: Report, metrics: dict[str, BillableMetric], refs: Refs) -> None:
    """Check the valid charges of a plan that failed validation as a whole."""
    money = piece(Money, report.raw.get("amount"))
    charges = report.raw.get("charges")
    for index, raw in enumerate(charges if isinstance(charges, list) else []):
        charge = piece(Charge, raw)
        if charge is None:
            continue
        path = ("charges", index)
        if charge.metric not in metrics:
            refs.check(report, (*path, "metric"), "billable_metric", charge.metric)
        currency = money.currency if money is not None else None
        check_charge(
            report, path, charge, metrics.get(charge.metric), currency, refs.checker(report, "tax")
        )


def _raw_at(report: Report, path: Path) -> Any:
    _, value, _ = walk(report.raw, path, report.where(()))
    return value if isinstance(value, dict) else {}


def _same_currency(report: Report, path: Path, got: str, expected: str) -> None:
    if got != expected:
        report.at(path, f"expected an amount in the plan's currency {expected}, got {got}")


def _check_coupon(report: Report, coupon: Coupon, refs: Refs) -> None:
    if coupon.type == "percentage":
        if coupon.percentage_rate is None:
            report.at(("type",), "a percentage coupon needs percentage_rate")
        elif not 0 < coupon.percentage_rate <= 100:
            report.at(("percentage_rate",), "percentage_rate must be above 0 and at most 100")
        if coupon.amount is not None:
            report.at(("amount",), "a percentage coupon takes percentage_rate, not amount")
    else:
        if coupon.amount is None:
            report.at(("type",), "a fixed_amount coupon needs amount (e.g. 100 USD)")
        elif coupon.amount.amount <= 0:
            report.at(("amount",), "a coupon amount must be above 0")
        if coupon.percentage_rate is not None:
            report.at(
                ("percentage_rate",), "a fixed_amount coupon takes amount, not percentage_rate"
            )
    if coupon.frequency == "recurring":
        if coupon.frequency_duration is None or coupon.frequency_duration <= 0:
            report.at(("frequency",), "a recurring coupon needs frequency_duration above 0")
    elif coupon.frequency_duration is not None:
        report.at(("frequency_duration",), "frequency_duration only applies to recurring coupons")
    scope = coupon.applies_to
    if scope is None:
        return
    if scope.plans and scope.metrics:
        report.at(("applies_to",), "a coupon applies to plans or to metrics, not both")
    for index, code in enumerate(scope.plans):
        refs.check(report, ("applies_to", "plans", index), "plan", code)
    for index, code in enumerate(scope.metrics):
        refs.check(report, ("applies_to", "metrics", index), "billable_metric", code)
