"""When a price change reaches customers: what the notice rule reads from the schedule.

A pending change bills at apply (today), unless it is a scheduled price now due
(``engine.scheduled``: a ``scheduled:`` entry whose ``effective:`` date has come), whose notice
was judged while it was still ahead — when the pull request that scheduled it was planned.
Scheduled prices still ahead are not pending changes; the rule reads them from the schedule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from lagoform.catalog.yamlsrc import SourceLocation
from lagoform.engine.scheduled import Schedule
from lagoform.engine.scheduled import effective_date as scheduled_date
from lagoform.policies.context import Context
from lagoform.policies.locate import Spot
from lagoform.policies.prices import PriceMove, figures

__all__ = ["effective_date", "entry_spot", "price_path", "scheduled_moves", "spot_of"]


def price_path(move: PriceMove) -> tuple[str, ...]:
    """The path of ``move``'s price in its billing plan's comparison form (what the
    schedule's paths name): ``("charges", "tokens", "filters", key, "properties")``."""
    if move.charge is None:
        return (move.field,)
    base = ("charges", move.charge)
    return (*base, "filters", move.filter, move.field) if move.filter else (*base, move.field)


def entry_spot(where: Sequence[str]) -> Spot | None:
    """The first ``effective:`` of a scheduled change (``file:line:column``, as the schedule
    keeps it), or None when it names none."""
    if not where:
        return None
    parts = where[0].rsplit(":", 2)  # from the right: a file name may hold a ':'
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return Spot(SourceLocation(parts[0], int(parts[1]), int(parts[2])))
    if len(parts) >= 2 and parts[-1].isdigit():
        return Spot(SourceLocation(":".join(parts[:-1]), int(parts[-1])))
    return None


def spot_of(path: Sequence[str]) -> tuple[str | None, str | None, str]:
    """``price_path``'s inverse: (charge, filter key, field) of a schedule's path."""
    path = tuple(str(p) for p in path)
    if len(path) >= 5 and path[0] == "charges" and path[2] == "filters":
        return path[1], path[3], path[4]
    if len(path) >= 3 and path[0] == "charges":
        return path[1], None, path[2]
    return None, None, path[0] if path else "amount_cents"


def effective_date(move: PriceMove, schedule: Schedule | None) -> dt.date | None:
    """The date a scheduled price made ``move`` (None: no scheduled price did; it bills at
    apply). A negotiated copy's move follows its billing plan's scheduled price."""
    return scheduled_date(schedule, f"plan:{move.plan}", price_path(move))


def scheduled_moves(ctx: Context, schedule: Schedule | None) -> list[PriceMove]:
    """The price moves of the scheduled changes still ahead, as the plan will hold them on
    their day (a billing plan's price; each at its entry's `effective:` line)."""
    out: list[PriceMove] = []
    for change in schedule.upcoming if schedule is not None else ():
        spot = entry_spot(change.where)
        for step in change.steps:
            before, after = figures(step.field, step.old), figures(step.field, step.new)
            if not before or not after or before == after:
                continue
            charge, key, field = spot_of(step.path) if step.path else (None, None, step.field)
            at = spot or ctx.locator.plan(change.plan, charge, key, field)
            out.append(PriceMove("plan", change.plan, change.plan, charge, key, field,
                                 before, after, at))  # fmt: skip
    return out
