"""Renderers: one ``Plan`` shown three ways (terminal text, pull-request markdown, JSON).

All three only read the plan (via ``view.plan_view`` for the two human formats, jinja2 templates
shipped as package data). JSON is the plan itself in its versioned schema
(``docs/plan-json-schema.md``). What only reviewers read comes from ``lagoform.review`` already
rendered: the verdict, money line and largest movers that lead the markdown, the revenue
section (it follows the text's summary line), the audit records apply would write for
overrides, customers' names and which plans are variants of which.

The markdown reads top-down like a review: what changes (one line), the price changes table,
plan moves, deletions and blocked changes; then whatever the caller adds (``trailing``: e.g.
"What happens next"); then everything long, collapsed: the caller's ``appendix``, the audit
preview, and every change field by field, trimmed from the end to fit GitHub's limit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import click
import jinja2

from lagoform.engine.plan import Plan
from lagoform.engine.render.view import AuditPreview, ChangeView, plan_view

# GitHub refuses issue/PR comments longer than this many characters.
GITHUB_COMMENT_LIMIT = 65_536
# Price changes listed before the rest is collapsed (the comment should fit a screen).
MAX_MOVES = 10

__all__ = [
    "GITHUB_COMMENT_LIMIT",
    "MAX_MOVES",
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
    # a long price table keeps the lines that change, the plan's own, and those negotiated
    # away from the catalog's price (an override lists a charge's filters whole)
    env.tests["worth_showing"] = lambda p: bool(
        p.changes or not p.charge or (p.negotiated and p.base != p.new)
    )
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
    names: Mapping[str, str] | None = None,
    variants: Mapping[str, str] | None = None,
) -> str:
    """The terminal form; ``color`` adds ANSI colours (the CLI decides: a terminal, and no
    ``NO_COLOR`` / ``TERM=dumb`` / ``--no-color``).
    ``revenue``: a rendered revenue section, shown after the summary line; ``audit``: the
    records apply would write for overrides."""

    def paint(text: str, symbol: str = "", bold: bool = False) -> str:
        if not color:
            return text
        return click.style(text, fg=_COLOURS.get(symbol), bold=bold)

    view = plan_view(plan, audit, names=names, variants=variants)
    return _env().get_template("plan.txt.j2").render(view=view, paint=paint, revenue=revenue)


def render_markdown(
    plan: Plan,
    *,
    full_plan: str | None = None,
    limit: int = GITHUB_COMMENT_LIMIT,
    leading: str = "",
    trailing: str = "",
    appendix: str = "",
    audit: Sequence[AuditPreview] = (),
    names: Mapping[str, str] | None = None,
    variants: Mapping[str, str] | None = None,
) -> str:
    """A pull-request comment: ``leading`` (the review's verdict, money line and movers; without
    it a ``### lagoform plan`` heading), what changes, ``trailing``, then the collapsed parts:
    ``appendix``, the audit preview and every change field by field.

    Trimmed to ``limit`` characters, everything included, by dropping whole per-change
    sections from the end, with a pointer to ``full_plan`` (e.g. the job's artifact URL or
    "run `lagoform plan`"). ``names`` (customers by external id) and ``variants`` (variant
    plan -> the plan it extends) come from the review.
    """
    view = plan_view(plan, audit, names=names, variants=variants)
    env = _env()
    body = env.get_template("plan.md.j2").render(
        view=view, heading=not leading, max_moves=MAX_MOVES
    )
    body = re.sub(r"\n{3,}", "\n\n", body)  # the templates' blocks leave blank lines behind
    parts = [leading, body, trailing, appendix, env.get_template("audit.md.j2").render(view=view)]
    head = "\n".join(p.strip("\n") + "\n" for p in parts if p.strip())
    detail = env.get_template("detail.md.j2")
    sections = [detail.render(c=c) for c in view.changes]
    tail = env.get_template("tail.md.j2").render(view=view)
    return _fit(head, sections, tail, full_plan, limit)


def _fit(head: str, sections: list[str], tail: str, full_plan: str | None, limit: int) -> str:
    pointer = full_plan or "run `lagoform plan` locally or see the CI job's saved plan"
    if not sections:
        return f"{head}\n{tail}"
    opening = f"\n<details><summary>Every change, field by field ({len(sections)})</summary>\n\n"
    closing = "</details>\n\n"
    frame = len(head) + len(opening) + len(closing) + len(tail)
    if frame + sum(len(s) for s in sections) <= limit:
        return head + opening + "".join(sections) + closing + tail
    kept: list[str] = []
    size = frame
    for section in sections:
        footer = _trim_note(len(sections) - len(kept) - 1, pointer)
        if size + len(section) + len(footer) > limit:
            break
        kept.append(section)
        size += len(section)
    footer = _trim_note(len(sections) - len(kept), pointer)
    text = head + opening + "".join(kept) + footer + closing + tail
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
