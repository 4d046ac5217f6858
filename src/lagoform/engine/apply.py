"""Apply exactly a ``Plan`` to Lago: refuse what is blocked or stale, write, read back, report.

``apply_plan`` is the one entry point (a fresh plan or one loaded from JSON):

1. refuse blocked changes and deletions that lack their named confirmation;
2. read Lago again (the same reads the plan made) and refuse with ``StalePlanError`` when any
   object the plan read has moved since;
3. for each pending change, in plan order, send its requests (``payloads.py``) through
   ``_mutate`` — the only function here that writes, and it records intent before and outcome
   after every call with the audit hook — then read the object back and fail if Lago did not
   take the change (Lago answers 200 to changes it ignores);
4. stop at the first failure: the ``ApplyFailed`` error carries what was applied, what failed
   (Lago's error in plain words) and what was not attempted. Re-running converges, since a
   fresh plan only holds what is still different.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from lagoform.engine.desired import normal_of
from lagoform.engine.diff import diff
from lagoform.engine.hooks import AuditHook
from lagoform.engine.live import (
    ALL_STATUSES,
    credited,
    fetch_live,
    plan_ids,
    subscription_object,
)
from lagoform.engine.payloads import ApplyContext, Step, record_status, resolve, steps_for
from lagoform.engine.plan import ObjectChange, Plan
from lagoform.engine.stale import stale_objects
from lagoform.errors import (
    ApplyError,
    BlockedChangeError,
    LagoError,
    LagoformError,
    PlanError,
    StalePlanError,
)
from lagoform.lago.client import LagoClient
from lagoform.lago.transport import seg
from lagoform.model import effective, forms
from lagoform.model.forms import PROJECTED_KINDS, project
from lagoform.model.state import LiveState

Progress = Callable[[int, int, ObjectChange, str], None]


@dataclass
class ApplyReport:
    applied: list[str] = field(default_factory=list)
    failed: tuple[str, str] | None = None  # (what, why)
    not_attempted: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed is None

    def counts(self) -> dict[str, int]:
        """How many changes apply made, per action (``create``, ``update``, ``delete``)."""
        out = {"create": 0, "update": 0, "delete": 0}
        for applied in self.applied:  # "<action> <kind>:<key>", as apply_plan records them
            action = applied.split(" ", 1)[0]
            out[action] = out.get(action, 0) + 1
        return out

    def summary(self) -> str:
        lines = [f"Applied ({len(self.applied)}):"] + [f"  + {a}" for a in self.applied]
        if self.failed is not None:
            lines += ["Failed:", f"  ! {self.failed[0]}: {self.failed[1]}"]
        if self.not_attempted:
            lines.append(f"Not attempted ({len(self.not_attempted)}):")
            lines += [f"  - {n}" for n in self.not_attempted]
        return "\n".join(lines)


class ApplyFailed(ApplyError):
    """A write failed or Lago did not take it; ``report`` says how far apply got."""

    def __init__(self, report: ApplyReport) -> None:
        self.report = report
        super().__init__(
            "apply stopped at the first failure; run `lagoform plan` to see what is left.\n"
            + report.summary()
        )


def check_applicable(plan: Plan, confirm_delete_plans: Collection[str] = ()) -> None:
    """Refuse a plan holding blocked changes or unconfirmed destructive deletions."""
    blocked = plan.blocked()
    if blocked:
        lines = []
        for change in blocked:
            for b in change.blocked:
                where = ".".join(b.path) or change.key
                lines.append(f"  - {change.ref} {where}: {b.reason}. Instead: {b.way_out}")
        raise BlockedChangeError(
            "the plan holds changes Lago would silently ignore; nothing was applied.\n"
            + "\n".join(lines)
        )
    missing = [c for c in plan.pending() if c.confirm and c.confirm not in confirm_delete_plans]
    if missing:
        lines = [f"  - plan {c.key}: {c.note} (--confirm-delete-plan {c.confirm})" for c in missing]
        raise PlanError(
            "deleting a plan with subscriptions needs a named confirmation; nothing was "
            "applied.\n" + "\n".join(lines)
        )


def apply_plan(
    plan: Plan,
    client: LagoClient,
    *,
    audit: AuditHook,
    confirm_delete_plans: Collection[str] = (),
    progress: Progress | None = None,
    seen: Mapping[str, dict[str, Any] | None] | None = None,
) -> ApplyReport:
    """Make Lago match ``plan``; raises ``ApplyFailed`` (with the report) at the first failure.
    ``seen``: the objects as the plan read them (``stale.seen_objects``), so a stale plan is
    refused naming the fields that moved."""
    check_applicable(plan, confirm_delete_plans)
    live = fetch_live(client, plan.reads)
    moved = stale_objects(plan, live, seen)
    if moved:
        raise StalePlanError(moved)
    ctx = _context(live)
    report = ApplyReport()
    pending = plan.pending()
    for index, change in enumerate(pending, start=1):
        if progress is not None:
            progress(index, len(pending), change, "start")
        try:
            for planned in steps_for(change, ctx):
                step = resolve(planned, ctx)
                response = _mutate(client, audit, change, step)
                _learn(ctx, change, step, response)
            _verify(client, change, ctx)
        except LagoformError as err:
            report.failed = (f"{change.action} {change.ref}", _plain(err))
            report.not_attempted = [f"{c.action} {c.ref}" for c in pending[index:]]
            if progress is not None:
                progress(index, len(pending), change, "failed")
            raise ApplyFailed(report) from err
        report.applied.append(f"{change.action} {change.ref}")
        if progress is not None:
            progress(index, len(pending), change, "done")
    return report


def _plain(err: LagoformError) -> str:
    return str(err).replace("\n", " ")


def _context(live: LiveState) -> ApplyContext:
    ctx = ApplyContext()
    for code, obj in live.objects.get("billable_metric", {}).items():
        if obj.ids.get("lago_id"):
            ctx.metric_ids[code] = str(obj.ids["lago_id"])
    for code, obj in live.objects.get("plan", {}).items():
        ctx.plan_ids[code] = {**obj.ids, "has_commitment": bool(obj.raw.get("minimum_commitment"))}
    for key, obj in live.objects.get("customer", {}).items():
        ctx.customer_metadata_ids[key] = {
            k: str(v) for k, v in obj.ids.get("metadata", {}).items() if v
        }
    for key, obj in live.objects.get("wallet", {}).items():
        if obj.ids.get("lago_id"):
            ctx.wallet_ids[key] = str(obj.ids["lago_id"])
    for key, obj in live.objects.get("subscription", {}).items():
        if obj.raw.get("status") == "pending":  # not started: calls must name its status
            ctx.record_status[key] = "pending"
    return ctx


def _mutate(
    client: LagoClient, audit: AuditHook, change: ObjectChange, step: Step
) -> dict[str, Any] | None:
    """The one place apply writes to Lago: audit intent, the call, audit outcome."""
    record_id = audit.intent(change, step.request())  # raises: nothing is sent
    try:
        response = _call(client, step)
    except LagoError as err:
        audit.outcome(record_id, False, err.status, err.code, None)
        if step.overrides and err.status == 403 and err.code == "feature_unavailable":
            raise ApplyError(_premium_message(change)) from err
        raise
    audit.outcome(record_id, True, 200, None, response)
    return response


def _premium_message(change: ObjectChange) -> str:
    tenant = str((change.body or {}).get("external_customer_id") or "<tenant>")
    return (
        f"Lago refused the negotiated prices of subscription {change.key!r} (HTTP 403 "
        "feature_unavailable): plan overrides need Lago's premium licence, and this Lago has "
        "none. Enable a premium licence on this Lago, or remove `overrides:` from that "
        f"subscription in overrides/{tenant}.yaml to bill it at the catalog's prices."
    )


def _call(client: LagoClient, step: Step) -> dict[str, Any] | None:
    body = step.body or {}
    match step.op:
        case "create" if step.root == "subscription":
            return client.create_subscription(body)
        case "create" if step.root == "wallet":
            return client.create_wallet(body)
        case "create":
            code = str(body.get("code"))
            return client.create(
                step.path,
                step.root,
                body,
                lambda: client.find(
                    f"{step.path}/{seg(code)}", step.root, f"{step.root}_not_found"
                ),
            )
        case "subscribe":
            return client.create_subscription(body)
        case "upsert":
            return client.upsert_customer(body)
        case "update" | "override_charge":
            data = client.request("PUT", step.path, params=step.params, json={step.root: body})
            obj = data.get(step.root)
            return obj if isinstance(obj, dict) else None
        case "delete" | "cancel":
            data = client.delete(step.path, step.params)
            obj = data.get(step.root)
            return obj if isinstance(obj, dict) else None
        case "top_up":
            return {"wallet_transactions": client.create_wallet_transaction(body)}
    raise PlanError(f"unknown step {step.op}")


def _learn(
    ctx: ApplyContext, change: ObjectChange, step: Step, response: dict[str, Any] | None
) -> None:
    """Remember ids Lago just assigned (and which subscription record the override calls
    address), for later steps and changes in the same apply."""
    status = record_status(step, response)
    if status is not None:
        ctx.record_status[change.key] = status
    if response is None or change.action == "delete":
        return
    if change.kind == "billable_metric" and response.get("lago_id"):
        ctx.metric_ids[change.key] = str(response["lago_id"])
    elif change.kind == "plan" and response.get("code") == change.key:
        ctx.plan_ids[change.key] = {
            **plan_ids(response),
            "has_commitment": bool(response.get("minimum_commitment")),
        }
    elif change.kind == "wallet" and response.get("lago_id"):
        ctx.wallet_ids[change.key] = str(response["lago_id"])


# -- read-back -------------------------------------------------------------------------------


def _verify(client: LagoClient, change: ObjectChange, ctx: ApplyContext) -> None:
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
