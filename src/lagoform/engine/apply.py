"""Apply exactly a ``Plan`` to Lago: refuse what is blocked or stale, write, read back, report.

``apply_plan`` is the one entry point (a fresh plan or one loaded from JSON):

1. refuse blocked changes and deletions that lack their named confirmation;
2. read Lago again (the same reads the plan made) and refuse with ``StalePlanError`` when any
   object the plan read has moved since;
3. for each pending change, in plan order, send its requests (``payloads.py``) through
   ``_mutate`` — the only function here that writes, and it records intent before and outcome
   after every call with the audit hook — then read the object back and fail if Lago did not
   take the change (Lago answers 200 to changes it ignores). When Lago's answer is lost
   (timeout, broken connection, 5xx) the call may have landed: apply reads Lago right away (a
   top-up by the intent id it carries, ``settle.py``; a customer by reading it back) and
   records ``ok`` if it did, else an ``unknown`` outcome, and stops — nothing that could credit
   or create twice is ever sent blindly again;
4. stop at the first failure: the ``ApplyFailed`` error carries what was applied, what failed
   (Lago's error in plain words) and what was not attempted. Re-running converges, since a
   fresh plan only holds what is still different.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from lagoform.engine.hooks import AuditHook
from lagoform.engine.live import (
    fetch_live,
    plan_ids,
)
from lagoform.engine.payloads import ApplyContext, Step, record_status, resolve, steps_for
from lagoform.engine.plan import ObjectChange, Plan
from lagoform.engine.readback import verify
from lagoform.engine.settle import find_tagged, new_tag, tagged
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
from lagoform.lago.transport import ClientCore, seg
from lagoform.model.state import LiveState


@dataclass(frozen=True)
class ApplyStep:
    """One progress report: change ``index`` of ``total`` is starting, done or failed.

    ``elapsed`` is seconds since apply began writing; ``eta`` the seconds still expected, from
    the pace so far (None until one change is done). Pacing keeps a large apply under Lago
    Cloud's 50 requests/s, so a thousand changes take minutes and the ETA says how many."""

    index: int
    total: int
    change: ObjectChange
    status: str  # "start" | "done" | "failed"
    elapsed: float
    eta: float | None


Progress = Callable[[ApplyStep], None]


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


def check_applicable(
    plan: Plan, confirm_delete_plans: Collection[str] = (), acknowledged: Collection[str] = ()
) -> None:
    """Refuse a plan holding blocked changes, unconfirmed destructive deletions or error
    findings no one acknowledged (``acknowledged``: finding ids, e.g. from the CLI)."""
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
    open_findings = [
        f
        for f in plan.findings
        if f.severity == "error" and not f.acknowledged and f.id not in acknowledged
    ]
    if open_findings:
        lines = [f"  - {f.id}: {f.message}. Instead: {f.way_out}" for f in open_findings]
        raise PlanError(
            "the plan would bill prices nobody asked for (findings below); nothing was applied. "
            "Fix them, or acknowledge each with --acknowledge ID (or `acknowledge: [ID]` in the "
            "tenant's overrides).\n" + "\n".join(lines)
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
    acknowledged: Collection[str] = (),
) -> ApplyReport:
    """Make Lago match ``plan``; raises ``ApplyFailed`` (with the report) at the first failure.
    ``seen``: the objects as the plan read them (``stale.seen_objects``), so a stale plan is
    refused naming the fields that moved."""
    check_applicable(plan, confirm_delete_plans, acknowledged)
    live = fetch_live(client, plan.reads)
    moved = stale_objects(plan, live, seen)
    if moved:
        raise StalePlanError(moved)
    ctx = _context(live)
    report = ApplyReport()
    pending = plan.pending()
    began = time.monotonic()

    def tell(index: int, change: ObjectChange, status: str) -> None:
        if progress is None:
            return
        elapsed = time.monotonic() - began
        done = index if status == "done" else index - 1
        eta = elapsed / done * (len(pending) - done) if done else None
        progress(ApplyStep(index, len(pending), change, status, elapsed, eta))

    for index, change in enumerate(pending, start=1):
        tell(index, change, "start")
        try:
            for planned in steps_for(change, ctx):
                step = resolve(planned, ctx)
                response = _mutate(client, audit, change, step, ctx)
                _learn(ctx, change, step, response)
            verify(client, change, ctx)
        except LagoformError as err:
            report.failed = (f"{change.action} {change.ref}", _plain(err))
            report.not_attempted = [f"{c.action} {c.ref}" for c in pending[index:]]
            tell(index, change, "failed")
            raise ApplyFailed(report) from err
        report.applied.append(f"{change.action} {change.ref}")
        tell(index, change, "done")
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
    client: LagoClient, audit: AuditHook, change: ObjectChange, step: Step, ctx: ApplyContext
) -> dict[str, Any] | None:
    """The one place apply writes to Lago: audit intent, the call, audit outcome."""
    tag = new_tag() if step.op == "top_up" else None
    if tag is not None:  # the top-up carries its intent id: a later read can find it
        step = tagged(step, tag)
    record_id = audit.intent(change, step.request(), record_id=tag)  # raises: nothing is sent
    try:
        response = _call(client, step)
    except LagoError as err:
        if not ClientCore.lost_response(err):
            audit.outcome(record_id, False, err.status, err.code, None)
            if step.overrides and err.status == 403 and err.code == "feature_unavailable":
                raise ApplyError(_premium_message(change)) from err
            raise
        found = _recover(client, change, step, ctx, record_id)
        if found is not None:
            note = "the answer was lost; read back from Lago, which took the call"
            audit.outcome(record_id, True, None, None, found, note)
            return found
        audit.outcome(record_id, None, err.status, err.code, None, _lost(err))
        raise ApplyError(_unknown_message(change, step, record_id, err)) from err
    except BaseException:
        # killed or interrupted mid-call: Lago may or may not have the call
        with contextlib.suppress(Exception):
            audit.outcome(record_id, None, None, None, None, "apply stopped during the call")
        raise
    audit.outcome(record_id, True, 200, None, response)
    return response


def _lost(err: LagoError) -> str:
    return f"the answer was lost ({_plain(err)}); Lago may have acted"


def _recover(
    client: LagoClient, change: ObjectChange, step: Step, ctx: ApplyContext, record_id: str
) -> dict[str, Any] | None:
    """After a lost answer: what Lago holds if it took the call, else None (not known)."""
    try:
        if step.op == "top_up":
            found = find_tagged(client, str((step.body or {}).get("wallet_id")), record_id)
            return {"wallet_transactions": found} if found else None
        if step.op == "upsert":
            verify(client, change, ctx)  # raises unless Lago holds what was sent
            return client.get_customer(change.key)
    except LagoformError:
        return None
    return None


def _unknown_message(change: ObjectChange, step: Step, record_id: str, err: LagoError) -> str:
    what = f"{step.what} ({step.method} {step.path})"
    if step.op == "top_up":
        return (
            f"the answer to {what} was lost ({_plain(err)}) and Lago shows no transaction "
            f"tagged with it yet: it may still be processing. lagoform will not send it again; "
            f"the next plan or apply reads Lago to settle it (audit record {record_id})"
        )
    return (
        f"the answer to {what} was lost ({_plain(err)}): Lago may or may not have taken it "
        f"(audit record {record_id}); the next plan reads Lago and shows what is left"
    )


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
            # never repeated blindly: a retry re-sends metadata items that may now exist (422);
            # after a lost answer _recover reads the customer back instead
            data = client.post("/customers", {"customer": body}, idempotent=False)
            obj = data.get("customer")
            return obj if isinstance(obj, dict) else {}
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
