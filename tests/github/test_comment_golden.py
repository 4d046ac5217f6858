"""Golden files of what a reviewer reads on a pull request, in every state: no changes, invalid
YAML, a small change, a change over 121 tenants (with the chart), a one-model change on a
150-filter catalog (which must fit one screen), and the comment apply leaves after a merge.

Each comment is built by the Action's own functions (``pr.report_body``,
``apply.result_comment``) from plans the engine builds; the revenue sections are
``RevenueImpact`` values as ``lagoform.impact`` reports them. Each is also read the way GitHub
renders it (cmark-gfm): the verdict is the first block, the money line the second.

Regenerate after an intended change with ``LAGOFORM_REGEN_GOLDEN=1 pytest tests/github``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from lagoform.engine.plan import ObjectChange, build_plan
from lagoform.errors import Problem
from lagoform.github import pr
from lagoform.github.apply import ChangeStatus, result_comment
from lagoform.github.commands import Completed, Target
from lagoform.github.next_steps import NextSteps, render
from lagoform.github.report import PLAN_BUDGET_CHARS
from lagoform.github.runner import RunnerContext
from lagoform.github.settings import Settings
from lagoform.github.steps import PlanOutcome
from lagoform.impact import Contribution, Mover, PeriodTotal, RevenueImpact
from lagoform.model.state import DesiredState, LiveState
from lagoform.review import Review, customer_names
from tests.engine.factories import charge, desired, live, metric, plan, subscription
from tests.github.gfm import rendered_blocks

GOLDEN = Path(__file__).parent / "golden"
SHA = "0123456789abcdef0123456789abcdef01234567"
STEPS = NextSteps(
    targets=("staging", "production"),
    workflow=".github/workflows/lagoform-apply.yml",
    owners=("@acme/finance",),
    unowned=(),
    codeowners=".github/CODEOWNERS",
    files=2,
    replan="lagoform plan -e production",
)
# One screen of a pull request: what is not collapsed must fit it.
SCREEN_LINES = 45
SCREEN_CHARS = 7_000


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("LAGOFORM_REGEN_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


@pytest.fixture
def ctx(tmp_path: Path) -> RunnerContext:
    return RunnerContext(
        workspace=tmp_path,
        repository="acme/pricing",
        event_name="pull_request",
        event={"pull_request": {"number": 7, "head": {"sha": SHA}}},
        api_url="https://api.github.test",
        server_url="https://github.test",
        run_id="4242",
        sha=SHA,
        actor="pr-author",
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        mode="pr", target=Target("production"), project_root=tmp_path, output_dir=tmp_path
    )


def _comment(
    ctx: RunnerContext,
    settings: Settings,
    review: Review | None,
    problems: list[Problem] | None = None,
    held: str | None = None,
) -> str:
    planned = (
        None
        if review is None
        else PlanOutcome(Completed(("plan",), 2 if review.plan.has_changes else 0, "", ""), review)
    )
    steps = NextSteps(**{**STEPS.__dict__, "held": held})
    return pr.report_body(
        ctx, settings, problems or [], planned, render(steps), limit=PLAN_BUDGET_CHARS
    )


def _first_blocks(markdown: str) -> tuple[str, str]:
    (tag1, verdict), (tag2, money) = rendered_blocks(markdown)[:2]
    assert (tag1, tag2) == ("p", "p")
    return verdict, money


def visible(markdown: str) -> list[str]:
    """The non-blank lines a reader sees before expanding anything (outside <details>)."""
    depth, seen = 0, []
    for line in markdown.splitlines():
        opened = line.count("<details>")
        closed = line.count("</details>")
        if depth == 0 and line.strip() and not opened:
            seen.append(line)
        if depth == 0 and opened:
            seen.append(line)  # its summary line shows
        depth += opened - closed
    return seen


# -- scenarios -----------------------------------------------------------------------------

FIRST = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Soylent", "Stark", "Wayne", "Wonka",
         "Tyrell", "Cyberdyne"]  # fmt: skip
SECOND = ["Labs", "Corp", "AI", "Systems", "Industries", "Analytics", "Cloud", "Health", "Media",
          "Robotics", "Foods"]  # fmt: skip


def _tenants(n: int) -> list[tuple[str, str]]:
    return [(f"t{i:03d}", f"{FIRST[i % 11]} {SECOND[(i // 11) % 11]}") for i in range(n)]


def _customer(external_id: str, name: str) -> dict[str, Any]:
    return {"external_id": external_id, "name": name, "currency": "USD"}


def _managed(subs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tenant files' side of live subscriptions: the same subscription, as YAML says it."""
    keys = ("external_id", "external_customer_id", "plan_code", "billing_time")
    return [{k: s[k] for k in keys} for s in subs]


