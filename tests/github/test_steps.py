"""The plan's markdown as the Action frames it: the revenue section apart (it leads the
report), and both parts inside the comment budget together."""

from __future__ import annotations

from pathlib import Path

import pytest

from lagoform.engine.plan import build_plan
from lagoform.github.commands import Target
from lagoform.github.runner import RunnerContext
from lagoform.github.settings import Settings
from lagoform.github.steps import comment_markdown, plan_markdown
from lagoform.review import Review, render_markdown
from tests.engine.factories import charge, desired, live, metric, plan
from tests.review.test_render import REVENUE

TOKENS = metric("tokens")


@pytest.fixture
def ctx(tmp_path: Path) -> RunnerContext:
    return RunnerContext(
        workspace=tmp_path,
        repository="acme/pricing",
        event_name="pull_request",
        event={},
        api_url="https://api.github.test",
        server_url="https://github.test",
        run_id="7",
        sha=None,
        actor=None,
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(mode="pr", target=Target("staging"), project_root=tmp_path, output_dir=tmp_path)


def _big_plan_with_revenue() -> Review:
    many = [
        plan(f"p{i:03d}", [charge(f"c{j}", "tokens", str(j)) for j in range(10)])
        for i in range(300)
    ]
    built = build_plan(desired(billable_metric=[TOKENS], plan=many), live(billable_metric=[TOKENS]))
    return Review(plan=built, revenue=REVENUE)


def test_the_revenue_section_counts_inside_the_budget(
    ctx: RunnerContext, settings: Settings
) -> None:
    priced = _big_plan_with_revenue()
    parts = plan_markdown(priced, ctx, settings, limit=9_000)
    assert parts.revenue.startswith("### Revenue impact\n")
    assert "### Revenue impact" not in parts.plan
    assert parts.plan.startswith("### lagoform plan")
    assert len(parts.revenue) + len(parts.plan) <= 9_000
    assert (
        "the plan.md artifact of [this run](https://github.test/acme/pricing/actions/runs/7)"
        in (parts.plan)
    )

    whole = plan_markdown(priced, ctx, settings)
    assert whole.revenue == parts.revenue
    assert whole.plan == render_markdown(priced, limit=10**9, revenue=False)
    assert "more change(s) not shown" not in whole.plan

    budget = comment_markdown(priced, ctx, settings)
    assert len(budget.revenue) + len(budget.plan) <= 60_000


def test_no_section_when_the_plan_carries_none(ctx: RunnerContext, settings: Settings) -> None:
    plain = Review(
        plan=build_plan(desired(billable_metric=[TOKENS]), live(billable_metric=[TOKENS]))
    )
    parts = plan_markdown(plain, ctx, settings, limit=60_000)
    assert parts.revenue == ""
    assert parts.plan == render_markdown(plain)
