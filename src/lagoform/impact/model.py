"""The revenue section of a plan: ``RevenueImpact`` and its parts. Plain frozen data.

All amounts are integers in the currency's minor units (cents for USD). ``"current"`` is the
open period with its usage so far; ``"past-1"`` the last closed period, ``"past-2"`` the one
before, and so on. Two bases, always named:

- a subscription's period (``SubscriptionPeriod.old_cents`` ...) is its usage period, of
  ``interval`` length (a month for a yearly plan billing charges monthly), its subscription fee
  counted as its share of that period;
- every total, mover and contribution, and each period's ``monthly_*`` amounts, are on the
  **monthly run-rate** basis (``basis``): the period's amount × its periods in a year ÷ 12, so a
  yearly and a monthly subscription add up like with like.

``delta_cents = new_cents - old_cents``. The JSON form (``model_dump``) is versioned by
``schema_version`` and documented in docs/impact.md.
``unavailable`` says why there is no estimate at all (no usage could be read, or the analysis
failed); ``lagoform plan`` still shows the plan.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = [
    "BASIS",
    "SCHEMA_VERSION",
    "ChargeDelta",
    "Contribution",
    "Mover",
    "NotFollowing",
    "PeriodTotal",
    "RevenueImpact",
    "SubscriptionImpact",
    "SubscriptionPeriod",
    "Unreliable",
    "Verified",
    "VerifiedAmount",
]

SCHEMA_VERSION = 2
BASIS = "monthly"


class _Frozen(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", json_schema_serialization_defaults_required=True
    )


class ChargeDelta(_Frozen):
    """One line of a subscription's bill: a charge code, ``(subscription fee)`` or
    ``(minimum commitment)`` (the plan's top-up)."""

    charge: str
    old_cents: int
    new_cents: int
    delta_cents: int


class SubscriptionPeriod(_Frozen):
    """One usage period of a subscription: its amounts (and its charges') on the period's own
    basis (``interval``), and the same on the monthly run-rate basis."""

    period: str
    from_datetime: str | None = None
    to_datetime: str | None = None
    currency: str
    interval: str = "monthly"
    old_cents: int
    new_cents: int
    delta_cents: int
    monthly_old_cents: int
    monthly_new_cents: int
    monthly_delta_cents: int
    charges: tuple[ChargeDelta, ...] = ()


class SubscriptionImpact(_Frozen):
    """A subscription whose effective pricing changes, with every period it could be priced."""

    external_id: str
    external_customer_id: str
    plan_code: str  # its plan after the change
    causes: tuple[str, ...]  # plan | cascade | override | plan_switch
    changes: tuple[str, ...]  # what prices differently, in words
    periods: tuple[SubscriptionPeriod, ...] = ()  # reliable periods only
    notes: tuple[str, ...] = ()


class Unreliable(_Frozen):
    """A subscription (or some of its periods) with no estimate, and why."""

    external_id: str
    external_customer_id: str
    plan_code: str
    periods: tuple[str, ...] = ()  # the periods concerned; empty = every period
    reasons: tuple[str, ...]


class NotFollowing(_Frozen):
    """An overridden subscription that a change to its plan does not (fully) reach."""

    external_id: str
    external_customer_id: str
    plan_code: str
    reason: str
    not_reached: tuple[str, ...] = ()  # the parts of the plan change it keeps its own copy of


class PeriodTotal(_Frozen):
    """Totals of one period in one currency over the reliably priced subscriptions, on the
    monthly run-rate basis."""

    period: str
    currency: str
    subscriptions: int
    customers: int
    old_cents: int
    new_cents: int
    delta_cents: int
    customers_more: int
    customers_less: int
    customers_same: int


class Mover(_Frozen):
    """A customer's bill for the first period shown (``current``), all its subscriptions, on
    the monthly run-rate basis (one currency: a customer billed in two appears twice)."""

    external_customer_id: str
    currency: str
    old_cents: int
    new_cents: int
    delta_cents: int
    subscriptions: tuple[str, ...]


class Contribution(_Frozen):
    """How much of a period's change one charge of one plan makes, over all subscriptions, on
    the monthly run-rate basis."""

    period: str
    currency: str
    plan_code: str
    charge: str
    delta_cents: int
    subscriptions: int


class VerifiedAmount(_Frozen):
    """An amount lagoform computes that Lago computes too, when the two differ (to the cent):
    ``source`` is ``current_usage`` (a charge's or filter's fee so far) or ``invoice_preview``
    (a charge's fees on the next invoice, minimum true-up included)."""

    source: str
    charge: str
    filter: str | None = None  # a filter's values (``model.filters.label``); None: the charge
    lagoform_cents: int
    lago_cents: int
    difference_cents: int  # lagoform − Lago


class Verified(_Frozen):
    """``lagoform impact --verify``: one sampled subscription's "before" amounts checked
    against Lago's own (``compared`` amounts; ``differences`` the ones that disagree)."""

    external_id: str
    external_customer_id: str
    currency: str
    compared: int = 0
    differences: tuple[VerifiedAmount, ...] = ()
    notes: tuple[str, ...] = ()  # what could not be compared, and why


class RevenueImpact(_Frozen):
    schema_version: int = SCHEMA_VERSION
    basis: str = BASIS  # what totals, movers and contributions are per
    periods: tuple[str, ...] = ("current",)
    affected_subscriptions: int = 0  # whose effective pricing changes (priced or not)
    totals: tuple[PeriodTotal, ...] = ()
    movers: tuple[Mover, ...] = ()  # largest |delta| first, the first ``top`` that change
    # every reliably priced customer of the first period, unchanged ones included, largest
    # |delta| first: the distribution of per-customer change a reviewer's chart shows
    customers: tuple[Mover, ...] = ()
    contributions: tuple[Contribution, ...] = ()  # largest |delta| first
    subscriptions: tuple[SubscriptionImpact, ...] = ()
    unreliable: tuple[Unreliable, ...] = ()
    not_following: tuple[NotFollowing, ...] = ()
    limits: tuple[str, ...] = ()  # what every estimate leaves out
    unavailable: str | None = None  # why there is no estimate at all (None: there is one)
    verified: tuple[Verified, ...] = ()  # ``--verify``: the sample checked against Lago

    @property
    def has_changes(self) -> bool:
        """Does the change move anyone's bill (or leave a bill it could not estimate)?"""
        return (
            self.unavailable is not None
            or bool(self.unreliable)
            or any(t.delta_cents for t in self.totals)
        )

    def total(self, period: str, currency: str) -> PeriodTotal | None:
        return next((t for t in self.totals if t.period == period and t.currency == currency), None)

    def subscription(self, external_id: str) -> SubscriptionImpact | None:
        return next((s for s in self.subscriptions if s.external_id == external_id), None)
