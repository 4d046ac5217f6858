"""Audit records in the YAML's price units, end to end over real HTTP (`lagoform sandbox serve`).

A catalog priced ``per: 1M tokens`` (one filter ``per: 1K tokens``, a graduated charge ``per: 1M
bytes``) and a tenant negotiating three of its prices: the plan's audit preview, ``lagoform
audit show`` after apply, and a later renegotiation all read ``2.5 USD per 1M tokens`` as the
YAML wrote it, while the records keep the exact per-unit amounts Lago was sent (and holds).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from lagoform.cli import _register, root
from tests.conftest import SandboxServer
from tests.engine.e2e_helpers import edit, lago

_register()

CATALOG = """
billable_metrics:
  - {code: tokens, name: Tokens, aggregation: sum, field_name: tokens,
     filters: {model: [gpt-5, gpt-5-mini], type: [input, output]}}
  - {code: storage, name: Storage, aggregation: sum, field_name: bytes}
plans:
  - code: pro
    name: Pro
    interval: monthly
    amount: 20.00 USD
    charges:
      - code: tokens
        metric: tokens
        per: 1M tokens
        properties: {amount: 0}
        filters:
          - values: {model: gpt-5, type: input}
            properties: {amount: "2.50"}
          - values: {model: gpt-5, type: output}
            properties: {amount: "10"}
          - values: {model: gpt-5-mini, type: input}
            per: 1K tokens
            properties: {amount: "0.0004"}
      - code: storage
        metric: storage
        model: graduated
        per: 1M bytes
        properties:
          tiers: [{to: 1000000, per_unit: 0}, {per_unit: 8}]
"""

GLOBEX = """
customer: {name: Globex, currency: USD}
subscriptions:
  - external_id: globex-main
    plan: pro
    overrides:
      reason: Volume deal, order form 2026-07
      approval: OF-2026-07
      charges:
        tokens:
          filters:
            - values: {model: gpt-5, type: input}
              properties: {amount: "2"}
            - values: {model: gpt-5-mini, type: input}
              properties: {amount: "0.0003"}
        storage:
          properties:
            tiers: [{to: 1000000, per_unit: 0}, {per_unit: 6}]
