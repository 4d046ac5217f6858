"""A subscription's own copy of its plan, read back as the overrides that say it.

An override lists only what it changes (docs/overrides.md): a plan-level field, or per charge
its properties, minimum, display name, taxes, and the filters whose prices differ from the
plan's filter with the same values map. ``lagoform import`` calls this with the tenant file's
overrides, when there is one, so what the file wrote is kept while it still holds.
"""

from __future__ import annotations

from typing import Any

from lagoform.catalog.checks_charge import filter_label
from lagoform.catalog.models_charge import Charge, ChargeFilter
from lagoform.catalog.models_plan import BillingPlan
from lagoform.catalog.models_tenant import ChargeOverride, PlanOverrides


def _filter_key(charge_filter: ChargeFilter) -> str:
    return filter_label(charge_filter.values)


def _same(name: str, one: Any, other: Any) -> bool:
    if name == "tax_codes" and one is not None and other is not None:
        return set(one) == set(other)
    return bool(one == other)


def _kept(name: str, written: Any, mine: Any, base: Any) -> Any:
    """The override value of one field: what the YAML wrote while it still says what the copy
    holds (kept as written), else the copy's value where it differs from the plan, else unset
    (the field follows the catalog)."""
    if written is not None and _same(name, written, mine):
        return written
    return None if _same(name, mine, base) else mine


def _negotiated_filters(
    written: tuple[ChargeFilter, ...] | None, mine: Charge, base: Charge
) -> tuple[ChargeFilter, ...] | None:
    """The filters an override lists: only those whose prices differ from the plan's filter
    with the same values (the others follow the catalog); a written one still equal to the
    copy's stays as written."""
    copy = {_filter_key(f): f for f in mine.filters}
    plan = {_filter_key(f): f for f in base.filters}
    out: list[ChargeFilter] = []
    listed = set()
    for charge_filter in written or ():
        key = _filter_key(charge_filter)
        listed.add(key)
        if key in copy and _kept("filters", charge_filter, copy[key], plan.get(key)) is not None:
            out.append(charge_filter if charge_filter == copy[key] else copy[key])
    out.extend(f for key, f in copy.items() if key not in listed and key in plan and f != plan[key])
    return tuple(out) or None


def overrides_from_plans(
    parent: BillingPlan,
    child: BillingPlan,
    *,
    reason: str,
    approval: str,
    written: PlanOverrides | None = None,
) -> PlanOverrides | None:
    """What a subscription's effective (child) plan changes on its parent, as YAML overrides.

    An override lists only what it changes: per charge, only the filters whose prices differ
    from the parent's (by values map). ``written`` (the tenant file's overrides, when there is
    one) is kept where it still says what the child holds. Returns None when the child prices
    exactly like the parent and nothing was written. ``reason``/``approval`` cannot be read
    from Lago: ``lagoform import`` keeps the written ones or passes placeholders. What an
    override cannot say (a filter or charge the copy has and the plan lacks, or the reverse)
    is listed by ``override_gaps``.
    """
    data: dict[str, Any] = {"reason": reason, "approval": approval}
    old = written or PlanOverrides(reason=reason, approval=approval)
    for key in ("amount", "name", "invoice_display_name", "description", "trial_days"):
        value = _kept(key, getattr(old, key), getattr(child, key), getattr(parent, key))
        if value is not None:
            data[key] = value
    taxes = _kept("tax_codes", old.tax_codes, child.tax_codes, parent.tax_codes)
    if taxes is not None:
        data["tax_codes"] = taxes
    charges: dict[str, ChargeOverride] = {}
    for charge in child.charges:
        base = parent.charge(charge.code)
        if base is None:
            continue
        mine = old.charges.get(charge.code) or ChargeOverride()
        changed: dict[str, Any] = {}
        for key in ("properties", "min_amount", "invoice_display_name", "tax_codes"):
            value = _kept(key, getattr(mine, key), getattr(charge, key), getattr(base, key))
            if value is not None:
                changed[key] = value
        filters = _negotiated_filters(mine.filters, charge, base)
        if filters is not None:
            changed["filters"] = filters
        if changed:
            charges[charge.code] = ChargeOverride(**changed)
    if charges:
        data["charges"] = charges
    if len(data) == 2 and written is None:
        return None
    return PlanOverrides.model_validate(data)


def override_gaps(parent: BillingPlan, child: BillingPlan) -> list[str]:
    """What a subscription's copy holds that overrides cannot say (the next plan shows each:
    blocked, or the copy's filter set back to the catalog's)."""
    gaps = []
    for charge in child.charges:
        base = parent.charge(charge.code)
        if base is None:
            gaps.append(f"charge {charge.code} is on the copy, not on the plan")
            continue
        plan = {filter_label(f.values) for f in base.filters}
        copy = {filter_label(f.values) for f in charge.filters}
        for key in sorted(copy - plan):
            gaps.append(f"charge {charge.code}: filter {key} is on the copy, not on the plan")
        for key in sorted(plan - copy):
            gaps.append(f"charge {charge.code}: filter {key} is on the plan, not on the copy")
    gaps.extend(
        f"charge {c.code} is on the plan, not on the copy"
        for c in parent.charges
        if child.charge(c.code) is None
    )
    return gaps
