"""`lagoform plan / apply / import` through the real root group (CliRunner), against the sandbox
server over HTTP (``--api-url``) and the embedded sandbox (the default target)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from lagoform.cli import _register, root
from tests.conftest import SandboxServer
from tests.engine.e2e_helpers import edit, example_project, lago

_register()


def run(*args: str, key: str | None = None) -> Result:
    env = {"LAGO_API_KEY": key} if key else {}
    return CliRunner().invoke(root, list(args), env=env)


@pytest.fixture
def server(sandbox_server: SandboxServer) -> SandboxServer:
    return sandbox_server


def http(server: SandboxServer, project: Path, *args: str) -> Result:
    return run(*args, "--api-url", server.url, "--root", str(project), key=server.api_key)


def test_plan_apply_plan_over_http(tmp_path: Path, server: SandboxServer) -> None:
    project = example_project(tmp_path)
    first = http(server, project, "plan", "--detailed-exitcode")
    assert first.exit_code == 2, first.output
    assert first.output.startswith(f"target: {server.url} (--api-url, key from LAGO_API_KEY)")
    assert "18 to create" in first.output
    applied = http(server, project, "apply", "--auto-approve", "--actor", "ci-test")
    assert applied.exit_code == 0, applied.output
    assert "Apply complete: 18 created, 0 updated, 0 deleted, 0 blocked (" in applied.output
    assert "--expect-head sha256:" in applied.stderr  # the log's head, to pin
    assert server.api_key not in applied.output
    audit_log = project / "audit" / "ad-hoc.jsonl"
    log = audit_log.read_text()
    assert '"actor":"ci-test"' in log
    assert "MSA-2026-014" in log  # the override's approval reaches the finance audit record
    again = http(server, project, "plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert "No changes" in again.output


def test_json_format_and_saved_plan_apply(tmp_path: Path, server: SandboxServer) -> None:
    project = example_project(tmp_path)
    out = tmp_path / "plan.json"
    result = http(server, project, "plan", "--format", "json", "--out", str(out))
    assert result.exit_code == 0, result.output
    stdout = result.stdout
    data = json.loads(stdout)  # the target line went to stderr: stdout stays JSON
    assert data["review_version"] == 1 and data["plan"]["format_version"] == 2
    assert data["plan"]["plan_id"]
    assert json.loads(out.read_text()) == data
    applied = http(server, project, "apply", str(out), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert http(server, project, "plan", "--detailed-exitcode").exit_code == 0


def test_stale_saved_plan_refused_naming_what_moved(tmp_path: Path, server: SandboxServer) -> None:
    project = example_project(tmp_path)
    assert http(server, project, "apply", "--auto-approve").exit_code == 0
    edit(project, "catalog/plans.yaml", "properties: {amount: 0.10}", "properties: {amount: 0.12}")
    out = tmp_path / "plan.json"
    assert http(server, project, "plan", "--out", str(out)).exit_code == 0
    lago(server, "PUT", "/billable_metrics/storage_gb", {"billable_metric": {"name": "GB!"}})
    lago(server, "PUT", "/plans/pro_annual", {"plan": {"name": "Renamed", "interval": "yearly"}})
    refused = http(server, project, "apply", str(out), "--auto-approve")
    assert refused.exit_code == 1
    # before anything else (not even the target line), what moved, down to the field
    assert refused.stdout == ""
    assert refused.stderr.startswith(
        f"Error: live state of {server.url} (--api-url, key from LAGO_API_KEY) changed since "
        "this plan was made; run `lagoform plan` again.\nWhat moved:\n"
    )
    assert "  - plan pro_annual: name Pro (annual) → Renamed\n" in refused.stderr
    assert "  - billable metric storage_gb: name " in refused.stderr
    assert "→ GB!\n" in refused.stderr
    assert "Traceback" not in refused.output


def test_markdown_format(tmp_path: Path, server: SandboxServer) -> None:
    project = example_project(tmp_path)
    result = http(server, project, "plan", "--format", "markdown")
    assert result.exit_code == 0
    assert result.stdout.startswith(
        f"📝 **Changes pending** for `{server.url} (--api-url, key from LAGO_API_KEY)` — 18 "
        "objects change (18 created); `lagoform apply` makes them.\n\n"
    )
    assert "**What changes:** 1 tax created, 6 billable metrics created" in result.stdout


def test_invalid_catalog_is_reported_without_calling_lago(tmp_path: Path) -> None:
    project = example_project(tmp_path)
    edit(project, "catalog/plans.yaml", "metric: storage_gb", "metric: storage_gbb", count=2)
    # nothing listens on port 9: any call to Lago would fail with a connection error instead
    result = run("plan", "--api-url", "http://127.0.0.1:9", "--root", str(project), key="k")
    assert result.exit_code == 1
    assert "storage_gbb" in result.output and "nothing was sent to Lago" in result.output
    assert "could not" not in result.output.lower() and "refused" not in result.output.lower()


def test_apply_needs_confirmation_without_a_terminal(tmp_path: Path, server: SandboxServer) -> None:
    project = example_project(tmp_path)
    result = http(server, project, "apply")
    assert result.exit_code == 1
    assert "--auto-approve" in result.output
    assert lago(server, "GET", "/plans")["plans"] == []


def test_deleting_a_subscribed_plan_needs_named_confirmation(
    tmp_path: Path, server: SandboxServer
) -> None:
    project = example_project(tmp_path)
    assert http(server, project, "apply", "--auto-approve").exit_code == 0
    lago(
        server,
        "POST",
        "/plans",
        {
            "plan": {
                "code": "legacy",
                "name": "Legacy",
                "interval": "monthly",
                "amount_cents": 0,
                "amount_currency": "USD",
                "pay_in_advance": False,
            }
        },
    )
    lago(
        server,
        "POST",
        "/subscriptions",
        {
            "subscription": {
                "external_customer_id": "acme-labs",
                "plan_code": "legacy",
                "external_id": "acme-old",
            }
        },
    )
    (project / "catalog" / "remove.yaml").write_text("remove:\n  plans: [legacy]\n")
    refused = http(server, project, "apply", "--auto-approve")
    assert refused.exit_code == 1
    assert "--confirm-delete-plan legacy" in refused.output
    assert not lago(server, "GET", "/plans/legacy")["plan"]["pending_deletion"]
    ok = http(server, project, "apply", "--auto-approve", "--confirm-delete-plan", "legacy")
    assert ok.exit_code == 0, ok.output
    assert "- plan legacy: deleted (" in ok.output
    assert "Apply complete: 0 created, 0 updated, 1 deleted, 0 blocked" in ok.output


def test_import_then_plan_is_empty(tmp_path: Path, server: SandboxServer) -> None:
    project = example_project(tmp_path)
    assert http(server, project, "apply", "--auto-approve").exit_code == 0
    fresh = tmp_path / "imported"
    fresh.mkdir()
    imported = http(server, fresh, "import")
    assert imported.exit_code == 0, imported.output
    assert (fresh / "catalog" / "plans.yaml").exists()
    assert (fresh / "overrides" / "globex.yaml").exists()
    assert "MSA" not in (fresh / "overrides" / "globex.yaml").read_text()  # reason is Lago-less
    plans = yaml.safe_load((fresh / "catalog" / "plans.yaml").read_text())["plans"]
    annual = next(p for p in plans if p["code"] == "pro_annual")  # a variant again
    assert annual["extends"] == "pro_monthly" and "charges" not in annual
    plan = http(server, fresh, "plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    before = {p: p.read_bytes() for p in fresh.rglob("*.yaml")}
    again = http(server, fresh, "import")  # into the project it wrote: nothing to change
    assert again.exit_code == 0, again.output
    assert "into 0 file(s)" in again.output and f"kept {len(before)} file(s)" in again.output
    assert {p: p.read_bytes() for p in fresh.rglob("*.yaml")} == before


def test_embedded_sandbox_is_the_default_target(tmp_path: Path) -> None:
    project = example_project(tmp_path)
    result = run("plan", "--root", str(project))
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "target: sandbox (embedded emulator, state .lagoform/sandbox.json)"
    )
    assert "+ plan pro_monthly" in result.output
    applied = run("apply", "--root", str(project), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert (project / ".lagoform" / "sandbox.json").exists()
    assert not (project / ".lagoform" / "apply-sandbox.lock").exists()
    again = run("plan", "--root", str(project), "--detailed-exitcode")
    assert again.exit_code == 0, again.output


# -- negotiated prices: the finance trail before merge, audit wiring, premium ----------------

TOKENS_DEAL = ("properties: {amount: 0.0000015}", "properties: {amount: 0.0000014}")


def _records(project: Path) -> list[dict[str, object]]:
    log = project / "audit" / "ad-hoc.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_plan_lists_the_override_audit_records_in_every_format(
    tmp_path: Path, server: SandboxServer
) -> None:
    project = example_project(tmp_path)
    assert http(server, project, "apply", "--auto-approve").exit_code == 0
    edit(project, "overrides/globex.yaml", *TOKENS_DEAL)
    text = http(server, project, "plan")
    assert text.exit_code == 0, text.output
    assert "Audit records apply will write for overrides (1):" in text.stdout
    assert "PUT /subscriptions/globex-main/charges/tokens" in text.stdout
    assert "approval: MSA-2026-014" in text.stdout
    assert "tokens properties.amount: 0.0000018 → 0.0000014 (changed)" in text.stdout
    # the price table: catalog, negotiated now, after apply
    table = r"tokens price +0\.0000018 USD/unit +0\.0000015 USD/unit +0\.0000014 USD/unit +▼ -6\.7%"
    assert re.search(table, text.stdout)
    markdown = http(server, project, "plan", "--format", "markdown")
    assert "🧾 Audit records apply will write for negotiated prices (1)" in markdown.stdout
    assert "| subscription globex-main | `tokens · price` |" in markdown.stdout
    data = json.loads(http(server, project, "plan", "--format", "json").stdout)
    [record] = data["audit_preview"]
    assert record["path"] == "/subscriptions/globex-main/charges/tokens"
    assert record["override"]["approval"] == "MSA-2026-014"
    assert record["override"]["charges_diff"] == [
        {
            "charge_code": "tokens",
            "filter_values": None,
            "field": "properties.amount",
            "base_value": "0.0000018",
            "override_value": "0.0000014",
            "change": "changed",
            "per": None,  # the example catalog writes this price per single token
        }
    ]
    assert record["override"]["currency"] == "USD"


def test_saved_plan_apply_records_override_facts_with_the_previous_values(
    tmp_path: Path, server: SandboxServer
) -> None:
    project = example_project(tmp_path)
    assert http(server, project, "apply", "--auto-approve").exit_code == 0
    edit(project, "overrides/globex.yaml", *TOKENS_DEAL)
    out = tmp_path / "plan.json"
    assert http(server, project, "plan", "--out", str(out)).exit_code == 0
    applied = http(server, project, "apply", str(out), "--auto-approve", "--actor", "finance")
    assert applied.exit_code == 0, applied.output
    [intent, outcome] = [
        r for r in _records(project) if r["path"] == "/subscriptions/globex-main/charges/tokens"
    ][-2:]
    assert (intent["phase"], outcome["phase"], intent["actor"]) == ("intent", "outcome", "finance")
    override = intent["override"]
    assert isinstance(override, dict) and override["approval"] == "MSA-2026-014"
    previous = {
        (e["filter_values"] is None, e["field"]): e["override_value"]
        for e in override["previous_overrides"]
    }
    assert previous[(True, "properties.amount")] == "0.0000015"  # what Lago held before


def test_apply_reports_intents_left_without_outcome(tmp_path: Path, server: SandboxServer) -> None:
    from lagoform.audit.configured import open_trail
    from lagoform.config import load_config
    from lagoform.engine.plan import ObjectChange

    project = example_project(tmp_path)
    trail = open_trail(load_config(project), root=project, environment="ad-hoc",
                       api_url=server.url, plan_id="crashed", actor="ci", env={})  # fmt: skip
    with trail:
        change = ObjectChange(kind="wallet", key="globex/prepaid", action="update")
        request = {"method": "POST", "path": "/wallet_transactions", "body": None}
        trail.intent(change, request)  # ...and the process died before the outcome
    planned = http(server, project, "plan")  # plan reports it too, settling by reading Lago
    assert planned.exit_code == 0, planned.output
    assert "holds 1 call(s) whose outcome was never recorded or is unknown" in planned.stderr
    assert "apply records this in the audit log" in planned.stderr
    applied = http(server, project, "apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "holds 1 call(s) whose outcome was never recorded or is unknown" in applied.stderr
    assert "update wallet globex/prepaid: POST /wallet_transactions" in applied.stderr
    assert "by ci (record" in applied.stderr and "no outcome)" in applied.stderr
    # no such wallet existed in Lago: the top-up cannot have landed, and that is recorded
    assert "settled: it did not land — customer globex has no wallet 'prepaid'" in applied.stderr
    assert "recorded in the audit log" in applied.stderr
    again = http(server, project, "apply", "--auto-approve")
    assert again.exit_code == 0 and "Nothing to apply." in again.output
    assert "whose outcome" not in again.stderr  # settled once, not reported forever


def test_premium_off_gives_an_actionable_error(tmp_path: Path, server: SandboxServer) -> None:
    project = example_project(tmp_path)
    assert http(server, project, "apply", "--auto-approve").exit_code == 0
    server.premium(False)
    edit(project, "overrides/globex.yaml", *TOKENS_DEAL)
    planned = http(server, project, "plan")
    assert "premium licence" in planned.stdout  # said before apply, too
    refused = http(server, project, "apply", "--auto-approve")
    assert refused.exit_code == 1
    assert "plan overrides need Lago's premium licence" in refused.output
    assert "remove `overrides:` from that subscription in overrides/globex.yaml" in refused.output
    assert "Traceback" not in refused.output
    plan = lago(server, "GET", "/subscriptions/globex-main")["subscription"]["plan"]
    tokens = next(c for c in plan["charges"] if c["code"] == "tokens")
    assert tokens["properties"] == {"amount": "0.0000015"}


def test_plan_says_the_projects_warnings(tmp_path: Path) -> None:
    project = example_project(tmp_path)
    edit(
        project,
        "overrides/globex.yaml",
        "      charges:\n",
        "      charges:\n        images:\n          properties: {amount: 0.03}\n",
    )
    result = run("plan", "--root", str(project))
    assert result.exit_code == 0, result.output
    assert (
        "overrides/globex.yaml:33:9: warning: the override of charge 'images' negotiates "
        "nothing: every value it sets equals plan 'enterprise'"
    ) in result.output
