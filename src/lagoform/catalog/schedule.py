"""The catalog on a given day: scheduled prices that have taken over, and those still ahead.

``entries(project)`` lists every ``scheduled:`` price with where it is written and which part
of the plan's Lago form it replaces; ``as_of(project, day)`` is the project whose prices are the
ones in force on ``day`` (00:00 UTC): each due entry, in date order, replaces the fields it
names. Everything after that (desired state, plan, apply) reads the folded project and never
sees ``scheduled:``. Pure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from lagoform.catalog.lago_form import filter_values_body
from lagoform.catalog.models_base import CatalogModel
from lagoform.catalog.models_charge import Charge
from lagoform.catalog.models_plan import BillingPlan
from lagoform.catalog.models_schedule import ScheduledEntry
from lagoform.catalog.project import Project
from lagoform.catalog.yamlsrc import SourceLocation
from lagoform.model.filters import filter_key

__all__ = ["Entry", "as_of", "entries", "has_schedule"]

M = TypeVar("M", bound=CatalogModel)


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
    update = _due(plan.scheduled, day, ("amount",))
    charges = tuple(_charge_as_of(c, day) for c in plan.charges)
    return _updated(plan, update, "charges", charges, plan.charges)


def _charge_as_of(charge: Charge, day: dt.date) -> Charge:
    update = _due(charge.scheduled, day, ("properties", "min_amount"))
    filters = tuple(
        _updated(f, _due(f.scheduled, day, ("properties",)), "filters", (), ())
        for f in charge.filters
    )
    return _updated(charge, update, "filters", filters, charge.filters)


def _due(entries: Sequence[ScheduledEntry], day: dt.date, fields: Sequence[str]) -> dict[str, Any]:
    """The fields the entries due on ``day`` set, the latest date winning field by field."""
    update: dict[str, Any] = {}
    for entry in sorted(entries, key=lambda e: e.effective):
        if entry.effective <= day:
            update.update({f: v for f in fields if (v := getattr(entry, f, None)) is not None})
    return update


def _updated(
    model: M, update: dict[str, Any], name: str, new: tuple[Any, ...], old: tuple[Any, ...]
) -> M:
    """``model`` with ``update`` and its children ``name`` replaced when any of them changed;
    ``model`` itself when nothing did (so an unscheduled catalog stays the same object)."""
    if any(a is not b for a, b in zip(new, old, strict=True)):
        update = {**update, name: new}
    return model.model_copy(update=update) if update else model
