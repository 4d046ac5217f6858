"""After a write, read the object back: apply fails loudly when Lago did not take the change.

Lago answers 200 to changes it silently ignores (a locked field, an attached metric — API_NOTES
§3.3, §4.6), so ``verify`` reads the object again, puts it in the plan's comparison form and
diffs it against what the change asked for; for a subscription with negotiated prices it also
reads its effective plan. Apply also uses it after a lost answer, to learn whether a customer
upsert landed.
"""

from __future__ import annotations

from typing import Any

from lagoform.engine.desired import normal_of
from lagoform.engine.diff import diff
from lagoform.engine.live import ALL_STATUSES, credited, subscription_object
from lagoform.engine.payloads import ApplyContext
from lagoform.engine.plan import ObjectChange
from lagoform.errors import ApplyError
from lagoform.lago.client import LagoClient
from lagoform.model import effective, forms
from lagoform.model.forms import PROJECTED_KINDS, project


def verify(client: LagoClient, change: ObjectChange, ctx: ApplyContext) -> None:
    """Read the object back; raise ``ApplyError`` if Lago does not hold what was asked."""
    obj = _read_back(client, change, ctx)
    if change.action == "delete":
        if obj is not None and not (change.kind == "plan" and obj.get("pending_deletion")):
            raise ApplyError(f"Lago still has {change.ref} after the delete")
        return
    if obj is None:
        raise ApplyError(f"Lago has no {change.ref} after the write")
    body = {k: v for k, v in (change.body or {}).items() if k != "plan_overrides"}
    want = normal_of(change.kind, body, {})
    if change.kind == "subscription":
        # the same view as the plan's: the original start (across upgrades), the next plan
        history = client.list_subscriptions(
            external_customer_id=str(obj.get("external_customer_id")), status=ALL_STATUSES
        )
        have = subscription_object(obj, history, None).normal
    elif change.kind == "wallet":
        wallet_id = str(obj.get("lago_id"))
        have = forms.wallet({**obj, **credited(client.list_wallet_transactions(wallet_id))})
    else:
        have = forms.NORMALIZERS[change.kind](obj)
    if change.kind in PROJECTED_KINDS:
        have = project(have, want)
    missed = [(c.dotted() or change.key, c.new, c.old) for c in diff(have, want)]
    if change.kind == "subscription" and change.pricing is not None:
        missed += _missed_prices(client, change, ctx)
    if missed:
        details = "; ".join(
            f"{where}: asked {_short(asked)}, Lago has {_short(held)}"
            for where, asked, held in missed[:5]
        )
        more = f" (and {len(missed) - 5} more)" if len(missed) > 5 else ""
        raise ApplyError(
            f"Lago answered OK but did not take the change to {change.ref}: {details}{more}"
        )


def _missed_prices(
    client: LagoClient, change: ObjectChange, ctx: ApplyContext
) -> list[tuple[str, Any, Any]]:
    """The override values apply set (``pricing.target``) that the subscription's effective
    plan does not hold."""
    pricing = change.pricing
    if pricing is None or not pricing.target:
        return []
    status = ctx.record_status.get(change.key, pricing.status)
    sub = client.get_subscription(change.key, status="pending" if status == "pending" else None)
    plan = sub.get("plan") if sub is not None else None
    if not isinstance(plan, dict):
        return [("plan", "its effective plan", None)]
    have = effective.pricing(forms.billing_plan(plan))
    missed: list[tuple[str, Any, Any]] = []
    for name, value in pricing.plan_target.items():
        if have.get(name) != value:
            missed.append((f"overrides.{name}", value, have.get(name)))
    for code, fields in pricing.charge_targets.items():
        held = have["charges"].get(code) or {}
        for name, value in fields.items():
            if held.get(name) != value:
                missed.append((f"overrides.charges.{code}.{name}", value, held.get(name)))
    return missed


def _short(value: Any) -> str:
    text = "nothing" if value is None else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _read_back(
    client: LagoClient, change: ObjectChange, ctx: ApplyContext
) -> dict[str, Any] | None:
    key = change.key
    match change.kind:
        case "tax":
            return client.get_tax(key)
        case "billable_metric":
            return client.get_billable_metric(key)
        case "add_on":
            return client.get_add_on(key)
        case "plan":
            return client.get_plan(key)
        case "coupon":
            return client.get_coupon(key)
        case "customer":
            return client.get_customer(key)
        case "subscription":
            return client.get_subscription(key) or client.get_subscription(key, status="pending")
        case "wallet":
            wallet_id = ctx.wallet_ids.get(key)
            return client.get_wallet(wallet_id) if wallet_id else None
    return None
