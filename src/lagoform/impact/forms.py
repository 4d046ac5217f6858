"""What a subscription pays for, as the calculator reads it: ``PricedPlan``.

``priced`` turns a plan in the model's comparison form (``model.forms.billing_plan``: a catalog
plan, a Lago plan, or the effective plan ``model.reach`` says apply leaves) into the charges
``lagoform.pricing`` prices, with the Lago ids usage reports name charges by. Equality means
"bills the same usage the same" (display names and ids do not price anything). What the plan
*is* after apply — overrides, cascade — is decided in ``lagoform.model``, never here. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lagoform.model import forms
from lagoform.model.intervals import charges_interval
from lagoform.model.values import Normal

__all__ = [
    "PricedCharge",
    "PricedFilter",
    "PricedPlan",
    "charge_ids",
    "priced",
    "priced_plan",
    "pricing_differences",
]


@dataclass(frozen=True)
class PricedFilter:
    key: str  # ``model.filters.filter_key`` of the values map: a filter's identity
    values: dict[str, list[str]]
    properties: Normal


@dataclass(frozen=True)
class PricedCharge:
    code: str
    metric: str
    model: str
    properties: Normal
    filters: tuple[PricedFilter, ...] = ()
    min_amount_cents: int = 0
    lago_id: str | None = field(default=None, compare=False)
    # when it is invoiced, not how much: pay-in-advance fees are not on the period's invoice
    pay_in_advance: bool = field(default=False, compare=False)
    invoiceable: bool = field(default=True, compare=False)

    def lago(self) -> dict[str, Any]:
        """The charge as the pricing calculator reads it (Lago's response shape)."""
        return {
            "charge_model": self.model,
            "properties": self.properties,
            "filters": [{"values": f.values, "properties": f.properties} for f in self.filters],
            "min_amount_cents": self.min_amount_cents,
        }

    def filter(self, key: str) -> PricedFilter | None:
        return next((f for f in self.filters if f.key == key), None)


@dataclass(frozen=True)
class PricedPlan:
    code: str
    currency: str
    amount_cents: int
    commitment_cents: int | None
    charges: tuple[PricedCharge, ...]
    interval: str = "monthly"  # the subscription fee's period
    charges_interval: str = "monthly"  # the usage period (monthly charges of a yearly plan)

    def charge(self, code: str) -> PricedCharge | None:
        return next((c for c in self.charges if c.code == code), None)

    def by_lago_id(self, lago_id: str) -> PricedCharge | None:
        return next((c for c in self.charges if c.lago_id and c.lago_id == lago_id), None)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def priced(form: Normal, code: str = "", ids: Mapping[str, str | None] | None = None) -> PricedPlan:
    """A plan in the comparison form, as the calculator prices it; ``ids`` gives the Lago id
    of each charge (by charge code) of the plan Lago reports usage for."""
    commitment = form.get("minimum_commitment")
    cents = commitment.get("amount_cents") if isinstance(commitment, Mapping) else None
    charges = tuple(
        PricedCharge(
            code=charge_code,
            metric=str(charge.get("billable_metric_code") or ""),
            model=str(charge.get("charge_model") or ""),
            properties=dict(charge.get("properties") or {}),
            filters=tuple(
                PricedFilter(
                    key=key,
                    values=dict(f.get("values") or {}),
                    properties=dict(f.get("properties") or {}),
                )
                for key, f in (charge.get("filters") or {}).items()
            ),
            min_amount_cents=_int(charge.get("min_amount_cents")),
            lago_id=(ids or {}).get(charge_code),
            pay_in_advance=charge.get("pay_in_advance") is True,
            invoiceable=charge.get("invoiceable") is not False,
        )
        for charge_code, charge in (form.get("charges") or {}).items()
    )
    interval = str(form.get("interval") or "monthly")
    return PricedPlan(
        code=code,
        currency=str(form.get("amount_currency") or ""),
        amount_cents=_int(form.get("amount_cents")),
        commitment_cents=_int(cents) if cents is not None else None,
        charges=charges,
        interval=interval,
        charges_interval=charges_interval(interval, form.get("bill_charges_monthly")),
    )


def charge_ids(raw: Mapping[str, Any]) -> dict[str, str | None]:
    """A Lago plan object's charge ids by charge code."""
    return {
        forms.charge_code(c): (str(c["lago_id"]) if c.get("lago_id") else None)
        for c in raw.get("charges") or []
        if isinstance(c, Mapping)
    }


def priced_plan(raw: Mapping[str, Any]) -> PricedPlan:
    """A Lago plan object (or a catalog plan body), reduced to what prices usage."""
    return priced(forms.billing_plan(raw), str(raw.get("code") or ""), charge_ids(raw))


def pricing_differences(old: PricedPlan, new: PricedPlan) -> list[str]:
    """What prices differently between two plans, in words (empty: the same bill)."""
    out: list[str] = []
    if old.currency != new.currency:
        out.append(f"currency {old.currency} → {new.currency}")
    if (old.interval, old.charges_interval) != (new.interval, new.charges_interval):
        out.append(f"interval {old.interval} → {new.interval}")
    if old.amount_cents != new.amount_cents:
        out.append("subscription fee")
    if old.commitment_cents != new.commitment_cents:
        out.append("minimum commitment")
    old_codes = [c.code for c in old.charges]
    new_codes = [c.code for c in new.charges]
    for code in new_codes:
        before, after = old.charge(code), new.charge(code)
        if before is None:
            out.append(f"charge {code} added")
        elif before != after:
            out.append(f"charge {code}")
    out.extend(f"charge {code} removed" for code in old_codes if code not in new_codes)
    return out
