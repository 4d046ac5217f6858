"""Customers: upsert by ``external_id`` (§6.1) with replace-by-id metadata, list, show, delete.
Also the auto-creation used by ``POST /subscriptions`` for unknown customers."""

from __future__ import annotations

from typing import Any

from lagoform.model.currency import ACCEPTED
from lagoform.sandbox import taxes
from lagoform.sandbox.api_errors import FieldErrors, invalid, not_found
from lagoform.sandbox.fields import clean_email, valid_email
from lagoform.sandbox.numbers import scalar_text
from lagoform.sandbox.request import Org, Request
from lagoform.sandbox.state import Record, State, iso, new_id, newest_first, paginate

STRING_FIELDS = (
    "name",
    "firstname",
    "lastname",
    "email",
    "phone",
    "url",
    "logo_url",
    "legal_name",
    "legal_number",
    "tax_identification_number",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "zipcode",
    "country",
    "timezone",
    "currency",
    "customer_type",
    "external_salesforce_id",
)
OTHER_FIELDS = (
    "account_type",
    "net_payment_term",
    "finalize_zero_amount_invoice",
    "skip_invoice_custom_sections",
    "shipping_address",
)
MAX_METADATA = 5


def _blank(state: State, external_id: str | None, now: float) -> Record:
    record: Record = {k: None for k in STRING_FIELDS}
    record.update(
        lago_id=new_id(),
        _seq=state.next_seq(),
        sequential_id=sum(1 for _ in state.customers.values()) + 1,
        created_at=now,
        updated_at=now,
        deleted_at=None,
        external_id=external_id,
        account_type="customer",
        net_payment_term=None,
        finalize_zero_amount_invoice="inherit",
        skip_invoice_custom_sections=False,
        shipping_address={},
        billing_configuration={"invoice_grace_period": None, "payment_provider": None},
        metadata=[],
        tax_ids=[],
    )
    return record


def find(state: State, external_id: str) -> Record:
    customer = state.customer_by_external_id(external_id)
    if customer is None:
        raise not_found("customer")
    return customer


def transient(state: State, params: Record, now: float) -> Record:
    """A customer described in a request but not stored (an invoice preview's prospect)."""
    record = _blank(state, None, now)
    record.update(lago_id=None, sequential_id=None, created_at=now)
    for key in STRING_FIELDS:
        if key in params:
            record[key] = scalar_text(params[key])
    return record


def find_or_create(org: Org, external_id: str) -> Record:
    customer = org.state.customer_by_external_id(external_id)
    if customer is None:
        customer = _blank(org.state, external_id, org.now)
        org.state.customers[customer["lago_id"]] = customer
    return customer


def serialize(state: State, customer: Record) -> Record:
    out: Record = {k: customer[k] for k in STRING_FIELDS}
    out.update(
        lago_id=customer["lago_id"],
        sequential_id=customer["sequential_id"],
        slug=f"CUS-{customer['sequential_id']:03d}" if customer["sequential_id"] else None,
        external_id=customer["external_id"],
        billing_entity_code="default",
        applicable_timezone=customer["timezone"] or "UTC",
        created_at=iso(customer["created_at"]),
        updated_at=iso(customer["updated_at"]),
        account_type=customer["account_type"],
        net_payment_term=customer["net_payment_term"],
        finalize_zero_amount_invoice=customer["finalize_zero_amount_invoice"],
        skip_invoice_custom_sections=customer["skip_invoice_custom_sections"],
        shipping_address=customer["shipping_address"],
        billing_configuration=customer["billing_configuration"],
        metadata=[
            {
                "lago_id": m["lago_id"],
                "key": m["key"],
                "value": m["value"],
                "display_in_invoice": m["display_in_invoice"],
                "created_at": iso(m["created_at"]),
            }
            for m in customer["metadata"]
        ],
        taxes=taxes.serialize_ids(state, customer["tax_ids"]),
        integration_customers=[],
    )
    return out


