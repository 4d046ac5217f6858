"""Prepaid wallets and wallet transactions (§6.2): credits as decimal strings, rate amounts,
top-ups split into paid / granted / voided transactions, terminate on delete."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from lagoform.model.currency import ACCEPTED
from lagoform.sandbox import customers
from lagoform.sandbox.api_errors import FieldErrors, invalid, not_found
from lagoform.sandbox.request import Request
from lagoform.sandbox.state import Record, State, iso, new_id, newest_first, paginate, parse_iso

MAX_ACTIVE_WALLETS = 6
UPDATABLE = (
    "name",
    "priority",
    "invoice_requires_successful_payment",
    "paid_top_up_min_amount_cents",
    "paid_top_up_max_amount_cents",
    "applies_to",
    "recurring_transaction_rules",
    "metadata",
    "purchase_order_number",
)


def _decimal(value: Any) -> Decimal | None:
    """Lago refuses JSON numbers for credits and rates: only decimal strings parse."""
    if not isinstance(value, str):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _text(number: Decimal) -> str:
    """Lago's decimal strings: ``"10.0"``, ``"2.5"``."""
    text = format(number.normalize(), "f")
    return text if "." in text else f"{text}.0"


def serialize(state: State, wallet: Record) -> Record:
    customer = state.customers[wallet["customer_id"]]
    credits = Decimal(wallet["credits"])
    rate = Decimal(wallet["rate_amount"])
    cents = int((credits * rate * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
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
        "credits_balance": _text(credits),
        "balance_cents": cents,
        "consumed_credits": _text(Decimal(wallet["consumed_credits"])),
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
        "credits_ongoing_balance": _text(credits),
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
        "amount": _text(amount),
        "credit_amount": _text(Decimal(txn["credit_amount"])),
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


def create(req: Request) -> Record:
    body = req.root("wallet")
    external_customer_id = req.params.get("external_customer_id") or body.get(
        "external_customer_id"
    )
    customer = customers.find(req.state, str(external_customer_id))
    errors = FieldErrors()
    rate = _decimal(body.get("rate_amount"))
    if rate is None or rate <= 0:
        errors.add("rate_amount", "invalid_rate_amount")
    currency = body.get("currency") or customer["currency"]
    if currency not in ACCEPTED:
        errors.add("currency", "value_is_invalid")
    credits = {}
    for key in ("paid_credits", "granted_credits"):
        value = body.get(key)
        parsed = Decimal(0) if value is None else _decimal(value)
        if parsed is None or parsed < 0:
            errors.add(key, f"invalid_{key}")
        credits[key] = parsed or Decimal(0)
    priority = body.get("priority", 50)
    if not isinstance(priority, int) or isinstance(priority, bool) or not 1 <= priority <= 50:
        errors.add("priority", "value_is_invalid")
    active = [
        w
        for w in req.state.wallets.values()
        if w["customer_id"] == customer["lago_id"] and w["status"] == "active"
    ]
    if len(active) >= MAX_ACTIVE_WALLETS:
        errors.add("customer", "wallet_limit_reached")
    if body.get("code") and any(w["code"] == body["code"] for w in active):
        errors.add("code", "value_already_exist")
    errors.raise_if_any()
    wallet: Record = {
        "lago_id": new_id(),
        "_seq": req.state.next_seq(),
        "created_at": req.now,
        "customer_id": customer["lago_id"],
        "status": "active",
        "currency": currency,
        "name": body.get("name"),
        "code": body.get("code") or new_id()[:8],
        "priority": priority,
        "rate_amount": _text(rate or Decimal(1)),
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
            "credit_amount": _text(amount),
            "settled_at": req.now if settled else None,
            "invoice_requires_successful_payment": wallet["invoice_requires_successful_payment"],
            "metadata": body.get("transaction_metadata") or body.get("metadata") or [],
            "name": body.get("transaction_name") or body.get("name"),
        }
        if settled:
            balance = balance - amount if kind == "outbound" else balance + amount
        req.state.wallet_transactions[txn["lago_id"]] = txn
        made.append(txn)
    wallet["credits"] = _text(balance)
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
    if "priority" in body:
        priority = body["priority"]
        if not isinstance(priority, int) or isinstance(priority, bool) or not 1 <= priority <= 50:
            raise invalid("priority", "value_is_invalid")
    for key in UPDATABLE:
        if key in body:
            wallet[key] = body[key]
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
    if wallet is None or wallet["status"] != "active":
        raise not_found("wallet")
    errors = FieldErrors()
    amounts: dict[str, Decimal] = {}
    for key in ("paid_credits", "granted_credits", "voided_credits"):
        value = body.get(key)
        parsed = Decimal(0) if value is None else _decimal(value)
        if parsed is None or parsed < 0:
            errors.add(key, f"invalid_{key}")
        amounts[key] = parsed or Decimal(0)
    if amounts["voided_credits"] > Decimal(wallet["credits"]):
        errors.add("voided_credits", "insufficient_credits")
    errors.raise_if_any()
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
