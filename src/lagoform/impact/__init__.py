"""Revenue impact of a pricing change: who pays how much more or less, from live usage.

For every active subscription whose effective pricing a catalog change moves (its plan changes
and it is not overridden; its override in overrides/ changes; or, overridden, it follows a plan
edit through ``cascade_updates``), the usage of the current period (and optionally the last N
closed periods) is read from Lago and priced under the current and the proposed pricing with
``lagoform.pricing``. lagoform's price of the *current* pricing is first checked against
Lago's own amounts, per charge and per filter, to the cent; where it differs, or Lago's totals
cannot be re-priced exactly, the subscription is listed as unreliable with the reason instead
of a number. Overridden subscriptions a plan edit does not reach are listed with the reason.

Public API::

    async analyze(desired, client, *, live=None, past_periods=0, concurrency=10, top=10,
                  premium=True, zero_usage_first_tier_flat=True) -> RevenueImpact
    run_analysis(desired, make_client, **same) -> RevenueImpact     blocking; closes the client
    render_text(impact) -> str; render_markdown(impact) -> str; render_json(impact) -> str
    headline(impact) -> str                                           one line for summaries
    for_plan(plan, desired, live, make_client, *, enabled=None, past_periods=0, premium=True)
        -> RevenueImpact | None     lagoform plan's section; a failure becomes ``unavailable``
    wanted(plan) -> bool            does the plan change pricing a live subscription bills on
    RevenueImpact (+ PeriodTotal, Mover, Contribution, SubscriptionImpact, SubscriptionPeriod,
    ChargeDelta, Unreliable, NotFollowing), SCHEMA_VERSION

``desired`` is the engine's ``DesiredState`` (``engine.desired.from_project``); ``live`` the
engine's ``LiveState`` when the caller already read it (``lagoform plan``), else plans and
subscriptions are listed here. Modules: forms (pricing form, overrides, cascade), proposed
(whose pricing changes), usage (Lago's usage, re-routing onto filters), estimate (check and
price one period), aggregate (totals), fetch (the only I/O), render, section (the plan's
revenue section). The JSON schema is in docs/impact.md.
"""

from __future__ import annotations

from lagoform.impact.analyze import analyze, run_analysis
from lagoform.impact.model import (
    SCHEMA_VERSION,
    ChargeDelta,
    Contribution,
    Mover,
    NotFollowing,
    PeriodTotal,
    RevenueImpact,
    SubscriptionImpact,
    SubscriptionPeriod,
    Unreliable,
)
from lagoform.impact.render import headline, render_json, render_markdown, render_text
from lagoform.impact.section import for_plan, wanted

__all__ = [
    "SCHEMA_VERSION",
    "ChargeDelta",
    "Contribution",
    "Mover",
    "NotFollowing",
    "PeriodTotal",
    "RevenueImpact",
    "SubscriptionImpact",
    "SubscriptionPeriod",
    "Unreliable",
    "analyze",
    "for_plan",
    "headline",
    "render_json",
    "render_markdown",
    "render_text",
    "run_analysis",
    "wanted",
]
