"""The scheduled price changes of a review, for people: a section of the text plan and of the
pull-request comment, apart from the pending changes (apply leaves these alone until their
date). Each names the plan, the date, the notice and the day to notify by, the prices before
and after in the YAML's units, why, where it is written, and the customers to notify by name.
"""

from __future__ import annotations

from collections.abc import Iterator

from lagoform.engine.findings import Finding
from lagoform.engine.render import money as fmt
from lagoform.engine.scheduled import Notified, PriceStep, ScheduledChange
from lagoform.review.model import Review

__all__ = ["scheduled_markdown", "scheduled_text"]

MAX_NAMED = 50  # customers named per change; the saved plan (JSON) has them all


def _price(step: PriceStep, value: object) -> str:
    if value is None:
        return fmt.NONE
    if step.field in ("amount_cents", "min_amount_cents"):
        return fmt.money(value, step.currency)
    return fmt.properties(step.model, value, step.currency, step.per)


def _what(step: PriceStep) -> str:
    names = {"amount_cents": "base fee", "min_amount_cents": "minimum", "properties": "price"}
    return f"{step.price} {names.get(step.field, step.field)}"


def _head(change: ScheduledChange) -> str:
    notice = (
        f"{change.notice} notice: notify by {change.notify_by.isoformat()}"
        if change.notice
        else "no notice set"
    )
    kind = "price rise" if change.rise else "no rise"
    return f"plan {change.plan} on {change.effective.isoformat()} ({notice}; {kind})"


def _who(people: tuple[Notified, ...]) -> Iterator[str]:
    for person in people[:MAX_NAMED]:
        yield f"{person.name} ({person.external_id})" if person.name else person.external_id
    if len(people) > MAX_NAMED:
        yield f"and {len(people) - MAX_NAMED} more"


def _findings(review: Review, change: ScheduledChange) -> list[Finding]:
    """The notice findings of ``change`` (``engine.scheduled``), shown beside it: the plan's
    own findings block is only rendered when something is pending."""
    mine = f"notice:{change.plan}:{change.effective.isoformat()}"
    return [f for f in review.plan.findings if f.id == mine]


def scheduled_text(review: Review) -> str:
    """The terminal section ("" when nothing is scheduled ahead)."""
    schedule = review.scheduled
    if schedule is None or not schedule.upcoming:
        return ""
    lines = [
        "",
        f"Scheduled price changes ({len(schedule.upcoming)}): not applied now; each becomes "
        f"pending on its date (today at the target: {schedule.today.isoformat()}).",
    ]
    for change in schedule.upcoming:
        lines.append(f"  @ {_head(change)}")
        for step in change.steps:
            delta = fmt.change(step.old, step.new) if step.field != "properties" else ""
            lines.append(
                f"      {_what(step)}: {_price(step, step.old)} -> {_price(step, step.new)}"
                + (f"  {delta}" if delta else "")
            )
        for reason in change.reasons:
            lines.append(f"      reason: {reason}")
        who = ", ".join(_who(change.notified)) or "no current subscriber"
        lines.append(f"      customers to notify ({len(change.notified)}): {who}")
        lines.append(f"      written at {', '.join(change.where)}")
        for finding in _findings(review, change):
            state = "acknowledged" if finding.acknowledged else "apply refuses it"
            lines.append(f"      ! {finding.id} ({state}): {finding.message}")
            lines.append(f"        way out: {finding.way_out}")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    from lagoform.review.markdown import escape

    return escape(text)


def scheduled_markdown(review: Review) -> str:
    """The pull-request section ("" when nothing is scheduled ahead)."""
    schedule = review.scheduled
    if schedule is None or not schedule.upcoming:
        return ""
    out = [
        f"#### 🗓️ Scheduled price changes ({len(schedule.upcoming)})",
        "",
        "Not applied on merge: each becomes pending on its date (00:00 UTC by Lago's clock; "
        f"today there: {schedule.today.isoformat()}) and the scheduled run applies it.",
        "",
        "| Effective | Plan | Price | Now | Then | Notice | Customers to notify |",
        "|---|---|---|---|---|---|---|",
    ]
    for change in schedule.upcoming:
        notice = (
            f"{change.notice} (notify by {change.notify_by.isoformat()})"
            if change.notice
            else "none set"
        )
        who = ", ".join(_who(change.notified)) or "none (no current subscriber)"
        for index, step in enumerate(change.steps):
            first = index == 0
            out.append(
                "| "
                + " | ".join(
                    [
                        f"**{change.effective.isoformat()}**" if first else "",
                        f"`{_cell(change.plan)}`" if first else "",
                        _cell(_what(step)),
                        _cell(_price(step, step.old)),
                        _cell(_price(step, step.new)),
                        _cell(notice) if first else "",
                        _cell(f"{len(change.notified)}: {who}") if first else "",
                    ]
                )
                + " |"
            )
    for change in schedule.upcoming:
        for finding in _findings(review, change):
            state = "acknowledged" if finding.acknowledged else "apply refuses it"
            out += [
                "",
                f"> [!CAUTION]\n> **Too little notice** (`{finding.id}`, {state}): "
                f"{_cell(finding.message)}. **Instead:** {_cell(finding.way_out)}",
            ]
    reasons = [(c, r) for c in schedule.upcoming for r in c.reasons]
    if reasons:
        out.append("")
        out.extend(f"- {c.effective.isoformat()} `{_cell(c.plan)}`: {_cell(r)}" for c, r in reasons)
    return "\n".join(out) + "\n"
