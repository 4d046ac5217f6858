"""A ``Review`` as a pull-request comment a finance reviewer reads in ten seconds.

Top-down, each part one block:

1. the verdict line (``digest.verdict``) — first in every state;
2. the money line: ``+X USD/month (+Y %) across N customers; M pay more, K less``;
3. from ``CHART_MIN_CUSTOMERS`` priced customers, a mermaid chart of the distribution of
   per-customer change (its numbers collapsed below it);
4. the largest movers by customer name (id in small print), with their percentages — a table
   kept below the chart, for who sees no chart (e-mail) — and the negotiated deals the change
   touches;
5. what changes (the engine's markdown: one line of counts, the price changes with a variant
   folded into its parent's row, plan moves, deletions, blocked changes);
6. ``next_steps`` from the caller (on GitHub: where it applies on merge, who approves, how to
   re-plan);
7. collapsed: every customer whose bill changes, the rest of the revenue section, the audit
   preview and every change field by field.
"""

from __future__ import annotations

from collections.abc import Iterable

from lagoform.engine import render as plan_render
from lagoform.engine.render import GITHUB_COMMENT_LIMIT
from lagoform.impact import render as revenue_render
from lagoform.impact.model import Mover, RevenueImpact
from lagoform.policies import markdown_block as policies_markdown
from lagoform.review import migrations
from lagoform.review.digest import (
    CHART_MIN_CUSTOMERS,
    distribution,
    money_line,
    mover_cells,
    negotiated_price_changes,
    outcome_of,
    verdict,
)
from lagoform.review.model import Review
from lagoform.review.render import audit_lines
from lagoform.review.scheduled import scheduled_markdown

__all__ = ["MAX_LISTED", "MAX_MOVERS", "escape", "leading_markdown", "render_markdown"]

MAX_MOVERS = 5  # movers shown before the fold
MAX_LISTED = 200  # customers listed in the collapsed table (the JSON has them all)


def escape(text: str) -> str:
    """Text from YAML or Lago in markdown: no HTML (an ``<!--`` would hide the rest), and no
    table break."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def render_markdown(
    review: Review,
    *,
    target: str | None = None,
    when: str = "`lagoform apply` makes them",
    next_steps: str = "",
    full_plan: str | None = None,
    limit: int = GITHUB_COMMENT_LIMIT,
) -> str:
    """The whole comment within ``limit`` characters (the per-change sections are dropped from
    the end first, pointing at ``full_plan``). ``target``: the name in the verdict (default:
    the plan's target); ``when``: what makes the changes happen."""
    return plan_render.render_markdown(
        review.plan,
        full_plan=full_plan,
        limit=limit,
        leading=leading_markdown(review, target=target, when=when),
        trailing=next_steps,
        appendix=_appendix(review),
        audit=audit_lines(review),
        names=review.customer_names,
        variants=review.plan_parents,
    )


def leading_markdown(
    review: Review, *, target: str | None = None, when: str = "`lagoform apply` makes them"
) -> str:
    """The verdict, the money line, the chart and the largest movers."""
    plan = review.plan
    shown = plan.target if target is None else target
    blocks = [
        verdict(outcome_of(plan), target=shown, plan=plan, when=when),
        policies_markdown(plan),  # the rules the verdict weighs, right under it
        money_line(review),
    ]
    if review.revenue is not None and plan.has_changes:
        blocks += _customers(review, review.revenue)
    deals = _deals(review)
    if deals:
        blocks.append(deals)
    blocks.append(scheduled_markdown(review))
    blocks.append(migrations.render_markdown(review.migrations))
    return "\n\n".join(b.strip("\n") for b in blocks if b.strip()) + "\n"


def _customers(review: Review, impact: RevenueImpact) -> list[str]:
    blocks: list[str] = []
    everyone = impact.customers or impact.movers
    if len(everyone) >= CHART_MIN_CUSTOMERS:
        blocks += _chart(everyone)
    if impact.movers:
        top = impact.movers[:MAX_MOVERS]
        title = "Largest change" if len(top) == 1 else f"Largest changes ({len(top)})"
        blocks.append(f"**{title}**, per month\n\n" + _mover_table(review, top))
    moving = [m for m in everyone if m.delta_cents]
    if len(moving) > len(impact.movers[:MAX_MOVERS]):
        listed = moving[:MAX_LISTED]
        more = (
            f"\n\n… and {len(moving) - MAX_LISTED} more in the saved plan (plan.json)."
            if len(moving) > MAX_LISTED
            else ""
        )
        blocks.append(
            f"<details><summary>Every customer whose bill changes ({len(moving)})</summary>\n\n"
            + _mover_table(review, listed)
            + more
            + "\n\n</details>"
        )
    return blocks


def _who(review: Review, customer: str) -> str:
    name = review.customer_name(customer)
    if name and name != customer:
        return f"**{escape(name)}** <sub>`{escape(customer)}`</sub>"
    return f"`{escape(customer)}`"


def _mover_table(review: Review, movers: Iterable[Mover]) -> str:
    rows = ["| Customer | Before | After | Change |", "|---|---:|---:|---:|"]
    for m in movers:
        before, after, change = mover_cells(m)
        rows.append(f"| {_who(review, m.external_customer_id)} | {before} | {after} | {change} |")
    return "\n".join(rows)


def _chart(customers: tuple[Mover, ...]) -> list[str]:
    buckets = distribution(customers)
    if not buckets:
        return []
    labels = ", ".join(f'"{b.label}"' for b in buckets)
    counts = ", ".join(str(b.customers) for b in buckets)
    chart = "\n".join(
        [
            "```mermaid",
            "xychart-beta",
            '    title "Customers by change in their monthly bill"',
            f"    x-axis [{labels}]",
            '    y-axis "Customers"',
            f"    bar [{counts}]",
            "```",
        ]
    )
    table = ["| Change in the monthly bill | Customers |", "|---|---:|"]
    table += [f"| {b.label} | {b.customers} |" for b in buckets]
    # the chart's numbers for who sees no chart (e-mail, screen readers), out of the way
    return [chart, _collapsed("The chart as a table", "\n".join(table)).rstrip("\n")]


def _deals(review: Review) -> str:
    deals = negotiated_price_changes(review.plan)
    if not deals:
        return ""
    shown = [f"{_who(review, d.tenant)} ({escape(d.why)})" for d in deals[:MAX_MOVERS]]
    more = f", and {len(deals) - MAX_MOVERS} more" if len(deals) > MAX_MOVERS else ""
    n = len(deals)
    return (
        f"**Negotiated prices change for {n} customer{'s' if n != 1 else ''}:** "
        + "; ".join(shown)
        + more
    )


def _appendix(review: Review) -> str:
    impact = review.revenue
    if impact is None or impact.unavailable is not None:
        if impact is not None and impact.not_following:
            details = revenue_render.render_details_markdown(impact)
            return _collapsed("Customers keeping their own prices", details)
        return ""
    details = revenue_render.render_details_markdown(impact)
    if not details.strip():
        return ""
    return _collapsed("About the estimate: per period, per charge, what it leaves out", details)


def _collapsed(summary: str, body: str) -> str:
    return f"<details><summary>{summary}</summary>\n\n{body.strip()}\n\n</details>\n"
