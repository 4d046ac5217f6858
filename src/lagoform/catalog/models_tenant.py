"""Tenants (overrides/<tenant>.yaml): customer, subscriptions with approved overrides, wallets.

Override charge ``properties`` are typed by the base plan's charge model; the project loader
writes that model in before validation (see ``project``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from lagoform.catalog.models_base import CatalogModel, Code, DateTime, Text
from lagoform.catalog.models_charge import (
    ChargeProperties,
    FilterValues,
    Percent,
    UnitText,
)
from lagoform.catalog.money import Currency, ExactDecimal, Money
from lagoform.catalog.numbers import CreditsBound, Int32

# Wallet credits and rates: Lago keeps them as numeric(30,5).
Credits = Annotated[ExactDecimal, CreditsBound]


class Address(CatalogModel):
    """The customer's billing address (on invoices)."""

    line1: Text | None = Field(default=None, description="First address line.")
    line2: Text | None = Field(default=None, description="Second address line.")
    city: Text | None = Field(default=None, description="City.")
    zipcode: Text | None = Field(default=None, description="Postal code.")
    state: Text | None = Field(default=None, description="State or region.")
    country: Text | None = Field(
        default=None, description="Country, ISO 3166 alpha-2.", examples=["US"]
    )

    @field_validator("country", mode="before")
    @classmethod
    def _country(cls, value: Any) -> Any:
        if isinstance(value, str):
            if len(value.strip()) != 2 or not value.strip().isalpha():
                raise ValueError(f"expected a two-letter country code such as US, got '{value}'")
            return value.strip().upper()
        return value


class Customer(CatalogModel):
    """The tenant as a Lago customer. Only the keys written here are sent."""

    external_id: Code | None = Field(
        default=None,
        description="Lago customer external_id; defaults to (and must equal) the file name.",
    )
    name: Text = Field(description="Customer name.", examples=["Globex AI"])
    firstname: Text | None = Field(default=None, description="Contact's first name.")
    lastname: Text | None = Field(default=None, description="Contact's last name.")
    currency: Currency | None = Field(
        default=None,
        description="Currency the customer is billed in (ISO 4217).",
        examples=["USD"],
    )
    email: Text | None = Field(
        default=None, description="Billing e-mail address.", examples=["billing@example.com"]
    )
    phone: Text | None = Field(default=None, description="Phone number.")
    url: Text | None = Field(default=None, description="Website.")
    legal_name: Text | None = Field(default=None, description="Legal company name.")
    legal_number: Text | None = Field(default=None, description="Company registration number.")
    tax_identification_number: Text | None = Field(
        default=None, description="Tax id (e.g. VAT number) printed on invoices."
    )
    address: Address | None = Field(default=None, description="Billing address.")
    timezone: Text | None = Field(
        default=None, description="IANA time zone for billing periods.", examples=["UTC"]
    )
    net_payment_term: Int32 | None = Field(
        default=None, description="Days the customer has to pay an invoice.", examples=[30]
    )
    tax_codes: tuple[Code, ...] = Field(
        default=(), description="Codes of the taxes applied to this customer."
    )
    metadata: dict[Text, Text] = Field(
        default_factory=dict,
        description="Key -> value pairs on the customer (at most 5; key <= 20, value <= 100).",
        examples=[{"crm_id": "42"}],
    )


class OverrideFilter(FilterValues):
    """This tenant's price for the base charge's filters with these values: an exact price for
    one filter (``properties``), or a share off list for every filter these values cover
    (``discount``: ``{model: gpt-5}`` covers each token type of gpt-5)."""

    invoice_display_name: Text | None = Field(
        default=None, description="Name of this filter's fee on this tenant's invoices."
    )
    per: UnitText | None = Field(
        default=None, description="What these unit prices are per (default: the base filter's)."
    )
    properties: ChargeProperties | None = Field(
        default=None,
        description="This tenant's prices for the one base filter with exactly these values.",
    )
    discount: Percent | None = Field(
        default=None,
        description="A share off the catalog's price of every filter these values cover: '15%' "
        "(the prices follow the catalog).",
        examples=["15%"],
    )

    @model_validator(mode="after")
    def _one_price(self) -> OverrideFilter:
        if self.properties is not None and self.discount is not None:
            raise ValueError("give a filter either properties (a price) or a discount, not both")
        if self.properties is None and self.discount is None and not self.invoice_display_name:
            raise ValueError(
                "this filter negotiates nothing: give it properties (a price) or a discount"
            )
        return self


class ChargeOverride(CatalogModel):
    """What a tenant's subscription changes on one charge of its plan (by charge code). Only
    what is written here is negotiated; every other price of the charge follows the catalog."""

    properties: ChargeProperties | None = Field(
        default=None, description="This tenant's prices, typed by the base charge's model."
    )
    discount: Percent | None = Field(
        default=None,
        description="A share off the catalog's prices of this charge and its filters: '15%' "
        "(the prices follow the catalog; a filter's own price or discount wins).",
        examples=["15%"],
    )
    filters: tuple[OverrideFilter, ...] | None = Field(
        default=None,
        description="This tenant's prices for some of the charge's filters (by their values); "
        "the other filters keep the catalog's prices.",
    )
    min_amount: ExactDecimal | None = Field(
        default=None,
        description="This tenant's minimum for the charge, in the plan's currency.",
        examples=["100.00"],
    )
    invoice_display_name: Text | None = Field(
        default=None, description="Name of the fee on this tenant's invoices."
    )
    tax_codes: tuple[Code, ...] | None = Field(
        default=None, description="Codes of the taxes applied to the charge for this tenant."
    )


