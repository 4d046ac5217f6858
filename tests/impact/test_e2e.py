"""Revenue impact end to end over real HTTP (`lagoform sandbox serve`).

The project (tests/impact/helpers.py) is applied with the engine, usage is sent as events, the
catalog is edited, and the impact is computed from the sandbox's current (and past) usage. Where
a test applies the change afterwards, Lago's own new amounts must equal the estimate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lagoform.cli import root as cli_root
from lagoform.cli.commands import register
from lagoform.impact import RevenueImpact, render_markdown, run_analysis
from tests.conftest import SandboxServer
from tests.impact.helpers import (
    USAGE,
    apply_project,
    async_client_for,
    client_for,
    desired_of,
    edit,
    send_usage,
    write_project,
)

PLANS = "catalog/plans.yaml"
TIER_2 = 'per_unit: "0.01"'


@pytest.fixture
def project(tmp_path: Path, sandbox_server: SandboxServer) -> Path:
    root = write_project(tmp_path / "project")
    with client_for(sandbox_server) as client:
        apply_project(root, client)
        send_usage(client, USAGE)
    return root


def impact_of(root: Path, server: SandboxServer, **options: Any) -> RevenueImpact:
    return run_analysis(desired_of(root), lambda: async_client_for(server), **options)


def charge_amounts(server: SandboxServer, sub: str) -> dict[str, int]:
    """Lago's current-usage amount per charge code of the subscription's effective plan."""
    with client_for(server) as client:
        plan = client.get_subscription(sub)["plan"]  # type: ignore[index]
        codes = {c["lago_id"]: c["code"] for c in plan["charges"]}
        usage = client.get_current_usage(sub.removesuffix("-main"), sub)
    return {codes[c["charge"]["lago_id"]]: c["amount_cents"] for c in usage["charges_usage"]}


def lines(impact: RevenueImpact, sub: str) -> dict[str, tuple[int, int]]:
    found = impact.subscription(sub)
    assert found is not None, f"{sub} is not priced"
    return {c.charge: (c.old_cents, c.new_cents) for c in found.periods[0].charges}


def test_raising_a_graduated_tier_shows_the_exact_increase_per_tenant(
    project: Path, sandbox_server: SandboxServer
) -> None:
    edit(project, PLANS, TIER_2, 'per_unit: "0.012"')
    impact = impact_of(project, sandbox_server)

    # acme: 4,000 tokens in tier 2 (+0.002 each); initech: 9,000 in tier 2; globex keeps its copy
    movers = {m.external_customer_id: (m.old_cents, m.new_cents, m.delta_cents)
              for m in impact.movers}  # fmt: skip
    assert movers == {"initech": (19000, 20800, 1800), "acme": (9100, 9900, 800)}
    assert [m.external_customer_id for m in impact.movers] == ["initech", "acme"]
    assert lines(impact, "acme-main") == {
        "tokens": (4000, 4800),
        "calls": (100, 100),
        "(subscription fee)": (5000, 5000),
    }
    total = impact.total("current", "USD")
    assert total is not None
    assert (total.old_cents, total.new_cents, total.delta_cents) == (28100, 30700, 2600)
    assert (total.customers_more, total.customers_less, total.customers_same) == (2, 0, 0)
    parts = [(c.plan_code, c.charge, c.delta_cents, c.subscriptions) for c in impact.contributions]
    assert parts == [("growth", "tokens", 2600, 2)]
    assert impact.subscription("acme-main").causes == ("plan",)  # type: ignore[union-attr]

    # the negotiated tenant: apply keeps its copy at base + overrides, and it negotiates the
    # very charge that changes: zero change, with the reason
    assert impact.subscription("globex-main") is None
    [globex] = impact.not_following
    assert globex.external_id == "globex-main"
    assert "negotiated values" in globex.reason
    assert globex.not_reached == ("charge tokens price (negotiated)",)
    assert not impact.unreliable

    markdown = render_markdown(impact)
    assert markdown.startswith("## Revenue impact")
    assert "| `initech` | 190.00 USD | 208.00 USD | +18.00 USD |" in markdown
    assert "`globex-main`" in markdown and "charge tokens price (negotiated)" in markdown

    # After apply, Lago bills exactly the estimate (and globex exactly what it did).
    with client_for(sandbox_server) as client:
        apply_project(project, client)
    assert charge_amounts(sandbox_server, "acme-main")["tokens"] == 4800
    assert charge_amounts(sandbox_server, "initech-main")["tokens"] == 14000 + 1800
    assert charge_amounts(sandbox_server, "globex-main")["tokens"] == 4000


def test_with_cascade_an_overridden_tenant_follows_only_what_it_did_not_customise(
    project: Path, sandbox_server: SandboxServer
) -> None:
    edit(project, PLANS, "cascade_updates: false", "cascade_updates: true")
    edit(project, PLANS, TIER_2, 'per_unit: "0.012"')
    edit(project, PLANS, 'properties: {amount: "0.10"}', 'properties: {amount: "0.15"}')
    impact = impact_of(project, sandbox_server)

    assert lines(impact, "globex-main")["calls"] == (40, 60)  # 4 calls, +0.05 each
    assert lines(impact, "globex-main")["tokens"] == (4000, 4000)  # customised: kept
    globex = impact.subscription("globex-main")
    assert globex is not None and globex.causes == ("repriced",)
    [kept] = impact.not_following
    assert kept.external_id == "globex-main" and kept.not_reached == (
        "charge tokens price (negotiated)",
    )
    assert lines(impact, "acme-main")["calls"] == (100, 150)
    total = impact.total("current", "USD")
    assert total is not None and total.delta_cents == 800 + 50 + 1800 + 20

    with client_for(sandbox_server) as client:
        apply_project(project, client)
    assert charge_amounts(sandbox_server, "globex-main") == {"tokens": 4000, "calls": 60}


def test_a_change_to_a_plan_nobody_is_subscribed_to_moves_no_revenue(
    project: Path, sandbox_server: SandboxServer
) -> None:
    edit(project, PLANS, 'properties: {amount: "0.20"}', 'properties: {amount: "0.35"}')
    edit(project, PLANS, "amount: 10.00 USD", "amount: 12.00 USD")
    impact = impact_of(project, sandbox_server)
    assert impact.affected_subscriptions == 0
    assert impact.totals == () and impact.movers == () and impact.contributions == ()
    assert impact.not_following == () and impact.unreliable == ()
    assert not impact.has_changes
    assert "No subscription's pricing changes" in render_markdown(impact)


def test_an_override_change_reprices_only_that_tenant(
    project: Path, sandbox_server: SandboxServer
) -> None:
    edit(project, "overrides/globex.yaml", 'per_unit: "0.008"', 'per_unit: "0.009"')
    impact = impact_of(project, sandbox_server)
    assert [s.external_id for s in impact.subscriptions] == ["globex-main"]
    assert impact.subscriptions[0].causes == ("repriced",)
    assert lines(impact, "globex-main")["tokens"] == (4000, 4500)  # 5,000 tokens, +0.001
    assert impact.not_following == ()

    with client_for(sandbox_server) as client:
        apply_project(project, client)
    assert charge_amounts(sandbox_server, "globex-main")["tokens"] == 4500


def test_a_lago_vs_calculator_mismatch_is_marked_unreliable(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    # A first-tier flat fee: the sandbox bills it at zero usage, like Lago since PR #5760.
    root = write_project(tmp_path / "project")
    edit(root, PLANS, "{to: 1000, per_unit: 0, flat: 0}", "{to: 1000, per_unit: 0, flat: 5}")
    with client_for(sandbox_server) as client:
        apply_project(root, client)
        send_usage(client, {"acme-main": ([], 10), "initech-main": ([20000], 0)})
    edit(root, PLANS, TIER_2, 'per_unit: "0.012"')

    # Priced as an older server would (no flat fee at zero usage): acme's check fails.
    impact = impact_of(root, sandbox_server, zero_usage_first_tier_flat=False)
    [acme] = impact.unreliable
    assert acme.external_id == "acme-main"
    assert acme.reasons == (
        "charge tokens: Lago bills 5.00 USD, lagoform's calculator 0.00 USD for the same usage",
    )
    assert impact.subscription("acme-main") is None
    assert [m.external_customer_id for m in impact.movers] == ["initech"]
    assert "### No reliable estimate" in render_markdown(impact)

    # Priced like the server: acme is reliable and its bill does not move (no tokens used).
    matched = impact_of(root, sandbox_server)
    assert matched.unreliable == ()
    assert lines(matched, "acme-main")["tokens"] == (500, 500)
    total = matched.total("current", "USD")
    assert total is not None and (total.customers_more, total.customers_same) == (1, 1)


def test_past_periods_are_priced_per_period(project: Path, sandbox_server: SandboxServer) -> None:
    sandbox_server.advance_clock(32 * 86400)  # the usage sent so far is now a closed period
    with client_for(sandbox_server) as client:
        send_usage(client, {"acme-main": ([11000], 0)})
    edit(project, PLANS, TIER_2, 'per_unit: "0.012"')
    impact = impact_of(project, sandbox_server, past_periods=1)
    assert impact.periods == ("current", "past-1")
    acme = impact.subscription("acme-main")
    assert acme is not None
    by_period = {p.period: p for p in acme.periods}
    assert by_period["current"].delta_cents == 1800  # 9,000 tokens in tier 2, +0.002 each
    assert by_period["past-1"].delta_cents == 800
    past = impact.total("past-1", "USD")
    assert past is not None and past.delta_cents == 2600


def test_cli_prints_the_same_for_the_working_tree(
    project: Path, sandbox_server: SandboxServer
) -> None:
    edit(project, PLANS, TIER_2, 'per_unit: "0.012"')
    register(cli_root)
    runner = CliRunner()
    env = {"LAGO_API_KEY": sandbox_server.api_key}
    args = ["impact", "--api-url", sandbox_server.url, "--root", str(project)]
    as_json = runner.invoke(cli_root, [*args, "--format", "json"], env=env)
    assert as_json.exit_code == 0, as_json.output
    impact = RevenueImpact.model_validate_json(as_json.stdout)
    total = impact.total("current", "USD")
    assert total is not None and total.delta_cents == 2600
    text = runner.invoke(cli_root, args, env=env)
    assert text.exit_code == 0, text.output
    assert "initech  190.00 USD → 208.00 USD  (+18.00 USD)" in text.stdout
    assert sandbox_server.api_key not in text.output


def test_a_negotiated_copy_without_cascade_is_counted_for_what_apply_reprices(
    project: Path, sandbox_server: SandboxServer
) -> None:
    # The regression: globex negotiates tokens only; its copy has cascade_updates: false, but
    # lagoform's apply keeps the copy at catalog + negotiated values, so a calls raise reaches
    # it. The section used to list it as "keeps its own" and leave its increase out.
    edit(project, PLANS, 'properties: {amount: "0.10"}', 'properties: {amount: "0.15"}')
    impact = impact_of(project, sandbox_server)
    globex = impact.subscription("globex-main")
    assert globex is not None and globex.causes == ("repriced",)
    assert lines(impact, "globex-main")["calls"] == (40, 60)  # 4 calls, +0.05 each
    assert not impact.not_following
    total = impact.total("current", "USD")
    assert total is not None and total.delta_cents == 50 + 0 + 20  # acme 10, initech 0, globex 4

    with client_for(sandbox_server) as client:
        apply_project(project, client)
    assert charge_amounts(sandbox_server, "globex-main") == {"tokens": 4000, "calls": 60}
