"""The rows of one change, formatted for people (pure; no markup).

Plain fields become ``label: old → new`` rows, with money in its currency and YAML's names
(``amount``, ``min_amount``, ``trial_days``). A plan's charges are grouped per charge: a whole
charge (created, added or removed) as its price line, one line per filter and its terms; an
edited charge as old → new price lines (tiers as compact tables) with the move's direction and
percentage. The old side of an edited plan is rebuilt from the new one and the field changes.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lagoform.engine.diff import FieldChange
from lagoform.engine.plan import ObjectChange
from lagoform.engine.render import money as fmt
from lagoform.model import forms
from lagoform.model.filters import label as filter_label

# Fields whose change moves what a customer pays.
PRICE_FIELDS = frozenset(
    {
        "amount", "amount_cents", "rate", "per_unit_amount", "flat_amount", "fixed_amount",
        "min_amount_cents", "percentage_rate", "per_transaction_min_amount",
        "per_transaction_max_amount", "package_size", "free_units", "free_units_per_events",
        "free_units_per_total_aggregation",
    }
)  # fmt: skip
_LABELS = {"amount_cents": "amount", "min_amount_cents": "min_amount", "trial_period": "trial_days"}
_CENTS = ("amount_cents", "min_amount_cents")


@dataclass(frozen=True)
class Row:
    label: str
    old: str
    new: str
    mark: str = "~"  # + added, - removed, ~ changed
    price: bool = False
    delta: str = ""


@dataclass(frozen=True)
class Group:
    """A charge of a plan and its rows."""

    title: str
    mark: str
    rows: tuple[Row, ...]
    unchanged_filters: int = 0  # an edited charge's filters that stay as they are


def currency_of(change: ObjectChange) -> str | None:
    """The currency amounts of this change are in (None when it has none)."""
    if change.pricing is not None:
        return change.pricing.currency or None
    body = change.body or {}
    for key in ("amount_currency", "currency"):
        if body.get(key):
            return str(body[key])
    for item in change.changes:
        if item.path in (("amount_currency",), ("currency",)):
            return str(item.old or item.new)
    return None


def label(path: Sequence[str]) -> str:
    """``charges.tokens.filters[type=input].properties.amount`` style, YAML names for cents."""
    out = ""
    for i, part in enumerate(path):
        parent = path[i - 1] if i else ""
        part = _LABELS.get(part, part) if i == len(path) - 1 else part
        if parent == "filters":
            out += f"[{filter_label(part)}]"
        elif parent.endswith("_ranges") or (parent == "usage_thresholds" and part.isdigit()):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def value(path: Sequence[str], item: Any, kind: str, currency: str | None) -> str:
    """One field's value for people."""
    if item is None:
        return fmt.NONE
    last = path[-1] if path else ""
    if last in _CENTS:
        return fmt.money(item, currency)
    if last in ("rate", "percentage_rate") and kind in ("tax", "coupon"):
        return f"{fmt.number(item)}%"
    if last == "trial_period":
        return f"{fmt.number(item)} days"
    if last in ("paid_credits", "granted_credits"):
        return f"{fmt.number(item)} credits"
    if last == "rate_amount" and kind == "wallet":
        return f"{fmt.number(item)} {currency or ''} per credit".replace("  ", " ")
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, list):
        return "[" + ", ".join(value(path, v, kind, currency) for v in item) + "]"
    if isinstance(item, dict):
        inner = ", ".join(
            f"{k}: {value((*path, str(k)), v, kind, currency)}" for k, v in item.items()
        )
        return "{" + inner + "}"
    return str(item)


def leaf_rows(
    changes: Sequence[FieldChange], kind: str, currency: str | None, *, skip: Sequence[str] = ()
) -> Iterator[Row]:
    """Plain rows: one per changed leaf field (sub-objects split into their fields)."""
    for change in changes:
        if change.path[:1] and change.path[0] in skip:
            continue
        for path, old, new in _leaves(change.path, change.old, change.new):
            if len(path) >= 4 and path[-2] == "values" and path[-4] == "filters":
                continue  # a filter's values are already its key
            price = bool(path) and path[-1] in PRICE_FIELDS
            mark = "+" if old is None else "-" if new is None else "~"
            delta = fmt.change(old, new) if price and mark == "~" else ""
            yield Row(
                label(path),
                value(path, old, kind, currency),
                value(path, new, kind, currency),
                mark,
                price,
                delta,
            )


def _leaves(
    path: tuple[str, ...], old: Any, new: Any
) -> Iterator[tuple[tuple[str, ...], Any, Any]]:
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


def _dict_list(item: Any) -> bool:
    return isinstance(item, list) and bool(item) and all(isinstance(v, dict) for v in item)


