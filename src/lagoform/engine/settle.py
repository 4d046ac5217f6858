"""Settling calls whose outcome is unknown, by reading Lago, before anything is sent again.

A call can leave the audit log without a known result: apply died between the call and its
outcome record (*no outcome*), or Lago's answer was lost — a timeout, a broken connection, a
5xx — while Lago may still be processing it (*unknown*). For a call that is safe to repeat (an
update, a code-keyed create, a delete) that does not matter: the next plan is computed from
what Lago holds. For a call that creates something anew each time it is sent it does: a top-up
sent twice is credits granted twice. So apply settles every such call by reading Lago first:

* a top-up (``POST /wallet_transactions``) carries its intent id in its metadata
  (``lagoform_intent``): *landed* when a transaction of the wallet carries it; otherwise
  *unresolved* — Lago may still be processing it — and the wallet's changes are blocked, with
  how to check by hand, until someone settles it (``lagoform audit settle``);
* a wallet create (``POST /wallets``, with its first credits): *landed* when the customer has a
  wallet with that code; otherwise *unresolved* the same way;
* anything else, customers included (an upsert keyed by external id, re-planned from what Lago
  holds): *superseded* once Lago could be read.

``settle`` is the only I/O; ``block_unresolved`` and ``tagged`` are pure.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from lagoform.engine.locks import Blocked
from lagoform.engine.payloads import Step
from lagoform.engine.plan import ObjectChange, Plan
from lagoform.errors import LagoError
from lagoform.lago.client import LagoClient

TAG_KEY = "lagoform_intent"
Status = Literal["landed", "not_landed", "superseded", "unresolved"]


@dataclass(frozen=True)
class UnknownCall:
    """An audit intent whose result is not known (read from the log by the caller)."""

    record_id: str
    kind: str
    key: str
    action: str
    method: str | None
    path: str | None
    time: str
    actor: str
    why: str  # "no outcome" | "unknown"

    @property
    def what(self) -> str:
        return f"{self.action} {self.kind} {self.key} ({self.method} {self.path})"


@dataclass(frozen=True)
class Verdict:
    call: UnknownCall
    status: Status
    note: str  # what reading Lago showed
    how: str | None = None  # unresolved: how to check by hand, and how to record the answer

    @property
    def settled(self) -> bool:
        return self.status != "unresolved"


def new_tag() -> str:
    """A fresh intent id: the top-up carries it, the intent record uses it as its id."""
    return uuid.uuid4().hex


def tagged(step: Step, tag: str) -> Step:
    """A top-up step whose transaction carries ``tag`` in its metadata."""
    body = dict(step.body or {})
    others = [m for m in body.get("metadata") or [] if m.get("key") != TAG_KEY]
    body["metadata"] = [*others, {"key": TAG_KEY, "value": tag}]
    return replace(step, body=body)


def _is_top_up(call: UnknownCall) -> bool:
    return call.method == "POST" and (call.path or "").startswith("/wallet_transactions")


def _is_wallet_create(call: UnknownCall) -> bool:
    return call.method == "POST" and (call.path or "").rstrip("/") == "/wallets"


def find_tagged(client: LagoClient, wallet_id: str, tag: str) -> list[dict[str, Any]]:
    """The wallet's transactions carrying ``tag`` (Lago lists metadata as key/value items)."""
    return [
        txn
        for txn in client.list_wallet_transactions(wallet_id)
        if any(
            isinstance(m, Mapping) and m.get("key") == TAG_KEY and m.get("value") == tag
            for m in txn.get("metadata") or []
        )
    ]


def _wallets(client: LagoClient, key: str) -> tuple[str, str, list[dict[str, Any]] | None]:
    """(customer, wallet code, the customer's wallets with that code — None: no customer)."""
    customer, _, code = key.partition("/")
    if client.get_customer(customer) is None:
        return customer, code, None
    wallets = client.list_wallets(customer)
    return customer, code, [w for w in wallets if w.get("code") == code or w.get("lago_id") == code]