"""

GPT5_INPUT = '{"model": ["gpt-5"], "type": ["input"]}'
MINI_INPUT = '{"model": ["gpt-5-mini"], "type": ["input"]}'


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root_dir = tmp_path / "project"
    (root_dir / "catalog").mkdir(parents=True)
    (root_dir / "overrides").mkdir()
    (root_dir / "catalog" / "prices.yaml").write_text(CATALOG)
    (root_dir / "overrides" / "globex.yaml").write_text(GLOBEX)
    return root_dir


def http(server: SandboxServer, project: Path, *args: str) -> Result:
    return CliRunner().invoke(
        root,
        [*args, "--api-url", server.url, "--root", str(project)],
        env={"LAGO_API_KEY": server.api_key},
    )


def audit(project: Path, *args: str) -> Result:
    """``lagoform audit ...`` on the log of ``--api-url`` runs (environment ``ad-hoc``)."""
    return CliRunner().invoke(root, ["audit", *args, "-e", "ad-hoc", "--root", str(project)])


def charge_intents(project: Path) -> list[dict[str, Any]]:
    lines = (project / "audit" / "ad-hoc.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    return [r for r in records if r["phase"] == "intent" and "/charges/" in str(r["path"] or "")]


def test_audit_show_prints_prices_in_the_unit_the_yaml_used(
    project: Path, sandbox_server: SandboxServer
) -> None:
    planned = http(sandbox_server, project, "plan")
    assert planned.exit_code == 0, planned.output
    # the preview reviewers read before merge: the same unit as the price table above it
    assert (
        "tokens [model=gpt-5, type=input] properties.amount: 2.5 USD per 1M tokens → "
        "2 USD per 1M tokens (changed)" in planned.stdout
    )
    markdown = http(sandbox_server, project, "plan", "--format", "markdown")
    assert (
        "storage properties.graduated_ranges[1].per_unit_amount: 8 USD per 1M bytes → "
        "6 USD per 1M bytes (changed)" in markdown.stdout
    )

    applied = http(sandbox_server, project, "apply", "--auto-approve", "--actor", "finance")
    assert applied.exit_code == 0, applied.output
    shown = audit(project, "show")
    assert shown.exit_code == 0, shown.output
    out = shown.stdout
    assert (
        f"charge tokens filter {GPT5_INPUT} properties.amount: "
        "base 2.5 USD per 1M tokens -> 2 USD per 1M tokens (changed)" in out
    )
    assert (  # a filter with a unit of its own keeps it
        f"charge tokens filter {MINI_INPUT} properties.amount: "
        "base 0.0004 USD per 1K tokens -> 0.0003 USD per 1K tokens (changed)" in out
    )
    assert (
        "charge storage properties.graduated_ranges[1].per_unit_amount: "
        "base 8 USD per 1M bytes -> 6 USD per 1M bytes (changed)" in out
    )
    assert "0.000002" not in out and "0.0000025" not in out  # no per-unit amount for people

    # the records keep what was sent, exactly: Lago's per-unit amounts, as decimal strings
    as_json = audit(project, "show", "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    diffs = {
        (e["charge_code"], json.dumps(e["filter_values"], sort_keys=True)): e
        for line in as_json.stdout.splitlines()
        if (section := json.loads(line)["override"]) is not None
        for e in section["charges_diff"]
    }
    gpt5 = diffs["tokens", GPT5_INPUT]
    assert (gpt5["base_value"], gpt5["override_value"], gpt5["per"]) == (
        "0.0000025",
        "0.000002",
        "1M tokens",
    )
    mini = diffs["tokens", MINI_INPUT]
    assert (mini["base_value"], mini["override_value"], mini["per"]) == (
        "0.0000004",
        "0.0000003",
        "1K tokens",
    )
    tier = diffs["storage", "null"]
    assert (tier["base_value"], tier["override_value"], tier["per"]) == (
        "0.000008",
        "0.000006",
        "1M bytes",
    )
    # ...which is what Lago holds for the subscription
    plan = lago(sandbox_server, "GET", "/subscriptions/globex-main")["subscription"]["plan"]
    [tokens] = [c for c in plan["charges"] if c["billable_metric_code"] == "tokens"]
    held = {
        json.dumps(f["values"], sort_keys=True): f["properties"]["amount"]
        for f in tokens["filters"]
    }
    assert held[GPT5_INPUT] == "0.000002" and held[MINI_INPUT] == "0.0000003"
    assert {json.loads(x)["override"]["currency"] for x in as_json.stdout.splitlines()
            if json.loads(x)["override"]} == {"USD"}  # fmt: skip

    verified = audit(project, "verify")
    assert verified.exit_code == 0, verified.output
    assert "chain intact" in verified.stdout


def test_a_renegotiated_price_records_the_previous_one_in_the_same_unit(
    project: Path, sandbox_server: SandboxServer
) -> None:
    assert http(sandbox_server, project, "apply", "--auto-approve").exit_code == 0
    edit(
        project, "overrides/globex.yaml", 'properties: {amount: "2"}', 'properties: {amount: "1.8"}'
    )
    applied = http(sandbox_server, project, "apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    latest = charge_intents(project)[-1]
    assert latest["path"] == "/subscriptions/globex-main/charges/tokens"
    assert latest["schema_version"] == 3
    section = latest["override"]
    [changed] = [e for e in section["charges_diff"] if e["override_value"] == "0.0000018"]
    assert (changed["base_value"], changed["per"]) == ("0.0000025", "1M tokens")
    # what the subscription paid before this change, in the same unit
    before = {
        json.dumps(e["filter_values"], sort_keys=True): e for e in section["previous_overrides"]
    }
    assert (before[GPT5_INPUT]["override_value"], before[GPT5_INPUT]["per"]) == (
        "0.000002",
        "1M tokens",
    )
    out = audit(project, "show").stdout
    assert (
        f"charge tokens filter {GPT5_INPUT} properties.amount: "
        "base 2.5 USD per 1M tokens -> 1.8 USD per 1M tokens (changed)" in out
    )
    assert audit(project, "verify").exit_code == 0
