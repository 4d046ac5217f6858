"""Billing plans, add-ons, coupons and explicit removals as written in catalog YAML."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from lagoform.catalog.models_base import CatalogModel, Code, DateTime, Text
from lagoform.catalog.models_charge import Charge
from lagoform.catalog.money import ExactDecimal, Money
from lagoform.catalog.numbers import Int32

Interval = Literal["weekly", "monthly", "quarterly", "semiannual", "yearly"]
INTERVALS: tuple[str, ...] = ("weekly", "monthly", "quarterly", "semiannual", "yearly")


class MinimumCommitment(CatalogModel):
    amount: Money
    invoice_display_name: Text | None = None
    tax_codes: tuple[Code, ...] = ()


class UsageThreshold(CatalogModel):
    amount: Money
    name: Text | None = None
    recurring: bool = False


class BillingPlan(CatalogModel):
    """A Lago plan. ``extends`` is resolved before validation (see ``variants``)."""

    code: Code
    extends: Code | None = Field(
        default=None, description="copy every field of this plan, then apply the ones given here"
    )
    name: Text
    invoice_display_name: Text | None = None
    description: Text | None = None
    interval: Interval
    amount: Money = Field(description="base fee, e.g. '99.00 USD'")
    pay_in_advance: bool = False
    trial_days: ExactDecimal | None = None
    bill_charges_monthly: bool | None = None
    tax_codes: tuple[Code, ...] = ()
    minimum_commitment: MinimumCommitment | None = None
    usage_thresholds: tuple[UsageThreshold, ...] = ()
    metadata: dict[Text, Text | None] = Field(default_factory=dict)
    cascade_updates: bool = False
    charges: tuple[Charge, ...] = ()

    @property
    def currency(self) -> str:
        return self.amount.currency

    def charge(self, code: str) -> Charge | None:
        return next((c for c in self.charges if c.code == code), None)


class AddOn(CatalogModel):
    code: Code
    name: Text
    amount: Money
    invoice_display_name: Text | None = None
    description: Text | None = None
    tax_codes: tuple[Code, ...] = ()


class CouponScope(CatalogModel):
    plans: tuple[Code, ...] = ()
    metrics: tuple[Code, ...] = ()


class Coupon(CatalogModel):
    code: Code
    name: Text
    description: Text | None = None
    type: Literal["percentage", "fixed_amount"]
    percentage_rate: ExactDecimal | None = None
    amount: Money | None = None
    frequency: Literal["once", "recurring", "forever"] = "once"
    frequency_duration: Int32 | None = None
    expiration_at: DateTime | None = None
    reusable: bool = True
    applies_to: CouponScope | None = None


class Removal(CatalogModel):
    """Codes to delete from Lago. Nothing absent from YAML is deleted unless listed here."""

    plans: tuple[Code, ...] = ()
    billable_metrics: tuple[Code, ...] = ()
    add_ons: tuple[Code, ...] = ()
    coupons: tuple[Code, ...] = ()
    taxes: tuple[Code, ...] = ()
