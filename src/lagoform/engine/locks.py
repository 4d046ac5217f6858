"""Fields Lago silently ignores once an object is in use (API_NOTES §3.3, §4.6, §6.4, §11.3).

Lago answers 200 and keeps the old value when one of these changes, so the plan must show the
change as *blocked* with the way out, and apply must refuse it. Pure: reads the field changes
and the live facts (subscriptions, attached metrics, applied coupons).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict

from lagoform.engine.diff import FieldChange
from lagoform.model.state import Kind, LiveState


class Blocked(BaseModel):
    """Why one part of a change cannot be applied, and what to do instead."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: tuple[str, ...]
    reason: str
    way_out: str


# A plan that has ever had a direct subscription (any status) keeps these.
PLAN_LOCKED = frozenset(
    {"interval", "pay_in_advance", "amount_currency", "trial_period", "bill_charges_monthly"}
)
# ... and each of its existing charges keeps these.
CHARGE_LOCKED = frozenset(
    {
        "charge_model",
        "pay_in_advance",
        "prorated",
        "invoiceable",
        "min_amount_cents",
        "billable_metric_code",
        "regroup_paid_fees",
    }
)
# A metric used by any non-deleted plan keeps these (name, description, filters stay editable).
METRIC_LOCKED = frozenset(
    {
        "aggregation_type",
        "field_name",
        "recurring",
        "rounding_function",
        "rounding_precision",
        "expression",
        "weighted_interval",
    }
)
# A subscription can never move customer or billing time; its start only while pending.
SUBSCRIPTION_LOCKED = frozenset({"external_customer_id", "billing_time"})
WALLET_LOCKED = frozenset({"currency", "rate_amount"})
# A wallet's credits only grow (top-ups); the YAML states the total ever credited per kind.
WALLET_CREDITS = frozenset({"paid_credits", "granted_credits"})
# A coupon applied to any customer: everything but these is frozen.
COUPON_EDITABLE = frozenset({"name", "description", "expiration", "expiration_at"})


def blocked_fields(
    kind: Kind, key: str, changes: Sequence[FieldChange], live: LiveState
) -> list[Blocked]:
    """The parts of an update Lago would ignore, each with its reason and way out."""
    if kind == "plan" and live.ever_subscribed(key):
        return _plan(key, changes)
    if kind == "billable_metric" and key in live.attached_metrics:
        return [
            Blocked(
                path=c.path,
                reason=(
                    f"metric {key!r} is used by a plan's charge, so Lago keeps its "
                    f"{c.path[0]} unchanged"
                ),
                way_out=(
                    f"create a new billable metric (new code) with the new {c.path[0]}, point "
                    f"the charges at it, then list {key!r} under remove.billable_metrics"
                ),
            )
            for c in changes
            if c.path[0] in METRIC_LOCKED
        ]
    if kind == "coupon" and key in live.applied_coupons:
        return [
            Blocked(
                path=c.path,
                reason=(
                    f"coupon {key!r} is applied to a customer, so Lago keeps its "
                    f"{c.path[0]} unchanged"
                ),
                way_out="create a new coupon code with the new terms and apply that one instead",
            )
            for c in changes
            if c.path[0] not in COUPON_EDITABLE
        ]
    if kind == "subscription":
        return _subscription(key, changes, live)
    if kind == "wallet":
        return [
            Blocked(
                path=c.path,
                reason=f"Lago cannot change the {c.path[0]} of an existing wallet",
                way_out="terminate the wallet in Lago and add one with a new code",
            )
            for c in changes
            if c.path[0] in WALLET_LOCKED
        ] + [_credits_down(key, c) for c in changes if _decrease(c)]
    return []


def _decrease(change: FieldChange) -> bool:
    if change.path[0] not in WALLET_CREDITS:
        return False
    try:
        return Decimal(str(change.new or 0)) < Decimal(str(change.old or 0))
    except InvalidOperation:
        return False


def _credits_down(key: str, change: FieldChange) -> Blocked:
    name = change.path[0]
    return Blocked(
        path=change.path,
        reason=(
            f"wallet {key!r} has been credited {change.old} {name.replace('_', ' ')} in total "
            f"and the YAML says {change.new}: credits already given cannot be taken back by a "
            "top-up, and lagoform never voids credits on its own (a customer may have paid for "
            "them or be using them)"
        ),
        way_out=(
            f"set {name} back to {change.old} (the YAML's credits are the total ever credited, "
            "not the balance; consumption does not lower it). To take credits back, void them "
            "deliberately in Lago (a wallet transaction with voided_credits, or a credit note); "
            "that does not change this total"
        ),
    )


def _subscription(key: str, changes: Sequence[FieldChange], live: LiveState) -> list[Blocked]:
    have = live.get("subscription", key)
    status = have.raw.get("status") if have is not None else None
    out: list[Blocked] = []
    for change in changes:
        field = change.path[0]
        if field in SUBSCRIPTION_LOCKED or (field == "subscription_at" and status != "pending"):
            out.append(
                Blocked(
                    path=change.path,
                    reason=f"Lago cannot change the {field} of a started subscription",
                    way_out=(
                        "end this subscription (set its end_date) and add a new one with a new "
                        "external_id"
                    ),
                )
            )
    return out


def _plan(key: str, changes: Sequence[FieldChange]) -> list[Blocked]:
    out: list[Blocked] = []
    for change in changes:
        path = change.path
        if len(path) == 1 and path[0] in PLAN_LOCKED:
            out.append(
                Blocked(
                    path=path,
                    reason=(
                        f"plan {key!r} has had subscriptions, so Lago keeps its {path[0]} unchanged"
                    ),
                    way_out=(
                        f"create a new plan code with the new {path[0]}, migrate the "
                        f"subscriptions to it, then list {key!r} under remove.plans"
                    ),
                )
            )
        elif len(path) >= 3 and path[0] == "charges" and path[2] in CHARGE_LOCKED:
            code = path[1]
            out.append(
                Blocked(
                    path=path,
                    reason=(
                        f"plan {key!r} has had subscriptions, so Lago keeps the {path[2]} of "
                        f"its charge {code!r} unchanged"
                    ),
                    way_out=(
                        f"give the charge a new code (e.g. {code}_v2): the old charge is removed "
                        "and a new one created with the new terms; or create a new plan code "
                        "and migrate the subscriptions"
                    ),
                )
            )
    return out
