"""Tenants (overrides/<tenant>.yaml): customer, subscriptions with approved overrides, wallets.

Override charge ``properties`` are typed by the base plan's charge model; the project loader
writes that model in before validation (see ``project``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from lagoform.catalog.models_base import CatalogModel, Code, DateTime, Text
from lagoform.catalog.models_charge import ChargeFilter, ChargeProperties
from lagoform.catalog.money import Currency, ExactDecimal, Money
from lagoform.catalog.numbers import CreditsBound, Int32

# Wallet credits and rates: Lago keeps them as numeric(30,5).
Credits = Annotated[ExactDecimal, CreditsBound]


class Address(CatalogModel):
    line1: Text | None = None
    line2: Text | None = None
    city: Text | None = None
    zipcode: Text | None = None
    state: Text | None = None
    country: Text | None = Field(default=None, description="ISO 3166 alpha-2, e.g. US")

    @field_validator("country", mode="before")
    @classmethod
    def _country(cls, value: Any) -> Any:
        if isinstance(value, str):
            if len(value.strip()) != 2 or not value.strip().isalpha():
                raise ValueError(f"expected a two-letter country code such as US, got '{value}'")
            return value.strip().upper()
        return value


class Customer(CatalogModel):
    external_id: Code | None = Field(default=None, description="defaults to the file name")
    name: Text
    firstname: Text | None = None
    lastname: Text | None = None
    currency: Currency | None = None
    email: Text | None = None
    phone: Text | None = None
    url: Text | None = None
    legal_name: Text | None = None
    legal_number: Text | None = None
    tax_identification_number: Text | None = None
    address: Address | None = None
    timezone: Text | None = None
    net_payment_term: Int32 | None = None
    tax_codes: tuple[Code, ...] = ()
    metadata: dict[Text, Text] = Field(default_factory=dict, description="at most 5 entries")


class ChargeOverride(CatalogModel):
    """What a tenant's subscription changes on one charge of its plan (by charge code)."""

    properties: ChargeProperties | None = None
    filters: tuple[ChargeFilter, ...] | None = None
    min_amount: ExactDecimal | None = None
    invoice_display_name: Text | None = None
    tax_codes: tuple[Code, ...] | None = None


class PlanOverrides(CatalogModel):
    """Negotiated pricing. Always carries why (``reason``) and who approved it (``approval``)."""

    reason: Text
    approval: Text = Field(description="approval reference: MSA, order form or ticket id")
    amount: Money | None = None
    name: Text | None = None
    invoice_display_name: Text | None = None
    description: Text | None = None
    trial_days: ExactDecimal | None = None
    tax_codes: tuple[Code, ...] | None = None
    charges: dict[Code, ChargeOverride] = Field(default_factory=dict)


class Subscription(CatalogModel):
    external_id: Code
    plan: Code
    name: Text | None = None
    billing_time: Literal["calendar", "anniversary"] = "calendar"
    start_date: DateTime | None = None
    end_date: DateTime | None = None
    usage_target: bool = Field(default=False, description="this tenant's usage goes here")
    overrides: PlanOverrides | None = None


class Wallet(CatalogModel):
    code: Code
    name: Text | None = None
    currency: Currency
    rate_amount: Credits = Field(default=Decimal(1), description="currency per credit")
    paid_credits: Credits | None = None
    granted_credits: Credits | None = None
    priority: Int32 | None = None
    expiration_at: DateTime | None = None
    invoice_requires_successful_payment: bool | None = None


class Tenant(CatalogModel):
    """One overrides file. ``external_id`` is the file stem (= Lago customer external_id)."""

    external_id: Code
    customer: Customer
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
