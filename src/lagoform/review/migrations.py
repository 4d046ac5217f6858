"""The plan's migrations section: per migration, who moves, when, and what it does to each
customer's monthly bill.

The steps come from ``engine.versions.resolve``; their amounts from the revenue impact
(``lagoform.impact``, monthly run-rate basis) of ``Resolution.what_if`` — the desired state
with every step carried out, scheduled ones too, so a reviewer sees the effect of a migration
before the day it moves anyone. A subscription the estimate cannot price says why instead.
Advisory, like the revenue section: a failed estimate never fails the plan.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import groupby

from lagoform.engine.versions import MigrationStep, Resolution
from lagoform.errors import LagoformError
from lagoform.impact.analyze import run_analysis
from lagoform.impact.fetch import UsageReads
from lagoform.impact.model import RevenueImpact
from lagoform.lago import AsyncLagoClient
from lagoform.model.currency import money
from lagoform.model.state import LiveState

__all__ = ["migration_steps", "render_markdown", "render_text"]

_STATUS = {
    "moves": "moves in this apply",
    "scheduled": "scheduled: a later apply moves it",
    "in_progress": "in progress: Lago holds the downgrade",
    "refused": "refused",
}


def migration_steps(
    resolution: Resolution,
    live: LiveState,
    make_client: Callable[[], AsyncLagoClient],
    *,
    premium: bool = True,
    priced: bool = True,
    reads: UsageReads | None = None,
) -> tuple[MigrationStep, ...]:
    """The steps with each customer's monthly run-rate before and after the move
    (``priced`` False: without, e.g. ``lagoform plan --no-impact``); ``reads``: the usage the
    plan's revenue section already read, not read again."""
    steps = resolution.steps
    if not steps or resolution.what_if is None:
        return steps
    if not priced:
        return tuple(
            s.model_copy(update={"impact_note": "not estimated (--no-impact)"}) for s in steps
        )
    try:
        impact = run_analysis(
            resolution.what_if, make_client, live=live, premium=premium, reads=reads
        )
    except LagoformError as err:
        impact = RevenueImpact(unavailable=str(err) or type(err).__name__)
    except Exception as err:  # advisory: not even a bug in the estimate may hide the plan
        impact = RevenueImpact(unavailable=f"the analysis failed ({type(err).__name__}: {err})")
    return tuple(_priced(step, impact) for step in steps)


def _priced(step: MigrationStep, impact: RevenueImpact) -> MigrationStep:
    if step.status == "refused":
        return step
    if impact.unavailable is not None:
        return step.model_copy(update={"impact_note": f"not estimated: {impact.unavailable}"})
    for sub in impact.subscriptions:
        if sub.external_id == step.subscription:
            period = next((p for p in sub.periods if p.period == "current"), None)
            if period is None:
                break
            return step.model_copy(
                update={
                    "currency": period.currency,
                    "monthly_old_cents": period.monthly_old_cents,
                    "monthly_new_cents": period.monthly_new_cents,
                }
            )
    for bad in impact.unreliable:
        if bad.external_id == step.subscription:
            note = "not estimated: " + "; ".join(bad.reasons)
            return step.model_copy(update={"impact_note": note})
    return step.model_copy(update={"impact_note": "its bill does not change"})


def _when(step: MigrationStep) -> str:
    if step.status == "refused":
        return "refused: " + "; ".join(step.reasons)
    bills = f"bills {step.to_plan} from {step.effective}" if step.effective else ""
    sent = f"sent {step.due}" if step.status == "scheduled" and step.due else ""
    detail = ", ".join(p for p in (step.kind, sent, bills) if p)
    return f"{_STATUS[step.status]} ({detail})" if detail else _STATUS[step.status]


def _impact(step: MigrationStep) -> str:
    old, new, delta = step.monthly_old_cents, step.monthly_new_cents, step.monthly_delta_cents
    if old is None or new is None or delta is None:
        return step.impact_note or ""
    sign = "+" if delta > 0 else ""
    return (
        f"{money(old, step.currency)} → {money(new, step.currency)} a month "
        f"({sign}{money(delta, step.currency)})"
    )


def _groups(steps: Sequence[MigrationStep]) -> list[tuple[str, list[MigrationStep]]]:
    ordered = sorted(steps, key=lambda s: (s.family, s.migration, s.tenant, s.subscription))
    return [(k, list(g)) for k, g in groupby(ordered, key=lambda s: s.migration)]


def _heading(steps: Sequence[MigrationStep]) -> str:
    first = steps[0]
    moving = sum(1 for s in steps if s.status != "refused")
    return (
        f"migration {first.migration}: plan {first.family} → version {first.to_version} "
        f"({first.to_plan}), {moving} of {len(steps)} subscription(s)"
    )


def render_text(steps: Sequence[MigrationStep]) -> str:
    """The section for a terminal ('' when there is no migration step)."""
    if not steps:
        return ""
    lines = ["Plan migrations (who moves, when; monthly run-rate per customer):"]
    for _, group in _groups(steps):
        lines.append(f"  {_heading(group)}")
        for step in group:
            lines.append(
                f"    {step.tenant} / {step.subscription}: {step.from_plan} → {step.to_plan}, "
                f"{_when(step)}"
            )
            if impact := _impact(step):
                lines.append(f"      {impact}")
    return "\n".join(lines) + "\n"


def render_markdown(steps: Sequence[MigrationStep]) -> str:
    """The section for a pull-request comment ('' when there is no migration step)."""
    if not steps:
        return ""
    blocks = ["#### Plan migrations"]
    for _, group in _groups(steps):
        rows = [
            f"**{_heading(group).replace('migration ', 'Migration `', 1).replace(':', '`:', 1)}**",
            "",
            "| Customer | Subscription | From → to | When | Monthly bill |",
            "|---|---|---|---|---:|",
        ]
        rows += [
            f"| `{s.tenant}` | `{s.subscription}` | `{s.from_plan}` → `{s.to_plan}` | "
            f"{_cell(_when(s))} | {_cell(_impact(s))} |"
            for s in group
        ]
        blocks.append("\n".join(rows))
    return "\n\n".join(blocks) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
