"""The revenue section as text (terminal), markdown (leads the PR comment) and JSON.

All three read one ``RevenueImpact``; nothing here computes. Markdown is a self-contained
section starting with ``## Revenue impact`` (``heading=3`` in the plan's comment, which it
leads) so the plan's comment can put it first.
"""

from __future__ import annotations

from collections.abc import Iterable

from lagoform.impact.model import PeriodTotal, RevenueImpact, Verified, VerifiedAmount
from lagoform.model.currency import money, signed_money

__all__ = [
    "headline",
    "render_details_markdown",
    "render_json",
    "render_markdown",
    "render_text",
    "verification_summary",
]

MAX_ITEMS = 20  # entries per list in text and markdown (a PR comment has a size limit)

_CAUSES = {
    "plan": "plan change",
    "repriced": "re-priced by lagoform: catalog prices with its negotiated values",
    "frozen": "frozen: its own copy at these prices",
    "cascade": "plan change via cascade_updates",
    "plan_switch": "moves to another plan",
}


def _customers(total: PeriodTotal) -> str:
    return (
        f"{total.customers_more} customer(s) pay more, {total.customers_less} less, "
        f"{total.customers_same} the same"
    )


def headline(impact: RevenueImpact) -> str:
    """One line per currency for the first period, or why there is nothing to show."""
    if impact.unavailable is not None:
        return f"revenue impact unavailable: {impact.unavailable}"
    first = impact.periods[0] if impact.periods else "current"
    totals = [t for t in impact.totals if t.period == first]
    if not totals:
        if impact.unreliable:
            return f"No reliable estimate ({len(impact.unreliable)} subscription(s), see below)."
        return "No subscription's pricing changes: no revenue impact."
    return "; ".join(
        f"{_label(first)}, per month: {signed_money(t.delta_cents, t.currency)} "
        f"({money(t.old_cents, t.currency)} → {money(t.new_cents, t.currency)}), "
        f"{_customers(t)}"
        for t in totals
    )


