"""Revenue impact of a pricing change: who pays how much more or less, from live usage.

For every active subscription whose effective plan a catalog change moves — what
``lagoform.model.reach`` says apply (and Lago behind it) makes it pay: the catalog plan, its own
copy re-priced to catalog + negotiated values, or what ``cascade_updates`` carries to a copy
lagoform does not manage — the usage of the current period (and optionally the last N closed
periods) is read from Lago and priced under the current and the proposed pricing with
``lagoform.pricing``. lagoform's price of the *current* pricing is first checked against
Lago's own amounts, per charge and per filter, to the cent; where it differs, or Lago's totals
cannot be re-priced exactly, the subscription is listed as unreliable with the reason instead
of a number. Subscriptions that keep part of a change (a negotiated or customised value, a
copy the change does not reach) are listed with the reason. Totals are on the monthly run-rate
basis (``model.intervals``).

Public API::

    async analyze(desired, client, *, live=None, past_periods=0, concurrency=10, top=10,
                  premium=True, zero_usage_first_tier_flat=True) -> RevenueImpact
    run_analysis(desired, make_client, **same) -> RevenueImpact     blocking; closes the client
    render_text(impact) -> str; render_markdown(impact) -> str; render_json(impact) -> str
    headline(impact) -> str                                           one line for summaries
    RevenueImpact (+ PeriodTotal, Mover, Contribution, SubscriptionImpact, SubscriptionPeriod,
    ChargeDelta, Unreliable, NotFollowing), SCHEMA_VERSION

``desired`` is the engine's ``DesiredState`` (``engine.desired.from_project``); ``live`` the
engine's ``LiveState`` when the caller already read it (``lagoform plan``), else plans and
subscriptions are listed here. Modules: forms (what the calculator prices), proposed (whose
pricing changes, by ``model.reach``), usage (Lago's usage, re-routing onto filters), estimate
(check and price one period), aggregate (totals), fetch (the only I/O), render.
``lagoform.review`` puts the section beside a plan. The JSON schema is in docs/impact.md.
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
    "headline",
    "render_json",
    "render_markdown",
    "render_text",
    "run_analysis",
]
