"""The revenue section of ``lagoform plan``: when to compute it, and never at the plan's expense.

``wanted`` says whether a plan can move anyone's bill at all (it edits or deletes a billing plan
Lago has, or edits a subscription); only then does ``for_plan`` read usage by default, so a plan
without such changes makes no usage reads. ``for_plan`` reuses the engine's live read and turns
any failure into a section that says the estimate is unavailable and why: the reviewer still
needs the plan, and apply never reads this section.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from lagoform.errors import LagoformError
from lagoform.impact.analyze import DEFAULT_CONCURRENCY, run_analysis
from lagoform.impact.model import RevenueImpact
from lagoform.lago import AsyncLagoClient
from lagoform.model.state import DesiredState, LiveState

if TYPE_CHECKING:
    # engine.plan imports impact.model (the Plan carries this section): only the type here,
    # so importing lagoform.engine first never meets a half-built engine.plan.
    from lagoform.engine.plan import Plan

__all__ = ["for_plan", "wanted"]


def wanted(plan: Plan) -> bool:
    """Does the plan change the pricing some live subscription could be billed on?

    A created plan has no subscriptions yet and a created subscription no usage; an update (or
    a blocked one: the reviewer should still see what it would do) to a billing plan or a
    subscription, or the deletion of a plan, can re-price someone.
    """
    for change in plan.pending():
        if change.kind == "plan" and change.action in ("update", "blocked", "delete"):
            return True
        if change.kind == "subscription" and change.action in ("update", "blocked"):
            return True
    return False


def for_plan(
    plan: Plan,
    desired: DesiredState,
    live: LiveState,
    make_client: Callable[[], AsyncLagoClient],
    *,
    enabled: bool | None = None,
    past_periods: int = 0,
    premium: bool = True,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> RevenueImpact | None:
    """The plan's revenue section, or None when it is not asked for.

    ``enabled``: True always analyses, False never, None (the default) when ``wanted(plan)``.
    Never raises for a failed analysis: the section then carries ``unavailable``.
    """
    if enabled is False or (enabled is None and not wanted(plan)):
        return None
    try:
        return run_analysis(
            desired,
            make_client,
            live=live,
            past_periods=past_periods,
            concurrency=concurrency,
            premium=premium,
        )
    except LagoformError as err:
        return RevenueImpact(unavailable=str(err) or type(err).__name__)
    except Exception as err:  # advisory: not even a bug in the estimate may hide the plan
        return RevenueImpact(unavailable=f"the analysis failed ({type(err).__name__}: {err})")