# -- plans: one group per charge ----------------------------------------------------------------


def plan_sides(change: ObjectChange) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The plan before and after the change, in the comparison form."""
    if change.action == "create":
        return None, {c.path[0]: c.new for c in change.changes if len(c.path) == 1}
    if change.action == "delete":
        return {c.path[0]: c.old for c in change.changes if len(c.path) == 1}, None
    new = forms.billing_plan(change.body or {})
    return unapply(new, change.changes), new


def unapply(new: Mapping[str, Any], changes: Sequence[FieldChange]) -> dict[str, Any]:
    """``new`` with every field change undone: the old object."""
    out: dict[str, Any] = copy.deepcopy(dict(new))
    for change in reversed(list(changes)):
        _set(out, change.path, change.old)
    return out


def _set(root: Any, path: Sequence[str], item: Any) -> None:
    node = root
    for part in path[:-1]:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    last = path[-1]
    if isinstance(node, list):
        index = int(last)
        if item is None:
            if index < len(node):
                del node[index]
        elif index < len(node):
            node[index] = item
        else:
            node.append(item)
    elif item is None:
        node.pop(last, None)
    else:
        node[last] = item


Units = Mapping[str, Mapping[str, str]]  # charge code -> "" or filter key -> unit as written
# charge code -> "filters" | "tiers" -> "" (the charge's tiers) or filter key -> price table
Tables = Mapping[str, Mapping[str, Mapping[str, str]]]


def plan_groups(
    change: ObjectChange,
    currency: str | None,
    units: Units | None = None,
    tables: Tables | None = None,
) -> tuple[list[Row], list[Group]]:
    """A plan change as plan-level rows and one group per touched charge; ``units``: what the
    YAML writes each charge's (and filter's) prices per, to show them that way; ``tables``:
    which of them a shared price table gives, to say so."""
    old, new = plan_sides(change)
    fields = [c for c in change.changes if c.path[0] != "charges"]
    if change.action in ("create", "delete"):
        fields = [c for c in fields if c.path != ("amount_currency",)]
    rows = list(leaf_rows(fields, "plan", currency))
    touched = sorted(
        {c.path[1] for c in change.changes if c.path[0] == "charges" and len(c.path) > 1}
        | (set((new or {}).get("charges", {})) if change.action == "create" else set())
        | (set((old or {}).get("charges", {})) if change.action == "delete" else set())
    )
    groups = []
    for code in touched:
        before = ((old or {}).get("charges") or {}).get(code)
        after = ((new or {}).get("charges") or {}).get(code)
        sub = [c for c in change.changes if c.path[:2] == ("charges", code)]
        per = (units or {}).get(code) or {}
        group = _charge_group(code, before, after, sub, currency, per, (tables or {}).get(code))
        groups.append(group)
    return rows, groups


def _from_tables(charge: Mapping[str, Any], tables: Mapping[str, Mapping[str, str]]) -> str:
    """``prices from table llm_list (158 filters), 2 filters of its own``: the rule a
    charge's prices come from, when a shared price table gives some."""
    present = set(charge.get("filters") or {})
    counts = Counter(t for k, t in (tables.get("filters") or {}).items() if k in present)
    parts = []
    if counts:
        listed = ", ".join(f"{t} ({n} filter{'s' * (n != 1)})" for t, n in sorted(counts.items()))
        own = len(present) - sum(counts.values())
        mine = f", {own} filter{'s' * (own != 1)} of its own" if own else ""
        parts.append(f"prices from table{'s' * (len(counts) > 1)} {listed}{mine}")
    tiers = tables.get("tiers") or {}
    if "" in tiers:
        parts.append(f"tiers from table {tiers['']}")
    return "; ".join(parts)


def _charge_group(
    code: str,
    old: Any,
    new: Any,
    changes: list[FieldChange],
    currency: str | None,
    per: Mapping[str, str],
    tables: Mapping[str, Mapping[str, str]] | None = None,
) -> Group:
    rule = _from_tables(new, tables) if tables and new is not None else ""
    sources = (tables or {}).get("filters") or {}
    if old is None or new is None:
        whole = new if old is None else old
        mark = "+" if old is None else "-"
        shown = tuple(_whole(whole, currency, mark, per))
        return Group(_title(code, whole, full=True, rule=rule), mark, shown)
    model = new.get("charge_model")
    rows: list[Row] = []
    props = [c for c in changes if c.path[2:3] == ("properties",)]
    if props:
        rows.append(_price_row("price", model, old, new, props, currency, 3, per.get("")))
    filters = sorted(
        {c.path[3] for c in changes if c.path[2:3] == ("filters",) and len(c.path) > 3}
    )
    for key in filters:
        rows.extend(
            _filter_rows(key, model, old, new, changes, currency, per.get(key), sources.get(key))
        )
    rest = [c for c in changes if c.path[2:3] not in (("properties",), ("filters",))]
    rows.extend(
        leaf_rows([c.model_copy(update={"path": c.path[2:]}) for c in rest], "plan", currency)
    )
    same = len(set(new.get("filters") or {}) - set(filters))
    return Group(_title(code, new, full=False, rule=rule), "~", tuple(rows), same)


