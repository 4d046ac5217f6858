"""What a price sync did, for a person (text) and for tools (``--format json``).

Prices are shown exactly, in the unit the catalog writes them in (``1.63 USD per 1M tokens``),
with the move's direction and percentage as the plan shows them (``engine.render.money``).
JSON carries prices as decimal strings, never floats.
"""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from typing import Any

from lagoform.engine.price_sync.sync import PriceChange, SyncResult
from lagoform.engine.render.money import change, number

__all__ = ["SYNC_JSON_VERSION", "sync_json", "sync_text"]

SYNC_JSON_VERSION = 1
CURRENCY = "USD"  # provider price lists are in USD (checked against the targets' plans)


def _price(value: Decimal | None, unit: str) -> str:
    return "none" if value is None else f"{number(value)} {CURRENCY} per {unit}"


def _line(item: PriceChange, many_targets: bool) -> str:
    where = f" · {item.target}" if many_targets else ""
    if item.old is None:
        return f"    + {item.token_type}{where}: {_price(item.new, item.unit)}"
    move = change(item.old, item.new)
    return (
        f"    ~ {item.token_type}{where}: {_price(item.old, item.unit)} → "
        f"{_price(item.new, item.unit)}" + (f" ({move})" if move else "")
    )


def sync_text(result: SyncResult, *, wrote: bool) -> str:
    by_model: dict[str, list[PriceChange]] = defaultdict(list)
    for item in result.changes:
        by_model[item.model].append(item)
    many = len({c.target for c in result.changes}) > 1
    chosen = f"{result.selected} model{'s' if result.selected != 1 else ''} selected"
    lines = [f"Price list {result.snapshot} ({result.source}): {chosen}."]
    for model in sorted({*by_model, *result.restored}):
        if model in result.added:
            head = f"+ model {model}: added"
        elif model in result.restored:
            head = f"+ model {model}: back in the list (taken off remove.filter_values)"
        else:
            head = f"~ model {model}"
        lines.append(head)
        lines.extend(_line(item, many) for item in by_model[model])
    for model in result.removed:
        lines.append(f"- model {model}: retired everywhere (remove.filter_values)")
    for item in result.kept:
        lines.append(
            f"! model {item.model} {item.token_type} · {item.target}: the list no longer prices "
            f"it; kept at {_price(item.old, item.unit)}"
        )
    repriced = result.repriced()
    moved = sum(1 for c in result.changes if c.old is not None)
    lines.append(
        f"Summary: {len(result.added)} added, {len(result.removed)} removed, "
        f"{len(repriced)} repriced ({moved} price{'s' if moved != 1 else ''}), "
        f"{result.unchanged} price{'s' if result.unchanged != 1 else ''} unchanged."
    )
    files = ", ".join(sorted(result.texts))
    if not result.changed:
        lines.append("The catalog already matches the price list.")
    elif wrote:
        lines.append(f"Wrote {files}. Review the change with `lagoform plan`.")
    else:
        lines.append(f"Would change {files} (nothing written).")
    return "\n".join(lines)


def _change_json(item: PriceChange) -> dict[str, Any]:
    return {
        "target": item.target,
        "model": item.model,
        "token_type": item.token_type,
        "old": None if item.old is None else format(item.old.normalize(), "f"),
        "new": None if item.new is None else format(item.new.normalize(), "f"),
        "currency": CURRENCY,
        "per": item.unit,
    }


def sync_json(result: SyncResult, *, wrote: bool) -> str:
    data = {
        "format_version": SYNC_JSON_VERSION,
        "source": result.source,
        "snapshot": result.snapshot,
        "selected": result.selected,
        "added": result.added,
        "removed": result.removed,
        "restored": result.restored,
        "repriced": result.repriced(),
        "changes": [_change_json(c) for c in result.changes],
        "kept": [_change_json(c) for c in result.kept],
        "unchanged": result.unchanged,
        "changed": result.changed,
        "written": wrote and result.changed,
        "files": sorted(result.texts),
    }
    return json.dumps(data, indent=2)
