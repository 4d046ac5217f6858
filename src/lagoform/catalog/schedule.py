"""The catalog on a given day: scheduled prices that have taken over, and those still ahead.

``entries(project)`` lists every ``scheduled:`` price with where it is written and which part
of the plan's Lago form it replaces; ``as_of(project, day)`` is the project whose prices are the
ones in force on ``day`` (00:00 UTC): each due entry, in date order, replaces the fields it
names. Everything after that (desired state, plan, apply) reads the folded project and never
sees ``scheduled:``. Pure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from lagoform.catalog.lago_form import filter_values_body
from lagoform.catalog.models_charge import Charge, ChargeFilter
from lagoform.catalog.models_plan import BillingPlan
from lagoform.catalog.project import Project
from lagoform.catalog.yamlsrc import SourceLocation
from lagoform.model.filters import filter_key

__all__ = ["Entry", "as_of", "entries", "has_schedule"]


@dataclass(frozen=True)
class Entry:
    """One scheduled price: on which plan (charge, filter) it is, when, and what it replaces."""

    plan: str
    charge: str | None
    filter: str | None  # the filter's key (``model.filters.filter_key``), None: not a filter
    effective: dt.date
    notice: str | None
    reason: str | None
    where: SourceLocation
    # the paths of the plan's comparison form (``model.forms.billing_plan``) it replaces
    paths: tuple[tuple[str, ...], ...]

    def due(self, day: dt.date) -> bool:
        return self.effective <= day

    @property
    def subject(self) -> str:
        """``pro_monthly``, ``pro_monthly/tokens`` or ``pro_monthly/tokens[type=input]``."""
        text = self.plan
        if self.charge is not None:
            text += f"/{self.charge}"
        if self.filter is not None:
            text += f"[{self.filter.replace(';', ', ')}]"
        return text


def has_schedule(project: Project) -> bool:
    return any(_plan_has(p) for p in project.catalog.plans)


def _plan_has(plan: BillingPlan) -> bool:
    return bool(plan.scheduled) or any(
        c.scheduled or any(f.scheduled for f in c.filters) for c in plan.charges
    )


def entries(project: Project) -> list[Entry]:
    """Every scheduled price of the catalog, by date, then plan, charge and filter."""
    out: list[Entry] = []
    for plan in project.catalog.plans:
        if not _plan_has(plan):
            continue

        def at(*path: str | int, code: str = plan.code) -> SourceLocation:
            return project.locate("plan", code, *path)

        for index, fee in enumerate(plan.scheduled):
            out.append(
                Entry(plan.code, None, None, fee.effective, fee.notice, fee.reason,
                      at("scheduled", index, "effective"), (("amount_cents",),))
            )  # fmt: skip
        for c_index, charge in enumerate(plan.charges):
            base = ("charges", charge.code)
            for index, price in enumerate(charge.scheduled):
                paths = [(*base, "properties")] if price.properties is not None else []
                if price.min_amount is not None:
                    paths.append((*base, "min_amount_cents"))
                out.append(
                    Entry(plan.code, charge.code, None, price.effective, price.notice,
                          price.reason, at("charges", c_index, "scheduled", index, "effective"),
                          tuple(paths))
                )  # fmt: skip
            for f_index, charge_filter in enumerate(charge.filters):
                key = filter_key(filter_values_body(charge_filter.values))
                for index, filter_price in enumerate(charge_filter.scheduled):
                    where = at("charges", c_index, "filters", f_index, "scheduled", index,
                               "effective")  # fmt: skip
                    out.append(
                        Entry(plan.code, charge.code, key, filter_price.effective,
                              filter_price.notice, filter_price.reason, where,
                              ((*base, "filters", key, "properties"),))
                    )  # fmt: skip
    out.sort(key=lambda e: (e.effective, e.plan, e.charge or "", e.filter or ""))
    return out


def as_of(project: Project, day: dt.date) -> Project:
    """``project`` with the prices in force on ``day``; the same object when nothing is due."""
    plans = tuple(_plan_as_of(p, day) for p in project.catalog.plans)
    if all(new is old for new, old in zip(plans, project.catalog.plans, strict=True)):
        return project
    return replace(project, catalog=replace(project.catalog, plans=plans))


def _plan_as_of(plan: BillingPlan, day: dt.date) -> BillingPlan:
    if not _plan_has(plan):
        return plan
    update: dict[str, Any] = {}
    for fee in sorted(plan.scheduled, key=lambda e: e.effective):
        if fee.effective <= day:
            update["amount"] = fee.amount
    charges = tuple(_charge_as_of(c, day) for c in plan.charges)
    if any(new is not old for new, old in zip(charges, plan.charges, strict=True)):
        update["charges"] = charges
    return plan.model_copy(update=update) if update else plan


def _charge_as_of(charge: Charge, day: dt.date) -> Charge:
    update: dict[str, Any] = {}
    for price in sorted(charge.scheduled, key=lambda e: e.effective):
        if price.effective <= day:
            if price.properties is not None:
                update["properties"] = price.properties
            if price.min_amount is not None:
                update["min_amount"] = price.min_amount
    filters = tuple(_filter_as_of(f, day) for f in charge.filters)
    if any(new is not old for new, old in zip(filters, charge.filters, strict=True)):
        update["filters"] = filters
    return charge.model_copy(update=update) if update else charge


def _filter_as_of(charge_filter: ChargeFilter, day: dt.date) -> ChargeFilter:
    due = [e for e in charge_filter.scheduled if e.effective <= day]
    if not due:
        return charge_filter
    latest = max(due, key=lambda e: e.effective)
    return charge_filter.model_copy(update={"properties": latest.properties})
