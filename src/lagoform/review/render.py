"""A ``Review`` as terminal text and JSON (the markdown is ``review.markdown``).

The plan is rendered by the engine (``engine.render``); this module adds what only reviewers
read, in place: the revenue section (``impact.render``; it follows the text's summary line),
customers' names, and the audit records apply would write for overrides, with their prices
in the unit and currency the YAML used (``audit_values``; the records keep Lago's amounts).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import click

from lagoform.engine import render as plan_render
from lagoform.engine.plan import Plan
from lagoform.engine.render import AuditPreview
from lagoform.engine.render import money as fmt
from lagoform.impact import render as revenue_render
from lagoform.model.filters import filter_key
from lagoform.model.filters import label as filter_label
from lagoform.policies import text_block as policies_text
from lagoform.review import migrations
from lagoform.review.audit_values import entry_prices
from lagoform.review.model import Review

__all__ = ["audit_lines", "render_json", "render_text"]


def render_text(review: Review, *, color: bool = False, revenue: bool = True) -> str:
    """The terminal form; ``revenue``: show the revenue section (when the review has one)."""
    from lagoform.review.scheduled import scheduled_text

    shown = revenue_render.render_text(review.revenue) if revenue and review.revenue else ""
    # the policies' verdict on the plan leads what follows its summary line
    shown = policies_text(review.plan, _painter(color)) + shown
    text = plan_render.render_text(
        review.plan,
        color=color,
        revenue=shown,
        audit=audit_lines(review),
        names=review.customer_names,
        variants=review.plan_parents,
    )
    moves = migrations.render_text(review.migrations)
    text = f"{text.rstrip(chr(10))}\n\n{moves}" if moves else text
    return text + scheduled_text(review)


def _painter(color: bool) -> Callable[[str, str], str]:
    colours = {"!": "red", "~": "yellow", "=": "green"}

    def paint(text: str, symbol: str) -> str:
        return click.style(text, fg=colours.get(symbol)) if color else text

    return paint


def render_json(review: Review) -> str:
    """The review in its versioned JSON form, as ``lagoform plan --out`` saves it."""
    return review.dumps() + "\n"


# -- the audit preview, as reviewers read it ---------------------------------------------------


def audit_lines(review: Review) -> tuple[AuditPreview, ...]:
    currencies = _currencies(review.plan)
    return tuple(_preview(r, currencies) for r in review.audit_preview)


def _currencies(plan: Plan) -> dict[str, str]:
    """Each overridden subscription's currency (its base plan's), for the audit preview."""
    return {
        c.key: c.pricing.currency
        for c in plan.changes
        if c.kind == "subscription" and c.pricing is not None and c.pricing.currency
    }


def _preview(record: Mapping[str, Any], currencies: Mapping[str, str]) -> AuditPreview:
    override = record.get("override") or {}
    call = f"{record.get('method')} {record.get('path')}"
    subject = (
        f"{str(record.get('object_kind', '')).replace('_', ' ')} {record.get('object_key')} "
        f"(tenant {override.get('tenant_id')}, base plan {override.get('base_plan_code')})"
    )
    why = f"reason: {override.get('reason')}; approval: {override.get('approval')}"
    currency = override.get("currency") or currencies.get(str(record.get("object_key")))
    entries = tuple(_diff_entry(e, currency) for e in override.get("charges_diff") or [])
    return AuditPreview(call, subject, why, entries or ("(sets no value other than the base's)",))


def _diff_entry(entry: Mapping[str, Any], currency: str | None) -> str:
    where = entry.get("charge_code") or "plan"
    values = entry.get("filter_values")
    if isinstance(values, Mapping):
        where += f" [{filter_label(filter_key(values))}]"
    field = str(entry.get("field"))
    base, new = entry_prices(entry, currency)
    base = base or _value(entry.get("base_value"))
    new = new or _value(entry.get("override_value"))
    return f"{where} {field}: {base} → {new} ({entry.get('change')})"


def _value(item: Any) -> str:
    return fmt.NONE if item is None else str(item)
