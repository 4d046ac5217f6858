"""Prepaid wallets and wallet transactions (§6.2): credits as decimal strings, rate amounts,
top-ups split into paid / granted / voided transactions, terminate on delete."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from lagoform import pricing
from lagoform.sandbox import customers, wallet_checks
from lagoform.sandbox.api_errors import FieldErrors, invalid, not_found
from lagoform.sandbox.fields import parameterize, purchase_order_number
from lagoform.sandbox.numbers import decimal_text, scalar_text
from lagoform.sandbox.request import Request
from lagoform.sandbox.state import Record, State, iso, new_id, newest_first, paginate, parse_iso

UPDATABLE = (
    "name",
    "priority",
    "invoice_requires_successful_payment",
    "paid_top_up_min_amount_cents",
    "paid_top_up_max_amount_cents",
    "applies_to",
    "recurring_transaction_rules",
    "metadata",
)


def serialize(state: State, wallet: Record) -> Record:
    customer = state.customers[wallet["customer_id"]]
    credits = Decimal(wallet["credits"])
    rate = Decimal(wallet["rate_amount"])
    cents = pricing.to_cents(credits * rate, currency=wallet["currency"])
    return {
        "lago_id": wallet["lago_id"],
        "lago_customer_id": customer["lago_id"],
        "external_customer_id": customer["external_id"],
        "billing_entity_code": "default",
        "status": wallet["status"],
        "currency": wallet["currency"],
        "name": wallet["name"],
        "code": wallet["code"],
        "priority": wallet["priority"],
        "rate_amount": wallet["rate_amount"],
        "credits_balance": decimal_text(credits),
        "balance_cents": cents,
        "consumed_credits": decimal_text(Decimal(wallet["consumed_credits"])),
        "created_at": iso(wallet["created_at"]),
        "expiration_at": iso(wallet["expiration_at"]),
        "last_balance_sync_at": None,
        "last_consumed_credit_at": None,
        "terminated_at": iso(wallet["terminated_at"]),
        "invoice_requires_successful_payment": wallet["invoice_requires_successful_payment"],
        "applies_to": wallet["applies_to"],
        "recurring_transaction_rules": wallet["recurring_transaction_rules"],
        "ongoing_balance_cents": cents,
        "ongoing_usage_balance_cents": 0,
        "credits_ongoing_balance": decimal_text(credits),
        "credits_ongoing_usage_balance": "0.0",
        "paid_top_up_min_amount_cents": wallet["paid_top_up_min_amount_cents"],
        "paid_top_up_max_amount_cents": wallet["paid_top_up_max_amount_cents"],
        "purchase_order_number": wallet["purchase_order_number"],
        "metadata": wallet["metadata"],
    }


def serialize_transaction(state: State, txn: Record) -> Record:
    wallet = state.wallets[txn["wallet_id"]]
    amount = Decimal(txn["credit_amount"]) * Decimal(wallet["rate_amount"])
    return {
        "lago_id": txn["lago_id"],
        "lago_wallet_id": txn["wallet_id"],
        "lago_invoice_id": None,
        "lago_credit_note_id": None,
        "lago_voided_invoice_id": None,
        "status": txn["status"],
        "source": "manual",
        "transaction_status": txn["transaction_status"],
        "transaction_type": txn["transaction_type"],
        "amount": decimal_text(amount),
        "credit_amount": decimal_text(Decimal(txn["credit_amount"])),
        "remaining_amount_cents": None,
        "remaining_credit_amount": None,
        "priority": wallet["priority"],
        "invoice_requires_successful_payment": txn["invoice_requires_successful_payment"],
        "settled_at": iso(txn["settled_at"]),
        "failed_at": None,
        "created_at": iso(txn["created_at"]),
        "metadata": txn["metadata"],
        "name": txn["name"],
        "payment_method": {"payment_method_type": "provider", "payment_method_id": None},
        "purchase_order_number": None,
    }


def _find(req: Request) -> Record:
    if "lago_id" in req.params:
        wallet = req.state.wallets.get(req.params["lago_id"])
    else:
        customer = customers.find(req.state, req.params["external_customer_id"])
        wallet = next(
            (
                w
                for w in req.state.wallets.values()
                if w["customer_id"] == customer["lago_id"] and w["code"] == req.params["code"]
            ),
            None,
        )
    if wallet is None:
        raise not_found("wallet")
    return wallet


def _active(state: State, customer_id: str) -> list[Record]:
    return [
        w
        for w in state.wallets.values()
        if w["customer_id"] == customer_id and w["status"] == "active"
    ]


def _new_code(state: State, customer: Record, name: Any, now: float) -> str:
    """No code given: the name, parameterized, or ``default``; a code an active wallet of the
    customer already holds gets the creation time appended (wallets/create_service.rb:24-31)."""
    code = parameterize(str(name or "")) or "default"
    if any(w["code"] == code for w in _active(state, customer["lago_id"])):
        code = f"{code}_{int(now)}"
    return code


def create(req: Request) -> Record:
    body = req.root("wallet")
    if "external_customer_id" in req.params:  # /customers/{id}/wallets: an unknown id is a 404
        customer: Record | None = customers.find(req.state, req.params["external_customer_id"])
    else:  # POST /wallets: a validation error naming `customer`
        customer = req.state.customer_by_external_id(
            str(scalar_text(body.get("external_customer_id")))
        )
    active = _active(req.state, customer["lago_id"]) if customer is not None else []
    customer, credits = wallet_checks.request_stage(customer, len(active), body, req.now)
    currency = body.get("currency") or customer["currency"]
    code = body.get("code")
    taken = bool(code) and any(w["code"] == code for w in active)
    rate, priority = wallet_checks.record_stage(body, currency, taken)
    wallet: Record = {
        "lago_id": new_id(),
        "_seq": req.state.next_seq(),
        "created_at": req.now,
        "customer_id": customer["lago_id"],
        "status": "active",
        "currency": currency,
        "name": body.get("name"),
        "code": code or _new_code(req.state, customer, body.get("name"), req.now),
        "priority": priority,
        "rate_amount": decimal_text(rate),
        "credits": "0",
        "consumed_credits": "0",
        "expiration_at": parse_iso(body.get("expiration_at")),
        "terminated_at": None,
        "invoice_requires_successful_payment": bool(
            body.get("invoice_requires_successful_payment", False)
        ),
        "paid_top_up_min_amount_cents": body.get("paid_top_up_min_amount_cents"),
        "paid_top_up_max_amount_cents": body.get("paid_top_up_max_amount_cents"),
        "applies_to": body.get("applies_to") or {"fee_types": [], "billable_metric_codes": []},
        "recurring_transaction_rules": body.get("recurring_transaction_rules") or [],
        "metadata": body.get("metadata"),
        "purchase_order_number": body.get("purchase_order_number"),
    }
    # After the record is valid: credits worth nothing, one field at a time, then the bounds.
    for key in ("paid_credits", "granted_credits"):
        zero = FieldErrors()
        wallet_checks.rounds_to_zero(zero, key, credits[key], wallet)
        zero.raise_if_any()
    wallet_checks.check_paid_limits(
        credits["paid_credits"], wallet, body.get("ignore_paid_top_up_limits_on_creation")
    )
    if not customer["currency"]:
        customer["currency"] = currency
    req.state.wallets[wallet["lago_id"]] = wallet
    _top_up(req, wallet, credits["paid_credits"], credits["granted_credits"], Decimal(0), body)
    return {"wallet": serialize(req.state, wallet)}


def _top_up(
    req: Request, wallet: Record, paid: Decimal, granted: Decimal, voided: Decimal, body: Record
) -> list[Record]:
    made: list[Record] = []
    balance = Decimal(wallet["credits"])
    for amount, status, kind in (
        (paid, "purchased", "inbound"),
        (granted, "granted", "inbound"),
        (voided, "voided", "outbound"),
    ):
        if amount <= 0:
            continue
        # Paid credits wait for the invoice to be paid only when the wallet demands it.
        settled = status != "purchased" or not wallet["invoice_requires_successful_payment"]
        txn: Record = {
            "lago_id": new_id(),
            "_seq": req.state.next_seq(),
            "created_at": req.now,
            "wallet_id": wallet["lago_id"],
            "status": "settled" if settled else "pending",
            "transaction_status": status,
            "transaction_type": kind,
            "credit_amount": decimal_text(amount),
            "settled_at": req.now if settled else None,
            "invoice_requires_successful_payment": wallet["invoice_requires_successful_payment"],
            "metadata": body.get("transaction_metadata") or body.get("metadata") or [],
            "name": body.get("transaction_name") or body.get("name"),
        }
        if settled:
            balance = balance - amount if kind == "outbound" else balance + amount
        req.state.wallet_transactions[txn["lago_id"]] = txn
        made.append(txn)
    wallet["credits"] = decimal_text(balance)
    return made


def index(req: Request) -> Record:
    external_customer_id = req.params.get("external_customer_id") or req.arg("external_customer_id")
    wallets = list(req.state.wallets.values())
    if external_customer_id is not None:
        customer = customers.find(req.state, external_customer_id)
        wallets = [w for w in wallets if w["customer_id"] == customer["lago_id"]]
    if (currency := req.arg("currency")) is not None:
        wallets = [w for w in wallets if w["currency"] == currency]
    items, meta = paginate(newest_first(wallets), req.query)
    return {"wallets": [serialize(req.state, w) for w in items], "meta": meta}


def show(req: Request) -> Record:
    return {"wallet": serialize(req.state, _find(req))}


def update(req: Request) -> Record:
    wallet = _find(req)
    body = req.root("wallet")
    if wallet["status"] == "terminated":
        raise invalid("wallet_id", "wallet_is_terminated")
    errors = FieldErrors()
    candidate = dict(wallet)
    if body.get("priority"):
        priority = body["priority"]
        if not isinstance(priority, int) or isinstance(priority, bool) or not 1 <= priority <= 50:
            errors.add("priority", "value_is_invalid")
    for key in UPDATABLE:
        if key in body:
            candidate[key] = body[key]
    if body.get("code") and body["code"] != wallet["code"]:  # `code` is changed only when given
        candidate["code"] = body["code"]
        others = _active(req.state, wallet["customer_id"])
        if any(w["code"] == body["code"] and w is not wallet for w in others):
            errors.add("code", "value_already_exist")
    if "purchase_order_number" in body:
        candidate["purchase_order_number"] = purchase_order_number(
            body["purchase_order_number"], errors
        )
    wallet_checks.check_top_up_bounds(errors, candidate)
    errors.raise_if_any()
    wallet.update(candidate)
    if "expiration_at" in body:
        wallet["expiration_at"] = parse_iso(body["expiration_at"])
    return {"wallet": serialize(req.state, wallet)}


def delete(req: Request) -> Record:
    wallet = _find(req)
    if wallet["status"] == "active":
        wallet["status"], wallet["terminated_at"] = "terminated", req.now
    return {"wallet": serialize(req.state, wallet)}


def transactions_create(req: Request) -> Record:
    body = req.root("wallet_transaction")
    wallet = req.state.wallets.get(str(body.get("wallet_id")))
    errors = FieldErrors()
    if wallet is None or wallet["status"] != "active":
        # Every amount is still checked, and reported with the wallet (a 422, not a 404).
        errors.add("wallet_id", "wallet_not_found" if wallet is None else "wallet_is_terminated")
        for key in ("paid_credits", "granted_credits"):
            wallet_checks.check_credit(errors, key, body.get(key), upper=True)
        raise errors.error()
    amounts: dict[str, Decimal] = {}
    for key in ("paid_credits", "granted_credits", "voided_credits"):
        amounts[key] = wallet_checks.check_credit(errors, key, body.get(key), upper=True)
        if key != "voided_credits" and key not in errors.details:
            wallet_checks.rounds_to_zero(errors, key, amounts[key], wallet)
    if amounts["voided_credits"] > Decimal(wallet["credits"]):
        errors.add("voided_credits", "insufficient_credits")
    errors.raise_if_any()
    wallet_checks.check_paid_limits(
        amounts["paid_credits"], wallet, body.get("ignore_paid_top_up_limits")
    )
    made = _top_up(
        req,
        wallet,
        amounts["paid_credits"],
        amounts["granted_credits"],
        amounts["voided_credits"],
        body,
    )
    return {"wallet_transactions": [serialize_transaction(req.state, t) for t in made]}


def transactions_index(req: Request) -> Record:
    wallet = _find(req)
    txns = [
        t for t in req.state.wallet_transactions.values() if t["wallet_id"] == wallet["lago_id"]
    ]
    for key in ("status", "transaction_status", "transaction_type"):
        if (wanted := req.arg(key)) is not None:
            txns = [t for t in txns if t[key] == wanted]
    items, meta = paginate(newest_first(txns), req.query)
    return {
        "wallet_transactions": [serialize_transaction(req.state, t) for t in items],
        "meta": meta,
    }


def transaction_show(req: Request) -> Record:
    txn = req.state.wallet_transactions.get(req.params["lago_id"])
    if txn is None:
        raise not_found("wallet_transaction")
    return {"wallet_transaction": serialize_transaction(req.state, txn)}
