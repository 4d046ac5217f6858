"""The rules the YAML alone decides (``lagoform validate`` and ``plan`` both run them).

- ``negotiated_floor``: each negotiated price (a tenant's ``overrides:``: base fee, a charge's
  price, a filter's price) is at least the list price × ``floor``, figure by figure (a tier's
  per-unit and flat amounts; a package by its price per unit when the sizes differ). An
  override naming an approval of the rule's kind (``approvals: [{kind: finance, ref: …}]``)
  lets it through.
- ``margin_floor``: each list price (a charge's own, each filter's) bills at least cost × (1 +
  ``margin``) per unit, against the cost table of the charge's metric. A filter's price must
  cover every cost entry it may price (``type: input`` prices every model's input); the
  charge's own (fallback) price must cover the entries no filter surely prices. The price of a
  tiered charge is its lowest non-zero rate (a free first tier is an allowance). A plan in
  another currency than the table is not compared (no exchange rates).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from lagoform.catalog.models_charge import WILDCARD
from lagoform.catalog.models_policy import CostEntry, CostTable, MarginFloor, NegotiatedFloor
from lagoform.engine.findings import Finding
from lagoform.model.currency import money
from lagoform.model.filters import label
from lagoform.model.units import parse_unit
from lagoform.policies.context import Context, plain
from lagoform.policies.costs import CostIndex
from lagoform.policies.prices import figures, unit_rate

__all__ = ["margin_floor", "negotiated_floor"]


def negotiated_floor(ctx: Context, rule: NegotiatedFloor) -> Iterator[Finding]:
    for key, obj in sorted(ctx.desired.objects.get("subscription", {}).items()):
        overrides = obj.normal.get("overrides")
        plan_code = obj.normal.get("plan_code")
        base = ctx.desired.get("plan", str(plan_code))
        if not isinstance(overrides, Mapping) or base is None:
            continue
        if not ctx.in_scope(rule, str(plan_code)):
            continue
        tenant = str(obj.normal.get("external_customer_id") or "")
        currency = str(base.normal.get("amount_currency") or "")
        units = ctx.desired.units.get(str(plan_code), {})
        for charge, flt, field, listed, mine in _negotiated(base.normal, overrides):
            low = _below(field, listed, mine, rule.floor)
            if low is None:
                continue
            name, price, least = low
            what = f"{charge} [{label(flt)}]" if flt else charge or "base fee"
            per = (units.get(charge or "") or {}) if charge else {}
            unit = per.get(flt or "") or per.get("")

            def shown(
                value: Decimal, field: str = field, unit: str | None = unit, cur: str = currency
            ) -> str:
                return _shown(field, value, cur, unit)

            spot = ctx.locator.subscription(key, charge, flt, field)
            yield ctx.finding(
                rule,
                f"{key}:{charge or 'base'}" + (f":{flt}" if flt else ""),
                subject=f"subscription {key}",
                message=(
                    f"subscription {key} negotiates {what} {name} at {shown(price)}, below "
                    f"{plain(rule.floor)} × its list price (at least {shown(least)})"
                ),
                way_out=f"negotiate at least {shown(least)}",
                spot=spot,
                tenant=tenant,
                approval=rule.approval,
            )


def _negotiated(
    plan: Mapping[str, Any], overrides: Mapping[str, Any]
) -> Iterator[tuple[str | None, str | None, str, Any, Any]]:
    """(charge, filter key, field, list price, negotiated price) of each negotiated price."""
    if overrides.get("amount_cents") is not None:
        yield None, None, "amount_cents", plan.get("amount_cents"), overrides["amount_cents"]
    charges = plan.get("charges") or {}
    for code, mine in sorted((overrides.get("charges") or {}).items()):
        listed = charges.get(code)
        if not isinstance(listed, Mapping) or not isinstance(mine, Mapping):
            continue
        if mine.get("properties") is not None:
            yield code, None, "properties", listed.get("properties"), mine["properties"]
        own = listed.get("filters") or {}
        for key, flt in sorted((mine.get("filters") or {}).items()):
            if not isinstance(flt, Mapping) or flt.get("properties") is None:
                continue
            catalog = (own.get(key) or {}).get("properties", listed.get("properties"))
            yield code, key, "properties", catalog, flt["properties"]


def _below(
    field: str, listed: Any, mine: Any, floor: Decimal
) -> tuple[str, Decimal, Decimal] | None:
    """(figure, negotiated, least allowed) of the first figure below ``floor`` × list."""
    a, b = figures(field, listed), figures(field, mine)
    if set(a) != set(b) or a.get("package size") != b.get("package size"):
        rate_a, rate_b = unit_rate(listed), unit_rate(mine)
        if rate_a is None or rate_b is None:
            return None
        a, b = {"per unit": rate_a}, {"per unit": rate_b}
    for name, price in b.items():
        least = a[name] * floor
        if name != "package size" and price < least:
            return name, price, least
    return None


def _shown(field: str, value: Decimal, currency: str, unit: str | None) -> str:
    """A price as the YAML writes it: money for a base fee, else per the charge's unit."""
    if field == "amount_cents":
        return money(value, currency)
    if field == "properties" and unit:
        per = parse_unit(unit)
        return f"{plain(per.per_scale(value))} {currency} per {per}"
    return f"{plain(value)} {currency} per unit"


