"""Cross-checks for tenants (overrides/) and usage mappings (catalog ``usage_mappings``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lagoform.catalog.checks_charge import Report, check_filter_values
from lagoform.catalog.checks_overrides import check_overrides
from lagoform.catalog.diagnose import piece, suggest
from lagoform.catalog.models_charge import WILDCARD
from lagoform.catalog.models_metric import BillableMetric
from lagoform.catalog.models_plan import BillingPlan
from lagoform.catalog.models_tenant import Customer, Subscription, Tenant, Wallet
from lagoform.catalog.models_usage import UsageEventMapping, UsageMapping, is_record_path
from lagoform.catalog.money import decimal_text
from lagoform.errors import Problem

if TYPE_CHECKING:
    from lagoform.catalog.checks import Refs
    from lagoform.catalog.project import Project

MAX_CUSTOMER_METADATA = 5
_DEFAULT_FILLS = "a default fills a property read from the record with a $path, when it is missing"


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
                    _check_event_value(report, (*path, "properties", key), key, value, metric)
            _check_defaults(report, path, event, mapping.defaults, metric)
        _check_unused_defaults(report, mapping)


def _check_event_value(
    report: Report, path: tuple[object, ...], key: str, value: object, metric: BillableMetric
) -> None:
    """A constant an event carries for a filter key: one of the filter's values."""
    text = value if isinstance(value, str) else str(value)
    if text == WILDCARD:
        report.at(
            path,
            f"an event carries one value of '{key}'; '*' (any value) only belongs in a "
            "charge filter",
        )
        return
    check_filter_values(report, path, key, (text,), metric)


def _check_defaults(
    report: Report,
    path: tuple[object, ...],
    event: UsageEventMapping,
    shared: dict[str, object],
    metric: BillableMetric,
) -> None:
    """Each default fills a property the event reads from the record, with a value the
    metric's filter allows (the event's own default wins over the mapping's)."""
    read = [name for name, value in event.properties.items() if is_record_path(value)]
    for key, value in event.defaults.items():
        here = (*path, "defaults", key)
        if key not in read:
            report.at(
                here,
                f"this event reads no property '{key}' from the record"
                + (f" (it reads: {', '.join(read)})" if read else ""),
                suggest(key, read) or _DEFAULT_FILLS,
                key=True,
            )
        elif key in metric.filters:
            _check_event_value(report, here, key, value, metric)
    for key, constant in shared.items():
        if key in read and key not in event.defaults and key in metric.filters:
            _check_event_value(report, ("defaults", key), key, constant, metric)


def _check_unused_defaults(report: Report, mapping: UsageMapping) -> None:
    read = {
        name
        for event in mapping.events
        for name, value in event.properties.items()
        if is_record_path(value)
    }
    for key in mapping.defaults:
        if key not in read:
            report.at(
                ("defaults", key),
                f"no event of this mapping reads property '{key}' from the record",
                suggest(key, read) or _DEFAULT_FILLS,
                key=True,
            )


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
        currency = _Currency(customer)
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
            else:
                currency.check(report, (*path, "plan"), sub, plan)
            if sub.overrides is not None:
                check_overrides(report, (*path, "overrides"), sub.overrides, plan, metrics, refs)
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


class _Currency:
    """A customer is billed in one currency: its own, or else the first plan's it subscribes
    to (Lago sets it then, API_NOTES §5.2, and refuses a subscription in another currency with
    ``currencies_does_not_match``; multi-currency Lago accepts it but invoices it apart)."""

    def __init__(self, customer: Customer | None) -> None:
        self.currency = customer.currency if customer is not None else None
        self.written = self.currency is not None
        self.first: Subscription | None = None

    def check(
        self, report: Report, path: tuple[object, ...], sub: Subscription, plan: BillingPlan
    ) -> None:
        if self.currency is None:
            self.currency, self.first = plan.currency, sub
            return
        if plan.currency == self.currency:
            return
        if self.written:
            why = f"the customer's currency is {self.currency}"
            way = f"subscribe it to a plan priced in {self.currency}, or change customer.currency"
        else:
            first = self.first.external_id if self.first else "?"
            why = f"the customer is billed in {self.currency} (subscription '{first}' sets it)"
            way = "set customer.currency and put every subscription on a plan in that currency"
        report.at(
            path,
            f"plan '{plan.code}' bills in {plan.currency}, but {why}",
            way,
        )
