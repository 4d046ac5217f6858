"""What a plan says about one subscription's prices and plan: plain frozen data in the ``Plan``.

``SubscriptionPricing`` is the finance view of a subscription change: per plan-level field,
charge and filter, the catalog (base) price, the price the subscription pays now and the price
after apply, with the override's reason and approval; and ``target``, the override values apply
sets (it is also what apply reads back). ``PlanMove`` is a change of a subscription's plan with
Lago's rule for it. Built by ``pricing.py`` and ``moves.py``, read by the renderers, ``payloads``
and ``apply``. Values are in the comparison form of ``normal.py``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PriceLine(_Frozen):
    """One price a reviewer checks: a plan-level field (``charge`` None), a charge's field, or
    a field of one of the charge's filters (``filter`` = the filter's key, e.g.
    ``modality=text;type=input``). ``None`` means absent (e.g. a filter the override drops)."""

    charge: str | None = None
    filter: str | None = None
    field: str
    model: str | None = None  # the charge's model, to read ``properties``
    base: Any = None  # the catalog's value (the base plan)
    current: Any = None  # what the subscription has now (meaningless when not ``exists``)
    new: Any = None  # after apply
    negotiated: bool = False  # the YAML overrides it (else it is, or goes back to, the catalog's)


class SubscriptionPricing(_Frozen):
    plan_code: str
    currency: str
    reason: str | None = None
    approval: str | None = None
    # Derived prices, in words (``tokens: 15% off list``): the rule behind the lines.
    rules: tuple[str, ...] = ()
    # The Lago record the override calls address exists already (``current`` values are live).
    exists: bool = False
    # That record is already on its own copy of the plan (Lago's child plan).
    overridden: bool = False
    # Which record the override calls address: a pending one is a scheduled downgrade or a
    # subscription that has not started yet (``?subscription_status=pending``).
    status: Literal["active", "pending"] = "active"
    lines: tuple[PriceLine, ...] = ()
    # The values apply sets, comparison form: {"plan": {field: value},
    # "charges": {code: {field: value}}}. Plan-level ones go in ``plan_overrides`` (never with
    # ``charges``), charge ones through ``PUT /subscriptions/{id}/charges/{code}``.
    target: dict[str, Any] = Field(default_factory=dict)

    @property
    def plan_target(self) -> dict[str, Any]:
        value = self.target.get("plan")
        return dict(value) if isinstance(value, dict) else {}

    @property
    def charge_targets(self) -> dict[str, dict[str, Any]]:
        value = self.target.get("charges")
        return {str(k): dict(v) for k, v in value.items()} if isinstance(value, dict) else {}


MoveKind = Literal["upgrade", "downgrade", "swap", "cancel_downgrade"]


class PlanMove(_Frozen):
    """A subscription changing plan, as Lago will do it (API_NOTES §5.2)."""

    kind: MoveKind
    from_plan: str
    to_plan: str
    currency: str | None = None
    # Yearly base fees Lago compares (amount × 12 monthly, × 4 quarterly, × 2 semiannual, × 52
    # weekly); None when unknown.
    from_yearly_cents: int | None = None
    to_yearly_cents: int | None = None
    # When the new plan takes over: "now", or the date the current billing period ends.
    effective: str | None = None
    rule: str = ""  # Lago's rule for this move, spelled out for reviewers
    # The catalog migration (``migrations:`` of a versioned plan) this move carries out.
    migration: str | None = None