# -- margin ------------------------------------------------------------------------------------


def margin_floor(ctx: Context, rule: MarginFloor) -> Iterator[Finding]:
    tables = {t.metric: (t, CostIndex(t.costs)) for t in ctx.policies.model.costs}
    for code, obj in sorted(ctx.desired.objects.get("plan", {}).items()):
        if not ctx.in_scope(rule, code):
            continue
        currency = obj.normal.get("amount_currency")
        for charge_code, charge in sorted((obj.normal.get("charges") or {}).items()):
            found = tables.get(str(charge.get("billable_metric_code")))
            if found is None or found[0].currency != currency:
                continue
            yield from _charge_margin(ctx, rule, code, charge_code, charge, *found)


def _charge_margin(
    ctx: Context,
    rule: MarginFloor,
    plan: str,
    code: str,
    charge: Mapping[str, Any],
    table: CostTable,
    costs: CostIndex,
) -> Iterator[Finding]:
    filters = charge.get("filters") or {}
    per = parse_unit(table.per)
    units = ctx.desired.units.get(plan, {}).get(code, {})
    places: list[tuple[str | None, Any, list[CostEntry]]] = []
    for key, flt in sorted(filters.items()):
        places.append((key, flt.get("properties"), costs.may(flt.get("values") or {})))
    uncovered = costs.uncovered(f.get("values") or {} for f in filters.values())
    places.append((None, charge.get("properties"), uncovered))
    for key, props, entries in places:
        rate = unit_rate(props)
        if rate is None or not entries:
            continue
        worst = max(entries, key=lambda e: e.cost)
        least = per.per_unit(worst.cost) * (1 + rule.margin)
        if rate >= least:
            continue
        unit = parse_unit(units.get(key or "") or units.get("") or table.per)
        what = f"{code} [{label(key)}]" if key else f"{code} (its own price)"
        cost_of = ", ".join(
            f"{k}={'/'.join(v)}" for k, v in sorted(worst.values.items()) if WILDCARD not in v
        )
        yield ctx.finding(
            rule,
            f"{plan}:{code}" + (f":{key}" if key else ""),
            subject=f"plan {plan}",
            message=(
                f"plan {plan} lists {what} at {plain(unit.per_scale(rate))} {table.currency} "
                f"per {unit}, below cost × (1 + {plain(rule.margin)}) = "
                f"{plain(unit.per_scale(least))} {table.currency} per {unit} (cost of "
                f"{cost_of or 'any'}: {plain(worst.cost)} per {table.per})"
            ),
            way_out=(
                f"price it at least {plain(unit.per_scale(least))} {table.currency} per {unit}"
                ", or update the cost table if the cost is out of date"
            ),
            spot=ctx.locator.plan(plan, code, key, "properties"),
        )
