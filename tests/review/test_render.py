"""A review carrying a revenue section: the markdown leads with the verdict and the money line
(inside the size limit), the text shows it after its summary line, the JSON carries it beside the
plan, and it stays out of the plan.

Golden files: ``plan-revenue.md`` / ``plan-revenue.txt`` (regenerate with
``LAGOFORM_REGEN_GOLDEN=1``).
"""

from __future__ import annotations

import json

import pytest

from lagoform.engine.plan import Plan, build_plan
from lagoform.impact import (
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
from lagoform.impact.aggregate import LIMITS
from lagoform.review import (
    Review,
    leading_markdown,
    render_json,
    render_markdown,
    render_text,
)
from tests.engine.factories import charge, desired, live, plan
from tests.engine.test_render import TOKENS, _check, scenario


def _period(lines: list[tuple[str, int, int]]) -> SubscriptionPeriod:
    old, new = sum(o for _, o, _ in lines), sum(n for _, _, n in lines)
    return SubscriptionPeriod(
        period="current",
        from_datetime="2026-11-01T00:00:00Z",
        to_datetime="2026-11-30T23:59:59Z",
        currency="USD",
        old_cents=old,
        new_cents=new,
        delta_cents=new - old,
        monthly_old_cents=old,
        monthly_new_cents=new,
        monthly_delta_cents=new - old,
        charges=tuple(ChargeDelta(charge=c, old_cents=o, new_cents=n, delta_cents=n - o)
                      for c, o, n in lines),
    )  # fmt: skip


# The scenario's re-pricings as lagoform.impact would report them: acme moves from pro to team,
# globex's negotiated prices drop, initech keeps its own copy of pro, hooli's usage failed.
REVENUE = RevenueImpact(
    affected_subscriptions=3,
    totals=(
        PeriodTotal(period="current", currency="USD", subscriptions=2, customers=2,
                    old_cents=38_400, new_cents=47_600, delta_cents=9_200,
                    customers_more=1, customers_less=1, customers_same=0),
    ),
    movers=(
        Mover(external_customer_id="acme", currency="USD", old_cents=24_900, new_cents=34_900,
              delta_cents=10_000, subscriptions=("acme-main",)),
        Mover(external_customer_id="globex", currency="USD", old_cents=13_500,
              new_cents=12_700, delta_cents=-800, subscriptions=("globex-main",)),
    ),
    contributions=(
        Contribution(period="current", currency="USD", plan_code="team",
                     charge="(subscription fee)", delta_cents=9_500, subscriptions=2),
        Contribution(period="current", currency="USD", plan_code="team", charge="tokens",
                     delta_cents=-300, subscriptions=1),
    ),
    subscriptions=(
        SubscriptionImpact(external_id="acme-main", external_customer_id="acme",
                           plan_code="team", causes=("plan_switch",),
                           changes=("subscription fee",),
                           periods=(_period([("(subscription fee)", 9_900, 19_900),
                                             ("tokens", 15_000, 15_000)]),)),
        SubscriptionImpact(external_id="globex-main", external_customer_id="globex",
                           plan_code="team", causes=("repriced",),
                           changes=("subscription fee", "charge tokens"),
                           periods=(_period([("(subscription fee)", 9_000, 8_500),
                                             ("tokens", 4_500, 4_200)]),)),
    ),
    unreliable=(
        Unreliable(external_id="hooli-main", external_customer_id="hooli",
                   plan_code="enterprise",
                   reasons=("usage could not be read: 503 Service Unavailable",)),
    ),
    not_following=(
        NotFollowing(external_id="initech-main", external_customer_id="initech",
                     plan_code="pro",
                     reason="on its own copy of the plan, not managed by lagoform; the plan has "
                     "cascade_updates: false, so the copy keeps its prices",
                     not_reached=("charge tokens", "charge seats")),
    ),
    limits=LIMITS,
)  # fmt: skip


def with_revenue(review: Review | Plan, revenue: RevenueImpact = REVENUE) -> Review:
    if isinstance(review, Plan):
        review = Review(plan=review)
    return review.model_copy(update={"revenue": revenue})


def test_markdown_golden_leads_with_the_verdict_then_the_money_line() -> None:
    priced = with_revenue(scenario()).model_copy(update={"customer_names": {"acme": "Acme Inc."}})
    text = render_markdown(priced)
    _check("plan-revenue.md", text)
    blocks = text.split("\n\n")
    assert blocks[0].startswith("⛔ **Blocked changes** for `sandbox")
    assert blocks[1] == (
        "**+92.00 USD/month (+24.0 %) across 2 customers; 1 pays more, 1 less** · 1 subscription "
        "not estimated"
    )
    # movers by name (id in small print) with their percentages, before what changes
    assert (
        "| **Acme Inc.** <sub>`acme`</sub> | 249.00 USD | 349.00 USD | +100.00 USD (+40.2 %) |"
        in (text)
    )
    assert "| `globex` | 135.00 USD | 127.00 USD | -8.00 USD (-5.9 %) |" in text
    assert text.index("Acme Inc.") < text.index("**What changes:**")
    # the rest of the revenue section is collapsed, after what changes
    assert text.index("**What changes:**") < text.index("<summary>About the estimate")
    assert "#### By charge (per month)" in text
    # without the section, the same plan reads the same from "What changes" on
    plain = render_markdown(priced.model_copy(update={"revenue": None}))
    assert (
        text[text.index("**What changes:**") :].replace(
            text[
                text.index("<details><summary>About the estimate") : text.index(
                    "<details><summary>🧾"
                )
            ],
            "",
        )
        == plain[plain.index("**What changes:**") :]
    )


def test_text_golden_shows_it_after_the_summary_line() -> None:
    text = render_text(with_revenue(scenario()))
    _check("plan-revenue.txt", text)
    summary = text.index("Plan ")
    assert summary < text.index(
        "Revenue impact\n  Current period (USD, per month): 384.00 USD → 476.00 USD"
    )
    assert "acme    249.00 USD → 349.00 USD  (+100.00 USD)" in text
    assert render_text(with_revenue(scenario()), revenue=False) == render_text(scenario())


def test_json_carries_it_and_it_is_not_part_of_the_plan_identity() -> None:
    plain, priced = scenario(), with_revenue(scenario())
    data = json.loads(render_json(priced))
    assert "revenue" not in data["plan"]  # beside the plan, never in it
    assert data["revenue"]["totals"][0]["delta_cents"] == 9_200
    assert data["revenue"]["schema_version"] == 2
    assert Review.loads(render_json(priced)) == priced
    assert priced.plan == plain.plan
    assert json.loads(render_json(plain))["revenue"] is None
    # apply reads a saved review's plan only, and a bare saved plan just as well
    assert Review.loads(plain.plan.dumps()).plan == plain.plan


def test_unavailable_is_said_in_one_line_and_the_plan_follows() -> None:
    failed = with_revenue(scenario(), RevenueImpact(unavailable="503 Service Unavailable"))
    markdown = render_markdown(failed)
    assert markdown.split("\n\n")[1] == "**Bills: not estimated** — 503 Service Unavailable"
    assert "**What changes:**" in markdown
    assert "Revenue impact\n  revenue impact unavailable: 503 Service Unavailable\n" in (
        render_text(failed)
    )


@pytest.mark.parametrize("limit", [65_536, 8_000])
def test_the_revenue_section_counts_inside_the_comment_limit(limit: int) -> None:
    many = [
        plan(f"p{i:03d}", [charge(f"c{j}", "tokens", str(j)) for j in range(10)])
        for i in range(300)
    ]
    p = build_plan(desired(billable_metric=[TOKENS], plan=many), live(billable_metric=[TOKENS]))
    out = render_markdown(with_revenue(p), full_plan="the plan.md artifact", limit=limit)
    assert len(out) <= limit
    assert out.startswith(leading_markdown(with_revenue(p)))
    assert "more change(s) not shown" in out and "the plan.md artifact" in out
    without = render_markdown(Review(plan=p), full_plan="the plan.md artifact", limit=limit)
    # the section's room comes out of the plan's details (its own part is collapsed too)
    assert out.count("<details><summary>+ plan") < without.count("<details><summary>+ plan")
