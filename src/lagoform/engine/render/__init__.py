"""Renderers: one ``Plan`` shown three ways (terminal text, pull-request markdown, JSON).

All three only read the plan (via ``view.plan_view`` for the two human formats, jinja2 templates
shipped as package data). JSON is the plan itself in its versioned schema
(``docs/plan-json-schema.md``): the same document ``plan --out`` saves and ``apply`` reads.
A plan's revenue section (``plan.revenue``) is rendered by ``lagoform.impact``: it leads the
markdown and follows the text's summary line.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import click
import jinja2

from lagoform.engine.plan import Plan
from lagoform.engine.render.view import ChangeView, PlanView, plan_view
from lagoform.impact import render as revenue_render

# GitHub refuses issue/PR comments longer than this many characters.
GITHUB_COMMENT_LIMIT = 65_536

__all__ = [
    "GITHUB_COMMENT_LIMIT",
    "render_json",
    "render_markdown",
    "render_revenue_markdown",
    "render_text",
]

_COLOURS = {"+": "green", "~": "yellow", "-": "red", "!": "magenta", "=": None}


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("lagoform.engine.render", "templates"),
        autoescape=False,  # text and markdown, not HTML; markdown cells are escaped by `cell`
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["cell"] = _cell
    return env


def _cell(value: Any) -> str:
    """A markdown table cell: pipes escaped, no line breaks, inline code for values."""
    text = str(value).replace("|", "\\|").replace("\n", " ")
    return text


def render_text(plan: Plan, *, color: bool = False, revenue: bool = True) -> str:
    """The terminal form; ``color`` adds ANSI colours (the CLI passes ``isatty()``).
    ``revenue``: show the plan's revenue section after the summary line (when it has one)."""

    def paint(text: str, symbol: str = "", bold: bool = False) -> str:
        if not color:
            return text
        return click.style(text, fg=_COLOURS.get(symbol), bold=bold)

    shown = revenue_render.render_text(plan.revenue) if revenue and plan.revenue else ""
    return (
        _env().get_template("plan.txt.j2").render(view=plan_view(plan), paint=paint, revenue=shown)
    )


def render_revenue_markdown(plan: Plan) -> str:
    """The plan's revenue section as it leads the comment (``### Revenue impact``); empty when
    the plan carries none."""
    if plan.revenue is None:
        return ""
    return revenue_render.render_markdown(plan.revenue, heading=3)


def render_markdown(
    plan: Plan,
    *,
    full_plan: str | None = None,
    limit: int = GITHUB_COMMENT_LIMIT,
    revenue: bool = True,
) -> str:
    """A pull-request comment: the revenue section (who pays how much more or less, when the
    plan carries one), then the summary table, price moves, warnings and per-object details.

    Trimmed to ``limit`` characters, the revenue section included, by dropping whole detail
    sections from the end, with a pointer to ``full_plan`` (e.g. the job's artifact URL or
    "run `lagoform plan`"). ``revenue=False`` leaves the section out (a caller placing it
    itself, see ``render_revenue_markdown``).
    """
    view = plan_view(plan)
    env = _env()
    head = env.get_template("plan.md.j2").render(view=view)
    leading = render_revenue_markdown(plan) if revenue else ""
    if leading:
        head = f"{leading}\n{head}"
    detail = env.get_template("detail.md.j2")
    sections = [detail.render(c=c) for c in view.changes]
    return _fit(head, sections, view, full_plan, limit)


def _fit(head: str, sections: list[str], view: PlanView, full_plan: str | None, limit: int) -> str:
    pointer = full_plan or "run `lagoform plan` locally or see the CI job's saved plan"
    body = head + "".join(sections)
    if len(body) <= limit:
        return body
    kept: list[str] = []
    size = len(head)
    for section in sections:
        footer = _trim_note(len(sections) - len(kept) - 1, pointer)
        if size + len(section) + len(footer) > limit:
            break
        kept.append(section)
        size += len(section)
    footer = _trim_note(len(sections) - len(kept), pointer)
    text = head + "".join(kept) + footer
    if len(text) > limit:  # even the summary is too long: cut it hard, keep the pointer
        text = head[: max(0, limit - len(footer) - 2)] + "\n\n" + footer
    return text[:limit]


def _trim_note(hidden: int, pointer: str) -> str:
    return (
        f"\n> [!NOTE]\n> {hidden} more change(s) not shown: this comment is limited to "
        f"{GITHUB_COMMENT_LIMIT:,} characters. Full plan: {pointer}\n"
    )


def render_json(plan: Plan) -> str:
    """The plan in its versioned JSON schema (``format_version``), as saved by ``--out``."""
    return plan.dumps() + "\n"


def describe(change: ChangeView) -> str:
    return f"{change.symbol} {change.kind} {change.key}"
