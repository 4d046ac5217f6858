"""A subscription changing plan: which of Lago's paths it takes, and that path spelled out.

Lago has no "change plan" call: ``POST /subscriptions`` with the same ``external_id`` and
another ``plan_code`` is an upgrade or a downgrade, decided by comparing yearly base fees
(API_NOTES §5.2). A subscription that has not started is simply moved to the new plan, and a
scheduled downgrade is undone by cancelling the pending subscription. Pure.
"""

from __future__ import annotations

from typing import Any

from lagoform.engine.pricing_model import MoveKind, PlanMove
from lagoform.model.currency import money
from lagoform.model.intervals import yearly_cents
from lagoform.model.state import DesiredState, LiveObject, LiveState


def _money(cents: int | None, currency: str | None) -> str:
    return "?" if cents is None else money(cents, currency)


def _plan_terms(code: str, desired: DesiredState, live: LiveState) -> tuple[Any, Any, Any]:
    """(amount_cents, interval, currency) the plan will have when the subscription moves (plans
    apply before subscriptions, so the catalog's values when the catalog has the plan)."""
    obj = desired.get("plan", code) or live.get("plan", code)
    norm = obj.normal if obj is not None else {}
    return norm.get("amount_cents"), norm.get("interval"), norm.get("amount_currency")


def plan_move(
    have: LiveObject,
    to_plan: str,
    desired: DesiredState,
    live: LiveState,
    *,
    overrides: bool = False,
) -> PlanMove | None:
    """How Lago will move subscription ``have`` to ``to_plan``; None when it stays.
    ``overrides``: the YAML negotiates prices on the new plan (lagoform sets them after)."""
    raw = have.raw
    current = str(raw.get("plan_code") or "")
    scheduled = str(raw.get("next_plan_code") or "")
    if raw.get("status") == "pending":
        if current == to_plan:
            return None
        start = str(raw.get("subscription_at") or "")[:10] or None
        return _move("swap", current, to_plan, None, None, None, start, overrides)
    if scheduled and to_plan == scheduled:
        return None
    if scheduled and to_plan == current:
        date = str(raw.get("downgrade_plan_date") or "")[:10] or None
        return _move("cancel_downgrade", scheduled, to_plan, None, None, None, date, overrides)
    if to_plan == current:
        return None
    _, old_interval, _ = _plan_terms(current, desired, live)
    old = yearly_cents(raw.get("plan_amount_cents"), old_interval)
    amount, interval, currency = _plan_terms(to_plan, desired, live)
    new = yearly_cents(amount, interval)
    currency = currency or raw.get("plan_amount_currency")
    upgrade = old is None or new is None or new >= old
    end = str(raw.get("current_billing_period_ending_at") or "")[:10] or None
    move = _move(
        "upgrade" if upgrade else "downgrade",
        current,
        to_plan,
        currency,
        old,
        new,
        "now" if upgrade else end,
        overrides,
    )
    if scheduled:
        rule = f"{move.rule} Lago also cancels the downgrade to {scheduled!r} scheduled now."
        move = move.model_copy(update={"rule": rule})
    return move


def _move(
    kind: MoveKind,
    from_plan: str,
    to_plan: str,
    currency: Any,
    old: int | None,
    new: int | None,
    effective: str | None,
    overrides: bool,
) -> PlanMove:
    cur = str(currency) if currency else None
    return PlanMove(
        kind=kind,
        from_plan=from_plan,
        to_plan=to_plan,
        currency=cur,
        from_yearly_cents=old,
        to_yearly_cents=new,
        effective=effective,
        rule=_rule(kind, from_plan, to_plan, _money(old, cur), _money(new, cur), effective)
        + _after(kind, to_plan, overrides),
    )


_COMPARE = (
    "Lago compares yearly base fees (monthly x12, quarterly x4, semiannual x2, weekly x52): "
    "{new} a year for {b!r} (its catalog fee) against {old} a year now (the subscription's own "
    "fee on {a!r}, negotiated if it is overridden)"
)


def _rule(kind: MoveKind, a: str, b: str, old: str, new: str, when: str | None) -> str:
    compare = _COMPARE.format(a=a, b=b, old=old, new=new)
    if kind == "upgrade":
        return (
            f"Upgrade: {compare}; not less, so Lago terminates the current subscription now and "
            f"starts a new one on {b!r} at once (same external_id, new Lago id; fees paid in "
            "advance are invoiced for it)."
        )
    if kind == "downgrade":
        return (
            f"Downgrade: {compare}; less, so the subscription stays on {a!r} until its current "
            f"billing period ends ({when or 'date unknown'}); Lago creates a pending "
            f"subscription on {b!r} that starts then."
        )
    if kind == "swap":
        return (
            f"The subscription has not started yet (it starts {when or 'later'}): Lago puts it "
            f"on {b!r} instead of {a!r}, neither upgrade nor downgrade, and applies no "
            "overrides on this path."
        )
    return (
        f"A downgrade to {a!r} is scheduled ({when or 'at period end'}) but the catalog keeps "
        f"{b!r}: lagoform cancels the pending subscription (DELETE with status=pending). "
        f"Sending {b!r} again would not undo it, and on a subscription with overrides Lago "
        "would compare its own copy of the plan with the catalog plan and move it."
    )


def _after(kind: MoveKind, plan: str, overrides: bool) -> str:
    """What happens to negotiated prices on the way."""
    if kind == "cancel_downgrade":
        return ""
    if not overrides:
        return f" The new subscription bills {plan!r} at the catalog's prices (no overrides)."
    where = "that pending subscription" if kind == "downgrade" else "the new subscription"
    if kind == "swap":
        where = "it"
    return (
        " Overrides do not carry over from one plan to another: lagoform sets this tenant's "
        f"overrides on {where} right after."
    )