def _title(code: str, charge: Mapping[str, Any], *, full: bool, rule: str = "") -> str:
    model = charge.get("charge_model") or "?"
    if not full:
        return f"charge {code} ({model})" + (f" · {rule}" if rule else "")
    parts = [f"charge {code}", str(charge.get("billable_metric_code") or "?"), model]
    if charge.get("invoice_display_name"):
        parts.append(f"“{charge['invoice_display_name']}”")
    return " · ".join([*parts, rule] if rule else parts)


def _whole(
    charge: Mapping[str, Any], currency: str | None, mark: str, per: Mapping[str, str]
) -> Iterator[Row]:
    model = charge.get("charge_model")
    new = mark == "+"

    def row(name: str, text: str) -> Row:
        return Row(name, "" if new else text, text if new else "", mark)

    yield row("price", fmt.properties(model, charge.get("properties"), currency, per.get("")))
    for key, item in (charge.get("filters") or {}).items():
        name = f" “{item['invoice_display_name']}”" if item.get("invoice_display_name") else ""
        text = fmt.properties(model, item.get("properties"), currency, per.get(key))
        yield row(f"[{filter_label(key)}]{name}", text)
    terms = _terms(charge, currency)
    if terms:
        yield row("terms", terms)


def _terms(charge: Mapping[str, Any], currency: str | None) -> str:
    parts = []
    if charge.get("pay_in_advance"):
        parts.append("pay in advance")
    if charge.get("prorated"):
        parts.append("prorated")
    if charge.get("invoiceable") is False:
        parts.append("not invoiceable")
    if charge.get("regroup_paid_fees"):
        parts.append(f"regroup paid fees: {charge['regroup_paid_fees']}")
    if charge.get("min_amount_cents"):
        parts.append(f"min_amount {fmt.money(charge['min_amount_cents'], currency)}")
    if charge.get("tax_codes"):
        parts.append(f"taxes {', '.join(charge['tax_codes'])}")
    return ", ".join(parts)


def _filter_rows(
    key: str,
    model: Any,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    changes: list[FieldChange],
    currency: str | None,
    per: str | None = None,
    table: str | None = None,
) -> Iterator[Row]:
    before = (old.get("filters") or {}).get(key)
    after = (new.get("filters") or {}).get(key)
    name = f"[{filter_label(key)}]"
    source = f" · table {table}" if table else ""
    if before is None or after is None:
        whole: Mapping[str, Any] = (after if before is None else before) or {}
        text = fmt.properties(model, whole.get("properties"), currency, per)
        if whole.get("invoice_display_name"):
            text += f" “{whole['invoice_display_name']}”"
        mark = "+" if before is None else "-"
        yield Row(name + source, "" if mark == "+" else text, text if mark == "+" else "", mark)
        return
    mine = [c for c in changes if c.path[2:4] == ("filters", key)]
    props = [c for c in mine if c.path[4:5] == ("properties",)]
    if props:
        yield _price_row(f"{name} price{source}", model, before, after, props, currency, 5, per)
    if before.get("invoice_display_name") != after.get("invoice_display_name"):
        yield Row(
            f"{name} invoice_display_name",
            str(before.get("invoice_display_name") or fmt.NONE),
            str(after.get("invoice_display_name") or fmt.NONE),
        )


def _price_row(
    name: str,
    model: Any,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    leaves: list[FieldChange],
    currency: str | None,
    depth: int,
    per: str | None = None,
) -> Row:
    """old → new price of a charge or filter, with each moved figure's direction and size."""
    moves = []
    for leaf in leaves:
        rest = leaf.path[depth:]
        if not rest or rest[-1] not in PRICE_FIELDS:
            continue
        moved = fmt.change(leaf.old, leaf.new)
        if not moved:
            continue
        where = ""
        if len(rest) == 3 and rest[0].endswith("_ranges"):
            where = fmt.tier_label(new["properties"].get(rest[0]), int(rest[1]), rest[2])
        elif len(leaves) > 1:
            where = rest[-1]
        moves.append(f"{moved} ({where})" if where else moved)
    return Row(
        name,
        fmt.properties(model, old.get("properties"), currency, per),
        fmt.properties(model, new.get("properties"), currency, per),
        "~",
        True,
        "; ".join(moves),
    )
