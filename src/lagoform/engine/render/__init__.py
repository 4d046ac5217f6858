"""Renderers: one ``Plan`` shown three ways (terminal text, pull-request markdown, JSON).

All three only read the plan (via ``view.plan_view`` for the two human formats, jinja2 templates
shipped as package data). JSON is the plan itself in its versioned schema
(``docs/plan-json-schema.md``). What only reviewers read comes from ``lagoform.review`` already
rendered: a revenue section (it leads the markdown and follows the text's summary line) and the
audit records apply would write for overrides.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import click
import jinja2

from lagoform.engine.plan import Plan
from lagoform.engine.render.view import AuditPreview, ChangeView, PlanView, plan_view

# GitHub refuses issue/PR comments longer than this many characters.
GITHUB_COMMENT_LIMIT = 65_536

__all__ = [
    "GITHUB_COMMENT_LIMIT",
    "AuditPreview",
    "render_json",
    "render_markdown",
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


def render_text(
    plan: Plan,
    *,
    color: bool = False,
    revenue: str = "",
    audit: Sequence[AuditPreview] = (),
) -> str:
    """The terminal form; ``color`` adds ANSI colours (the CLI passes ``isatty()``).
    ``revenue``: a rendered revenue section, shown after the summary line; ``audit``: the
    records apply would write for overrides."""

    def paint(text: str, symbol: str = "", bold: bool = False) -> str:
        if not color:
            return text
        return click.style(text, fg=_COLOURS.get(symbol), bold=bold)

    view = plan_view(plan, audit)
    return _env().get_template("plan.txt.j2").render(view=view, paint=paint, revenue=revenue)


def render_markdown(
    plan: Plan,
    *,
    full_plan: str | None = None,
    limit: int = GITHUB_COMMENT_LIMIT,
    leading: str = "",
    audit: Sequence[AuditPreview] = (),
) -> str:
    """A pull-request comment: ``leading`` (e.g. the revenue section), then the summary table,
    price moves, warnings, the audit preview and per-object details.

    Trimmed to ``limit`` characters, ``leading`` included, by dropping whole detail sections
    from the end, with a pointer to ``full_plan`` (e.g. the job's artifact URL or "run
    `lagoform plan`").
    """
    view = plan_view(plan, audit)
    env = _env()
    head = env.get_template("plan.md.j2").render(view=view)
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
