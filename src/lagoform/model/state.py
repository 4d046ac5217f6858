"""The two inputs of ``build_plan``: desired state (from the catalog) and live state (from Lago).

Plain frozen data, no I/O. Both sides hold each object in the comparison form of ``normal.py``
under ``(kind, key)``; the desired side also keeps the Lago request body apply will send, the
live side the ids apply needs and the facts locks and blast radius are computed from.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

Kind = Literal[
    "tax", "billable_metric", "add_on", "plan", "coupon", "customer", "subscription", "wallet"
]
# Apply order for creates and updates; deletes run in the reverse order (API_NOTES §11).
KINDS: tuple[Kind, ...] = (
    "tax", "billable_metric", "add_on", "plan", "coupon", "customer", "subscription", "wallet",
)  # fmt: skip
# The YAML ``remove`` section's names for the kinds that can be deleted.
REMOVABLE: dict[str, Kind] = {
    "taxes": "tax",
    "billable_metrics": "billable_metric",
    "add_ons": "add_on",
    "plans": "plan",
    "coupons": "coupon",
}


def fingerprint(data: Any) -> str:
    """A stable short hash of JSON-able data (sorted keys)."""
    blob = orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.sha256(blob).hexdigest()[:16]


@dataclass(frozen=True)
class DesiredObject:
    kind: Kind
    key: str
    normal: dict[str, Any]
    # The Lago request body apply sends (charges carry billable_metric_code, not ids).
    body: dict[str, Any]
    # Only for plans: do edits follow to overridden subscriptions (Lago's cascade_updates)?
    cascade_updates: bool = False
    # Facts from YAML that Lago never sees, e.g. a subscription's override reason and approval.
    meta: dict[str, Any] = field(default_factory=dict)


# What a plan's prices are written per in YAML (``per: 1M tokens``), for renders: plan code ->
# charge code -> ``""`` (the charge's own prices) or a filter's key -> the unit as written.
Units = dict[str, dict[str, dict[str, str]]]
# Which of a plan's prices come from a shared price table, for renders: plan code -> charge code
# -> ``filters`` | ``tiers`` -> ``""`` (the charge's own tiers) or a filter's key -> table code.
PriceTables = dict[str, dict[str, dict[str, dict[str, str]]]]


@dataclass(frozen=True)
class DesiredState:
    objects: dict[Kind, dict[str, DesiredObject]]
    remove: dict[Kind, frozenset[str]] = field(default_factory=dict)
    fingerprint: str = ""
    units: Units = field(default_factory=dict)
    price_tables: PriceTables = field(default_factory=dict)

    def get(self, kind: Kind, key: str) -> DesiredObject | None:
        return self.objects.get(kind, {}).get(key)

    def keys(self, kind: Kind) -> set[str]:
        return set(self.objects.get(kind, {}))


@dataclass(frozen=True)
class LiveObject:
    kind: Kind
    key: str
    normal: dict[str, Any]
    # lago_id of the object and of its parts apply refers to (e.g. {"charges": {code: id}}).
    ids: dict[str, Any]
    # The object as Lago returned it (the importer writes YAML from it).
    raw: dict[str, Any]
    # Hash of what apply relies on: the normal form, the ids and the lock facts.
    fingerprint: str = ""
    pending_deletion: bool = False


@dataclass(frozen=True)
class SubscriptionFact:
    """What locks and blast radius need to know about one subscription (any status)."""

    external_id: str
    external_customer_id: str
    plan_code: str
    status: str  # pending | active | terminated | canceled | incomplete
    overridden: bool  # on a child plan (has plan overrides)


@dataclass(frozen=True)
class LiveState:
    objects: dict[Kind, dict[str, LiveObject]]
    subscriptions: tuple[SubscriptionFact, ...] = ()
    # Metric codes used by a charge of any non-deleted plan (parent or child) in Lago.
    attached_metrics: frozenset[str] = frozenset()
    # Coupon codes applied to at least one customer (their terms are then frozen).
    applied_coupons: frozenset[str] = frozenset()
    requests: int = 0
    # Lago's clock when it was read (its Date header, epoch seconds); None: it sent none.
    now: float | None = None

    def get(self, kind: Kind, key: str) -> LiveObject | None:
        return self.objects.get(kind, {}).get(key)

    def ever_subscribed(self, plan_code: str) -> bool:
        """Lago locks a plan once it has had any direct subscription, in any status."""
        return any(s.plan_code == plan_code and not s.overridden for s in self.subscriptions)
