"""Each policy rule fires on a crafted change, against the sandbox over real HTTP, through the
real CLI: the finding's id, the YAML line (file:line) of the change that breaks the rule, its
severity and the way out; apply refuses an error until it is approved or acknowledged, and a
warning never blocks."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from lagoform.cli import _register, root
from tests.conftest import SandboxServer
from tests.engine.e2e_helpers import edit, example_project, lago

_register()
pytestmark = pytest.mark.slow

APPROVALS = """approvals:
  finance:
    reviewers: ["@acme/finance"]
"""


def run(server: SandboxServer, project: Path, *args: str, **env: str) -> Result:
    return CliRunner().invoke(
        root,
        [*args, "--api-url", server.url, "--root", str(project)],
        env={"LAGO_API_KEY": server.api_key, "LAGOFORM_APPROVALS": "", **env},
    )


def policies(project: Path, rules: str, extra: str = "") -> None:
    (project / "policies.yaml").write_text(APPROVALS + extra + "rules:\n" + rules)


def line_of(project: Path, file: str, text: str, after: str | None = None) -> str:
    """``file:line`` of the first line holding ``text`` (after the line holding ``after``)."""
    lines = (project / file).read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    index = next(i for i in range(start, len(lines)) if text in lines[i])
    return f"{file}:{index + 1}"


def findings(server: SandboxServer, project: Path, *args: str) -> dict[str, dict[str, Any]]:
    result = run(server, project, "plan", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)["plan"]
    return {f["id"]: f for f in plan["findings"] if f.get("rule")}


@pytest.fixture
def project(tmp_path: Path, sandbox_server: SandboxServer) -> Path:
    """The example project applied to the sandbox (Acme on pro_monthly at 99 USD a month)."""
    found = example_project(tmp_path)
    applied = run(sandbox_server, found, "apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    return found


def raise_pro_fee(project: Path, to: str = "149.00") -> str:
    edit(project, "catalog/plans.yaml", "amount: 99.00 USD", f"amount: {to} USD")
    return line_of(project, "catalog/plans.yaml", f"amount: {to} USD")


def test_max_increase_fires_per_customer_from_the_revenue_impact(
    project: Path, sandbox_server: SandboxServer
) -> None:
    policies(
        project,
        "  - {id: cap, rule: max_increase, percent: 15, amount: 1000.00 USD, approval: finance}\n",
    )
    where = raise_pro_fee(project)
    found = findings(sandbox_server, project, "--no-impact")  # the rule prices usage anyway
    cap = found["policy:cap:acme-labs"]
    assert cap["severity"] == "error" and not cap["acknowledged"]
    assert cap["where"] == where  # the changed base fee of pro_monthly
    assert "rises +50.00 USD (50.5 %) a month, from 99.00 USD to 149.00 USD" in cap["message"]
    assert "more than 15 %" in cap["message"]
    assert cap["approval"] == "finance" and cap["reviewers"] == ["@acme/finance"]
    assert "--approval finance=REF" in cap["way_out"]
    assert "acknowledge: [policy:cap:acme-labs]" in cap["way_out"]
    assert list(found) == ["policy:cap:acme-labs"]  # globex (enterprise) does not move


def test_max_increase_by_amount_and_within_limits(
    project: Path, sandbox_server: SandboxServer
) -> None:
    policies(project, "  - {id: cap, rule: max_increase, amount: 10.00 USD}\n")
    raise_pro_fee(project)
    assert (
        "more than 10.00 USD a month"
        in findings(sandbox_server, project)["policy:cap:acme-labs"]["message"]
    )
    policies(project, "  - {id: cap, rule: max_increase, percent: 60, amount: 100.00 USD}\n")
    assert findings(sandbox_server, project) == {}


def test_min_notice_fires_on_a_rise_reaching_current_customers(
    project: Path, sandbox_server: SandboxServer
) -> None:
    policies(project, "  - {id: notice, rule: min_notice, days: 30}\n")
    where = raise_pro_fee(project)
    found = findings(sandbox_server, project)
    notice = found["policy:notice:plan:pro_monthly"]
    assert notice["where"] == where and notice["severity"] == "error"
    assert (
        "reaching 1 current customer(s) (acme-labs) at apply (not scheduled)" in (notice["message"])
    )
    assert "less than 30 days of notice" in notice["message"]
    assert "a `scheduled:` entry beside the price with `effective: " in notice["way_out"]
    # pro_annual has no subscriber: nobody to notify; a cut needs no notice
    assert list(found) == ["policy:notice:plan:pro_monthly"]
    edit(project, "catalog/plans.yaml", "amount: 149.00 USD", "amount: 89.00 USD")
    assert findings(sandbox_server, project) == {}
    # a negotiated price that rises reaches its customer the same way
    edit(project, "overrides/globex.yaml", "{amount: 0.0000015}", "{amount: 0.0000016}")
    deal = findings(sandbox_server, project)["policy:notice:subscription:globex-main"]
    assert deal["where"] == line_of(project, "overrides/globex.yaml", "{amount: 0.0000016}")
    assert (
        "subscription globex-main raises tokens, reaching 1 current customer(s) (globex)"
        in (deal["message"])
    )
    assert (
        "`acknowledge: [policy:notice:subscription:globex-main]` in the tenant's overrides"
        in (deal["way_out"])
    )


def test_negotiated_floor_fires_unless_the_override_names_the_approval(
    project: Path, sandbox_server: SandboxServer
) -> None:
    policies(project, "  - {id: floor, rule: negotiated_floor, floor: 0.85, approval: finance}\n")
    found = findings(sandbox_server, project)
    assert set(found) == {
        "policy:floor:globex-main:tokens",  # 0.0000015 < 0.85 × 0.0000018
        "policy:floor:globex-main:tokens:modality=text;type=input",
        "policy:floor:globex-main:tokens:modality=text;type=output",
    }
    deal = found["policy:floor:globex-main:tokens:modality=text;type=output"]
    assert deal["where"] == line_of(
        project, "overrides/globex.yaml", "properties: {amount: 0.000004}"
    )
    assert (
        "negotiates tokens [modality=text, type=output] amount at 0.000004 USD per unit, "
        in (deal["message"])
    )
    assert "below 0.85 × its list price (at least 0.00000425 USD per unit)" in deal["message"]
    assert deal["way_out"].startswith("negotiate at least 0.00000425 USD per unit, or get the ")
    assert "`approvals:` in the tenant's overrides" in deal["way_out"]
    # the same plan, validated offline: file:line of each, exit 1
    offline = CliRunner().invoke(root, ["validate", "--root", str(project)])
    assert offline.exit_code == 1
    assert f"{deal['where']}: policy floor: subscription globex-main negotiates" in offline.output
    edit(
        project,
        "overrides/globex.yaml",
        "      approval: MSA-2026-014\n",
        "      approval: MSA-2026-014\n      approvals: [{kind: finance, ref: FIN-77}]\n",
    )
    approved = findings(sandbox_server, project)
    assert set(approved) == set(found)
    assert all(f["acknowledged"] and f["approved"] == "finance FIN-77" for f in approved.values())
    assert CliRunner().invoke(root, ["validate", "--root", str(project)]).exit_code == 0


COSTS = """costs:
  - metric: token_usage
    per: 1M tokens
    currency: USD
    costs:
      - {values: {model: atlas-2, type: output, modality: text}, cost: 5.00}
      - {values: {type: input, modality: text}, cost: 0.50}
