"""Cross-checks for tenants (overrides/) and usage mappings (catalog ``usage_mappings``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lagoform.catalog.checks_charge import (
    Report,
    check_cents,
    check_filter_values,
)
from lagoform.catalog.checks_overrides import check_charge_override
from lagoform.catalog.diagnose import piece, suggest
from lagoform.catalog.models_metric import BillableMetric
from lagoform.catalog.models_plan import BillingPlan
from lagoform.catalog.models_tenant import Customer, PlanOverrides, Subscription, Tenant, Wallet
from lagoform.catalog.models_usage import is_record_path
from lagoform.catalog.money import decimal_text
from lagoform.errors import Problem

if TYPE_CHECKING:
    from lagoform.catalog.checks import Refs
    from lagoform.catalog.project import Project

MAX_CUSTOMER_METADATA = 5


def check_usage_mappings(
    project: Project, metrics: dict[str, BillableMetric], refs: Refs, problems: list[Problem]
) -> None:
    for item in project.items:
        if item.kind != "usage_mapping" or item.model is None:
            continue
        mapping = item.model
        report = Report(item.raw, problems)
        if mapping.subscription is None and mapping.tenant is None:
            report.at(
                ("record_type",),
                "a usage mapping needs `subscription` or `tenant` (a record path such as $tenant)",
            )
        keys: dict[str, int] = {}
        for index, event in enumerate(mapping.events):
            path = ("events", index)
            if event.key in keys:
                report.at((*path, "key"), f"duplicate event key '{event.key}' in this mapping")
            keys.setdefault(event.key, index)
            metric = metrics.get(event.metric)
            if metric is None:
                refs.check(report, (*path, "metric"), "billable_metric", event.metric)
                continue
            if metric.aggregation == "count" and event.quantity is not None:
                report.at(
                    (*path, "quantity"),
                    f"'{metric.code}' is a count metric: it has no quantity; use repeat",
                )
            field = metric.field_name
            needs_value = metric.aggregation not in ("count", "custom") and field
            if needs_value and event.quantity is None and field not in event.properties:
                report.at(
                    (*path, "metric"),
                    f"metric '{metric.code}' aggregates '{field}': set quantity (a record path) "
                    f"or properties.{field}",
                )
            for key, value in event.properties.items():
                if key in metric.filters and not is_record_path(value):
                    text = value if isinstance(value, str) else str(value)
                    check_filter_values(report, (*path, "properties", key), key, (text,), metric)


def check_tenants(
    project: Project, metrics: dict[str, BillableMetric], refs: Refs, problems: list[Problem]
) -> None:
    owners: dict[str, str] = {}
    for item in project.items:
        if item.kind != "tenant" or item.code is None:
            continue
        tenant_id = item.code
        report = Report(item.raw, problems)
        parts = _parts(item.model, item.raw)
        customer, subscriptions, wallets = parts
        if customer is not None:
            if customer.external_id is not None and customer.external_id != tenant_id:
                report.at(
                    ("customer", "external_id"),
                    f"this file describes tenant '{tenant_id}' (its file name), not "
                    f"'{customer.external_id}'",
                    f"move it to overrides/{customer.external_id}.yaml",
                )
            _check_customer(report, customer, refs)
        targets = 0
        for index, sub in subscriptions:
            path = ("subscriptions", index)
            owner = owners.get(sub.external_id)
            if owner is not None:
                elsewhere = "this file" if owner == tenant_id else f"tenant '{owner}'"
                report.at(
                    (*path, "external_id"),
                    f"subscription '{sub.external_id}' is already described by {elsewhere}",
                )
            owners.setdefault(sub.external_id, tenant_id)
            targets += sub.usage_target
            if sub.usage_target and targets > 1:
                report.at(
                    (*path, "usage_target"), "a tenant can have only one usage_target subscription"
                )
            if sub.start_date and sub.end_date and sub.end_date <= sub.start_date:
                report.at((*path, "end_date"), "end_date must be after start_date")
            plan = project.catalog.plan(sub.plan)
            if plan is None:
                refs.check(report, (*path, "plan"), "plan", sub.plan)
            if sub.overrides is not None:
                _check_overrides(report, (*path, "overrides"), sub.overrides, plan, metrics, refs)
        codes: set[str] = set()
        for index, wallet in wallets:
            path = ("wallets", index)
            if wallet.code in codes:
                report.at((*path, "code"), f"duplicate wallet code '{wallet.code}'")
            codes.add(wallet.code)
            if customer is not None and customer.currency and wallet.currency != customer.currency:
                report.at(
                    (*path, "currency"),
                    f"a wallet must be in the customer's currency {customer.currency}, "
                    f"got {wallet.currency}",
                )
            if wallet.rate_amount <= 0:
                report.at((*path, "rate_amount"), "rate_amount must be above 0")
            for name in ("paid_credits", "granted_credits"):
                value = getattr(wallet, name)
                if value is not None and value < 0:
                    report.at((*path, name), f"{name} must be 0 or more, got {decimal_text(value)}")
            if wallet.priority is not None and not 1 <= wallet.priority <= 50:
                report.at((*path, "priority"), "priority must be between 1 and 50")


def _parts(
    tenant: Tenant | None, raw: Any
) -> tuple[Customer | None, list[tuple[int, Subscription]], list[tuple[int, Wallet]]]:
    """The tenant's valid parts, even when the file as a whole did not validate."""
    if tenant is not None:
        return (
            tenant.customer,
            list(enumerate(tenant.subscriptions)),
            list(enumerate(tenant.wallets)),
        )
    customer = piece(Customer, raw.get("customer"))
    subscriptions = []
    for index, sub_raw in enumerate(_list(raw.get("subscriptions"))):
        sub = piece(Subscription, sub_raw)
        if sub is not None:
            subscriptions.append((index, sub))
    wallets = []
    for index, wallet_raw in enumerate(_list(raw.get("wallets"))):
        wallet = piece(Wallet, wallet_raw)
        if wallet is not None:
            wallets.append((index, wallet))
    return customer, subscriptions, wallets


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _check_customer(report: Report, customer: Customer, refs: Refs) -> None:
    if len(customer.metadata) > MAX_CUSTOMER_METADATA:
        report.at(
            ("customer", "metadata"),
            f"Lago keeps at most {MAX_CUSTOMER_METADATA} metadata entries per customer, "
            f"got {len(customer.metadata)}",
            key=True,
        )
    for key, value in customer.metadata.items():
        if len(key) > 20:
            report.at(
                ("customer", "metadata", key),
                f"customer metadata keys are at most 20 characters, '{key}' has {len(key)}",
                key=True,
            )
        if len(value) > 100:
            report.at(
                ("customer", "metadata", key),
                f"customer metadata values are at most 100 characters, got {len(value)}",
            )
    for index, code in enumerate(customer.tax_codes):
        refs.check(report, ("customer", "tax_codes", index), "tax", code)


def _check_overrides(
    report: Report,
    path: tuple[object, ...],
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
        metric = metrics.get(charge.metric)
        check_charge_override(report, here, override, charge, metric)
        if override.min_amount is not None:
            check_cents(report, (*here, "min_amount"), override.min_amount, plan.currency)
            if charge.pay_in_advance and override.min_amount != 0:
                report.at((*here, "min_amount"), "a pay_in_advance charge cannot have a min_amount")
        for index, tax_code in enumerate(override.tax_codes or ()):
            refs.check(report, (*here, "tax_codes", index), "tax", tax_code)
