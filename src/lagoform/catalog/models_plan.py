"""Billing plans, add-ons, coupons and explicit removals as written in catalog YAML."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from lagoform.catalog.models_base import CatalogModel, Code, DateTime, Text
from lagoform.catalog.models_charge import Charge, FilterValues
from lagoform.catalog.models_schedule import ScheduledFee
from lagoform.catalog.money import ExactDecimal, Money
from lagoform.catalog.numbers import Int32

Interval = Literal["weekly", "monthly", "quarterly", "semiannual", "yearly"]
INTERVALS: tuple[str, ...] = ("weekly", "monthly", "quarterly", "semiannual", "yearly")


class MinimumCommitment(CatalogModel):
    """The least a subscription pays per period; Lago bills the difference."""

    amount: Money = Field(
        description="Minimum per period, in the plan's currency.", examples=["500.00 USD"]
    )
    invoice_display_name: Text | None = Field(
        default=None, description="Name of the true-up fee on invoices."
    )
    tax_codes: tuple[Code, ...] = Field(
        default=(), description="Codes of the taxes applied to the true-up fee."
    )


class UsageThreshold(CatalogModel):
    """Progressive billing: invoice as soon as usage reaches this amount."""

    amount: Money = Field(
        description="Usage amount that triggers an invoice, in the plan's currency.",
        examples=["1000.00 USD"],
    )
    name: Text | None = Field(default=None, description="Name of the threshold.")
    recurring: bool = Field(
        default=False, description="Trigger again every time usage grows by this amount."
    )


class BillingPlan(CatalogModel):
    """A Lago plan. ``extends`` is resolved before validation (see ``variants``)."""

    code: Code = Field(
        description="Identity of the plan (unique); subscriptions name it. Never rename a live "
        "one.",
        examples=["pro_monthly"],
    )
    extends: Code | None = Field(
        default=None,
        description="Copy every field of this plan, then apply the ones given here.",
        examples=["pro_monthly"],
    )
    name: Text = Field(description="Name of the plan.", examples=["Pro"])
    invoice_display_name: Text | None = Field(
        default=None, description="Name of the plan on invoices."
    )
    description: Text | None = Field(default=None, description="Internal description.")
    interval: Interval = Field(
        description="Billing period: weekly, monthly, quarterly, semiannual or yearly."
    )
    amount: Money = Field(
        description="Base fee per period; its currency is the plan's currency.",
        examples=["99.00 USD"],
    )
    pay_in_advance: bool = Field(
        default=False, description="Bill the base fee at the start of the period."
    )
    trial_days: ExactDecimal | None = Field(
        default=None, description="Free trial of the base fee, in days.", examples=[14]
    )
    bill_charges_monthly: bool | None = Field(
        default=None, description="yearly and semiannual plans: bill usage charges every month."
    )
    tax_codes: tuple[Code, ...] = Field(
        default=(), description="Codes of the taxes applied to the plan."
    )
    minimum_commitment: MinimumCommitment | None = Field(
        default=None, description="The least a subscription pays per period."
    )
    usage_thresholds: tuple[UsageThreshold, ...] = Field(
        default=(), description="Invoice early when usage reaches these amounts."
    )
    metadata: dict[Text, Text | None] = Field(
        default_factory=dict,
        description="Free key -> value pairs stored on the plan in Lago.",
        examples=[{"tier": "pro"}],
    )
    cascade_updates: bool = Field(
        default=False,
        description="Send plan edits on to subscriptions whose prices are overridden.",
    )
    charges: tuple[Charge, ...] = Field(
        default=(), description="Usage charges, one per charge code, each on a metric."
    )
    scheduled: tuple[ScheduledFee, ...] = Field(
        default=(), description="The plan's next base fees, each from its `effective` date on."
    )

    @property
    def currency(self) -> str:
        return self.amount.currency

    def charge(self, code: str) -> Charge | None:
        return next((c for c in self.charges if c.code == code), None)


class AddOn(CatalogModel):
    """A one-off fee that can be invoiced to a customer."""

    code: Code = Field(description="Identity of the add-on (unique).", examples=["setup_fee"])
    name: Text = Field(description="Name of the add-on.", examples=["Implementation fee"])
    amount: Money = Field(description="Price of the add-on (> 0).", examples=["2500.00 USD"])
    invoice_display_name: Text | None = Field(
        default=None, description="Name of the add-on on invoices."
    )
    description: Text | None = Field(default=None, description="Internal description.")
    tax_codes: tuple[Code, ...] = Field(
        default=(), description="Codes of the taxes applied to the add-on."
    )


class CouponScope(CatalogModel):
    """What a coupon applies to: plans or metrics (not both)."""

    plans: tuple[Code, ...] = Field(
        default=(), description="Codes of the plans the coupon applies to."
    )
    metrics: tuple[Code, ...] = Field(
        default=(), description="Codes of the billable metrics the coupon applies to."
    )


class Coupon(CatalogModel):
    """A discount: a percentage or a fixed amount, once, for N periods or forever."""

    code: Code = Field(description="Identity of the coupon (unique).", examples=["launch50"])
    name: Text = Field(description="Name of the coupon.", examples=["Launch discount"])
    description: Text | None = Field(default=None, description="Internal description.")
    type: Literal["percentage", "fixed_amount"] = Field(
        description="percentage (needs percentage_rate) or fixed_amount (needs amount)."
    )
    percentage_rate: ExactDecimal | None = Field(
        default=None, description="percentage coupons: the discount in percent.", examples=[50]
    )
    amount: Money | None = Field(
        default=None, description="fixed_amount coupons: the discount.", examples=["100.00 USD"]
    )
    frequency: Literal["once", "recurring", "forever"] = Field(
        default="once", description="Apply once, for frequency_duration periods, or forever."
    )
    frequency_duration: Int32 | None = Field(
        default=None, description="recurring coupons: number of billing periods.", examples=[3]
    )
    expiration_at: DateTime | None = Field(
        default=None,
        description="Last moment the coupon can be applied (a date or date-time, UTC).",
        examples=["2027-01-01"],
    )
    reusable: bool = Field(
        default=True, description="The same customer may receive the coupon more than once."
    )
    applies_to: CouponScope | None = Field(
        default=None, description="Limit the coupon to plans or to metrics (default: all)."
    )


class RetiredValues(FilterValues):
    """Values of a metric's filter to retire everywhere (a model no longer sold)."""

    metric: Code = Field(description="Code of the billable metric.", examples=["tokens"])


class Removal(CatalogModel):
    """Codes to delete from Lago. Nothing absent from YAML is deleted unless listed here."""

    plans: tuple[Code, ...] = Field(default=(), description="Codes of plans to delete.")
    billable_metrics: tuple[Code, ...] = Field(
        default=(), description="Codes of billable metrics to delete."
    )
    add_ons: tuple[Code, ...] = Field(default=(), description="Codes of add-ons to delete.")
    coupons: tuple[Code, ...] = Field(default=(), description="Codes of coupons to delete.")
    taxes: tuple[Code, ...] = Field(default=(), description="Codes of taxes to delete.")
    filter_values: tuple[RetiredValues, ...] = Field(
        default=(),
        description="Filter values to retire in one step: lagoform removes them from the "
        "metric, from every plan's charge filters and from every tenant's overrides.",
        examples=[[{"metric": "tokens", "values": {"model": ["gpt-4"]}}]],
    )
