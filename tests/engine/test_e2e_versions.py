"""End to end over real HTTP (the CLI against ``sandbox_server``): plan versions, grandfathering
and migrations (``versions:`` / ``migrations:`` of a plan, docs/pricing-changes/versions.md).

A version 2 is created while version-1 subscribers stay where they are; a migration at the end
of term is scheduled (not pending) until the sandbox clock passes the term, then apply moves
each subscriber by Lago's upgrade rule, keeping its negotiated price, with one audit record per
move; a migration whose new version cannot take a tenant's override is refused with the reason.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from lagoform.catalog import load_project
from lagoform.cli import _register, root
from lagoform.errors import CatalogError
from tests.conftest import SandboxServer
from tests.engine.e2e_helpers import edit, example_project, lago

_register()

PLANS = "catalog/plans.yaml"
ACME = "overrides/acme-labs.yaml"
ANCHOR = "    metadata: {tier: pro}\n"
V2 = ANCHOR + "    versions:\n      current: 2\n      2:\n        amount: 119.00 USD\n"
ACME_DEAL = (
    "    overrides:\n      reason: Early adopter storage price\n      approval: DEAL-7\n"
    "      charges:\n        storage:\n          properties: {amount: 0.08}\n"
)
INITECH = """customer:
  name: Initech
  currency: USD
tags: [self-serve]
subscriptions:
  - external_id: initech-pro
    plan: pro_monthly
    billing_time: calendar
    start_date: 2026-03-01
"""


def cli(server: SandboxServer, project: Path, *args: str) -> Result:
    return CliRunner().invoke(
        root,
        [*args, "--api-url", server.url, "--root", str(project)],
        env={"LAGO_API_KEY": server.api_key},
    )


def sandbox_today(server: SandboxServer) -> dt.date:
    """The sandbox clock's day (its Date header)."""
    date = httpx.get(f"{server.url}/health", timeout=10).headers["date"]
    from email.utils import parsedate_to_datetime

    return parsedate_to_datetime(date).date()


def advance_to(server: SandboxServer, moment: dt.datetime) -> None:
    date = httpx.get(f"{server.url}/health", timeout=10).headers["date"]
    from email.utils import parsedate_to_datetime

    seconds = (moment - parsedate_to_datetime(date)).total_seconds()
    assert seconds > 0
    httpx.post(f"{server.url}/__sandbox/clock", json={"advance_seconds": seconds}, timeout=10)


def subscription(server: SandboxServer, external_id: str) -> dict[str, Any]:
    sub: dict[str, Any] = lago(server, "GET", f"/subscriptions/{external_id}")["subscription"]
    return sub


def storage_price(sub: dict[str, Any]) -> str:
    charge = next(c for c in sub["plan"]["charges"] if c["code"] == "storage")
    return str(charge["properties"]["amount"])


