"""`lagoform plan`'s revenue section end to end, over real HTTP (`lagoform sandbox serve`).

The project of tests/impact/helpers.py (acme and initech on ``growth``, globex on its own copy
of it, ``legacy`` with nobody on it) is applied and sent usage; then the catalog is edited and
``lagoform plan`` runs through the CLI, straight at the sandbox (``--api-url``) or through a
proxy that counts usage reads and can fail them (``-e proxied``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lagoform.cli import _register, root
from lagoform.review import Review
from tests.conftest import SandboxServer
from tests.impact.helpers import USAGE, apply_project, client_for, edit, send_usage, write_project
from tests.impact.usage_proxy import UsageProxy

_register()

PLANS = "catalog/plans.yaml"
RAISE_TIER_2 = ('per_unit: "0.01"', 'per_unit: "0.012"')
KEY_VAR = "LAGO_IMPACT_TEST_KEY"
CONFIG = f"""\
version: 1
environments:
  proxied:
    api_url: {{url}}
    api_key_env: {KEY_VAR}
    retry: {{{{max_attempts: 2, base_delay: 0.01, max_delay: 0.02}}}}
"""
# movers by the tenant files' names, the external id in small print
INITECH = "| **Initech** <sub>`initech`</sub> | 190.00 USD | 208.00 USD | +18.00 USD (+9.5 %) |"
ACME = "| **Acme** <sub>`acme`</sub> | 91.00 USD | 99.00 USD | +8.00 USD (+8.8 %) |"


@pytest.fixture
def proxy(sandbox_server: SandboxServer) -> Iterator[UsageProxy]:
    server = UsageProxy(sandbox_server.url)
    yield server
    server.close()


@pytest.fixture
def project(tmp_path: Path, sandbox_server: SandboxServer, proxy: UsageProxy) -> Path:
    root_dir = write_project(tmp_path / "project")
    (root_dir / "lagoform.yaml").write_text(CONFIG.format(url=proxy.url))
    with client_for(sandbox_server) as client:
        apply_project(root_dir, client)
        send_usage(client, USAGE)
    proxy.usage_reads.clear()
    return root_dir


def plan(server: SandboxServer, project: Path, *args: str, proxied: bool = False) -> Result:
    target = ["-e", "proxied"] if proxied else ["--api-url", server.url]
    env = {KEY_VAR: server.api_key} if proxied else {"LAGO_API_KEY": server.api_key}
    return CliRunner().invoke(root, ["plan", *target, "--root", str(project), *args], env=env)


def no_secret(server: SandboxServer, *texts: str) -> None:
    assert not [t[:100] for t in texts if server.api_key in t]


def test_markdown_leads_with_the_exact_increase_per_tenant_and_the_saved_plan_carries_it(
    project: Path, sandbox_server: SandboxServer, tmp_path: Path
) -> None:
    edit(project, PLANS, *RAISE_TIER_2)
    out = tmp_path / "plan.json"
    args = ("--format", "markdown", "--out", str(out), "--detailed-exitcode")
    result = plan(sandbox_server, project, *args)

    assert result.exit_code == 2, result.output
    markdown = result.stdout
    # First the verdict, then who pays how much more (acme 4,000 tokens in tier 2, initech
    # 9,000; +0.002 each)
    verdict, money = markdown.split("\n\n")[:2]
    assert verdict.startswith("📝 **Changes pending** for `") and "1 object change" in verdict
    assert money == "**+26.00 USD/month (+9.3 %) across 2 customers; 2 pay more, 0 less**"
    assert markdown.index(INITECH) < markdown.index(ACME) < markdown.index("**What changes:**")
    # globex negotiates the very charge that changes: zero change, and why
    assert (
        "- `globex-main` (globex, plan `growth`): on its own copy of the plan, which apply keeps "
        "at the catalog's prices with its YAML's negotiated values laid over them. Keeps: "
        "charge tokens price (negotiated)." in markdown
    )
    table = markdown[markdown.index("**Largest changes") : markdown.index("**What changes:**")]
    assert "globex" not in table
    # then the plan itself, and the rest of the section collapsed
    assert "**What changes:** 1 plan updated; " in markdown
    assert "| `growth` | tokens | +26.00 USD | 2 |" in markdown

    saved = Review.loads(out.read_bytes())
    assert saved.revenue is not None
    total = saved.revenue.total("current", "USD")
    assert total is not None and (total.old_cents, total.new_cents) == (28_100, 30_700)
    movers = {m.external_customer_id: m.delta_cents for m in saved.revenue.movers}
    assert movers == {"initech": 1_800, "acme": 800}
    [globex] = saved.revenue.not_following
    assert globex.external_id == "globex-main"
    assert globex.not_reached == ("charge tokens price (negotiated)",)
    assert saved.revenue.subscription("globex-main") is None

    # apply of the saved plan ignores the section; Lago then bills what it estimated
    applied = CliRunner().invoke(
        root,
        ["apply", str(out), "--api-url", sandbox_server.url, "--root", str(project),
         "--auto-approve"],
        env={"LAGO_API_KEY": sandbox_server.api_key},
    )  # fmt: skip
    assert applied.exit_code == 0, applied.output
    assert "Revenue impact" not in applied.output
    with client_for(sandbox_server) as client:
        usage = client.get_current_usage("initech", "initech-main")
    # its charges: 140.00 USD before, +18.00 USD (the 50.00 USD fee is not usage)
    assert usage["amount_cents"] == 14_000 + 1_800
    no_secret(sandbox_server, result.output, out.read_text(), applied.output)


def test_text_plan_adds_the_revenue_section_after_its_summary(
    project: Path, sandbox_server: SandboxServer
) -> None:
    edit(project, PLANS, *RAISE_TIER_2)
    result = plan(sandbox_server, project)
    assert result.exit_code == 0, result.output
    text = result.stdout
    summary = text.index("Plan ")
    section = text.index(
        "Revenue impact\n  Current period (USD, per month): 281.00 USD → 307.00 USD  +26.00 USD"
    )
    assert summary < section
    assert "initech  190.00 USD → 208.00 USD  (+18.00 USD)" in text
    assert "Keeps its own prices: globex-main (globex): on its own copy of the plan" in text
    no_secret(sandbox_server, result.output)


def test_only_an_unsubscribed_plan_changes_no_revenue_moves(
    project: Path, sandbox_server: SandboxServer, proxy: UsageProxy
) -> None:
    edit(project, PLANS, 'properties: {amount: "0.20"}', 'properties: {amount: "0.35"}')
    result = plan(sandbox_server, project, "--format", "json", proxied=True)
    assert result.exit_code == 0, result.output
    saved = Review.model_validate_json(result.stdout)
    assert [c.ref for c in saved.plan.pending()] == ["plan:legacy"]
    revenue = saved.revenue
    assert revenue is not None and revenue.unavailable is None
    assert (revenue.affected_subscriptions, revenue.totals, revenue.movers) == (0, (), ())
    assert revenue.not_following == () and revenue.unreliable == ()
    assert proxy.usage_reads == []  # nobody's pricing changes: no usage read

    markdown = plan(sandbox_server, project, "--format", "markdown", proxied=True).stdout
    assert markdown.split("\n\n")[1] == "**No customer's bill changes.**"


def test_usage_is_read_only_when_the_plan_can_move_a_bill(
    project: Path, sandbox_server: SandboxServer, proxy: UsageProxy
) -> None:
    unchanged = plan(sandbox_server, project, "--format", "json", proxied=True)
    assert unchanged.exit_code == 0, unchanged.output
    assert Review.model_validate_json(unchanged.stdout).revenue is None
    assert proxy.usage_reads == []

    edit(project, PLANS, *RAISE_TIER_2)
    skipped = plan(sandbox_server, project, "--no-impact", proxied=True)
    assert skipped.exit_code == 0, skipped.output
    assert "Revenue impact" not in skipped.output and proxy.usage_reads == []

    priced = plan(sandbox_server, project, "--past-periods", "1", "--format", "json", proxied=True)
    assert priced.exit_code == 0, priced.output
    revenue = Review.model_validate_json(priced.stdout).revenue
    assert revenue is not None and revenue.periods == ("current", "past-1")
    # acme and initech, current and past; globex (not following) is not read
    reads = sorted(p.split("?")[0] for p in proxy.usage_reads)
    assert reads == [
        "/api/v1/customers/acme/current_usage",
        "/api/v1/customers/acme/past_usage",
        "/api/v1/customers/initech/current_usage",
        "/api/v1/customers/initech/past_usage",
    ]


def test_a_usage_outage_leaves_the_plan_and_says_the_estimate_is_unavailable(
    project: Path, sandbox_server: SandboxServer, proxy: UsageProxy, tmp_path: Path
) -> None:
    edit(project, PLANS, *RAISE_TIER_2)
    proxy.fail_usage = True
    out = tmp_path / "plan.json"
    args = ("--format", "markdown", "--out", str(out), "--detailed-exitcode")
    result = plan(sandbox_server, project, *args, proxied=True)

    assert result.exit_code == 2, result.output  # changes pending, not an error
    assert result.stdout.split("\n\n")[1] == (
        "**Bills: not estimated** — no usage could be read for the 2 subscription(s) whose "
        "pricing changes (for example GET /customers/acme/current_usage: HTTP 503: Service "
        "Unavailable)"
    )
    assert "`globex-main`" in result.stdout  # who does not follow needs no usage
    assert "**What changes:** 1 plan updated; " in result.stdout  # the plan is all there
    saved = Review.loads(out.read_bytes())
    assert saved.revenue is not None and saved.revenue.unavailable is not None
    assert len(proxy.usage_reads) == 4  # two subscriptions, two attempts each

    text = plan(sandbox_server, project, proxied=True)
    assert text.exit_code == 0, text.output
    assert "Revenue impact\n  revenue impact unavailable: no usage could be read" in text.stdout
    no_secret(sandbox_server, result.output, text.output, out.read_text())


VERSION_2 = """\
    versions:
      current: 1
      2:
        amount: 60.00 USD
    migrations:
      - id: acme-to-v2
        to: 2
        who: {tenants: [acme]}
        when: now
"""


def test_a_plan_with_migrations_reads_each_subscriptions_usage_once(
    project: Path, sandbox_server: SandboxServer, proxy: UsageProxy
) -> None:
    """The revenue section and the migrations' what-if price the same usage: it is read once
    for both (usage reads are the floor of a large plan)."""
    edit(project, PLANS, *RAISE_TIER_2)
    edit(project, PLANS, "  - code: legacy\n", VERSION_2 + "  - code: legacy\n")
    result = plan(sandbox_server, project, "--format", "json", proxied=True)
    assert result.exit_code == 0, result.output
    review = Review.model_validate_json(result.stdout)
    assert review.revenue is not None and review.revenue.unavailable is None
    (step,) = review.migrations
    assert step.subscription == "acme-main" and step.monthly_delta_cents is not None
    assert step.monthly_new_cents - step.monthly_old_cents == 1000 + 800  # base fee and tier 2
    reads = sorted(p.split("?")[0] for p in proxy.usage_reads)
    assert reads == [
        "/api/v1/customers/acme/current_usage",
        "/api/v1/customers/initech/current_usage",
    ]
