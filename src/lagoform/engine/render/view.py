"""What the templates show, computed once from a ``Plan`` (pure; no formatting markup).

The templates stay dumb: they get rows of already-formatted strings. Paths are shown the way
people read them (``charges.tokens.filters[type=input].properties.amount``, tiers as
``graduated_ranges[1]``); a created or deleted sub-object is flattened into its leaf fields.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from lagoform.engine.diff import FieldChange
from lagoform.engine.plan import BlastRadius, ObjectChange, Plan

SYMBOLS = {"create": "+", "update": "~", "delete": "-", "blocked": "!", "no-op": "="}
# Fields whose change moves what a customer pays.
PRICE_FIELDS = frozenset(
    {
        "amount",
        "amount_cents",
        "rate",
        "per_unit_amount",
        "flat_amount",
        "fixed_amount",
        "min_amount_cents",
        "percentage_rate",
        "per_transaction_min_amount",
        "per_transaction_max_amount",
        "package_size",
        "free_units",
        "free_units_per_events",
        "free_units_per_total_aggregation",
    }
)
_KEYED = ("filters",)
_POSITIONAL_SUFFIX = "_ranges"


@dataclass(frozen=True)
class Row:
    path: str
    old: str
    new: str
    price: bool = False
    delta: str = ""
    mark: str = "~"  # + added field, - removed field, ~ changed value


@dataclass(frozen=True)
class ChangeView:
    symbol: str
    action: str
    kind: str
    key: str
    rows: tuple[Row, ...]
    blocked: tuple[tuple[str, str, str], ...]  # (path, reason, way out)
    blast: tuple[str, ...]
    confirm: str | None
    note: str | None


@dataclass(frozen=True)
class PlanView:
    plan_id: str
    target: str
    counts: dict[str, int]
    changes: tuple[ChangeView, ...]
    price_moves: tuple[tuple[str, Row], ...]  # (object ref, row)
    deletions: tuple[ChangeView, ...]
    blocked: tuple[ChangeView, ...]
    unmanaged: tuple[str, ...]
    unmanaged_counts: str
    has_changes: bool
    pending_total: int = field(default=0)


def plan_view(plan: Plan) -> PlanView:
    changes = tuple(change_view(c) for c in plan.pending())
    moves = tuple(
        (f"{c.kind} {c.key}", row)
        for c in changes
        if c.action in ("update", "blocked")
        for row in c.rows
        if row.price and row.mark == "~"
    )
    return PlanView(
        plan_id=plan.plan_id,
        target=plan.target,
        counts=plan.counts(),
        changes=changes,
        price_moves=moves,
        deletions=tuple(c for c in changes if c.action == "delete"),
        blocked=tuple(c for c in changes if c.action == "blocked"),
        unmanaged=tuple(f"{u.kind.replace('_', ' ')} {u.key}" for u in plan.unmanaged),
        unmanaged_counts=_kind_counts([u.kind for u in plan.unmanaged]),
        has_changes=plan.has_changes,
        pending_total=len(changes),
    )


def change_view(change: ObjectChange) -> ChangeView:
    rows = tuple(_rows(change.changes, deleting=change.action == "delete"))
    return ChangeView(
        symbol=SYMBOLS[change.action],
        action=change.action,
        kind=change.kind.replace("_", " "),
        key=change.key,
        rows=rows,
        blocked=tuple(
            (show_path(b.path) or "(object)", b.reason, b.way_out) for b in change.blocked
        ),
        blast=tuple(blast_lines(change.blast, change.kind, change.action, change.cascade_updates))
        if change.blast
        else (),
        confirm=change.confirm,
        note=change.note,
    )


def _rows(changes: Sequence[FieldChange], *, deleting: bool) -> Iterator[Row]:
    for change in changes:
        if deleting:
            # A deletion lists what goes, briefly: top-level fields only.
            if len(change.path) == 1 and not isinstance(change.old, dict | list):
                yield Row(show_path(change.path), show(change.old), show(None))
            continue
        for path, old, new in _leaves(change.path, change.old, change.new):
            if len(path) >= 4 and path[-2] == "values" and path[-4] == "filters":
                continue  # a filter's values are already its key: filters[type=input]
            price = bool(path) and path[-1] in PRICE_FIELDS
            mark = "+" if old is None else "-" if new is None else "~"
            delta = _delta(old, new) if price else ""
            yield Row(show_path(path), show(old), show(new), price, delta, mark)


def _leaves(
    path: tuple[str, ...], old: Any, new: Any
) -> Iterator[tuple[tuple[str, ...], Any, Any]]:
    """Split an added/removed sub-object into its leaf fields."""
    if isinstance(old, dict) or isinstance(new, dict):
        old_d = old if isinstance(old, dict) else {}
        new_d = new if isinstance(new, dict) else {}
        if not old_d and not new_d:
            yield path, old, new
            return
        for key in sorted(set(old_d) | set(new_d)):
            yield from _leaves((*path, str(key)), old_d.get(key), new_d.get(key))
        return
    if _dict_list(old) or _dict_list(new):
        old_l = old if isinstance(old, list) else []
        new_l = new if isinstance(new, list) else []
        for i in range(max(len(old_l), len(new_l))):
            yield from _leaves(
                (*path, str(i)),
                old_l[i] if i < len(old_l) else None,
                new_l[i] if i < len(new_l) else None,
            )
        return
    yield path, old, new


def _dict_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def show_path(path: Sequence[str]) -> str:
    out = ""
    for i, part in enumerate(path):
        parent = path[i - 1] if i else ""
        if parent in _KEYED or parent.endswith(_POSITIONAL_SUFFIX):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    return str(value)


def _delta(old: Any, new: Any) -> str:
    try:
        before, after = Decimal(str(old)), Decimal(str(new))
    except (InvalidOperation, ValueError):
        return ""
    if before == 0:
        return ""
    pct = (after - before) / before * 100
    return f"{pct:+.1f}%"


def blast_lines(
    blast: BlastRadius, kind: str, action: str = "update", cascade: bool = False
) -> Iterator[str]:
    if kind == "billable_metric":
        plans = ", ".join(blast.via_plans) or "no plan"
        yield f"used by: {plans}"
    total = blast.active_subscriptions + blast.overridden_follow + blast.overridden_not_follow
    if total == 0:
        yield "no active subscriptions affected"
        return
    if action == "delete":
        yield f"{total} active subscription(s) on it; Lago terminates them"
    elif blast.active_subscriptions:
        yield f"{blast.active_subscriptions} active subscription(s) re-priced now"
    if blast.overridden_follow and action != "delete":
        yield f"{blast.overridden_follow} overridden subscription(s) follow (cascade_updates)"
    if blast.overridden_not_follow and action != "delete":
        yield (
            f"{blast.overridden_not_follow} overridden subscription(s) keep their own copy "
            + ("(they override a changed charge)" if cascade else "(cascade_updates is off)")
        )
    for tenant in blast.tenants:
        how = (
            "terminated"
            if action == "delete"
            else "follows"
            if tenant.follows
            else "keeps its copy"
        )
        tag = " (overridden)" if tenant.overridden else ""
        subs = ", ".join(tenant.subscriptions)
        yield f"  {tenant.external_customer_id}{tag}: {subs} — {how}"


def _kind_counts(kinds: Sequence[str]) -> str:
    counts: dict[str, int] = {}
    for kind in kinds:
        counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(
        f"{n} {kind.replace('_', ' ')}{'s' if n != 1 else ''}" for kind, n in counts.items()
    )
