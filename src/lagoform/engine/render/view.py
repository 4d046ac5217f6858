"""What the templates show, computed once from a ``Plan`` (pure; no formatting markup).

The templates stay dumb: they get rows of already-formatted strings (``rows.py`` for fields and
charges, ``finance.py`` for negotiated prices, plan moves and wallet top-ups, ``money.py`` for
the figures), and, from the review layer, the audit records apply would write for overrides.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from lagoform.engine.blast import BlastRadius, TenantImpact
from lagoform.engine.plan import ObjectChange, Plan
from lagoform.engine.render import finance, rows
from lagoform.engine.render.finance import PricingView
from lagoform.engine.render.rows import Group, Row

SYMBOLS = {"create": "+", "update": "~", "delete": "-", "blocked": "!", "no-op": "="}
PRICE_FIELDS = rows.PRICE_FIELDS


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
    groups: tuple[Group, ...] = ()  # a plan's charges
    pricing: PricingView | None = None  # a subscription's prices
    move: tuple[str, str] | None = None  # (headline, Lago's rule)
    extra: tuple[str, ...] = ()  # e.g. a wallet top-up
    field_count: int = 0


@dataclass(frozen=True)
class PriceMove:
    ref: str  # "plan pro", "subscription globex-main", "plan pro and its variant pro_annual"
    where: str  # "tokens · price", "tokens · [type=input]"
    old: str
    new: str
    delta: str


@dataclass(frozen=True)
class AuditPreview:
    """One audit record apply would write for an override call."""

    call: str  # "PUT /subscriptions/globex-main/charges/tokens"
    subject: str  # "subscription globex-main (tenant globex, base plan enterprise)"
    why: str  # reason and approval
    entries: tuple[str, ...]  # the per-charge structured diff, one line per entry


@dataclass(frozen=True)
class PlanView:
    plan_id: str
    target: str
    counts: dict[str, int]
    changes: tuple[ChangeView, ...]
    price_moves: tuple[PriceMove, ...]
    deletions: tuple[ChangeView, ...]
    blocked: tuple[ChangeView, ...]
    unmanaged: tuple[str, ...]
    unmanaged_counts: str
    has_changes: bool
    pending_total: int = field(default=0)
    audit: tuple[AuditPreview, ...] = ()
    what: str = ""  # "1 plan updated, 2 subscriptions created"
    unchanged_filters: tuple[str, ...] = ()  # "plan pro, charge tokens: 143 other filters …"
    findings: tuple[tuple[str, str, str, bool], ...] = ()  # (id, message, way out, acknowledged)


def plan_view(
    plan: Plan,
    audit: Sequence[AuditPreview] = (),
    *,
    names: Mapping[str, str] | None = None,
    variants: Mapping[str, str] | None = None,
) -> PlanView:
    """``audit``: the records apply would write for overrides, as a reviewer reads them (the
    review layer formats them; the plan itself carries none). ``names``: customers' names by
    external id; ``variants``: variant plan code -> the plan it extends (a variant's price
    move that only repeats its parent's is one row naming both)."""
    changes = tuple(change_view(c, names, plan.units, plan.price_tables) for c in plan.pending())
    return PlanView(
        plan_id=plan.plan_id,
        target=plan.target,
        counts=plan.counts(),
        changes=changes,
        price_moves=tuple(_merge_variants(list(_moves(changes)), variants or {})),
        deletions=tuple(c for c in changes if c.action == "delete"),
        blocked=tuple(c for c in changes if c.action == "blocked"),
        unmanaged=tuple(f"{u.kind.replace('_', ' ')} {u.key}" for u in plan.unmanaged),
        unmanaged_counts=_kind_counts([u.kind for u in plan.unmanaged]),
        has_changes=plan.has_changes,
        pending_total=len(changes),
        audit=tuple(audit),
        what=_what(plan.pending()),
        unchanged_filters=tuple(_unchanged_filters(changes)),
        # a policy's findings are shown by the review, next to the verdict (lagoform.policies)
        findings=tuple(
            (f.id, f.message, f.way_out, f.acknowledged) for f in plan.findings if f.rule is None
        ),
    )


def _what(pending: Sequence[ObjectChange]) -> str:
    """``1 plan updated, 2 subscriptions created, 1 billable metric blocked``."""
    done = {"create": "created", "update": "updated", "delete": "deleted", "blocked": "blocked"}
    counts: dict[tuple[str, str], int] = {}
    for change in pending:
        key = (change.kind, change.action)
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(
        f"{n} {kind.replace('_', ' ')}{'s' if n != 1 else ''} {done[action]}"
        for (kind, action), n in counts.items()
    )


def _unchanged_filters(changes: Sequence[ChangeView]) -> Iterator[str]:
    for c in changes:
        for group in c.groups:
            if group.unchanged_filters:
                yield (
                    f"{c.kind} {c.key}, {group.title.split(' (')[0]}: "
                    f"{group.unchanged_filters} other filter(s) unchanged"
                )


def _merge_variants(moves: list[PriceMove], variants: Mapping[str, str]) -> Iterator[PriceMove]:
    """A variant's move that repeats its parent's (same price, same old → new) folds into the
    parent's row, which then names both plans."""

    def key(code: str, move: PriceMove) -> tuple[str, str, str, str, str]:
        return (code, move.where, move.old, move.new, move.delta)

    plans = {key(m.ref.partition(" ")[2], m) for m in moves if m.ref.startswith("plan ")}
    children: dict[tuple[str, str, str, str, str], list[str]] = {}
    folded: set[int] = set()
    for index, move in enumerate(moves):
        kind, _, code = move.ref.partition(" ")
        parent = variants.get(code) if kind == "plan" else None
        if parent is not None and key(parent, move) in plans:
            children.setdefault(key(parent, move), []).append(code)
            folded.add(index)
    for index, move in enumerate(moves):
        if index in folded:
            continue  # shown on its parent's row
        kind, _, code = move.ref.partition(" ")
        named = children.get(key(code, move), []) if kind == "plan" else []
        if named:
            word = "variant" if len(named) == 1 else "variants"
            move = replace(move, ref=f"plan {code} and its {word} {', '.join(named)}")
        yield move


def change_view(
    change: ObjectChange,
    names: Mapping[str, str] | None = None,
    units: Mapping[str, Mapping[str, Mapping[str, str]]] | None = None,
    price_tables: Mapping[str, rows.Tables] | None = None,
) -> ChangeView:
    """``units``: the plan's ``units`` (what each plan's YAML writes its prices per);
    ``price_tables``: the plan's ``price_tables`` (which prices a shared table gives)."""
    currency = rows.currency_of(change)
    units = units or {}
    groups: list[Group] = []
    if change.action == "delete":
        # A deletion lists what goes, briefly: top-level fields only.
        shown = [
            c
            for c in change.changes
            if len(c.path) == 1
            and not isinstance(c.old, dict | list)
            and c.path != ("amount_currency",)  # shown with the amount
        ]
        fields = list(rows.leaf_rows(shown, change.kind, currency))
    elif change.kind == "plan":
        tables = (price_tables or {}).get(change.key)
        fields, groups = rows.plan_groups(change, currency, units.get(change.key), tables)
    else:
        skip = ("overrides",) if change.pricing is not None else ()
        fields = list(rows.leaf_rows(change.changes, change.kind, currency, skip=skip))
    return ChangeView(
        symbol=SYMBOLS[change.action],
        action=change.action,
        kind=change.kind.replace("_", " "),
        key=change.key,
        rows=tuple(fields),
        groups=tuple(groups),
        pricing=finance.pricing_view(
            change.pricing,
            blocked=change.action == "blocked",
            units=units.get(change.pricing.plan_code),
        )
        if change.pricing is not None
        else None,
        move=finance.move_lines(change.move) if change.move is not None else None,
        extra=tuple(finance.top_up_lines(change)),
        blocked=tuple(
            (rows.label(b.path) or "(object)", b.reason, b.way_out) for b in change.blocked
        ),
        blast=tuple(blast_lines(change.blast, change.kind, change.action, names))
        if change.blast
        else (),
        confirm=change.confirm,
        note=change.note,
        field_count=len(change.changes),
    )


def _moves(changes: Sequence[ChangeView]) -> Iterator[PriceMove]:
    """Every price that moves on something that already exists, for the summary."""
    for c in changes:
        if c.action not in ("update", "blocked"):
            continue
        ref = f"{c.kind} {c.key}"
        for row in c.rows:
            if row.price and row.mark == "~":
                yield PriceMove(ref, row.label, row.old, row.new, row.delta)
        for group in c.groups:
            code = group.title.split(" ")[1]
            for row in group.rows:
                if row.price and row.mark == "~":
                    yield PriceMove(ref, f"{code} · {row.label}", row.old, row.new, row.delta)
        if c.pricing is not None and c.pricing.exists:
            for p in c.pricing.rows:
                if p.changes and p.current != p.new:
                    where = f"{p.charge} · {p.where}" if p.charge else p.where
                    yield PriceMove(ref, where, p.current, p.new, p.delta)


def blast_lines(
    blast: BlastRadius,
    kind: str,
    action: str = "update",
    names: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """Who a plan or metric change concerns, in plain words (``names``: customer names)."""
    if kind == "billable_metric":
        plans = ", ".join(blast.via_plans) or "no plan"
        yield f"used by plans: {plans}"
    total = (
        blast.active_subscriptions
        + blast.pending_subscriptions
        + blast.overridden_follow
        + blast.overridden_not_follow
    )
    if total == 0:
        yield "no active or pending subscription is on it"
        return
    if action == "delete":
        yield f"{total} active or pending subscription(s) on it; Lago terminates them"
    else:
        if blast.active_subscriptions:
            yield f"{blast.active_subscriptions} active subscription(s) pay the new prices at once"
        if blast.pending_subscriptions:
            yield (
                f"{blast.pending_subscriptions} pending subscription(s) (not started, or a "
                "scheduled downgrade) start on the new prices"
            )
    if blast.overridden_follow and action != "delete":
        yield (
            f"{blast.overridden_follow} subscription(s) with negotiated prices also get the change"
        )
    if blast.overridden_not_follow and action != "delete":
        yield (
            f"{blast.overridden_not_follow} subscription(s) with negotiated prices keep their own "
            "prices for this change"
        )
    for tenant in blast.tenants:
        yield "  " + _tenant_line(tenant, action, kind == "billable_metric", names or {})


def _tenant_line(tenant: TenantImpact, action: str, metric: bool, names: Mapping[str, str]) -> str:
    if action == "delete":
        how = "terminated"
    elif metric and tenant.overridden:
        how = "gets the change (a metric's change reaches every charge on it, own copies too)"
    else:
        how = _HOW[tenant.how] if tenant.reached else _KEEPS[tenant.how]
        if tenant.kept and tenant.how != "unreached":
            how += ("; keeps " if tenant.reached else ": ") + ", ".join(tenant.kept)
    tags = [
        t
        for t, on in (("negotiated prices", tenant.overridden), ("not started", tenant.pending))
        if on
    ]
    tag = f" ({', '.join(tags)})" if tags else ""
    who = tenant.external_customer_id
    name = names.get(who)
    if name and name != who:
        who = f"{name} ({who})"
    return f"{who}{tag}: {', '.join(tenant.subscriptions)} — {how}"


# What a change does to a tenant's subscriptions (``model.reach``'s verdict), in plain words.
_HOW = {
    "follows": "pays the new prices",
    "repriced": "pays the new catalog prices; its negotiated prices stay",
    "frozen": "gets its own copy at these prices now, frozen from then on",
    "cascade": "gets the new prices (Lago updates its own copy of the plan)",
    "unreached": "keeps its current prices (Lago does not update its own copy of the plan)",
}
_KEEPS = {
    "follows": "unchanged",
    "repriced": "keeps its negotiated prices",
    "frozen": "keeps its prices (frozen in its YAML)",
    "cascade": "keeps its customised prices (Lago updates only what was not customised)",
    "unreached": "keeps its current prices (Lago does not update its own copy of the plan)",
}


def _kind_counts(kinds: Sequence[str]) -> str:
    counts: dict[str, int] = {}
    for kind in kinds:
        counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(
        f"{n} {kind.replace('_', ' ')}{'s' if n != 1 else ''}" for kind, n in counts.items()
    )