def _label(period: str) -> str:
    if period == "current":
        return "Current period"
    if period.startswith("past-"):
        n = period.removeprefix("past-")
        return "Last closed period" if n == "1" else f"Closed period -{n}"
    return period


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def _table(header: Iterable[str], align: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    out.extend("| " + " | ".join(_cell(c) for c in row) + " |" for row in rows)
    return out


def _more(total: int, shown: int, bullet: str) -> list[str]:
    if total <= shown:
        return []
    return [f"{bullet}… and {total - shown} more (all of them are in the JSON form)"]


def render_markdown(impact: RevenueImpact, *, max_items: int = MAX_ITEMS, heading: int = 2) -> str:
    """The revenue section of a PR comment; long lists stop after ``max_items`` entries.
    ``heading`` is the level of its title (its parts are one level below)."""
    title, part = "#" * heading, "#" * (heading + 1)
    if impact.unavailable is not None:
        lines = [f"{title} Revenue impact", "", "> [!WARNING]", f"> {headline(impact)}", ""]
        return "\n".join(lines + _not_following_md(impact, part, max_items))
    lines = [f"{title} Revenue impact", "", f"**{headline(impact)}**", ""]
    lines += _totals_md(impact)
    if impact.movers:
        lines += [f"{part} Largest movers (per month)", ""]
        lines += _table(
            ["Customer", "Before", "After", "Change"],
            ["---", "---:", "---:", "---:"],
            (
                [
                    f"`{m.external_customer_id}`",
                    money(m.old_cents, m.currency),
                    money(m.new_cents, m.currency),
                    signed_money(m.delta_cents, m.currency),
                ]
                for m in impact.movers
            ),
        )
        lines.append("")
    lines += _contributions_md(impact, part)
    lines += _not_following_md(impact, part, max_items)
    lines += _unreliable_md(impact, part, max_items)
    lines += _verified_md(impact, part, max_items)
    lines += _limits_md(impact)
    return "\n".join(lines)


def render_details_markdown(
    impact: RevenueImpact, *, max_items: int = MAX_ITEMS, heading: int = 4
) -> str:
    """The revenue section minus what a reviewer reads first (the headline and the movers):
    totals per period, the change per charge, who keeps their own prices, what could not be
    estimated and what every estimate leaves out. Empty when there is nothing to add."""
    part = "#" * heading
    lines: list[str] = []
    if impact.totals:
        lines += [f"{part} Totals per period (per month)", "", *_totals_md(impact)]
    lines += _contributions_md(impact, part)
    lines += _not_following_md(impact, part, max_items)
    lines += _unreliable_md(impact, part, max_items)
    lines += _limits_md(impact)
    return "\n".join(lines)


def _totals_md(impact: RevenueImpact) -> list[str]:
    if not impact.totals:
        return []
    lines = _table(
        ["Per month", "Before", "After", "Change", "More", "Less", "Same", "Subscriptions"],
        ["---", "---:", "---:", "---:", "---:", "---:", "---:", "---:"],
        (
            [
                _label(t.period),
                money(t.old_cents, t.currency),
                money(t.new_cents, t.currency),
                signed_money(t.delta_cents, t.currency),
                str(t.customers_more),
                str(t.customers_less),
                str(t.customers_same),
                str(t.subscriptions),
            ]
            for t in impact.totals
        ),
    )
    return [*lines, ""]


def _contributions_md(impact: RevenueImpact, part: str) -> list[str]:
    if not impact.contributions:
        return []
    lines = [f"{part} By charge (per month)", ""]
    lines += _table(
        ["Period", "Plan", "Charge", "Change", "Subscriptions"],
        ["---", "---", "---", "---:", "---:"],
        (
            [
                _label(c.period),
                f"`{c.plan_code}`",
                c.charge,
                signed_money(c.delta_cents, c.currency),
                str(c.subscriptions),
            ]
            for c in impact.contributions
        ),
    )
    return [*lines, ""]


def _unreliable_md(impact: RevenueImpact, part: str, max_items: int) -> list[str]:
    if not impact.unreliable:
        return []
    lines = [f"{part} No reliable estimate", ""]
    for item in impact.unreliable[:max_items]:
        which = f" [{', '.join(item.periods)}]" if item.periods else ""
        lines.append(
            f"- `{item.external_id}` ({item.external_customer_id}, plan `{item.plan_code}`)"
            f"{which}: {'; '.join(item.reasons)}"
        )
    lines += _more(len(impact.unreliable), max_items, "- ")
    return [*lines, ""]


def _limits_md(impact: RevenueImpact) -> list[str]:
    if not (impact.subscriptions or impact.unreliable):
        return []
    lines = ["<details><summary>What the estimate leaves out</summary>", ""]
    lines += [f"- {limit}" for limit in impact.limits]
    return [*lines, "", "</details>", ""]


def _not_following_md(impact: RevenueImpact, part: str, max_items: int) -> list[str]:
    if not impact.not_following:
        return []
    lines = [f"{part} Keeping their own prices for part of the change", ""]
    for nf in impact.not_following[:max_items]:
        kept = f" Keeps: {', '.join(nf.not_reached)}." if nf.not_reached else ""
        lines.append(
            f"- `{nf.external_id}` ({nf.external_customer_id}, plan `{nf.plan_code}`): "
            f"{nf.reason}.{kept}"
        )
    lines += _more(len(impact.not_following), max_items, "- ")
    lines.append("")
    return lines


def render_text(impact: RevenueImpact, *, max_items: int = MAX_ITEMS) -> str:
    """The terminal form; per-subscription lists stop after ``max_items`` entries."""
    lines = ["Revenue impact"]
    if impact.unavailable is not None:
        lines.append(f"  {headline(impact)}")
        lines += [
            f"  Keeps its own prices: {nf.external_id} ({nf.external_customer_id}): {nf.reason}"
            for nf in impact.not_following[:max_items]
        ]
        lines += _more(len(impact.not_following), max_items, "  Keeps its own prices: ")
        return "\n".join(lines) + "\n"
    if not impact.totals:
        lines.append(f"  {headline(impact)}")
    for t in impact.totals:
        lines.append(
            f"  {_label(t.period)} ({t.currency}, per month): {money(t.old_cents, t.currency)} → "
            f"{money(t.new_cents, t.currency)}  {signed_money(t.delta_cents, t.currency)}  "
            f"[{_customers(t)}; {t.subscriptions} subscription(s)]"
        )
    if impact.movers:
        lines.append("  Largest movers (per month):")
        width = max(len(m.external_customer_id) for m in impact.movers)
        lines += [
            f"    {m.external_customer_id:<{width}}  {money(m.old_cents, m.currency)} → "
            f"{money(m.new_cents, m.currency)}  ({signed_money(m.delta_cents, m.currency)})"
            for m in impact.movers
        ]
    if impact.contributions:
        lines.append("  By charge (per month):")
        lines += [
            f"    {_label(c.period)}: {c.plan_code}/{c.charge}  "
            f"{signed_money(c.delta_cents, c.currency)} over {c.subscriptions} subscription(s)"
            for c in impact.contributions
        ]
    for nf in impact.not_following[:max_items]:
        lines.append(
            f"  Keeps its own prices: {nf.external_id} ({nf.external_customer_id}): {nf.reason}"
        )
    lines += _more(len(impact.not_following), max_items, "  Keeps its own prices: ")
    for item in impact.unreliable[:max_items]:
        which = f" [{', '.join(item.periods)}]" if item.periods else ""
        lines.append(f"  Unreliable: {item.external_id}{which}: {'; '.join(item.reasons)}")
    lines += _more(len(impact.unreliable), max_items, "  Unreliable: ")
    for sub in impact.subscriptions[:max_items]:
        causes = ", ".join(_CAUSES.get(c, c) for c in sub.causes)
        periods = "; ".join(
            f"{p.period} ({p.interval}) {money(p.old_cents, p.currency)} → "
            f"{money(p.new_cents, p.currency)}"
            + (
                f", per month {money(p.monthly_old_cents, p.currency)} → "
                f"{money(p.monthly_new_cents, p.currency)}"
                if p.interval != "monthly"
                else ""
            )
            for p in sub.periods
        )
        lines.append(f"  · {sub.external_id} ({causes}): {periods or 'no usage periods'}")
    lines += _more(len(impact.subscriptions), max_items, "  · ")
    if impact.verified:
        lines.append(f"  {verification_summary(impact)}")
        for one in impact.verified[:max_items]:
            lines += [f"    {one.external_id}: {_difference(d, one)}" for d in one.differences]
            lines += [f"    {one.external_id}: {note}" for note in one.notes]
    return "\n".join(lines) + "\n"


_SOURCES = {"current_usage": "current usage", "invoice_preview": "invoice preview"}


def verification_summary(impact: RevenueImpact) -> str:
    """``--verify`` in one line: how many amounts agree with Lago's, to the cent."""
    compared = sum(v.compared for v in impact.verified)
    differ = [v for v in impact.verified if v.differences]
    head = f"Checked against Lago ({len(impact.verified)} subscription(s), {compared} amount(s))"
    if not differ:
        return f"{head}: every amount agrees to the cent."
    count = sum(len(v.differences) for v in differ)
    return (
        f"{head}: {count} amount(s) differ for {len(differ)} subscription(s) — lagoform's "
        "numbers for them are not to be trusted."
    )


def _difference(d: VerifiedAmount, item: Verified) -> str:
    where = f" [{d.filter}]" if d.filter else ""
    return (
        f"{_SOURCES.get(d.source, d.source)}, charge {d.charge}{where}: Lago "
        f"{money(d.lago_cents, item.currency)}, lagoform {money(d.lagoform_cents, item.currency)} "
        f"({signed_money(d.difference_cents, item.currency)})"
    )


def _verified_md(impact: RevenueImpact, part: str, max_items: int) -> list[str]:
    if not impact.verified:
        return []
    lines = [f"{part} Checked against Lago", "", verification_summary(impact), ""]
    rows = [
        [f"`{item.external_id}`", _difference(d, item)]
        for item in impact.verified
        for d in item.differences
    ]
    if rows:
        lines += _table(["Subscription", "Difference"], ["---", "---"], rows[:max_items])
        lines += _more(len(rows), max_items, "")
        lines.append("")
    notes = [f"- `{i.external_id}`: {note}" for i in impact.verified for note in i.notes]
    lines += notes[:max_items] + _more(len(notes), max_items, "- ")
    return [*lines, ""] if notes else lines


def render_json(impact: RevenueImpact) -> str:
    """The documented JSON form (docs/impact.md), versioned by ``schema_version``."""
    return impact.model_dump_json(indent=2) + "\n"
