"""Fees as Lago renders them (``V1::FeeSerializer``), and which taxes apply to one.

Fees here are never stored: ``POST /events/estimate_fees`` and ``POST /invoices/preview`` build
them, price them with ``lagoform.pricing`` and render them. A fee's taxes are the first non-empty
of: its charge's (or add-on's, commitment's) taxes, its plan's, its customer's, the organization's
default taxes (fees/apply_taxes_service.rb:64-78); they are computed with ``pricing.taxes_cents``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from lagoform import pricing
from lagoform.model.currency import subunit_to_unit
from lagoform.sandbox.numbers import decimal_text
from lagoform.sandbox.state import Record, State, iso

__all__ = ["Fee", "applicable_taxes", "render", "taxed_line"]


def applicable_taxes(
    state: State, customer: Record, plan: Record | None, own_tax_ids: Sequence[str] = ()
) -> list[Record]:
    """The taxes of a fee: its own, else its plan's, else its customer's, else the default."""
    for ids in (own_tax_ids, plan["tax_ids"] if plan is not None else (), customer["tax_ids"]):
        taxes = [state.taxes[i] for i in ids if i in state.taxes]
        if taxes:
            return taxes
    return [t for t in state.taxes.values() if t["applied_to_organization"]]


def taxed_line(amount_cents: int, taxes: Sequence[Record]) -> pricing.TaxedLine:
    return pricing.TaxedLine(
        amount_cents, tuple((t["code"], Decimal(str(t["rate"]))) for t in taxes)
    )


def item(
    kind: str,
    source: Record,
    *,
    name: Any,
    display_name: Any = None,
    description: Any = None,
    item_type: str,
    filters: Any = None,
    filter_display_name: Any = None,
) -> Record:
    """A fee's ``item`` (models/fee.rb#item_*): what it bills, by its code and id."""
    return {
        "type": kind,
        "code": source.get("code"),
        "name": name,
        "description": description,
        "invoice_display_name": display_name or name,
        "filters": filters,
        "filter_invoice_display_name": filter_display_name,
        "lago_item_id": source.get("lago_id"),
        "item_type": item_type,
        "grouped_by": {},
    }


@dataclass
class Fee:
    """One fee of an estimate or a preview, before rendering. Without ``precise_amount`` the
    fee's amount is exactly its cents (a subscription fee, a true-up, a commitment top-up)."""

    kind: str  # charge | subscription | commitment | fixed_charge
    subscription: Record
    customer: Record
    currency: str
    amount_cents: int
    units: Decimal
    item: Record
    precise_amount: Decimal | None = None  # currency units, unrounded
    taxes: list[Record] = field(default_factory=list)
    events_count: int | None = None
    pay_in_advance: bool = False
    invoiceable: bool = True
    charge_id: str | None = None
    charge_filter_id: str | None = None
    from_date: float | None = None
    to_date: float | None = None
    event_transaction_id: str | None = None
    amount_details: Record = field(default_factory=dict)

    def taxes_cents(self) -> tuple[int, dict[str, int]]:
        return pricing.taxes_cents([taxed_line(self.amount_cents, self.taxes)])

    def precise(self) -> Decimal:
        if self.precise_amount is not None:
            return self.precise_amount
        return Decimal(self.amount_cents) / subunit_to_unit(self.currency)


def _float(value: Decimal) -> float:
    return float(value)


