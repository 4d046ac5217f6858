"""The Lago requests one ``ObjectChange`` turns into. Pure: ids come in through ``ApplyContext``.

Rules from API_NOTES that live here:
- plan updates send the full charge list, each kept charge with its live ``id`` (§4.6: a
  charge without an id is created and every unlisted one deleted), full properties, and
  ``interval`` (else ``bill_charges_monthly`` resets);
- charges name their metric by ``billable_metric_id`` (there is no code input);
- customer metadata items that already exist carry their ``id`` (§6.1);
- a subscription's overrides go through ``plan_overrides`` at creation (charges matched by the
  parent charge id, §5.4) and later through the per-charge override endpoint (§5.5).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from lagoform.engine.plan import ObjectChange
from lagoform.errors import PlanError
from lagoform.lago.transport import seg

Op = Literal["create", "update", "delete", "upsert", "subscribe", "override_charge"]

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

    def request(self) -> dict[str, Any]:
        """What the audit record holds about the call (never the API key)."""
        body = {self.root: self.body} if self.body is not None else None
        return {"method": self.method, "path": self.path, "body": body}


@dataclass
class ApplyContext:
    """Lago ids known at this point of the apply (fresh live read + objects created since)."""

    metric_ids: dict[str, str] = field(default_factory=dict)
    # plan code -> {"lago_id", "charges": {code: id}, "filters": ..., "has_commitment": bool}
    plan_ids: dict[str, dict[str, Any]] = field(default_factory=dict)
    customer_metadata_ids: dict[str, dict[str, str]] = field(default_factory=dict)
    wallet_ids: dict[str, str] = field(default_factory=dict)


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
        body = {k: v for k, v in _body(change).items() if v is not None}
        if action == "create":
            return [Step("create", "POST", "/wallets", "wallet", body, _what(change))]
        wallet_id = ctx.wallet_ids.get(key)
        if wallet_id is None:
            raise PlanError(f"wallet {key!r} is not in Lago any more; run `lagoform plan` again")
        editable: dict[str, Any] = {
            k: body[k]
            for k in ("name", "priority", "expiration_at", "invoice_requires_successful_payment")
            if k in body
        }
        return [
            Step("update", "PUT", f"/wallets/{seg(wallet_id)}", "wallet", editable, _what(change))
        ]
    raise PlanError(f"cannot apply a {action} of a {kind}")


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
    key = change.key
    overrides = body.pop("plan_overrides", None)
    path = f"/subscriptions/{seg(key)}"
    if change.action == "create":
        if overrides:
            body["plan_overrides"] = _first_overrides(overrides, ctx, str(body["plan_code"]))
        return [Step("create", "POST", "/subscriptions", "subscription", body, _what(change))]
    changed = {c.path[0] for c in change.changes}
    steps: list[Step] = []
    if "plan_code" in changed:
        subscribe = {k: v for k, v in body.items() if v is not None}
        steps.append(
            Step("subscribe", "POST", "/subscriptions", "subscription", subscribe,
                 f"move subscription {key} to plan {body['plan_code']}")
        )  # fmt: skip
    fields = {f: body.get(f) for f in _SUBSCRIPTION_FIELDS if f in changed}
    if fields:
        steps.append(Step("update", "PUT", path, "subscription", fields, _what(change)))
    override_paths = [c.path[1:] for c in change.changes if c.path[0] == "overrides" and c.path[1:]]
    plan_level = {p[0] for p in override_paths} & set(_OVERRIDE_PLAN_FIELDS)
    if overrides and plan_level:
        plan_fields = {f: overrides.get(f) for f in sorted(plan_level)}
        steps.append(
            Step("update", "PUT", path, "subscription", {"plan_overrides": plan_fields},
                 f"override plan fields of subscription {key}")
        )  # fmt: skip
    charge_codes = sorted({p[1] for p in override_paths if p[0] == "charges" and len(p) > 1})
    whole = any(p == ("charges",) for p in override_paths)
    if overrides and whole:
        charge_codes = sorted(str(c["code"]) for c in overrides.get("charges") or [])
    by_code = {str(c["code"]): c for c in (overrides or {}).get("charges") or []}
    for code in charge_codes:
        if code not in by_code:
            continue
        patch = {k: v for k, v in by_code[code].items() if k != "code"}
        steps.append(
            Step("override_charge", "PUT", f"{path}/charges/{seg(code)}", "charge", patch,
                 f"override charge {code} of subscription {key}")
        )  # fmt: skip
    return steps


def _first_overrides(
    overrides: Mapping[str, Any], ctx: ApplyContext, plan_code: str
) -> dict[str, Any]:
    """``plan_overrides`` at creation: charges are matched by the *parent* charge's id."""
    out = {k: v for k, v in overrides.items() if k != "charges"}
    charge_ids: Mapping[str, Any] = ctx.plan_ids.get(plan_code, {}).get("charges", {})
    charges = []
    for item in overrides.get("charges") or []:
        code = str(item.get("code"))
        if code not in charge_ids:
            raise PlanError(f"plan {plan_code!r} has no charge {code!r} to override")
        charges.append({**item, "id": charge_ids[code]})
    if charges:
        out["charges"] = charges
    return out