def _revenue(bills: list[tuple[str, int, int]], plan_code: str, top: int = 10) -> RevenueImpact:
    """The revenue section ``lagoform.impact`` reports for these monthly bills (customer, old,
    new), its totals, movers and customers added up from them as ``impact.aggregate`` does."""
    everyone = sorted(
        (
            Mover(
                external_customer_id=c,
                currency="USD",
                old_cents=old,
                new_cents=new,
                delta_cents=new - old,
                subscriptions=(f"{c}-main",),
            )
            for c, old, new in bills
        ),
        key=lambda m: (-abs(m.delta_cents), m.external_customer_id),
    )
    old, new = sum(b[1] for b in bills), sum(b[2] for b in bills)
    total = PeriodTotal(
        period="current",
        currency="USD",
        subscriptions=len(bills),
        customers=len(bills),
        old_cents=old,
        new_cents=new,
        delta_cents=new - old,
        customers_more=sum(1 for b in bills if b[2] > b[1]),
        customers_less=sum(1 for b in bills if b[2] < b[1]),
        customers_same=sum(1 for b in bills if b[2] == b[1]),
    )
    return RevenueImpact(
        affected_subscriptions=len(bills),
        totals=(total,),
        movers=tuple(m for m in everyone if m.delta_cents)[:top],
        customers=tuple(everyone),
        contributions=(
            Contribution(
                period="current",
                currency="USD",
                plan_code=plan_code,
                charge="tokens",
                delta_cents=new - old,
                subscriptions=len(bills),
            ),
        ),
    )


def _review(
    want: DesiredState, have: LiveState, revenue: RevenueImpact | None, **kw: Any
) -> Review:
    built = build_plan(want, have, target="production (https://api.getlago.com)")
    return Review(plan=built, revenue=revenue, customer_names=customer_names(want, have), **kw)


TOKENS = metric("tokens", filters=[{"key": "type", "values": ["input", "output"]}])


def _pro(price: str) -> dict[str, Any]:
    return plan("pro", [charge("tokens", "tokens", price)], amount_cents=9900)


def small_change() -> Review:
    """pro's token price rises 10 %; its variant pro_annual repeats the move."""
    annual = {**_pro("0.0000022"), "code": "pro_annual", "interval": "yearly",
              "amount_cents": 99000}  # fmt: skip
    annual_was = {**annual, "charges": _pro("0.000002")["charges"]}
    people = [_customer("acme", "Acme Labs"), _customer("globex", "Globex AI")]
    subs = [subscription("acme-main", "pro", "acme"), subscription("globex-main", "pro_annual",
                                                                  "globex")]  # fmt: skip
    want = desired(billable_metric=[TOKENS], plan=[_pro("0.0000022"), annual], customer=people,
                   subscription=_managed(subs))  # fmt: skip
    have = live(billable_metric=[TOKENS], plan=[_pro("0.000002"), annual_was], customer=people,
                subscriptions=subs)  # fmt: skip
    revenue = _revenue([("acme", 24_900, 26_400), ("globex", 13_750, 14_580)], "pro")
    return _review(want, have, revenue, plan_parents={"pro_annual": "pro"})