def render(fee: Fee) -> Record:
    """``V1::FeeSerializer`` with its applied taxes. Precise amounts are JSON numbers, as the
    server's ``fdiv`` makes them; decimal columns are strings (``units``: ``"2.0"``)."""
    taxes_total, per_tax = fee.taxes_cents()
    subunit = Decimal(subunit_to_unit(fee.currency))
    precise_taxes = sum(
        (Decimal(fee.amount_cents) * Decimal(str(t["rate"])) / 100 for t in fee.taxes),
        Decimal(0),
    )
    precise = fee.precise()
    unit_amount = Decimal(0) if fee.units == 0 else precise / fee.units
    out: Record = {
        "lago_id": None,
        "lago_charge_id": fee.charge_id,
        "lago_charge_filter_id": fee.charge_filter_id,
        "lago_fixed_charge_id": None,
        "lago_invoice_id": None,
        "lago_true_up_fee_id": None,
        "lago_true_up_parent_fee_id": None,
        "lago_original_fee_id": None,
        "lago_subscription_id": fee.subscription.get("lago_id"),
        "external_subscription_id": fee.subscription.get("external_id"),
        "lago_customer_id": fee.customer.get("lago_id"),
        "external_customer_id": fee.customer.get("external_id"),
        "item": fee.item,
        "pay_in_advance": fee.pay_in_advance,
        "invoiceable": fee.invoiceable,
        "amount_cents": fee.amount_cents,
        "amount_currency": fee.currency,
        "precise_amount": _float(precise),
        "precise_total_amount": _float(precise + precise_taxes / subunit),
        "taxes_amount_cents": taxes_total,
        "taxes_precise_amount": _float(precise_taxes / subunit),
        "taxes_rate": float(sum((Decimal(str(t["rate"])) for t in fee.taxes), Decimal(0))),
        "total_aggregated_units": decimal_text(fee.units),
        "total_amount_cents": fee.amount_cents + taxes_total,
        "total_amount_currency": fee.currency,
        "units": decimal_text(fee.units),
        "description": None,
        "precise_unit_amount": decimal_text(unit_amount),
        "precise_coupons_amount_cents": "0.0",
        "sub_total_excluding_taxes_amount_cents": fee.amount_cents,
        "sub_total_excluding_taxes_precise_amount_cents": decimal_text(precise * subunit),
        "events_count": fee.events_count,
        "payment_status": "pending",
        "created_at": None,
        "succeeded_at": None,
        "failed_at": None,
        "refunded_at": None,
        "amount_details": fee.amount_details,
        "self_billed": False,
        "pricing_unit_details": None,
        "presentation_breakdowns": [],
        "from_date": iso(fee.from_date),
        "to_date": iso(fee.to_date),
        "applied_taxes": [
            {
                "lago_id": None,
                "lago_fee_id": None,
                "lago_tax_id": t["lago_id"],
                "tax_name": t["name"],
                "tax_code": t["code"],
                "tax_rate": t["rate"],
                "tax_description": t["description"],
                "amount_cents": per_tax.get(t["code"], 0),
                "amount_currency": fee.currency,
                "created_at": None,
            }
            for t in fee.taxes
        ],
    }
    if fee.pay_in_advance and fee.kind == "charge":
        out["event_transaction_id"] = fee.event_transaction_id
    return out


def charge_item(state: State, charge: Record, charge_filter: Record | None) -> Record:
    metric = state.metrics[charge["billable_metric_id"]]
    return item(
        "charge",
        metric,
        name=metric["name"],
        display_name=charge["invoice_display_name"],
        description=metric["description"],
        item_type="BillableMetric",
        filters=dict(charge_filter["values"]) if charge_filter else None,
        filter_display_name=charge_filter["invoice_display_name"] if charge_filter else None,
    )


def charge_fee(
    state: State,
    sub: Record,
    customer: Record,
    charge: Record,
    charge_filter: Record | None,
    *,
    amount_cents: int,
    units: Decimal,
    events_count: int,
    window: tuple[float, float],
    **extra: Any,
) -> Fee:
    """A usage-based charge's fee: the item, currency and taxes come from the charge and its
    plan; ``extra`` sets the rest (precise amount, pay-in-advance, grouping...)."""
    plan = state.plans[sub["plan_id"]]
    grouped_by = extra.pop("grouped_by", None)
    charge_item_ = charge_item(state, charge, charge_filter)
    return Fee(
        kind="charge",
        subscription=sub,
        customer=customer,
        currency=plan["amount_currency"],
        amount_cents=amount_cents,
        units=units,
        item=charge_item_ if grouped_by is None else {**charge_item_, "grouped_by": grouped_by},
        taxes=applicable_taxes(state, customer, plan, charge["tax_ids"]),
        events_count=events_count,
        charge_id=charge["lago_id"],
        charge_filter_id=charge_filter["lago_id"] if charge_filter else None,
        from_date=window[0],
        to_date=window[1],
        **extra,
    )
