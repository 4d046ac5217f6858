"""The route table: (method, path template) → handler, for every emulated Lago endpoint.

Explicit and greppable; PATCH is routed like PUT (Rails ``resources``). Anything unmatched is
Lago's catch-all 404 ``resource_not_found``.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from lagoform.sandbox import (
    coupons,
    customers,
    estimates,
    events,
    extras,
    invoice_preview,
    metrics,
    plan_charges,
    plans,
    subscription_charges,
    subscription_updates,
    subscriptions,
    taxes,
    usage,
    wallets,
)
from lagoform.sandbox.request import Handler

_TABLE: list[tuple[str, str, Handler]] = [
    ("POST", "/billable_metrics", metrics.create),
    ("POST", "/billable_metrics/evaluate_expression", metrics.evaluate_expression),
    ("GET", "/billable_metrics", metrics.index),
    ("GET", "/billable_metrics/{code}", metrics.show),
    ("PUT", "/billable_metrics/{code}", metrics.update),
    ("DELETE", "/billable_metrics/{code}", metrics.delete),
    ("POST", "/plans", plans.create),
    ("GET", "/plans", plans.index),
    ("GET", "/plans/{code}", plans.show),
    ("PUT", "/plans/{code}", plans.update),
    ("DELETE", "/plans/{code}", plans.delete),
    ("GET", "/plans/{code}/charges", plan_charges.index),
    ("POST", "/plans/{code}/charges", plan_charges.create),
    ("GET", "/plans/{code}/charges/{charge_code}", plan_charges.show),
    ("PUT", "/plans/{code}/charges/{charge_code}", plan_charges.update),
    ("DELETE", "/plans/{code}/charges/{charge_code}", plan_charges.delete),
    ("GET", "/plans/{code}/charges/{charge_code}/filters", plan_charges.filters_index),
    ("POST", "/plans/{code}/charges/{charge_code}/filters", plan_charges.filter_create),
    ("GET", "/plans/{code}/charges/{charge_code}/filters/{filter_id}", plan_charges.filter_show),
    ("PUT", "/plans/{code}/charges/{charge_code}/filters/{filter_id}", plan_charges.filter_update),
    (
        "DELETE",
        "/plans/{code}/charges/{charge_code}/filters/{filter_id}",
        plan_charges.filter_delete,
    ),
    ("POST", "/subscriptions", subscriptions.create),
    ("GET", "/subscriptions", subscriptions.index),
    ("GET", "/subscriptions/{external_id}", subscriptions.show),
    ("PUT", "/subscriptions/{external_id}", subscription_updates.update),
    ("DELETE", "/subscriptions/{external_id}", subscription_updates.delete),
    ("GET", "/subscriptions/{external_id}/charges", subscription_charges.index),
    ("GET", "/subscriptions/{external_id}/charges/{charge_code}", subscription_charges.show),
    ("PUT", "/subscriptions/{external_id}/charges/{charge_code}", subscription_charges.update),
    (
        "GET",
        "/subscriptions/{external_id}/charges/{charge_code}/filters",
        subscription_charges.filters_index,
    ),
    (
        "POST",
        "/subscriptions/{external_id}/charges/{charge_code}/filters",
        subscription_charges.filter_create,
    ),
    (
        "GET",
        "/subscriptions/{external_id}/charges/{charge_code}/filters/{filter_id}",
        subscription_charges.filter_show,
    ),
    (
        "PUT",
        "/subscriptions/{external_id}/charges/{charge_code}/filters/{filter_id}",
        subscription_charges.filter_update,
    ),
    (
        "DELETE",
        "/subscriptions/{external_id}/charges/{charge_code}/filters/{filter_id}",
        subscription_charges.filter_delete,
    ),
    ("POST", "/customers", customers.upsert),
    ("GET", "/customers", customers.index),
    ("GET", "/customers/{external_customer_id}", customers.show),
    ("DELETE", "/customers/{external_customer_id}", customers.delete),
    ("GET", "/customers/{external_customer_id}/subscriptions", subscriptions.index),
    ("GET", "/customers/{external_customer_id}/current_usage", usage.current_usage),
    ("GET", "/customers/{external_customer_id}/past_usage", usage.past_usage),
    ("GET", "/customers/{external_customer_id}/wallets", wallets.index),
    ("POST", "/customers/{external_customer_id}/wallets", wallets.create),
    ("GET", "/customers/{external_customer_id}/wallets/{code}", wallets.show),
    ("PUT", "/customers/{external_customer_id}/wallets/{code}", wallets.update),
    ("DELETE", "/customers/{external_customer_id}/wallets/{code}", wallets.delete),
    ("GET", "/customers/{external_customer_id}/applied_coupons", coupons.applied_coupons_index),
    (
        "DELETE",
        "/customers/{external_customer_id}/applied_coupons/{applied_coupon_id}",
        coupons.applied_coupon_delete,
    ),
    ("POST", "/wallets", wallets.create),
    ("GET", "/wallets", wallets.index),
    ("GET", "/wallets/{lago_id}", wallets.show),
    ("PUT", "/wallets/{lago_id}", wallets.update),
    ("DELETE", "/wallets/{lago_id}", wallets.delete),
    ("GET", "/wallets/{lago_id}/wallet_transactions", wallets.transactions_index),
    ("POST", "/wallet_transactions", wallets.transactions_create),
    ("GET", "/wallet_transactions/{lago_id}", wallets.transaction_show),
    ("POST", "/taxes", taxes.create),
    ("GET", "/taxes", taxes.index),
    ("GET", "/taxes/{code}", taxes.show),
    ("PUT", "/taxes/{code}", taxes.update),
    ("DELETE", "/taxes/{code}", taxes.delete),
    ("POST", "/add_ons", extras.add_on_create),
    ("GET", "/add_ons", extras.add_ons_index),
    ("GET", "/add_ons/{code}", extras.add_on_show),
    ("PUT", "/add_ons/{code}", extras.add_on_update),
    ("DELETE", "/add_ons/{code}", extras.add_on_delete),
    ("POST", "/coupons", coupons.coupon_create),
    ("GET", "/coupons", coupons.coupons_index),
    ("GET", "/coupons/{code}", coupons.coupon_show),
    ("PUT", "/coupons/{code}", coupons.coupon_update),
    ("DELETE", "/coupons/{code}", coupons.coupon_delete),
    ("POST", "/applied_coupons", coupons.applied_coupon_create),
    ("GET", "/applied_coupons", coupons.applied_coupons_index),
    ("POST", "/events", events.create),
    ("POST", "/events/batch", events.create_batch),
    ("POST", "/events/estimate_fees", estimates.estimate_fees),
    ("GET", "/events", events.index),
    ("GET", "/events/{transaction_id}", events.show),
    ("POST", "/invoices/preview", invoice_preview.preview),
]

PREFIX = "/api/v1"


def _compile(template: str) -> re.Pattern[str]:
    escaped = re.escape(PREFIX + template)
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", escaped) + "$")


_STATIC: dict[tuple[str, str], Handler] = {}
_DYNAMIC: list[tuple[str, re.Pattern[str], Handler]] = []
for _method, _template, _handler in _TABLE:
    if "{" in _template:
        _DYNAMIC.append((_method, _compile(_template), _handler))
    else:
        _STATIC[(_method, PREFIX + _template)] = _handler


def match(method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
    """Find the handler for a still percent-encoded path; static paths first so
    ``/events/batch`` never reads as an id. Parameters come back encoded."""
    verb = "PUT" if method == "PATCH" else method
    handler = _STATIC.get((verb, unquote(path)))
    if handler is not None:
        return handler, {}
    for route_method, pattern, candidate in _DYNAMIC:
        if route_method != verb:
            continue
        found = pattern.match(path)
        if found:
            return candidate, found.groupdict()
    return None
