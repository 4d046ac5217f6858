"""The Lago requests one ``ObjectChange`` turns into. Pure: ids come in through ``ApplyContext``.

Rules from API_NOTES that live here:
- plan updates send the full charge list, each kept charge with its live ``id`` (§4.6: a
  charge without an id is created and every unlisted one deleted), full properties, and
  ``interval`` (else ``bill_charges_monthly`` resets);
- charges name their metric by ``billable_metric_id`` (there is no code input);
- customer metadata items that already exist carry their ``id`` (§6.1: unlisted ones are
  deleted, and a key re-sent without its id is refused);
- a subscription is created (or moved to another plan) on its base plan; its plan-level
  overrides ride along in that call's ``plan_overrides`` so Lago creates the subscription on its
  own copy in one call — refused whole without premium, and a base fee paid in advance is
  invoiced as negotiated — and every charge override goes through
  ``PUT /subscriptions/{id}/charges/{code}`` (§5.5: patch semantics, addressed by code). Later
  plan-level changes go through ``PUT /subscriptions/{id}`` with ``plan_overrides``. Never a
  ``charges`` list in ``plan_overrides`` (a partial one deletes the charges it leaves out, §5.4),
  never a ``POST /subscriptions`` to "sync" one (it may upgrade it and drop its overrides): only
  a real change of plan re-posts it, which is Lago's upgrade / downgrade path (``moves.py``);
- a wallet is created with its paid and granted credits; a higher total later is a top-up
  (``POST /wallet_transactions``) for the difference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from lagoform.engine.plan import ObjectChange
from lagoform.errors import PlanError
from lagoform.lago.transport import seg

Op = Literal[
    "create", "update", "delete", "upsert", "subscribe", "override_charge", "cancel", "top_up"
]

_COLLECTION = {
    "tax": ("taxes", "tax"),
    "billable_metric": ("billable_metrics", "billable_metric"),
    "add_on": ("add_ons", "add_on"),
    "plan": ("plans", "plan"),
    "coupon": ("coupons", "coupon"),
}
_SUBSCRIPTION_FIELDS = ("name", "ending_at", "subscription_at")
_OVERRIDE_PLAN_FIELDS = (
    "name", "invoice_display_name", "description", "amount_cents", "amount_currency",
    "trial_period", "tax_codes",
)  # fmt: skip


@dataclass(frozen=True)
class Step:
    """One HTTP mutation. ``body`` is the inner object (the client adds ``{root: ...}``)."""

    op: Op
    method: str
    path: str
    root: str
    body: dict[str, Any] | None
    what: str  # e.g. "update plan pro"
    params: dict[str, str] | None = None  # query parameters
    # An override call on subscription ``follows``: it addresses the record the calls before it
    # left (apply learns from Lago's answer whether that one is pending, e.g. a downgrade).
    follows: str | None = None

    def request(self) -> dict[str, Any]:
        """What the audit record holds about the call (never the API key)."""
        body = {self.root: self.body} if self.body is not None else None
        query = "&".join(f"{k}={v}" for k, v in sorted((self.params or {}).items()))
        return {
            "method": self.method,
            "path": f"{self.path}?{query}" if query else self.path,
            "body": body,
        }

    @property
    def overrides(self) -> bool:
        """Does this call set override values (per-charge, or ``plan_overrides``)?"""
        return self.op == "override_charge" or bool(
            isinstance(self.body, dict) and "plan_overrides" in self.body
        )


@dataclass
class ApplyContext:
    """Lago ids known at this point of the apply (fresh live read + objects created since)."""

    metric_ids: dict[str, str] = field(default_factory=dict)
    # plan code -> {"lago_id", "charges": {code: id}, "filters": ..., "has_commitment": bool}
    plan_ids: dict[str, dict[str, Any]] = field(default_factory=dict)
    customer_metadata_ids: dict[str, dict[str, str]] = field(default_factory=dict)
    wallet_ids: dict[str, str] = field(default_factory=dict)
    # subscription external_id -> the status of the record its override calls address, as
    # Lago's answer to the creating (or plan-changing) call said
    record_status: dict[str, str] = field(default_factory=dict)


def steps_for(change: ObjectChange, ctx: ApplyContext) -> list[Step]:
    """The requests that make Lago match ``change`` (in order)."""
    kind, key, action = change.kind, change.key, change.action
    if action in ("no-op", "blocked"):
        return []
    if kind in _COLLECTION:
        collection, root = _COLLECTION[kind]
        if action == "delete":
            return [
                Step("delete", "DELETE", f"/{collection}/{seg(key)}", root, None, _what(change))
            ]
        body = _body(change)
        if kind == "plan":
            body = plan_request(body, ctx, update=action == "update")
            if action == "update":
                body["cascade_updates"] = change.cascade_updates
        if action == "create":
            return [Step("create", "POST", f"/{collection}", root, body, _what(change))]
        return [Step("update", "PUT", f"/{collection}/{seg(key)}", root, body, _what(change))]
    if kind == "customer":
        body = customer_request(_body(change), ctx.customer_metadata_ids.get(key, {}))
        return [Step("upsert", "POST", "/customers", "customer", body, _what(change))]
    if kind == "subscription":
        return _subscription_steps(change, ctx)
    if kind == "wallet":
        return _wallet_steps(change, ctx)
    raise PlanError(f"cannot apply a {action} of a {kind}")


_WALLET_EDITABLE = ("name", "priority", "expiration_at", "invoice_requires_successful_payment")
_CREDITS = ("paid_credits", "granted_credits")


def _wallet_steps(change: ObjectChange, ctx: ApplyContext) -> list[Step]:
    body = {k: v for k, v in _body(change).items() if v is not None}
    if change.action == "create":
        return [Step("create", "POST", "/wallets", "wallet", body, _what(change))]
    wallet_id = ctx.wallet_ids.get(change.key)
    if wallet_id is None:
        raise PlanError(f"wallet {change.key!r} is not in Lago any more; run `lagoform plan` again")
    changed = {c.path[0] for c in change.changes}
    steps: list[Step] = []
    if changed & set(_WALLET_EDITABLE):
        editable = {k: body[k] for k in _WALLET_EDITABLE if k in body}
        steps.append(
            Step("update", "PUT", f"/wallets/{seg(wallet_id)}", "wallet", editable, _what(change))
        )
    top_up: dict[str, Any] = {}
    for item in change.changes:
        if item.path[0] in _CREDITS:
            more = Decimal(str(item.new or 0)) - Decimal(str(item.old or 0))
            if more <= 0:  # locks.py blocks a decrease; never void credits here
                raise PlanError(f"{change.ref}: {item.path[0]} cannot go down")
            top_up[item.path[0]] = format(more.normalize(), "f")
    if top_up:
        steps.append(
            Step("top_up", "POST", "/wallet_transactions", "wallet_transaction",
                 {"wallet_id": wallet_id, **top_up}, f"top up wallet {change.key}")
        )  # fmt: skip
    return steps


def _what(change: ObjectChange) -> str:
    return f"{change.action} {change.kind.replace('_', ' ')} {change.key}"


def _body(change: ObjectChange) -> dict[str, Any]:
    if change.body is None:
        raise PlanError(f"{change.ref}: the plan holds no request body for this {change.action}")
    return dict(change.body)


def plan_request(body: Mapping[str, Any], ctx: ApplyContext, *, update: bool) -> dict[str, Any]:
    """A plan body as Lago takes it: metric ids, and on update the live charge ids."""
    code = str(body.get("code"))
    known = ctx.plan_ids.get(code, {}) if update else {}
    charge_ids: Mapping[str, Any] = known.get("charges", {})
    out = {k: v for k, v in body.items() if k not in ("charges", "cascade_updates")}
    if not update:  # on create an omitted field is the same as null
        out = {k: v for k, v in out.items() if v is not None}
    # "no trial" stated as 0 days, so Lago never holds a null trial (the spec types it number)
    out["trial_period"] = body.get("trial_period") or 0
    out["charges"] = [_charge_request(c, ctx, charge_ids) for c in body.get("charges") or []]
    if update and not body.get("minimum_commitment") and known.get("has_commitment"):
        out["minimum_commitment"] = {}  # present and empty deletes Lago's commitment
    elif not body.get("minimum_commitment"):
        out.pop("minimum_commitment", None)
    return out


def _charge_request(
    charge: Mapping[str, Any], ctx: ApplyContext, charge_ids: Mapping[str, Any]
) -> dict[str, Any]:
    metric_code = str(charge.get("billable_metric_code"))
    metric_id = ctx.metric_ids.get(metric_code)
    if metric_id is None:
        raise PlanError(
            f"charge {charge.get('code')!r} uses billable metric {metric_code!r}, which is not "
            "in Lago (add it to the catalog)"
        )
    # None values are left out: an omitted display name clears it just the same (§4.6) and
    # Lago's spec types these fields as non-nullable strings.
    out = {k: v for k, v in charge.items() if k != "billable_metric_code" and v is not None}
    if "filters" in out:
        out["filters"] = [{k: v for k, v in f.items() if v is not None} for f in out["filters"]]
    out["billable_metric_id"] = metric_id
    charge_id = charge_ids.get(str(charge.get("code") or metric_code))
    if charge_id:
        out["id"] = charge_id  # keeps the charge (and its history) instead of recreating it
    return out


def customer_request(body: Mapping[str, Any], metadata_ids: Mapping[str, str]) -> dict[str, Any]:
    out = dict(body)
    if isinstance(body.get("metadata"), list):
        out["metadata"] = [
            {**item, "id": metadata_ids[item["key"]]} if item.get("key") in metadata_ids else item
            for item in body["metadata"]
        ]
    return out


def _subscription_steps(change: ObjectChange, ctx: ApplyContext) -> list[Step]:
    body = _body(change)
    body.pop("plan_overrides", None)  # sent only as the pricing target says, below
    key, path = change.key, f"/subscriptions/{seg(change.key)}"
    pricing, move = change.pricing, change.move
    plan_level = plan_overrides_request(pricing.plan_target) if pricing else {}
    charges = pricing.charge_targets if pricing else {}
    pending = ctx.record_status.get(key, pricing.status if pricing else "active") == "pending"
    steps: list[Step] = []
    carried = False  # plan-level overrides rode along in the creating call
    if change.action == "create" or (move is not None and move.kind != "cancel_downgrade"):
        create = dict(body) if change.action == "create" else _present(body)
        if plan_level and (move is None or move.kind != "swap"):
            create["plan_overrides"] = plan_level
            carried = True
        op: Op = "create" if change.action == "create" else "subscribe"
        what = (
            _what(change) if move is None else f"{move.kind} subscription {key} to {move.to_plan}"
        )
        steps.append(Step(op, "POST", "/subscriptions", "subscription", create, what))
    elif move is not None:  # cancel the scheduled downgrade: the pending subscription goes
        steps.append(
            Step("cancel", "DELETE", path, "subscription", None,
                 f"cancel the downgrade of subscription {key} to {move.from_plan}",
                 params={"status": "pending"})
        )  # fmt: skip
    if change.action != "create":
        changed = {c.path[0] for c in change.changes}
        fields = {f: body.get(f) for f in _SUBSCRIPTION_FIELDS if f in changed}
        if fields:  # addressed to a pending record when it has not started (apply knows)
            steps.append(
                Step("update", "PUT", path, "subscription", fields, _what(change), follows=key)
            )
    if plan_level and not carried:
        steps.append(
            Step("update", "PUT", path, "subscription", {"plan_overrides": plan_level},
                 f"override plan fields of subscription {key}",
                 params={"status": "pending"} if pending else None, follows=key)
        )  # fmt: skip
    for code in sorted(charges):
        steps.append(
            Step("override_charge", "PUT", f"{path}/charges/{seg(code)}", "charge",
                 charge_override_request(charges[code]),
                 f"override charge {code} of subscription {key}",
                 params={"subscription_status": "pending"} if pending else None, follows=key)
        )  # fmt: skip
    return steps


def _present(body: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


def plan_overrides_request(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Plan-level override values (comparison form) as ``plan_overrides`` takes them."""
    return {k: v for k, v in fields.items() if k in _OVERRIDE_PLAN_FIELDS}


