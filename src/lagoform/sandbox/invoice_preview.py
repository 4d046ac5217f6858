"""``POST /invoices/preview``: what Lago would invoice next, computed with lagoform.pricing.

Two of Lago's four contexts (invoices/preview/subscriptions_service.rb):

* **projection** — ``customer.external_id`` and ``subscriptions.external_ids`` of active
  subscriptions: the invoice of their next billing day (in arrears: the current period's
  subscription fee; in advance: the next period's), with the current charges period's usage,
  fixed charges and minimum-commitment top-up (``invoice_fees``);
* **proposal** — a ``plan_code`` for a new subscription (``subscription_at``, ``billing_time``):
  its first invoice, without usage.

Then taxes (``pricing.taxes_cents``) and the customer's prepaid wallet credits. Every amount
comes from lagoform.pricing. What the sandbox cannot compute answers 501
``not_supported_by_sandbox`` with the reason: termination and plan-change previews, coupons,
a downgrade waiting for the next period, a pay-in-advance plan's minimum commitment, prorated
fixed charges, wallets limited to fee types or metrics.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from lagoform import pricing
from lagoform.sandbox import customers, fees, invoice_fees, subscriptions
from lagoform.sandbox.api_errors import (
    ApiError,
    feature_unavailable,
    invalid,
    not_allowed,
    not_found,
)
from lagoform.sandbox.estimates import not_supported
from lagoform.sandbox.request import Request
from lagoform.sandbox.state import Record, State, iso, iso_date, parse_iso

DAY = 86400


def _bad_request(error: str) -> ApiError:
    return ApiError(400, {"status": 400, "error": error})


def _prepaid_credits(state: State, customer: Record, currency: str, total: int) -> int:
    """Active wallets with a positive balance pay the invoice in priority then age order
    (credits/allocate_prepaid_credits_by_wallets_service.rb), each up to its balance."""
    if customer["lago_id"] is None:
        return 0
    wallets = sorted(
        (
            w
            for w in state.wallets.values()
            if w["customer_id"] == customer["lago_id"]
            and w["status"] == "active"
            and w["currency"] == currency
        ),
        key=lambda w: (w["priority"], w["created_at"]),
    )
    paid = 0
    for wallet in wallets:
        if wallet["applies_to"].get("fee_types") or wallet["applies_to"].get(
            "billable_metric_codes"
        ):
            raise not_supported("wallets limited to fee types or metrics are not previewed")
        balance = pricing.to_cents(
            Decimal(wallet["credits"]) * Decimal(wallet["rate_amount"]), currency=currency
        )
        paid += max(0, min(balance, total - paid))
    return paid


def _invoice(
    req: Request,
    customer: Record,
    subs: list[Record],
    all_fees: list[fees.Fee],
    billing_at: float,
) -> Record:
    state = req.state
    currency = state.plans[subs[0]["plan_id"]]["amount_currency"]
    fees_cents = sum(f.amount_cents for f in all_fees)
    taxes_total, per_tax = pricing.taxes_cents(
        fees.taxed_line(f.amount_cents, f.taxes) for f in all_fees
    )
    total = fees_cents + taxes_total
    prepaid = _prepaid_credits(state, customer, currency, total) if total > 0 else 0
    term = customer["net_payment_term"] or 0
    issuing = iso_date(billing_at)
    applied = {t["code"]: t for f in all_fees for t in f.taxes}
    render_customer = customers.serialize(state, customer)
    now = iso(req.now)
    return {
        "invoice": {
            "lago_id": None,
            "billing_entity_code": "default",
            "sequential_id": None,
            "number": None,
            "purchase_order_number": None,
            "issuing_date": issuing,
            "payment_due_date": iso_date(billing_at + term * DAY),
            "net_payment_term": term,
            "invoice_type": "subscription",
            "status": "finalized",
            "payment_status": "pending",
            "payment_dispute_lost_at": None,
            "payment_overdue": False,
            "currency": currency,
            "fees_amount_cents": fees_cents,
            "taxes_amount_cents": taxes_total,
            "progressive_billing_credit_amount_cents": 0,
            "coupons_amount_cents": 0,
            "credit_notes_amount_cents": 0,
            "sub_total_excluding_taxes_amount_cents": fees_cents,
            "sub_total_including_taxes_amount_cents": total,
            "total_amount_cents": total - prepaid,
            "total_due_amount_cents": total - prepaid,
            "total_paid_amount_cents": 0,
            "total_offsetted_credit_note_amount_cents": 0,
            "prepaid_credit_amount_cents": prepaid,
            "prepaid_granted_credit_amount_cents": None,
            "prepaid_purchased_credit_amount_cents": None,
            "file_url": None,
            "xml_url": None,
            "web_url": None,
            "version_number": 4,
            "self_billed": False,
            "created_at": now,
            "updated_at": now,
            "voided_at": None,
            "customer": render_customer,
            "credits": [],
            "applied_taxes": [
                {
                    "lago_id": None,
                    "lago_invoice_id": None,
                    "lago_tax_id": tax["lago_id"],
                    "tax_name": tax["name"],
                    "tax_code": code,
                    "tax_rate": tax["rate"],
                    "tax_description": tax["description"],
                    "amount_cents": per_tax.get(code, 0),
                    "amount_currency": currency,
                    "fees_amount_cents": sum(
                        f.amount_cents for f in all_fees if any(t["code"] == code for t in f.taxes)
                    ),
                    "created_at": None,
                }
                for code, tax in applied.items()
            ],
            "subscriptions": [
                subscriptions.serialize(state, s, req.now, customer=customer) for s in subs
            ],
            "fees": [fees.render(f) for f in all_fees],
        }
    }


def _projection_fees(req: Request, sub: Record, customer: Record) -> tuple[list[fees.Fee], float]:
    state = req.state
    plan = state.plans[sub["plan_id"]]
    full_start, full_end = invoice_fees.full_period(
        state, sub, max(req.now, invoice_fees.anchor(sub))
    )
    billing_at = full_end + 1
    if plan["pay_in_advance"]:
        span = invoice_fees.full_period(state, sub, billing_at)
    else:
        span = (max(full_start, invoice_fees.anchor(sub)), full_end)
    out = [
        invoice_fees.plan_fee(
            state, sub, customer, invoice_fees.subscription_fee(state, sub, span), span
        )
    ]
    if sub["status"] == "active":
        out += invoice_fees.charge_fees(req, sub, customer)
    out += invoice_fees.fixed_fees(state, sub, customer, span)
    commitment = invoice_fees.commitment_fee(state, sub, customer, span, out)
    return ([*out, commitment] if commitment else out), billing_at


def _proposal(req: Request, doc: Record, customer: Record) -> Record:
    state = req.state
    plan = state.parent_plan_by_code(str(doc.get("plan_code")))
    if plan is None:
        raise not_found("plan")
    if not req.org.premium:
        raise feature_unavailable()
    _refuse_coupons(state, customer, doc)
    at = parse_iso(doc.get("subscription_at")) or req.now
    billing_time = doc.get("billing_time")
    sub: Record = {
        "lago_id": None,
        "external_id": None,
        "customer_id": customer["lago_id"],
        "plan_id": plan["lago_id"],
        "name": None,
        "status": "active",
        "billing_time": billing_time if billing_time in ("calendar", "anniversary") else "calendar",
        "subscription_at": at,
        "started_at": at,
        "ending_at": None,
        "terminated_at": None,
        "canceled_at": None,
        "created_at": at,
        "previous_id": None,
        "next_id": None,
        "on_termination_credit_note": None,
        "on_termination_invoice": "generate",
        "progressive_billing_disabled": False,
        "consolidate_invoice": True,
        "purchase_order_number": None,
    }
    span = invoice_fees.full_period(state, sub, at)
    span = (at, span[1])
    billing_at = at if plan["pay_in_advance"] else span[1] + 1
    out = [
        invoice_fees.plan_fee(
            state, sub, customer, invoice_fees.subscription_fee(state, sub, span), span
        )
    ]
    out += invoice_fees.fixed_fees(state, sub, customer, span)
    if not plan["pay_in_advance"]:  # in advance, the first period has no commitment yet
        commitment = invoice_fees.commitment_fee(state, sub, customer, span, out)
        out += [commitment] if commitment else []
    return _invoice(req, customer, [sub], out, billing_at)


def _stored_subscriptions(state: State, customer: Record, external_ids: list[str]) -> list[Record]:
    mine = [
        s
        for s in state.subscriptions.values()
        if s["customer_id"] == customer["lago_id"] and s["external_id"] in external_ids
    ]
    pending = [s for s in mine if s["status"] == "pending" and s["previous_id"] is None]
    if len(external_ids) == 1 and len(mine) == 1 and pending:
        return pending  # not started yet: previewed as if it started on its date
    return [s for s in mine if s["status"] == "active"]


def _refuse_coupons(state: State, customer: Record, doc: Record) -> None:
    applied = [
        a
        for a in state.applied_coupons.values()
        if a["customer_id"] == customer["lago_id"] and a["status"] == "active"
    ]
    if (applied and customer["lago_id"] is not None) or doc.get("coupons"):
        raise not_supported("coupons are not applied by the sandbox's invoice preview")


def preview(req: Request) -> Record:
    """Checked in Lago's order: request shape (400), customer (404), subscriptions or plan,
    premium licence (403), the organization's ``preview`` integration for stored subscriptions
    (405), one currency and one billing day (422)."""
    doc: Any = req.json()
    doc = doc if isinstance(doc, dict) else {}
    if "coupons" in doc and not isinstance(doc["coupons"], list):
        raise _bad_request("coupons_must_be_an_array")
    if "subscriptions" in doc and not isinstance(doc["subscriptions"], dict):
        raise _bad_request("subscriptions_must_be_an_object")
    if doc.get("billing_entity_code") not in (None, "default"):
        raise not_found("billing_entity")
    raw = doc.get("customer")
    params: Record = raw if isinstance(raw, dict) else {}
    state = req.state
    if "external_id" in params:
        customer = customers.find(state, str(params["external_id"]))
    else:
        customer = customers.transient(state, params, req.now)
    wanted = doc.get("subscriptions") or {}
    external_ids = [str(i) for i in wanted.get("external_ids") or []]
    if not external_ids:
        return _proposal(req, doc, customer)
    if customer["lago_id"] is None:
        raise invalid("customer", "must_be_persisted")
    if wanted.get("terminated_at") or wanted.get("plan_code"):
        raise not_supported("termination and plan-change previews are not modelled")
    subs = _stored_subscriptions(state, customer, external_ids)
    if not req.org.premium:
        raise feature_unavailable()
    if not subs:
        raise not_found("subscription")
    if not req.org.enabled("preview"):
        raise not_allowed("premium_integration_missing")
    if len({state.plans[s["plan_id"]]["amount_currency"] for s in subs}) > 1:
        raise invalid("base", "subscription_currencies_does_not_match")
    if any(s["next_id"] for s in subs):
        raise not_supported("a downgrade waiting for the next period is not previewed")
    _refuse_coupons(state, customer, doc)
    all_fees: list[fees.Fee] = []
    billing_days: set[str | None] = set()
    billing_at = req.now
    for sub in subs:
        sub_fees, billing_at = _projection_fees(req, sub, customer)
        billing_days.add(iso_date(billing_at))
        all_fees += sub_fees
    if len(billing_days) > 1:
        raise invalid("base", "billing_periods_does_not_match")
    return _invoice(req, customer, subs, all_fees, billing_at)