class ApprovalRef(CatalogModel):
    """An approval a pricing policy asks for (policies.yaml ``approvals:``), given."""

    kind: Code = Field(description="Kind of approval (a name under policies.yaml approvals).")
    ref: Text = Field(description="Where it was given: ticket, document or e-mail id.")


class PlanOverrides(CatalogModel):
    """Negotiated pricing. Always carries why (``reason``) and who approved it (``approval``)."""

    reason: Text = Field(
        description="Why this tenant's price differs from the catalog.",
        examples=["Negotiated token rates, MSA section 4.2"],
    )
    approval: Text = Field(
        description="Approval reference: MSA, order form or ticket id.", examples=["MSA-2026-014"]
    )
    acknowledge: tuple[Text, ...] = Field(
        default=(),
        description="Ids of plan findings about this subscription that are accepted as they "
        "are (e.g. a frozen copy billing a new model at the fallback price).",
        examples=[["fallback:acme-main:tokens:model=gpt-6;type=input"]],
    )
    approvals: tuple[ApprovalRef, ...] = Field(
        default=(),
        description="Approvals the pricing policies ask for (policies.yaml), given for these "
        "prices, e.g. a price below the negotiated floor.",
        examples=[[{"kind": "finance", "ref": "FIN-123"}]],
    )
    frozen: bool = Field(
        default=False,
        description="Keep the prices this subscription's own copy has: catalog changes do not "
        "reach it (only the values written here are set). Without it, every price not "
        "written here follows the catalog.",
    )
    amount: Money | None = Field(
        default=None,
        description="This tenant's base fee, in the plan's currency.",
        examples=["4500.00 USD"],
    )
    name: Text | None = Field(default=None, description="This tenant's name for the plan.")
    invoice_display_name: Text | None = Field(
        default=None, description="Name of the plan on this tenant's invoices."
    )
    description: Text | None = Field(default=None, description="Internal description.")
    trial_days: ExactDecimal | None = Field(
        default=None,
        description="This tenant's free trial of the base fee, in days.",
        examples=[30],
    )
    tax_codes: tuple[Code, ...] | None = Field(
        default=None, description="Codes of the taxes applied to the plan for this tenant."
    )
    charges: dict[Code, ChargeOverride] = Field(
        default_factory=dict, description="Charge code on the base plan -> this tenant's prices."
    )


class Subscription(CatalogModel):
    """A subscription of the tenant to a catalog plan, with its own negotiated prices."""

    external_id: Code = Field(
        description="Identity of the subscription (unique across tenants); events name it.",
        examples=["globex-main"],
    )
    plan: Code = Field(description="Code of the catalog plan.", examples=["enterprise"])
    name: Text | None = Field(default=None, description="Name of the subscription.")
    billing_time: Literal["calendar", "anniversary"] = Field(
        default="calendar",
        description="Periods follow the calendar, or the anniversary of the start date.",
    )
    start_date: DateTime | None = Field(
        default=None,
        description="When the subscription starts: a date or date-time (UTC).",
        examples=["2026-01-01"],
    )
    end_date: DateTime | None = Field(
        default=None,
        description="When it ends (after start_date): a date or date-time (UTC).",
        examples=["2027-01-01"],
    )
    usage_target: bool = Field(
        default=False,
        description="Usage records that name only the tenant go to this subscription.",
    )
    overrides: PlanOverrides | None = Field(
        default=None, description="Negotiated prices, with a reason and an approval."
    )


class Wallet(CatalogModel):
    """Prepaid credits of the tenant."""

    code: Code = Field(
        description="Identity of the wallet within the tenant.", examples=["prepaid"]
    )
    name: Text | None = Field(default=None, description="Name of the wallet.")
    currency: Currency = Field(
        description="Currency of the wallet (ISO 4217), the customer's.", examples=["USD"]
    )
    rate_amount: Credits = Field(
        default=Decimal(1),
        description="Price of one credit in the currency (> 0).",
        examples=["1"],
    )
    paid_credits: Credits | None = Field(
        default=None,
        description="Total credits ever bought (not the balance); more tops up.",
        examples=["1000"],
    )
    granted_credits: Credits | None = Field(
        default=None,
        description="Total credits ever granted free (not the balance); more tops up.",
        examples=["100"],
    )
    priority: Int32 | None = Field(
        default=None, description="Order in which wallets are used, 1 (first) to 50."
    )
    expiration_at: DateTime | None = Field(
        default=None,
        description="When the remaining credits expire: a date or date-time (UTC).",
        examples=["2027-01-01"],
    )
    invoice_requires_successful_payment: bool | None = Field(
        default=None, description="Credit paid top-ups only once their invoice is paid."
    )


class Tenant(CatalogModel):
    """One overrides file. ``external_id`` is the file stem (= Lago customer external_id)."""

    external_id: Code
    customer: Customer
    tags: tuple[Code, ...] = Field(
        default=(),
        description="Labels that plan migrations select tenants by (`who: {tags: [...]}`).",
        examples=[["self-serve"]],
    )
    subscriptions: tuple[Subscription, ...] = ()
    wallets: tuple[Wallet, ...] = ()

    def subscription(self, external_id: str) -> Subscription | None:
        return next((s for s in self.subscriptions if s.external_id == external_id), None)

    @property
    def usage_target(self) -> Subscription | None:
        """The subscription usage records go to when they name only the tenant."""
        targets = [s for s in self.subscriptions if s.usage_target]
        if len(targets) == 1:
            return targets[0]
        if not targets and len(self.subscriptions) == 1:
            return self.subscriptions[0]
        return None
