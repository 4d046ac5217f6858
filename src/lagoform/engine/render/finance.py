"""The finance parts of a change, for people: a subscription's negotiated prices (base, current,
new per charge and filter, with reason and approval), a change of plan with Lago's rule, a
wallet top-up. Pure; reads ``ObjectChange.pricing`` / ``.move`` and the field changes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lagoform.engine.plan import ObjectChange
from lagoform.engine.pricing_model import PlanMove, PriceLine, SubscriptionPricing
from lagoform.engine.render import money as fmt
from lagoform.model.filters import label as filter_label
from lagoform.model.values import finite

_FIELD_NAMES = {
    "amount_cents": "base fee",
    "name": "plan name",
    "invoice_display_name": "invoice name",
    "description": "description",
    "tax_codes": "taxes",
    "amount_currency": "currency",
    "trial_period": "trial",
    "properties": "price",
    "min_amount_cents": "min_amount",
}
UNSET = "—"


@dataclass(frozen=True)
class PriceRow:
    """One line of a subscription's price table."""

    charge: str  # "" for plan-level fields
    where: str  # "base fee", "price", "[type=input, modality=text] price", ...
    base: str
    current: str
    new: str
    delta: str
    negotiated: bool
    changes: bool  # does apply change it?

    @property
    def label(self) -> str:
        return f"{self.charge} {self.where}" if self.charge else self.where


@dataclass(frozen=True)
class PricingView:
    heading: str
    why: str  # reason and approval
    rows: tuple[PriceRow, ...]
    exists: bool
    widths: tuple[int, int, int, int] = (0, 0, 0, 0)  # text columns: where, base, now, new
    new_label: str = "after apply"  # "YAML asks" when the change is blocked


def pricing_view(
    pricing: SubscriptionPricing,
    *,
    blocked: bool = False,
    units: Mapping[str, Mapping[str, str]] | None = None,
) -> PricingView:
    """``units``: what the base plan's YAML writes each charge's (filter's) prices per."""
    cur = pricing.currency or None
    rows = tuple(_row(line, pricing, cur, units or {}) for line in pricing.lines)
    copy = " (its own copy in Lago)" if pricing.overridden else ""
    record = " — pending subscription" if pricing.status == "pending" else ""
    heading = f"prices on plan {pricing.plan_code}{copy}, {pricing.currency or 'no currency'}"
    why = (
        f"reason: {pricing.reason or '(none)'}; approval: {pricing.approval or '(none)'}"
        if pricing.reason or pricing.approval
        else "no `overrides:` in YAML: catalog prices"
    )
    if pricing.rules:
        why += "; " + "; ".join(pricing.rules)
    widths = (
        min(40, max((len(r.label) for r in rows), default=0)),
        min(24, max((len(r.base) for r in rows), default=0)),
        min(24, max((len(r.current) for r in rows), default=0)),
        min(24, max((len(r.new) + (0 if r.changes else 2) for r in rows), default=0)),
    )
    label = "YAML asks (blocked)" if blocked else "after apply"
    return PricingView(heading + record, why, rows, pricing.exists, widths, label)


def _row(
    line: PriceLine,
    pricing: SubscriptionPricing,
    cur: str | None,
    units: Mapping[str, Mapping[str, str]],
) -> PriceRow:
    per = (units.get(line.charge or "") or {}).get(line.filter or "")
    name = _FIELD_NAMES.get(line.field, line.field)
    where = f"[{filter_label(line.filter)}] {name}" if line.filter is not None else name
    if line.filter is not None and line.field == "properties":
        where = f"[{filter_label(line.filter)}]"
    current = _show(line, line.current, cur, per) if pricing.exists else UNSET
    before = line.current if pricing.exists else line.base
    delta = _delta(line, before, line.new)
    if delta and not pricing.exists:
        delta += " vs base"
    return PriceRow(
        charge=line.charge or "",
        where=where,
        base=_show(line, line.base, cur, per),
        current=current,
        new=_show(line, line.new, cur, per),
        delta=delta,
        negotiated=line.negotiated,
        changes=(line.current != line.new) if pricing.exists else (line.base != line.new),
    )


def _show(line: PriceLine, item: Any, cur: str | None, per: str | None = None) -> str:
    if item is None:
        if line.filter is not None and line.field == "properties":
            return "no filter (charge price)"
        return fmt.NONE
    if line.field in ("amount_cents", "min_amount_cents"):
        return fmt.money(item, cur)
    if line.field == "properties":
        return fmt.properties(line.model, item, cur, per)
    if line.field == "trial_period":
        return f"{fmt.number(item)} days"
    if isinstance(item, list):
        return ", ".join(str(v) for v in item) or "(none)"
    return str(item)


def _delta(line: PriceLine, old: Any, new: Any) -> str:
    if line.field in ("amount_cents", "min_amount_cents"):
        return fmt.change(old, new)
    if line.field != "properties" or not isinstance(old, dict) or not isinstance(new, dict):
        return ""
    moves = []
    for key in sorted(set(old) & set(new)):
        a, b = old[key], new[key]
        if isinstance(a, list) and isinstance(b, list) and key.endswith("_ranges"):
            for i, (x, y) in enumerate(zip(a, b, strict=False)):
                for name in ("per_unit_amount", "flat_amount", "rate"):
                    moved = fmt.change(x.get(name), y.get(name))
                    if moved:
                        moves.append(f"{moved} ({fmt.tier_label(b, i, name)})")
        else:
            moved = fmt.change(a, b)
            if moved:
                moves.append(moved if len(new) == 1 else f"{moved} ({key})")
    return "; ".join(moves)


# -- plan moves --------------------------------------------------------------------------------


def move_lines(move: PlanMove) -> tuple[str, str]:
    """(headline, Lago's rule) for a change of plan."""
    when = {"now": "now"}.get(move.effective or "", move.effective or "")
    heads = {
        "upgrade": f"upgrade: {move.from_plan} → {move.to_plan}, immediately",
        "downgrade": f"downgrade: {move.from_plan} → {move.to_plan}, at period end ({when})",
        "swap": f"plan change before start: {move.from_plan} → {move.to_plan}",
        "cancel_downgrade": f"cancel the scheduled downgrade to {move.from_plan}; "
        f"stays on {move.to_plan}",
    }
    return heads[move.kind], move.rule


# -- wallets -----------------------------------------------------------------------------------


def top_up_lines(change: ObjectChange) -> Iterator[str]:
    """What a wallet update credits: ``top-up: +2,000 paid credits (2,000.00 USD at 1 USD per
    credit)``."""
    if change.kind != "wallet" or change.action not in ("update", "blocked"):
        return
    body = change.body or {}
    rate = finite(body.get("rate_amount")) or Decimal(1)
    currency = str(body.get("currency") or "")
    for item in change.changes:
        if item.path[0] not in ("paid_credits", "granted_credits"):
            continue
        old, new = finite(item.old) or Decimal(0), finite(item.new) or Decimal(0)
        kind = item.path[0].replace("_credits", "")
        if new > old:
            worth = fmt.worth((new - old) * rate, currency)
            yield (
                f"top-up: +{fmt.number(new - old)} {kind} credits ({worth} at "
                f"{fmt.number(rate)} {currency} per credit), a wallet transaction"
            )
        elif new < old:
            yield f"refused: {kind} credits would go down by {fmt.number(old - new)}"