def settle(client: LagoClient, calls: Iterable[UnknownCall]) -> list[Verdict]:
    """One verdict per call, from what Lago holds now."""
    return [_settle_one(client, call) for call in calls]


def _settle_one(client: LagoClient, call: UnknownCall) -> Verdict:
    try:
        if _is_top_up(call):
            return _top_up(client, call)
        if _is_wallet_create(call):
            return _wallet_create(client, call)
    except LagoError as err:
        return Verdict(call, "unresolved", f"Lago could not be read to settle it: {err}")
    return Verdict(
        call,
        "superseded",
        "safe to repeat: this apply re-read Lago and plans from what it holds now",
    )


def _top_up(client: LagoClient, call: UnknownCall) -> Verdict:
    customer, code, wallets = _wallets(client, call.key)
    if not wallets:  # Lago lists terminated wallets too: no such wallet ever existed
        return Verdict(
            call,
            "not_landed",
            f"customer {customer} has no wallet {code!r} in Lago: the top-up cannot have landed",
        )
    for wallet in wallets:
        found = find_tagged(client, str(wallet.get("lago_id")), call.record_id)
        if found:
            ids = ", ".join(str(t.get("lago_id")) for t in found)
            return Verdict(
                call,
                "landed",
                f"Lago has wallet transaction(s) {ids} tagged {TAG_KEY}={call.record_id}",
            )
    where = f"GET /api/v1/wallets/{wallets[0].get('lago_id')}/wallet_transactions"
    return Verdict(
        call,
        "unresolved",
        f"Lago shows no transaction of wallet {call.key} tagged {TAG_KEY}={call.record_id}: the "
        "top-up may still be processing, or it never arrived",
        f"lagoform will not top this wallet up again until it is settled. Check by hand ({where}:"
        f" a transaction whose metadata holds {TAG_KEY} = {call.record_id}), then record what "
        f"you found: `lagoform audit settle {call.record_id} --landed` (or `--not-landed`)",
    )


def _wallet_create(client: LagoClient, call: UnknownCall) -> Verdict:
    customer, code, wallets = _wallets(client, call.key)
    if wallets is None:
        return Verdict(
            call,
            "not_landed",
            f"customer {customer} is not in Lago: the wallet cannot have been created",
        )
    if wallets:
        found = wallets[0].get("lago_id")
        return Verdict(call, "landed", f"Lago has wallet {code!r} of customer {customer} ({found})")
    return Verdict(
        call,
        "unresolved",
        f"Lago shows no wallet {code!r} for customer {customer}: the create may still be "
        "processing, or it never arrived",
        "lagoform will not create it (and grant its credits) again until it is settled. Check by "
        f"hand (GET /api/v1/wallets?external_customer_id={customer}), then record what you "
        f"found: `lagoform audit settle {call.record_id} --landed` (or `--not-landed`)",
    )


def block_unresolved(plan: Plan, verdicts: Sequence[Verdict]) -> Plan:
    """``plan`` with every change to an object that has an unresolved call blocked (apply then
    refuses the plan, and says why and what to do)."""
    unresolved: dict[tuple[str, str], list[Verdict]] = {}
    for verdict in verdicts:
        if not verdict.settled:
            unresolved.setdefault((verdict.call.kind, verdict.call.key), []).append(verdict)
    if not unresolved:
        return plan
    changes: list[ObjectChange] = []
    for change in plan.changes:
        found = unresolved.get((change.kind, change.key))
        if found is None or change.action in ("no-op", "delete"):
            changes.append(change)
            continue
        extra = tuple(
            Blocked(
                path=(),
                reason=(
                    f"an earlier call to Lago has an unknown outcome (record {v.call.record_id}, "
                    f"{v.call.what} at {v.call.time} by {v.call.actor}): {v.note}"
                ),
                way_out=v.how or "settle it with `lagoform audit settle`",
            )
            for v in found
        )
        changes.append(
            change.model_copy(update={"action": "blocked", "blocked": (*change.blocked, *extra)})
        )
    return plan.model_copy(update={"changes": tuple(changes)})
