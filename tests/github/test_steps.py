"""The review's markdown as the Action renders it: led by the verdict and the money line, the
target named by its label, and the whole inside the comment budget."""

from __future__ import annotations

from pathlib import Path

import pytest

from lagoform.engine.plan import build_plan
from lagoform.github.commands import Target
from lagoform.github.runner import RunnerContext
from lagoform.github.settings import Settings
from lagoform.github.steps import review_markdown
from lagoform.review import Review
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


def test_the_whole_review_counts_inside_the_budget(ctx: RunnerContext, settings: Settings) -> None:
    priced = _big_plan_with_revenue()
    text = review_markdown(priced, ctx, settings, when="on merge", next_steps="NEXT", limit=9_000)
    assert len(text) <= 9_000
    blocks = text.split("\n\n")
    assert blocks[0].startswith(
        "📝 **Changes pending** for `staging` — 300 objects change (300 created)"
    )
    assert blocks[0].endswith("; on merge.")
    assert blocks[1].startswith("**+92.00 USD/month (+24.0 %) across 2 customers")
    assert text.index("NEXT") < text.index("Every change, field by field")
    assert (
        "the plan.md artifact of [this run](https://github.test/acme/pricing/actions/runs/7)"
        in (text)
    )

    whole = review_markdown(priced, ctx, settings, when="on merge")
    assert "more change(s) not shown" not in whole
    assert whole.count("<details><summary>+ plan") == 300


def test_without_a_revenue_section_the_money_line_says_why(
    ctx: RunnerContext, settings: Settings
) -> None:
    plain = Review(
        plan=build_plan(desired(billable_metric=[TOKENS]), live(billable_metric=[TOKENS]))
    )
    text = review_markdown(plain, ctx, settings, when="on merge", limit=60_000)
    assert text.split("\n\n")[:2] == [
        "✅ **No changes** for `staging` — Lago already matches this configuration.",
        "**No bill changes.**",
    ]
