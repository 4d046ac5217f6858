"""Finance facts from a real (small) project, applied to the sandbox: the override section of
records and the plan preview, before the first override and after it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lagoform.audit.context import RunContext
from lagoform.audit.project_facts import override_facts
from lagoform.audit.sinks import JsonlFileSink
from lagoform.audit.trail import AuditTrail
from lagoform.catalog import load_project
from lagoform.engine.apply import apply_plan
from lagoform.engine.desired import from_project
from lagoform.engine.live import fetch_live
from lagoform.engine.plan import build_plan, hints_for
from lagoform.lago.client import LagoClient
from lagoform.review import audit_preview
from lagoform.sandbox.core import Sandbox
from lagoform.sandbox.transport import SandboxTransport

CATALOG = """
billable_metrics:
  - code: token_usage
    name: Tokens
    aggregation: sum
    field_name: tokens
    filters:
      type: [input, output]
plans:
  - code: enterprise
    name: Enterprise
    interval: monthly
    amount: 5000.00 USD
    charges:
      - code: tokens
        metric: token_usage
        model: standard
        properties: {amount: 0.0000018}
        filters:
          - values: {type: input}
            properties: {amount: 0.0000012}
"""

TENANT = """
customer:
  name: Globex AI
  currency: USD
subscriptions:
  - external_id: globex-main
    plan: enterprise
    start_date: 2026-02-01
    overrides:
      reason: Negotiated token rates (MSA §4.2)
      approval: MSA-2026-014
      amount: 4500.00 USD
      charges:
        tokens:
          properties: {amount: %s}
          filters:
            - values: {type: input}
              properties: {amount: 0.000001}
"""


def write_project(root: Path, token_price: str) -> None:
    (root / "catalog").mkdir(exist_ok=True)
    (root / "overrides").mkdir(exist_ok=True)
    (root / "catalog" / "catalog.yaml").write_text(CATALOG)
    (root / "overrides" / "globex.yaml").write_text(TENANT % token_price)


@pytest.fixture
def client() -> Iterator[LagoClient]:
    key = "lago_test_key_0123456789"
    lago = LagoClient("http://sandbox.local", key, transport=SandboxTransport(Sandbox(api_key=key)))
    yield lago
    lago.close()


def context() -> RunContext:
    return RunContext("sandbox", "sandbox", "octocat", "flag", None, None, None)


def apply_once(root: Path, client: LagoClient, log: Path) -> list[dict[str, Any]]:
    """Plan, preview, apply with the facts; returns the preview."""
    project = load_project(root)
    desired = from_project(project)
    live = fetch_live(client, hints_for(desired))
    plan = build_plan(desired, live)
    facts = override_facts(project, desired, live)
    preview = list(audit_preview(plan, facts, context()))
    with AuditTrail(context(), [JsonlFileSink(log)], overrides=facts) as trail:
        apply_plan(plan, client, audit=trail)
    return preview


def test_override_section_before_and_after_the_first_override(
    tmp_path: Path, client: LagoClient
) -> None:
    log = tmp_path / "audit.jsonl"
    write_project(tmp_path, "0.0000015")
    project = load_project(tmp_path)
    desired = from_project(project)
    facts = override_facts(project, desired, fetch_live(client, hints_for(desired)))
    assert list(facts) == ["globex-main"]
    first = facts["globex-main"]
    assert (first.tenant_id, first.reason, first.approval) == (
        "globex",
        "Negotiated token rates (MSA §4.2)",
        "MSA-2026-014",
    )
    assert first.effective_plan is None  # the subscription does not exist yet

    preview = apply_once(tmp_path, client, log)
    assert preview, "the first override must be previewed"
    sub_records = [
        json.loads(x)
        for x in log.read_text().splitlines()
        if json.loads(x)["object_kind"] == "subscription"
    ]
    assert sub_records and all(r["override"] is not None for r in sub_records)
    diffs = [
        (e["charge_code"], e["filter_values"], e["field"], e["base_value"], e["override_value"])
        for r in sub_records
        if r["phase"] == "intent"
        for e in r["override"]["charges_diff"]
    ]
    assert ("tokens", None, "properties.amount", "0.0000018", "0.0000015") in diffs
    assert ("tokens", {"type": ["input"]}, "properties.amount", "0.0000012", "0.000001") in diffs

    # a later negotiation: the previous values now come from the child plan in Lago
    write_project(tmp_path, "0.0000014")
    project = load_project(tmp_path)
    desired = from_project(project)
    live = fetch_live(client, hints_for(desired))
    later = override_facts(project, desired, live)["globex-main"]
    assert later.effective_plan is not None and later.effective_plan.get("parent_id")
    preview = list(audit_preview(build_plan(desired, live), {"globex-main": later}, context()))
    [record] = preview
    assert record["path"] == "/subscriptions/globex-main/charges/tokens"
    section = record["override"]
    charge_level = [
        (e["field"], e["base_value"], e["override_value"])
        for e in section["charges_diff"]
        if e["filter_values"] is None
    ]
    assert charge_level == [("properties.amount", "0.0000018", "0.0000014")]
    assert ("properties.amount", "0.0000018", "0.0000015") in [
        (e["field"], e["base_value"], e["override_value"])
        for e in section["previous_overrides"]
        if e["filter_values"] is None
    ]
