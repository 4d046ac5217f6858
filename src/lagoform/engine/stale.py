"""What moved in Lago since a plan was made, down to the field. Pure.

A plan records a fingerprint of every live object it read (``Plan.live_fingerprints``); a saved
plan is stale when one of them differs now, and apply refuses it. ``seen_objects`` keeps the
objects themselves as the plan read them (a saved review carries them beside the plan), and
``stale_objects`` then names each moved field with its old and new value, in the labels the
plan's rows use::

    subscription hooli-main: plan.charges.tokens.filters[model=gpt-5, type=input]
        .properties.amount 0.000001 → 0.0000009

Without them (an older saved plan) it can only say which objects moved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lagoform.engine.diff import diff
from lagoform.engine.plan import Plan
from lagoform.engine.render.rows import label, value
from lagoform.model.state import Kind, LiveState

__all__ = ["MAX_FIELDS", "seen_objects", "stale_objects"]

MAX_FIELDS = 8  # per object; a re-created object can differ everywhere


def seen_objects(plan: Plan, live: LiveState) -> dict[str, dict[str, Any] | None]:
    """The comparison form of every live object ``plan`` fingerprinted (None: it was absent)."""
    out: dict[str, dict[str, Any] | None] = {}
    for ref in plan.live_fingerprints:
        obj = _get(live, ref)
        out[ref] = obj.normal if obj is not None else None
    return out


def stale_objects(
    plan: Plan, live: LiveState, seen: Mapping[str, dict[str, Any] | None] | None = None
) -> list[str]:
    """One line per object whose live fingerprint differs from the one ``plan`` recorded,
    naming the fields that moved when ``seen`` holds the object as the plan read it."""
    moved: list[str] = []
    for ref, before in plan.live_fingerprints.items():
        obj = _get(live, ref)
        now = obj.fingerprint if obj is not None else None
        if now == before:
            continue
        if before is None:
            moved.append(f"{ref} now exists in Lago")
        elif obj is None:
            moved.append(f"{ref} is gone from Lago")
        elif seen is None or ref not in seen or seen[ref] is None:
            moved.append(f"{ref} changed in Lago")
        else:
            moved.extend(_fields(ref, seen[ref] or {}, obj.normal))
    return moved


def _fields(ref: str, then: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    kind, _, key = ref.partition(":")
    who = f"{kind.replace('_', ' ')} {key}"
    changes = diff(then, now)
    if not changes:
        # the same fields: what moved is an id or a lock fact (re-created, or now subscribed)
        return [
            f"{who}: same fields, but its ids or locks changed in Lago (re-created, or now "
            "subscribed or attached to a plan)"
        ]
    currency = _currency(now)
    lines = [
        f"{who}: {label(c.path)} {_value(c.path, c.old, kind, currency)} → "
        f"{_value(c.path, c.new, kind, currency)}"
        for c in changes[:MAX_FIELDS]
    ]
    if len(changes) > MAX_FIELDS:
        lines.append(f"{who}: … and {len(changes) - MAX_FIELDS} more field(s)")
    return lines


def _value(path: tuple[str, ...], item: Any, kind: str, currency: str | None) -> str:
    text = value(path, item, kind, currency)  # cents as money, as the plan's rows show them
    return text if len(text) <= 80 else text[:77] + "..."


def _currency(obj: Mapping[str, Any]) -> str | None:
    """The currency amounts of an object are in (a subscription's: its plan's)."""
    for holder in (obj, obj.get("plan")):
        if isinstance(holder, Mapping):
            for key in ("amount_currency", "currency"):
                if isinstance(holder.get(key), str):
                    return str(holder[key])
    return None


def _get(live: LiveState, ref: str) -> Any:
    kind, _, key = ref.partition(":")
    kind_: Kind = kind  # type: ignore[assignment]
    return live.get(kind_, key)