def charge_override_request(fields: Mapping[str, Any]) -> dict[str, Any]:
    """One charge's override values (comparison form) as the per-charge endpoint takes them:
    ``properties`` and ``filters`` whole (Lago replaces them), filters as a list."""
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "properties":
            out[name] = _properties(value)
        elif name == "filters":
            out[name] = [
                {
                    "values": dict(item.get("values") or {}),
                    "properties": _properties(item.get("properties")),
                    **(
                        {"invoice_display_name": item["invoice_display_name"]}
                        if item.get("invoice_display_name") is not None
                        else {}
                    ),
                }
                for item in (value or {}).values()
            ]
        elif name in ("min_amount_cents", "invoice_display_name", "tax_codes"):
            out[name] = value
    return out


def _properties(props: Any) -> dict[str, Any]:
    """Comparison-form properties back to Lago's: an open last tier says ``to_value: null``."""
    out = dict(props or {})
    for name, value in out.items():
        if name.endswith("_ranges") and isinstance(value, list):
            out[name] = [{"to_value": None, **r} for r in value]
    return out


def resolve(step: Step, ctx: ApplyContext) -> Step:
    """``step`` addressed to the record Lago's earlier answer named (pending or active)."""
    status = ctx.record_status.get(step.follows) if step.follows else None
    if status is None:
        return step
    name = "subscription_status" if step.op == "override_charge" else "status"
    params = {name: "pending"} if status == "pending" else None
    return Step(step.op, step.method, step.path, step.root, step.body, step.what, params,
                step.follows)  # fmt: skip


def record_status(step: Step, response: Mapping[str, Any] | None) -> str | None:
    """After a creating or plan-changing call: which record the override calls must address.
    A downgrade answers with the current subscription and ``next_plan_code``: the overrides go
    to the pending one; a subscription that has not started is pending itself."""
    if step.op not in ("create", "subscribe") or step.root != "subscription" or not response:
        return None
    if response.get("status") == "pending":
        return "pending"
    wanted = (step.body or {}).get("plan_code")
    if response.get("next_plan_code") and response.get("next_plan_code") == wanted:
        return "pending"
    return "active"


def override_requests(change: ObjectChange) -> list[dict[str, Any]]:
    """The calls of ``change`` that set override values, exactly as apply will send them
    (addressed by subscription external_id and charge code: they need no Lago ids)."""
    if change.kind != "subscription" or change.action not in ("create", "update"):
        return []
    return [s.request() for s in steps_for(change, ApplyContext()) if s.overrides]