def upsert(req: Request) -> Record:
    """Every record problem is reported at once, like Rails (customers_controller_spec.rb:389-420);
    identifiers and names sent as numbers are stored as text."""
    body = req.root("customer")
    external_id = scalar_text(body.get("external_id"))
    errors = FieldErrors()
    if not isinstance(external_id, str) or not external_id.strip():
        errors.add("external_id", "value_is_mandatory")
        external_id = ""
    existing = req.state.customer_by_external_id(external_id) if external_id else None
    customer = dict(existing) if existing else _blank(req.state, external_id, req.now)
    for key in STRING_FIELDS:
        if key in body:
            customer[key] = scalar_text(body[key])
    for key in OTHER_FIELDS:
        if key in body:
            customer[key] = body[key]
    if isinstance(customer["country"], str):
        customer["country"] = customer["country"].upper()
    if "email" in body and isinstance(customer["email"], str):
        # Checked when set and changed, after Lago's clean-up (models/customer.rb:171,191).
        customer["email"] = clean_email(customer["email"])
        changed = existing is None or customer["email"] != existing["email"]
        if customer["email"] and changed and not valid_email(customer["email"]):
            errors.add("email", "invalid_email_format")
    if customer["currency"] is not None and customer["currency"] not in ACCEPTED:
        errors.add("currency", "value_is_invalid")
    if customer["account_type"] not in ("customer", "partner"):
        errors.add("account_type", "value_is_invalid")
    if customer["customer_type"] not in (None, "company", "individual"):
        errors.add("customer_type", "value_is_invalid")
    errors.raise_if_any()
    if isinstance(body.get("billing_configuration"), dict):
        customer["billing_configuration"] = {
            **customer["billing_configuration"],
            **body["billing_configuration"],
        }
    if "tax_codes" in body:
        customer["tax_ids"] = taxes.resolve_codes(req.state, body["tax_codes"])
    if "metadata" in body:
        customer["metadata"] = _replace_metadata(req, customer["metadata"], body["metadata"])
    customer["updated_at"] = req.now
    req.state.customers[customer["lago_id"]] = customer
    return {"customer": serialize(req.state, customer)}


def _replace_metadata(req: Request, current: list[Record], raw: Any) -> list[Record]:
    """Replace-by-id: listed ids update, items without id are created *before* unlisted ones
    are deleted, so re-sending an existing key without its id collides (§6.1)."""
    if raw is None:
        raw = []
    if not isinstance(raw, list) or not all(isinstance(i, dict) for i in raw):
        raise invalid("metadata", "value_is_invalid")
    if len(raw) > MAX_METADATA:
        raise invalid("metadata", "invalid_count")
    by_id = {m["lago_id"]: dict(m) for m in current}
    updated: list[Record] = []
    for item in raw:
        entry = by_id.get(str(item.get("id")))
        if entry is None:
            continue
        _check_metadata_item(item)
        entry.update(key=item["key"], value=item.get("value"))
        entry["display_in_invoice"] = bool(item.get("display_in_invoice", False))
        updated.append(entry)
    keys_in_use = {m["key"] for m in by_id.values()}
    for item in raw:
        if str(item.get("id")) in by_id:
            continue
        _check_metadata_item(item)
        if item["key"] in keys_in_use:
            raise invalid("key", "value_already_exist")
        keys_in_use.add(item["key"])
        updated.append(
            {
                "lago_id": new_id(),
                "key": item["key"],
                "value": item.get("value"),
                "display_in_invoice": bool(item.get("display_in_invoice", False)),
                "created_at": req.now,
            }
        )
    return updated


def _check_metadata_item(item: Record) -> None:
    errors = FieldErrors()
    key, value = item.get("key"), item.get("value")
    if not isinstance(key, str) or not key:
        errors.add("key", "value_is_mandatory")
    elif len(key) > 20:
        errors.add("key", "value_is_too_long")
    if not isinstance(value, str) or not value:
        errors.add("value", "value_is_mandatory")
    elif len(value) > 100:
        errors.add("value", "value_is_too_long")
    errors.raise_if_any()


def index(req: Request) -> Record:
    live = [c for c in req.state.customers.values() if c["deleted_at"] is None]
    items, meta = paginate(newest_first(live), req.query)
    return {"customers": [serialize(req.state, c) for c in items], "meta": meta}


def show(req: Request) -> Record:
    return {"customer": serialize(req.state, find(req.state, req.params["external_customer_id"]))}


def delete(req: Request) -> Record:
    customer = find(req.state, req.params["external_customer_id"])
    customer["deleted_at"] = req.now
    for sub in req.state.subscriptions.values():
        if sub["customer_id"] != customer["lago_id"]:
            continue
        if sub["status"] == "active":
            sub["status"], sub["terminated_at"] = "terminated", req.now
        elif sub["status"] == "pending":
            sub["status"], sub["canceled_at"] = "canceled", req.now
    for wallet in req.state.wallets.values():
        if wallet["customer_id"] == customer["lago_id"] and wallet["status"] == "active":
            wallet["status"], wallet["terminated_at"] = "terminated", req.now
    return {"customer": serialize(req.state, customer)}