def migration_intents(project: Path) -> list[dict[str, Any]]:
    lines = (project / "audit" / "ad-hoc.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    return [r for r in records if r["phase"] == "intent" and r.get("migration")]


@pytest.fixture
def project(tmp_path: Path, sandbox_server: SandboxServer) -> Path:
    """The example project with a second Pro tenant and a negotiated storage price for Acme,
    applied: both subscribe to pro_monthly (version 1)."""
    root_dir = example_project(tmp_path)
    (root_dir / "overrides" / "initech.yaml").write_text(INITECH)
    (root_dir / ACME).write_text((root_dir / ACME).read_text() + ACME_DEAL)
    applied = cli(sandbox_server, root_dir, "apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    return root_dir


def test_v2_grandfathers_then_end_of_term_migration_moves_on_the_day(
    project: Path, sandbox_server: SandboxServer
) -> None:
    server = sandbox_server
    edit(project, PLANS, ANCHOR, V2)
    planned = cli(server, project, "plan")
    assert planned.exit_code == 0, planned.output
    assert "pro_monthly_v2" in planned.output
    applied = cli(server, project, "apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "1 created, 0 updated" in applied.output  # the new version, nothing else
    assert lago(server, "GET", "/plans/pro_monthly_v2")["plan"]["amount_cents"] == 11900
    for external_id in ("acme-labs-pro", "initech-pro"):  # grandfathered
        assert subscription(server, external_id)["plan_code"] == "pro_monthly"
    assert storage_price(subscription(server, "acme-labs-pro")) == "0.08"
    assert lago(server, "GET", "/plans/pro_monthly")["plan"]["amount_cents"] == 9900

    today = sandbox_today(server)
    term_end = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    migration = (
        "    migrations:\n      - id: pro-v2\n        to: 2\n        who: all\n"
        f"        when: end_of_term\n        decided: {today.isoformat()}\n"
    )
    edit(project, PLANS, V2, V2 + migration)
    scheduled = cli(server, project, "plan", "--detailed-exitcode")
    assert scheduled.exit_code == 0, scheduled.output  # scheduled, not pending
    text = scheduled.output
    assert "migration pro-v2: plan pro_monthly → version 2 (pro_monthly_v2)" in text
    assert (
        "acme-labs / acme-labs-pro: pro_monthly → pro_monthly_v2, scheduled: a later apply "
        f"moves it (upgrade, sent {term_end}, bills pro_monthly_v2 from {term_end})"
    ) in text
    assert "initech / initech-pro: pro_monthly → pro_monthly_v2, scheduled" in text
    assert "99.00 USD → 119.00 USD a month (+20.00 USD)" in text
    markdown = cli(server, project, "plan", "--format", "markdown").output
    assert "#### Plan migrations" in markdown
    assert "| `initech` | `initech-pro` | `pro_monthly` → `pro_monthly_v2` |" in markdown
    assert cli(server, project, "apply", "--auto-approve").exit_code == 0
    assert subscription(server, "acme-labs-pro")["plan_code"] == "pro_monthly"
    assert migration_intents(project) == []

    advance_to(server, dt.datetime.combine(term_end, dt.time(0, 5), dt.UTC))
    due = cli(server, project, "plan", "--detailed-exitcode")
    assert due.exit_code == 2, due.output
    assert "acme-labs / acme-labs-pro: pro_monthly → pro_monthly_v2, moves in this apply" in (
        due.output
    )
    moved = cli(server, project, "apply", "--auto-approve")
    assert moved.exit_code == 0, moved.output
    for external_id in ("acme-labs-pro", "initech-pro"):
        sub = subscription(server, external_id)
        assert sub["plan_code"] == "pro_monthly_v2"
        assert sub["started_at"][:10] == term_end.isoformat()  # on the right day
        assert sub["previous_plan_code"] == "pro_monthly"
    acme = subscription(server, "acme-labs-pro")
    assert storage_price(acme) == "0.08"  # the negotiated price, on the new version's copy
    assert acme["plan"]["amount_cents"] == 11900
    intents = migration_intents(project)
    assert sorted(r["object_key"] for r in intents) == ["acme-labs-pro", "initech-pro"]
    for record in intents:
        assert (record["method"], record["path"]) == ("POST", "/subscriptions")
        assert record["migration"]["id"] == "pro-v2"
        assert record["migration"]["to_plan"] == "pro_monthly_v2"
        assert record["migration"]["kind"] == "upgrade"
    lines = (project / "audit" / "ad-hoc.jsonl").read_text().splitlines()
    kept = [
        r
        for r in map(json.loads, lines)
        if r["phase"] == "intent" and r["path"] == "/subscriptions/acme-labs-pro/charges/storage"
    ][-1]  # the negotiated price set again on the new version's copy, with its approval
    assert kept["override"]["base_plan_code"] == "pro_monthly_v2"
    assert kept["override"]["approval"] == "DEAL-7"
    done = cli(server, project, "plan", "--detailed-exitcode")
    assert done.exit_code == 0, done.output
    assert "Plan migrations" not in done.output


def test_migration_that_cannot_keep_an_override_is_refused(
    project: Path, sandbox_server: SandboxServer
) -> None:
    server = sandbox_server
    # version 2 bills tokens only: Acme's negotiated storage price has nowhere to go
    v2 = V2 + (
        "        charges:\n          - code: tokens\n            metric: token_usage\n"
        "            model: standard\n            properties: {amount: 0.000002}\n"
        "    migrations:\n      - id: pro-v2-now\n        to: 2\n"
        "        who: {tags: [self-serve], tenants: [acme-labs]}\n        when: now\n"
    )
    edit(project, PLANS, ANCHOR, v2)
    planned = cli(server, project, "plan")
    assert planned.exit_code == 0, planned.output
    assert "acme-labs / acme-labs-pro: pro_monthly → pro_monthly_v2, refused:" in (planned.output)
    assert "plan 'pro_monthly_v2' has no charge 'storage'" in planned.output
    assert "initech / initech-pro: pro_monthly → pro_monthly_v2, moves in this apply" in (
        planned.output
    )
    refused = cli(server, project, "apply", "--auto-approve")
    assert refused.exit_code == 1, refused.output
    assert "migration 'pro-v2-now' cannot move acme-labs-pro to pro_monthly_v2" in (refused.output)
    assert "overrides/acme-labs.yaml:" in refused.output  # where the override is written
    for external_id in ("acme-labs-pro", "initech-pro"):  # nothing was applied
        assert subscription(server, external_id)["plan_code"] == "pro_monthly"
    assert storage_price(subscription(server, "acme-labs-pro")) == "0.08"


def test_version_and_migration_mistakes_are_located(tmp_path: Path) -> None:
    root_dir = example_project(tmp_path)
    edit(
        root_dir,
        PLANS,
        ANCHOR,
        ANCHOR + "    versions:\n      current: 3\n      2: {amount: 119.00 USD}\n"
        "    migrations:\n      - {id: m1, to: 4, when: end_of_term}\n"
        "      - {id: m2, to: 2, when: now, who: {tenants: [acme]}}\n",
    )
    with pytest.raises(CatalogError) as caught:
        load_project(root_dir)
    text = str(caught.value)
    line = (root_dir / PLANS).read_text().splitlines().index("      current: 3") + 1
    assert f"catalog/plans.yaml:{line}:" in text
    assert "expected the number of a version of plan 'pro_monthly' (1, 2), got '3'" in text
    assert "end_of_term needs `decided: YYYY-MM-DD`" in text
    assert "migration 'm2' names unknown tenant 'acme'" in text


def test_end_of_term_downgrade_is_held_by_lago_and_starts_on_the_day(
    project: Path, sandbox_server: SandboxServer
) -> None:
    server = sandbox_server
    today = sandbox_today(server)
    term_end = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    cheaper = ANCHOR + (
        "    versions:\n      2: {amount: 79.00 USD}\n"
        "    migrations:\n      - id: pro-cheaper\n        to: 2\n"
        "        who: {tenants: [acme-labs]}\n"
        f"        when: end_of_term\n        decided: {today.isoformat()}\n"
    )
    edit(project, PLANS, ANCHOR, cheaper)
    planned = cli(server, project, "plan")
    assert (
        "acme-labs / acme-labs-pro: pro_monthly → pro_monthly_v2, moves in this apply "
        f"(downgrade, bills pro_monthly_v2 from {term_end})"
    ) in planned.output
    assert "99.00 USD → 79.00 USD a month (-20.00 USD)" in planned.output
    assert "initech" not in planned.output.split("Plan migrations")[1]  # not selected
    applied = cli(server, project, "apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    acme = subscription(server, "acme-labs-pro")
    assert (acme["plan_code"], acme["next_plan_code"]) == ("pro_monthly", "pro_monthly_v2")
    pending = lago(server, "GET", "/subscriptions/acme-labs-pro?status=pending")["subscription"]
    assert storage_price(pending) == "0.08"  # the negotiated price waits on the new version
    held = cli(server, project, "plan", "--detailed-exitcode")
    assert held.exit_code == 0, held.output
    assert "in progress: Lago holds the downgrade" in held.output
    assert len(migration_intents(project)) == 1

    advance_to(server, dt.datetime.combine(term_end, dt.time(0, 5), dt.UTC))
    acme = subscription(server, "acme-labs-pro")
    assert acme["plan_code"] == "pro_monthly_v2"
    assert acme["started_at"][:10] == term_end.isoformat()
    assert storage_price(acme) == "0.08"
    assert subscription(server, "initech-pro")["plan_code"] == "pro_monthly"  # grandfathered
    done = cli(server, project, "plan", "--detailed-exitcode")
    assert done.exit_code == 0, done.output


def test_import_keeps_versions_as_written(project: Path, sandbox_server: SandboxServer) -> None:
    server = sandbox_server
    edit(project, PLANS, ANCHOR, V2)
    assert cli(server, project, "apply", "--auto-approve").exit_code == 0
    before = (project / PLANS).read_text()
    same = cli(server, project, "import")
    assert same.exit_code == 0, same.output
    assert (project / PLANS).read_text() == before  # no second pro_monthly_v2 appended
    lago(server, "PUT", "/plans/pro_monthly_v2", {"plan": {"amount_cents": 12900}})
    differs = cli(server, project, "import")
    assert differs.exit_code == 0, differs.output
    assert (
        "plan pro_monthly_v2: differs in Lago; not imported (version 2 of plan pro_monthly: "
        "edit its `versions:` entry)"
    ) in differs.output
    assert (project / PLANS).read_text() == before


def test_impact_prices_each_subscription_on_the_version_it_will_be_on(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    """`lagoform impact` resolves versions against Lago: a grandfathered subscriber's bill
    does not move with version 2; a migration now moves it to version 2's fee."""
    project = example_project(tmp_path)
    assert cli(sandbox_server, project, "apply", "--auto-approve").exit_code == 0
    edit(project, PLANS, ANCHOR, V2)
    kept = cli(sandbox_server, project, "impact", "--format", "json")
    assert kept.exit_code == 0, kept.output
    movers = json.loads(kept.stdout[kept.stdout.index("{") :])["movers"]
    assert all(m["external_customer_id"] != "acme-labs" for m in movers)  # grandfathered

    edit(
        project,
        PLANS,
        V2,
        V2 + "    migrations:\n      - {id: to-v2, to: 2, who: all, when: now}\n",
    )
    moved = cli(sandbox_server, project, "impact", "--format", "json")
    assert moved.exit_code == 0, moved.output
    acme = next(
        m
        for m in json.loads(moved.stdout[moved.stdout.index("{") :])["movers"]
        if m["external_customer_id"] == "acme-labs"
    )
    assert (acme["old_cents"], acme["new_cents"]) == (9900, 11900)
