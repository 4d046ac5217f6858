"""The markdown framing: problems, states without a plan (verdict first), negotiated-price
tenants, trimming."""

from __future__ import annotations

from lagoform.engine.diff import FieldChange
from lagoform.engine.plan import BlastRadius, ObjectChange, Plan, TenantImpact
from lagoform.errors import Problem
from lagoform.github import report
from lagoform.review.digest import negotiated_price_changes, verdict


def _plan(*changes: ObjectChange) -> Plan:
    return Plan(plan_id="p1", catalog_fingerprint="c", live_fingerprints={}, changes=changes)


def test_problems_are_listed_with_links_hints_and_no_html() -> None:
    problems = [
        Problem("needs an approval reference", file="overrides/globex.yaml", line=9, column=7),
        Problem("unknown metric <tokens>", file="catalog/plans.yaml", line=3, hint="did you mean"),
    ]
    text = report.problems_section(problems, lambda p: f"https://x/{p.file}#L{p.line}")

    assert text.splitlines()[0] == "#### 2 problems found"
    assert (
        "- [`overrides/globex.yaml:9:7`](https://x/overrides/globex.yaml#L9): "
        "needs an approval reference"
    ) in text
    assert "unknown metric &lt;tokens&gt; — _did you mean_" in text


def test_tenants_from_override_edits_and_cascading_plan_changes() -> None:
    own = ObjectChange(
        kind="subscription",
        key="globex-main",
        action="update",
        changes=(
            FieldChange(
                path=("overrides", "charges", "tokens", "properties", "amount"), old="1", new="2"
            ),
        ),
        body={"external_customer_id": "globex", "plan_code": "enterprise"},
    )
    renamed = ObjectChange(
        kind="subscription",
        key="initech-main",
        action="update",
        changes=(FieldChange(path=("name",), old="a", new="b"),),
        body={"external_customer_id": "initech"},
    )
    cascade = ObjectChange(
        kind="plan",
        key="enterprise",
        action="update",
        changes=(FieldChange(path=("amount_cents",), old=1, new=2),),
        blast=BlastRadius(
            active_subscriptions=3,
            overridden_follow=2,
            overridden_not_follow=0,
            tenants=(
                TenantImpact(
                    external_customer_id="acme",
                    subscriptions=("acme-1",),
                    overridden=True,
                    how="cascade",
                    reached=True,
                ),
                TenantImpact(
                    external_customer_id="globex",
                    subscriptions=("globex-main",),
                    overridden=True,
                    how="cascade",
                    reached=True,
                ),
                TenantImpact(
                    external_customer_id="hooli",
                    subscriptions=("hooli-1",),
                    overridden=False,
                    how="follows",
                    reached=True,
                ),
                TenantImpact(
                    external_customer_id="umbrella",
                    subscriptions=("u-1",),
                    overridden=True,
                    how="unreached",
                    reached=False,
                ),
            ),
        ),
    )
    found = negotiated_price_changes(_plan(own, renamed, cascade))

    assert [c.tenant for c in found] == ["acme", "globex"]
    globex = found[1]
    assert globex.subscriptions == ("globex-main",)
    assert "overrides on `globex-main` changed" in globex.why
    assert "gets the plan `enterprise` change" in globex.why


def test_no_tenant_without_negotiated_changes() -> None:
    assert negotiated_price_changes(_plan()) == []


def test_invalid_yaml_leads_with_the_verdict_then_says_no_bill_was_estimated() -> None:
    problems = [
        Problem("needs an approval reference", file="overrides/globex.yaml", line=9, column=7),
        Problem("unknown metric", file="catalog/plans.yaml", line=3),
        Problem("unknown plan", file="catalog/plans.yaml", line=30),
    ]
    text = report.invalid(problems, target="production", link=lambda _: None, tail="<sub>x</sub>")
    blocks = text.split("\n\n")
    assert blocks[0] == (
        "❌ **Invalid configuration** for `production` — 3 problems in "
        "`overrides/globex.yaml`, `catalog/plans.yaml`; nothing was planned."
    )
    assert blocks[1] == "**Bills: not estimated** — the configuration must be valid first."
    assert blocks[2] == "#### 3 problems found"
    assert text.rstrip().endswith("<sub>x</sub>")


def test_a_failed_plan_leads_with_the_verdict_and_shows_what_lagoform_said() -> None:
    text = report.failed_plan("Error: <boom>", target="staging")
    blocks = text.split("\n\n")
    assert blocks[0].startswith("❌ **Plan failed** for `staging`")
    assert blocks[1] == "**Bills: not estimated** — there is no plan."
    assert "Error: &lt;boom&gt;" in blocks[2]


def test_fit_cuts_at_a_line_and_closes_code_fences() -> None:
    markdown = "```diff\n" + "\n".join(f"+ line {i}" for i in range(5000)) + "\n```\n"
    cut = report.fit(markdown, budget=1000)

    assert len(cut) < 1100
    assert cut.count("```") % 2 == 0
    assert cut.endswith("the full plan is in the plan.md artifact._")
    assert report.fit("short", budget=1000) == "short"


def test_verdicts_differ_per_outcome() -> None:
    outcomes: list[report.Outcome] = [
        "invalid",
        "error",
        "blocked",
        "changes-pending",
        "no-changes",
    ]
    said = {verdict(o, target="staging", plan=_plan()) for o in outcomes}
    assert len(said) == len(outcomes)
    assert all(v.split(" ")[1].startswith("**") for v in said)  # icon, then the bold verdict
    assert "Changes pending" in verdict("changes-pending", target="staging", plan=_plan())