"""


def test_margin_floor_fires_on_a_list_price_below_cost(
    project: Path, sandbox_server: SandboxServer
) -> None:
    policies(
        project,
        "  - {id: margin, rule: margin_floor, margin: 0.3, plans: [enterprise]}\n",
        extra=COSTS,
    )
    found = findings(sandbox_server, project)
    assert set(found) == {"policy:margin:enterprise:tokens:modality=text;type=output"}
    margin = found["policy:margin:enterprise:tokens:modality=text;type=output"]
    assert margin["where"] == line_of(
        project, "catalog/plans.yaml", "properties: {amount: 0.000005}", after="code: enterprise"
    )
    assert (
        "lists tokens [modality=text, type=output] at 5 USD per 1M tokens, below cost × "
        "(1 + 0.3) = 6.5 USD per 1M tokens (cost of modality=text, model=atlas-2, type=output: "
        "5 per 1M tokens)" in margin["message"]
    )
    assert margin["way_out"].startswith("price it at least 6.5 USD per 1M tokens")
    assert (
        "`acknowledge: [policy:margin:enterprise:tokens:modality=text;type=output]` in "
        "policies.yaml" in margin["way_out"]
    )
    # acknowledged in policies.yaml: still shown, no longer open
    policies(
        project,
        "  - {id: margin, rule: margin_floor, margin: 0.3, plans: [enterprise]}\n",
        extra=COSTS
        + "acknowledge: ['policy:margin:enterprise:tokens:modality=text;type=output']\n",
    )
    assert findings(sandbox_server, project)[
        "policy:margin:enterprise:tokens:modality=text;type=output"
    ]["acknowledged"]


def test_approval_above_a_threshold_names_the_approval_and_its_reviewers(
    project: Path, sandbox_server: SandboxServer
) -> None:
    policies(
        project,
        "  - {id: big, rule: approval_above, price_change_percent: 25, approval: finance}\n",
    )
    where = raise_pro_fee(project)
    found = findings(sandbox_server, project)
    assert set(found) == {"policy:big:plan:pro_monthly"}  # pro_annual's fee is its own
    big = found["policy:big:plan:pro_monthly"]
    assert big["where"] == where
    assert "moves base fee (50.5 %): more than 25 % needs the finance approval" in big["message"]
    markdown = run(sandbox_server, project, "plan", "--format", "markdown")
    assert "⛔ **Policy violations**" in markdown.stdout.splitlines()[0]
    assert (
        "**Approval required:** `finance` from @acme/finance (1 finding): give it under "
        "`approved:` in `policies.yaml` (with its reference and the finding ids), or "
        "`lagoform apply --approval finance=REF`." in markdown.stdout
    )
    given = findings(sandbox_server, project, "--approval", "finance=FIN-9")
    assert given["policy:big:plan:pro_monthly"]["approved"] == "finance FIN-9"


def test_apply_refuses_an_error_and_goes_through_when_approved_or_acknowledged(
    project: Path, sandbox_server: SandboxServer
) -> None:
    policies(
        project,
        "  - {id: big, rule: approval_above, price_change_percent: 25, approval: finance}\n"
        "  - {id: notice, rule: min_notice, days: 30}\n",
    )
    raise_pro_fee(project)
    refused = run(sandbox_server, project, "apply", "--auto-approve")
    assert refused.exit_code == 1
    assert "break the pricing policies" in refused.output
    assert "policy:big:plan:pro_monthly (catalog/plans.yaml:" in refused.output
    assert "policy:notice:plan:pro_monthly" in refused.output
    assert "Apply complete" not in refused.output
    # a saved plan is refused the same way
    saved = project / "plan.json"
    assert run(sandbox_server, project, "plan", "--out", str(saved)).exit_code == 0
    again = run(sandbox_server, project, "apply", str(saved))
    assert again.exit_code == 1 and "policy:big:plan:pro_monthly" in again.output
    # approving one kind is not enough while the notice is open
    half = run(sandbox_server, project, "apply", str(saved), "--approval", "finance=FIN-1")
    assert half.exit_code == 1 and "policy:big:plan:pro_monthly" not in half.output
    done = run(
        sandbox_server,
        project,
        "apply",
        str(saved),
        "--acknowledge",
        "policy:notice:plan:pro_monthly",
        LAGOFORM_APPROVALS="finance=FIN-1",
    )
    assert done.exit_code == 0, done.output
    assert "Apply complete: 0 created, 1 updated" in done.output
    assert run(sandbox_server, project, "plan", "--detailed-exitcode").exit_code == 0


def test_a_warning_is_shown_and_never_blocks(project: Path, sandbox_server: SandboxServer) -> None:
    policies(project, "  - {id: notice, rule: min_notice, days: 30, severity: warning}\n")
    raise_pro_fee(project)
    planned = run(sandbox_server, project, "plan")
    assert "Pricing policies (policies.yaml): 1 warning" in planned.output
    assert "warning: policy:notice:plan:pro_monthly" in planned.output
    applied = run(sandbox_server, project, "apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "Apply complete: 0 created, 1 updated" in applied.output


def test_an_approval_written_in_policies_yaml_lets_its_findings_through(
    project: Path, sandbox_server: SandboxServer
) -> None:
    rule = "  - {id: big, rule: approval_above, price_change_percent: 25, approval: finance}\n"
    given = "approved:\n  - {kind: finance, ref: FIN-31, findings: [policy:big:plan:pro_monthly]}\n"
    policies(project, rule, extra=given)
    raise_pro_fee(project)
    big = findings(sandbox_server, project)["policy:big:plan:pro_monthly"]
    assert big["acknowledged"] and big["approved"] == "finance FIN-31"
    applied = run(sandbox_server, project, "apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "approved (finance FIN-31): policy:big:plan:pro_monthly" in applied.output


def test_min_notice_reads_scheduled_prices_and_lets_a_due_one_through(
    project: Path, sandbox_server: SandboxServer
) -> None:
    """A rise written as a scheduled price (docs/pricing-changes/scheduled.md) is judged by
    its date while it is ahead; on its day it is applied without a notice finding (its notice
    was judged when it was scheduled), so the scheduled run is not held."""
    from tests.engine.test_scheduled_e2e import DAY, schedule_fee, server_today

    policies(project, "  - {id: notice, rule: min_notice, days: 30}\n")
    today = server_today(sandbox_server)
    schedule_fee(project, today + dt.timedelta(days=20))
    soon = findings(sandbox_server, project)
    key = f"policy:notice:plan:pro_monthly:{(today + dt.timedelta(days=20)).isoformat()}"
    assert list(soon) == [key]
    assert soon[key]["where"] == line_of(project, "catalog/plans.yaml", "effective:")
    assert "reaching 1 current customer(s) (acme-labs): less than 30 days" in soon[key]["message"]
    # something else pending too, so apply has work it must refuse
    edit(project, "catalog/plans.yaml", "    name: Pro\n", "    name: Pro (2027)\n")
    refused = run(sandbox_server, project, "apply", "--auto-approve")
    assert refused.exit_code == 1 and key in refused.output, refused.output

    edit(project, "catalog/plans.yaml", (today + dt.timedelta(days=20)).isoformat(),
         (today + dt.timedelta(days=30)).isoformat())  # fmt: skip
    assert findings(sandbox_server, project) == {}  # 30 days ahead: enough notice
    renamed = run(sandbox_server, project, "apply", "--auto-approve")
    assert renamed.exit_code == 0, renamed.output

    sandbox_server.advance_clock(30 * DAY)  # its day: due, pending, no notice finding
    assert findings(sandbox_server, project) == {}
    applied = run(sandbox_server, project, "apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    plan = run(sandbox_server, project, "plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output  # the due fee is in Lago: nothing left


def test_approval_above_judges_a_scheduled_rise_when_it_is_scheduled(
    project: Path, sandbox_server: SandboxServer
) -> None:
    """The approval a scheduled rise needs is asked for in the pull request that schedules it
    (the finding id its day will use), so an approval given there (`approved:`) lets the
    scheduled run apply it on its day."""
    from tests.engine.test_scheduled_e2e import DAY, server_today

    policies(
        project,
        "  - {id: big, rule: approval_above, price_change_percent: 25, approval: finance}\n",
    )
    effective = server_today(sandbox_server) + dt.timedelta(days=40)
    edit(
        project,
        "catalog/plans.yaml",
        "    amount: 99.00 USD\n",
        "    amount: 99.00 USD\n    scheduled:\n"
        f"      - {{effective: {effective.isoformat()}, amount: 149.00 USD}}\n",
    )
    ahead = findings(sandbox_server, project)
    assert list(ahead) == ["policy:big:plan:pro_monthly"]
    big = ahead["policy:big:plan:pro_monthly"]
    assert big["where"] == line_of(project, "catalog/plans.yaml", "effective:")
    assert "moves base fee (50.5 %): more than 25 % needs the finance approval" in big["message"]
    assert not big["approved"]

    policies(
        project,
        "  - {id: big, rule: approval_above, price_change_percent: 25, approval: finance}\n",
        "approved:\n  - {kind: finance, ref: FIN-77, findings: [policy:big:plan:pro_monthly]}\n",
    )
    assert findings(sandbox_server, project)["policy:big:plan:pro_monthly"]["approved"] == (
        "finance FIN-77"
    )
    sandbox_server.advance_clock(40 * DAY)  # its day: pending, and still approved
    due = findings(sandbox_server, project)
    assert due["policy:big:plan:pro_monthly"]["approved"] == "finance FIN-77"
    applied = run(sandbox_server, project, "apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    plan = run(sandbox_server, project, "plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output


def test_max_increase_counts_a_migration_to_a_dearer_version(
    project: Path, sandbox_server: SandboxServer
) -> None:
    """A migration moves subscribers without changing a price: the customer's bill still
    rises, and the limit holds it at the migration's line until approved."""
    policies(project, "  - {id: cap, rule: max_increase, percent: 15, approval: finance}\n")
    edit(
        project,
        "catalog/plans.yaml",
        "  # A variant: everything of pro_monthly",
        "    versions:\n      current: 2\n      2: {amount: 149.00 USD}\n"
        "    migrations:\n      - {id: pro-v2, to: 2, who: all, when: now}\n\n"
        "  # A variant: everything of pro_monthly",
    )
    found = findings(sandbox_server, project)
    cap = found["policy:cap:acme-labs"]
    assert cap["where"] == line_of(project, "catalog/plans.yaml", "{id: pro-v2")
    assert "rises +50.00 USD (50.5 %) a month, from 99.00 USD to 149.00 USD" in cap["message"]
    refused = run(sandbox_server, project, "apply", "--auto-approve")
    assert refused.exit_code == 1 and "policy:cap:acme-labs" in refused.output
    moved = run(sandbox_server, project, "apply", "--auto-approve", "--approval", "finance=FIN-8")
    assert moved.exit_code == 0, moved.output
    assert (
        lago(sandbox_server, "GET", "/subscriptions/acme-labs-pro")["subscription"]["plan_code"]
        == "pro_monthly_v2"
    )