def many_tenants(n: int = 121) -> Review:
    tenants = _tenants(n)
    people = [_customer(t, name) for t, name in tenants]
    subs = [subscription(f"{t}-main", "pro", t) for t, _ in tenants]
    want = desired(billable_metric=[TOKENS], plan=[_pro("0.0000022")], customer=people,
                   subscription=_managed(subs))  # fmt: skip
    have = live(billable_metric=[TOKENS], plan=[_pro("0.000002")], customer=people,
                subscriptions=subs)  # fmt: skip
    bills = []
    for i, (t, _) in enumerate(tenants):
        old = 5_000 + (i * 7_919) % 250_000  # 50.00 to 2,550.00 USD a month
        pct = (i * 13) % 29 - 6  # -6 % to +22 %
        bills.append((t, old, old + old * pct // 100))
    return _review(want, have, _revenue(bills, "pro"))


MODELS = ["gpt-5", *(f"model-{i:02d}" for i in range(20))]
TYPES = ["input", "output", "cached_input", "reasoning", "audio_input", "audio_output", "image"]


def _filters(gpt5: str) -> list[dict[str, Any]]:
    """150 filters: 21 models × 7 token types, and 3 of a legacy model."""
    out = [
        {"values": {"model": [m], "type": [t]},
         "properties": {"amount": gpt5 if m == "gpt-5" else f"0.00000{1 + i % 9}"}}
        for i, (m, t) in enumerate((m, t) for m in MODELS for t in TYPES)
    ]  # fmt: skip
    out += [
        {"values": {"model": ["legacy"], "type": [t]}, "properties": {"amount": "0.000001"}}
        for t in TYPES[:3]
    ]
    return out


def one_model_change() -> Review:
    """gpt-5's seven prices drop on a 150-filter catalog; 30 tenants on the plan."""
    models = metric("llm_tokens", filters=[
        {"key": "model", "values": [*MODELS, "legacy"]}, {"key": "type", "values": TYPES},
    ])  # fmt: skip

    def scale(price: str) -> dict[str, Any]:
        return plan(
            "scale", [charge("tokens", "llm_tokens", "0.000002", filters=_filters(price))],
            amount_cents=49_900,
        )  # fmt: skip

    tenants = _tenants(30)
    people = [_customer(t, name) for t, name in tenants]
    subs = [subscription(f"{t}-main", "scale", t) for t, _ in tenants]
    want = desired(billable_metric=[models], plan=[scale("0.0000009")], customer=people,
                   subscription=_managed(subs))  # fmt: skip
    have = live(billable_metric=[models], plan=[scale("0.000001")], customer=people,
                subscriptions=subs)  # fmt: skip
    bills = []
    for i, (t, _) in enumerate(tenants):
        old = 49_900 + (i * 3_371) % 90_000
        bills.append((t, old, old - (old - 49_900) * ((i % 5) + 1) // 10))
    return _review(want, have, _revenue(bills, "scale"))


def no_changes() -> Review:
    want = desired(billable_metric=[TOKENS], plan=[_pro("0.000002")])
    return _review(want, live(billable_metric=[TOKENS], plan=[_pro("0.000002")]), None)


# -- the golden files ----------------------------------------------------------------------


def test_no_changes(ctx: RunnerContext, settings: Settings) -> None:
    text = _comment(ctx, settings, no_changes(), held=pr.HELD["no-changes"])
    _check("no-changes.md", text)
    assert _first_blocks(text) == (
        "✅ No changes for production — Lago already matches this configuration.",
        "No bill changes.",
    )


def test_invalid_yaml(ctx: RunnerContext, settings: Settings) -> None:
    problems = [
        Problem("overrides need 'approval' (a reference to who approved the deal)",
                file="overrides/globex.yaml", line=9, column=5),
        Problem("unknown metric 'token_usagee'", file="catalog/plans.yaml", line=31, column=17,
                hint="did you mean 'token_usage'?"),
    ]  # fmt: skip
    text = _comment(ctx, settings, None, problems, held=pr.HELD["invalid"])
    _check("invalid.md", text)
    verdict, money = _first_blocks(text)
    assert verdict.startswith("❌ Invalid configuration for production — 2 problems in ")
    assert money == "Bills: not estimated — the configuration must be valid first."


def test_small_change(ctx: RunnerContext, settings: Settings) -> None:
    text = _comment(ctx, settings, small_change())
    _check("small-change.md", text)
    verdict, money = _first_blocks(text)
    assert verdict == (
        "📝 Changes pending for production — 2 objects change (2 updated); applied when this "
        "pull request is merged."
    )
    assert money == "+23.30 USD/month (+6.0 %) across 2 customers; 2 pay more, 0 less"
    assert (
        "| **Acme Labs** <sub>`acme`</sub> | 249.00 USD | 264.00 USD | +15.00 USD (+6.0 %) |"
        in (text)
    )
    # the variant that only follows its parent is the parent's row, naming both
    rows = [line for line in text.splitlines() if line.startswith("| plan ")]
    assert rows == [
        "| plan pro and its variant pro_annual | `tokens · price` | 0.000002 USD/unit | "
        "0.0000022 USD/unit | ▲ +10.0% |"
    ]
    assert "xychart-beta" not in text  # two customers: no chart
    for internal in ("blast radius", "Blast radius", "follows"):
        assert internal not in text


def test_a_change_over_121_tenants_charts_the_distribution(
    ctx: RunnerContext, settings: Settings
) -> None:
    review = many_tenants()
    text = _comment(ctx, settings, review)
    _check("tenants-121.md", text)
    verdict, money = _first_blocks(text)
    assert verdict.startswith("📝 Changes pending for production — 1 object change")
    assert (
        money
        == "+12,091.40 USD/month (+8.0 %) across 121 customers; 92 pay more, 25 less, 4 unchanged"
    )
    blocks = rendered_blocks(text)
    chart = next(i for i, (tag, _) in enumerate(blocks) if tag == "pre")
    assert blocks[chart][1].startswith("xychart-beta")
    counts = re.search(r"bar \[([\d, ]+)\]", text)
    assert counts is not None and sum(int(n) for n in counts.group(1).split(",")) == 121
    # the movers' table stays below the chart, by name, for who sees no chart
    movers = next(i for i, (tag, _) in enumerate(blocks) if tag == "table")
    assert movers > chart and "Customer Before After Change" in blocks[movers][1]
    assert "<summary>Every customer whose bill changes (117)</summary>" in text
    assert len(text) <= PLAN_BUDGET_CHARS + 500


def test_a_one_model_change_on_a_150_filter_catalog_fits_one_screen(
    ctx: RunnerContext, settings: Settings
) -> None:
    text = _comment(ctx, settings, one_model_change())
    _check("filters-150.md", text)
    verdict, money = _first_blocks(text)
    assert verdict.startswith("📝 Changes pending for production — 1 object change")
    assert (
        money
        == "-3,521.34 USD/month (-13.1 %) across 30 customers; 0 pay more, 29 less, 1 unchanged"
    )
    seen = visible(text)
    assert len(seen) <= SCREEN_LINES, "\n".join(seen)
    assert sum(len(line) for line in seen) <= SCREEN_CHARS
    assert "plan scale, charge tokens: 143 other filter(s) unchanged" in text
    price_rows = [line for line in seen if line.startswith("| plan scale |")]
    assert len(price_rows) == 7  # gpt-5's seven prices, nothing else
    assert len(text) <= PLAN_BUDGET_CHARS + 500


def test_apply_result_comment() -> None:
    def change(kind: str, key: str, action: str) -> ObjectChange:
        return ObjectChange(kind=kind, key=key, action=action)  # type: ignore[arg-type]

    statuses = [
        ChangeStatus(change("plan", "pro", "update"), "applied", ("9f1c2d3e4a5b6c7d8e9f",)),
        ChangeStatus(change("plan", "team", "create"), "applied", ("0a1b2c3d4e5f60718293",)),
        ChangeStatus(
            change("subscription", "globex-main", "update"),
            "applied",
            ("aa11bb22cc33dd44ee55", "ff66aa77bb88cc99dd00"),
        ),
        ChangeStatus(change("coupon", "launch", "delete"), "applied", ("1234567890abcdef1234",)),
    ]
    text = result_comment(
        target="production",
        actor="finance-lead",
        statuses=statuses,
        failure=None,
        audit_log="audit/production.jsonl",
        head="sha256:4f2a9c1e0b7d6e5f4a3b2c1d0e9f8a7b",
        run_url="https://github.test/acme/pricing/actions/runs/4242",
        sha=SHA,
    )
    _check("apply-result.md", text)
    assert rendered_blocks(text)[0] == (
        "p",
        "✅ Applied to production — 4 changes as finance-lead: 1 created, 2 updated, 1 deleted, "
        "0 blocked.",
    )
    assert "`aa11bb22cc33`, `ff66aa77bb88`" in text  # each call's audit record
    assert "[run's artifacts](https://github.test/acme/pricing/actions/runs/4242#artifacts)" in (
        text
    )


def test_the_readme_opens_with_the_small_change_comment() -> None:
    """README's first screen is what a reviewer sees: the comment above its collapsed parts."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- readme:comment:begin[^>]*-->\n(.*?)\n<!-- readme:comment:end -->",
                      readme, re.S)  # fmt: skip
    assert found is not None
    quoted = "\n".join(
        line.removeprefix(">").removeprefix(" ") for line in found.group(1).split("\n")
    )
    golden = (GOLDEN / "small-change.md").read_text(encoding="utf-8")
    assert quoted == golden[: golden.index("<details>")].rstrip("\n")
    assert readme.index("readme:comment:begin") < readme.index("```sh")  # before anything else
