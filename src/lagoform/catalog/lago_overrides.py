"""Lago's plans read back in the project's own terms: the units prices are written in, and a
subscription's copy of its plan as the overrides that say it.

An override lists only what it changes (docs/overrides.md): a plan-level field, or per charge
its prices, minimum, display name, taxes, and the filters whose prices differ from the plan's
filter with the same values map. ``lagoform import`` passes the tenant file's overrides, when
there is one: a charge's override that still says what the copy holds is kept as written
(a discount, a price ``per:`` a unit), otherwise it is written from Lago's values, in the
units of the plan's charge. Lago holds prices per single unit; ``in_units`` writes them back
per the unit the YAML used (multiplying, so exactly).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from lagoform.catalog.checks_charge import filter_label
from lagoform.catalog.models_charge import (
    Charge,
    GraduatedProperties,
    StandardProperties,
    VolumeProperties,
    unit_of,
)
from lagoform.catalog.models_plan import BillingPlan
from lagoform.catalog.models_tenant import ChargeOverride, OverrideFilter, PlanOverrides
from lagoform.model.filters import filter_key

__all__ = [
    "in_units",
    "override_gaps",
    "overrides_from_plans",
    "same_charges",
    "same_price",
    "with_units",
]


def in_units(properties: Any, per: str | None) -> Any:
    """Per-unit prices (as Lago holds them) written per ``per`` (``1M tokens``)."""
    unit = unit_of(per)
    if unit is None:
        return properties

    def scaled(price: Decimal) -> Decimal:
        return unit.per_scale(price).normalize()  # 0.0000009 per unit: 0.9 per 1M, not 0.9000000

    match properties:
        case StandardProperties():
            return properties.model_copy(update={"amount": scaled(properties.amount)})
        case GraduatedProperties() | VolumeProperties():
            tiers = tuple(
                t.model_copy(update={"per_unit": scaled(t.per_unit)}) for t in properties.tiers
            )
            return properties.model_copy(update={"tiers": tiers})
    return properties


def with_units(lago: Charge, written: Charge | None) -> Charge:
    """A charge read from Lago, its prices per the units ``written`` (the YAML's charge) uses:
    the charge's ``per:``, each filter's own or else the charge's."""
    if written is None:
        return lago
    units = {filter_label(f.values): f.per for f in written.filters}
    filters = tuple(
        f.model_copy(
            update={
                "per": units.get(filter_label(f.values)),
                "properties": in_units(
                    f.properties, units.get(filter_label(f.values)) or written.per
                ),
            }
        )
        for f in lago.filters
    )
    return lago.model_copy(
        update={
            "per": written.per,
            "properties": in_units(lago.properties, written.per),
            "filters": filters,
        }
    )


def _same(name: str, one: Any, other: Any) -> bool:
    if name == "tax_codes" and one is not None and other is not None:
        return set(one) == set(other)
    return bool(one == other)


def _kept(name: str, written: Any, mine: Any, base: Any) -> Any:
    """A plan-level override value: as written while it still says what the copy holds, else
    the copy's value where it differs from the plan, else unset (it follows the catalog)."""
    if written is not None and _same(name, written, mine):
        return written
    return None if _same(name, mine, base) else mine


def _numbers(value: Any) -> Any:
    """Lago bodies compared by value: ``"0.10"`` and ``"0.1"`` are one price."""
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    if isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            return value
    return value


def same_price(one: Any, one_per: str | None, other: Any, other_per: str | None) -> bool:
    """Two properties price alike as Lago holds them (per single unit, by value), whatever
    unit each is written in."""
    from lagoform.catalog.lago_form import properties_body  # it imports us

    mine = properties_body(one, unit_of(one_per))
    theirs = properties_body(other, unit_of(other_per))
    return bool(_numbers(mine) == _numbers(theirs))


def same_charges(one: BillingPlan, other: BillingPlan) -> bool:
    """Two plans' charges bill alike as Lago holds them: whatever order they and their
    filters are listed in, whatever units their prices are written in."""
    from lagoform.catalog.lago_form import charge_body  # it imports us

    def bodies(plan: BillingPlan) -> dict[str, Any]:
        out = {}
        for charge in plan.charges:
            body = charge_body(charge, plan.currency)
            body["filters"] = {filter_key(f["values"]): f for f in body["filters"]}
            out[charge.code] = _numbers(body)
        return out

    return one.currency == other.currency and bodies(one) == bodies(other)


def _priced(body: dict[str, Any]) -> dict[str, Any]:
    """What an override can change of a charge body, filters by their values."""
    priced: dict[str, Any] = _numbers(
        {
            "properties": body.get("properties"),
            "min_amount_cents": body.get("min_amount_cents"),
            "invoice_display_name": body.get("invoice_display_name"),
            "tax_codes": sorted(body.get("tax_codes") or []),
            "filters": {
                filter_key(f["values"]): (f["properties"], f.get("invoice_display_name"))
                for f in body.get("filters") or []
            },
        }
    )
    return priced


def _holds(written: ChargeOverride, base: Charge, copy: Charge, currency: str) -> bool:
    """``written`` laid over ``base`` gives what ``copy`` holds (as Lago holds it)."""
    from lagoform.catalog.lago_form import charge_body, charge_override_body  # it imports us

    expected = charge_body(base, currency)
    override = charge_override_body(written, currency, base)
    for key in ("properties", "min_amount_cents", "invoice_display_name", "tax_codes"):
        if key in override:
            expected[key] = override[key]
    merged = {filter_key(f["values"]): f for f in expected["filters"]}
    for entry in override.get("filters") or []:
        if filter_key(entry["values"]) in merged:
            merged[filter_key(entry["values"])] = entry
    expected["filters"] = list(merged.values())
    return _priced(expected) == _priced(charge_body(copy, currency))


def _charge_override(base: Charge, copy: Charge) -> ChargeOverride | None:
    """What ``copy`` changes on ``base``, in ``base``'s units: only the filters whose prices
    differ from the plan's filter with the same values."""
    mine = with_units(copy, base)
    changed: dict[str, Any] = {}
    for key in ("properties", "min_amount", "invoice_display_name", "tax_codes"):
        if not _same(key, getattr(mine, key), getattr(base, key)):
            changed[key] = getattr(mine, key)
    plan = {filter_label(f.values): f for f in base.filters}
    filters = []
    for charge_filter in mine.filters:
        listed = plan.get(filter_label(charge_filter.values))
        if listed is None or charge_filter == listed:
            continue
        name = charge_filter.invoice_display_name
        filters.append(
            OverrideFilter(
                values=charge_filter.values,
                properties=charge_filter.properties,
                invoice_display_name=name if name != listed.invoice_display_name else None,
            )
        )
    if filters:
        changed["filters"] = tuple(filters)
    return ChargeOverride(**changed) if changed else None


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
    if old.frozen:
        # a frozen copy's prices are what its YAML means: only the values written are read
        data["frozen"] = True
    if old.acknowledge:
        data["acknowledge"] = old.acknowledge
    if old.approvals:  # what the policies asked for is the YAML's, never Lago's
        data["approvals"] = old.approvals
    for key in ("amount", "name", "invoice_display_name", "description", "trial_days"):
        if old.frozen and getattr(old, key) is None:
            continue
        value = _kept(key, getattr(old, key), getattr(child, key), getattr(parent, key))
        if value is not None:
            data[key] = value
    taxes = None
    if not old.frozen or old.tax_codes is not None:
        taxes = _kept("tax_codes", old.tax_codes, child.tax_codes, parent.tax_codes)
    if taxes is not None:
        data["tax_codes"] = taxes
    charges: dict[str, ChargeOverride] = {}
    for charge in child.charges:
        base = parent.charge(charge.code)
        if base is None:
            continue
        mine = old.charges.get(charge.code)
        if old.frozen:
            frozen = _frozen_charge(mine, base, charge, parent.currency) if mine else None
            if frozen is not None:
                charges[charge.code] = frozen
            continue
        if mine is not None and _holds(mine, base, charge, parent.currency):
            charges[charge.code] = mine
            continue
        fresh = _charge_override(base, charge)
        if fresh is not None:
            charges[charge.code] = fresh
    if charges:
        data["charges"] = charges
    if len(data) == 2 and written is None:
        return None
    return PlanOverrides.model_validate(data)


def _frozen_charge(
    written: ChargeOverride, base: Charge, copy: Charge, currency: str
) -> ChargeOverride | None:
    """A frozen subscription's charge override read back: each value written, as the copy
    holds it now (kept as written while it still says so); nothing the YAML does not write."""
    if _holds_written(written, base, copy, currency):
        return written
    mine = with_units(copy, base)
    fields = {
        key: getattr(mine, key)
        for key in ("properties", "min_amount", "invoice_display_name", "tax_codes")
        if getattr(written, key) is not None
    }
    listed = {filter_label(e.values) for e in written.filters or ()}
    covered = [
        f
        for f in mine.filters
        if filter_label(f.values) in listed
        or any(e.covers(f.values) for e in written.filters or () if e.discount is not None)
    ]
    if written.filters is not None:
        fields["filters"] = tuple(
            OverrideFilter(values=f.values, properties=f.properties) for f in covered
        )
    return ChargeOverride(**fields) if any(fields.values()) else None


def _holds_written(written: ChargeOverride, base: Charge, copy: Charge, currency: str) -> bool:
    """Every value ``written`` sets (laid over ``base``) is what ``copy`` holds for it."""
    from lagoform.catalog.lago_form import charge_body, charge_override_body  # it imports us

    override = charge_override_body(written, currency, base)
    held = charge_body(copy, currency)
    for key in ("properties", "min_amount_cents", "invoice_display_name", "tax_codes"):
        if key in override and _priced({key: override[key]}) != _priced({key: held.get(key)}):
            return False
    mine = {filter_key(f["values"]): f for f in held.get("filters") or []}
    for entry in override.get("filters") or []:
        got = mine.get(filter_key(entry["values"]))
        if got is None or _numbers(got.get("properties")) != _numbers(entry.get("properties")):
            return False
    return True


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
        gaps.extend(
            f"charge {charge.code}: filter {key} is on the copy, not on the plan"
            for key in sorted(copy - plan)
        )
        gaps.extend(
            f"charge {charge.code}: filter {key} is on the plan, not on the copy"
            for key in sorted(plan - copy)
        )
    gaps.extend(
        f"charge {c.code} is on the plan, not on the copy"
        for c in parent.charges
        if child.charge(c.code) is None
    )
    return gaps
