"""Shared price tables end to end, over real HTTP (`lagoform sandbox serve`).

A generated LLM price list (40 models × 4 token types, 160 filter prices) is one table used by
three plans in two files. Through the CLI: validate → plan → apply → empty plan → the same prices
written out in every plan plan nothing → import → empty plan. Then one table entry changed
reaches every plan that uses it, and the copy of a tenant who negotiated another price, in one
plan and one apply; Lago holds the new price everywhere and the negotiated one stays.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner, Result

from lagoform.catalog import load_project
from lagoform.cli import _register, root
from lagoform.engine.apply import apply_plan
from lagoform.engine.desired import from_project
from lagoform.engine.hooks import MemoryAudit
from tests.catalog.llm_price_list import price, write_project
from tests.conftest import SandboxServer
from tests.engine.e2e_helpers import lago, make_plan, recording_client

_register()
USING_LLM_LIST = ("plan:enterprise", "plan:starter", "plan:starter_annual")


def http(server: SandboxServer, project: Path, *args: str) -> Result:
    return CliRunner().invoke(
        root,
        [*args, "--api-url", server.url, "--root", str(project)],
        env={"LAGO_API_KEY": server.api_key},
    )


ACME = """
customer: {name: Acme, currency: USD}
subscriptions:
  - external_id: acme-main
    plan: starter
    start_date: 2026-01-01
    overrides:
      reason: negotiated atlas-07 input
      approval: MSA-9
      charges:
        llm_tokens:
          filters:
            - values: {model: atlas-07, type: input}
              properties: {amount: 1.5}
"""


def _lago_price(server: SandboxServer, plan: str, model: str, token_type: str) -> Decimal:
    """The per-1M-token price Lago holds on ``plan`` (or a subscription's copy of its plan,
    ``subscription:<id>``) for one model and token type."""
    if plan.startswith("subscription:"):
        sub = plan.removeprefix("subscription:")
        body = lago(server, "GET", f"/subscriptions/{sub}")["subscription"]["plan"]
    else:
        body = lago(server, "GET", f"/plans/{plan}")["plan"]
    (charge,) = [c for c in body["charges"] if c["billable_metric_code"] == "llm_tokens"]
    (found,) = [
        f for f in charge["filters"] if f["values"] == {"model": [model], "type": [token_type]}
    ]
    return Decimal(found["properties"]["amount"]) * 1_000_000


def test_validate_plan_apply_import_round_trip(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    project = write_project(tmp_path / "project")
    valid = CliRunner().invoke(root, ["validate", "--root", str(project)])
    assert valid.exit_code == 0, valid.output
    assert "3 plans" in valid.output and "2 price tables" in valid.output
    first = http(sandbox_server, project, "plan", "--detailed-exitcode")
    assert first.exit_code == 2, first.output
    assert "prices from table llm_list (160 filters)" in first.output
    assert "prices from table llm_list (159 filters), 1 filter of its own" in first.output
    assert "tiers from table storage_2026" in first.output
    applied = http(sandbox_server, project, "apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert http(sandbox_server, project, "plan", "--detailed-exitcode").exit_code == 0
    assert _lago_price(sandbox_server, "starter", "atlas-39", "reasoning") == price(
        "atlas-39", "reasoning"
    )
    assert _lago_price(sandbox_server, "enterprise", "atlas-00", "input") == Decimal("0.9")

    # The same prices written out in every plan: the same Lago, the same catalog fingerprint.
    written_out = write_project(tmp_path / "written_out", tables=False)
    inline = http(sandbox_server, written_out, "plan", "--detailed-exitcode")
    assert inline.exit_code == 0, inline.output
    assert (
        from_project(load_project(written_out)).fingerprint
        == from_project(load_project(project)).fingerprint
    )

    # import writes plain filters (Lago knows no tables): still nothing to change
    imported = tmp_path / "imported"
    imported.mkdir()
    result = http(sandbox_server, imported, "import")
    assert result.exit_code == 0, result.output
    assert "table" not in (imported / "catalog" / "plans.yaml").read_text()
    again = http(sandbox_server, imported, "plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.output


def test_one_table_entry_reaches_every_plan_using_it(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    project = write_project(tmp_path)
    (project / "overrides").mkdir()
    (project / "overrides" / "acme.yaml").write_text(ACME)  # negotiates one starter price
    client, recorder = recording_client(sandbox_server)
    with client:
        apply_plan(make_plan(project, client), client, audit=MemoryAudit())
        assert _lago_price(sandbox_server, "subscription:acme-main", "atlas-07", "input") == (
            Decimal("1.5")
        )
        # atlas-07 output in the table: +20 %, in every plan that uses the table
        raised = price("atlas-07", "output") * Decimal("1.2")
        write_project(project, prices={("atlas-07", "output"): raised})
        plan = make_plan(project, client)
        changed = {c.ref: [f.path for f in c.changes] for c in plan.pending()}
        key = "model=atlas-07;type=output"
        path = ("charges", "llm_tokens", "filters", key, "properties", "amount")
        # the plans, and acme's own copy of starter (its other prices follow the catalog)
        acme = changed.pop("subscription:acme-main")
        assert acme and all(p[:2] == ("overrides", "charges") for p in acme)
        assert changed == {ref: [path] for ref in USING_LLM_LIST}
        assert plan.price_tables["enterprise"]["llm_tokens"]["filters"][key] == "llm_list"
        recorder.clear()
        report = apply_plan(plan, client, audit=MemoryAudit())
        assert report.ok and len(report.applied) == 4
        puts = sorted(p for m, p, _ in recorder.writes() if m == "PUT")
        assert puts == [
            "/plans/enterprise",
            "/plans/starter",
            "/plans/starter_annual",
            "/subscriptions/acme-main/charges/llm_tokens",  # the whole list, negotiated merged
        ]
        for code in ("starter", "starter_annual", "enterprise", "subscription:acme-main"):
            assert _lago_price(sandbox_server, code, "atlas-07", "output") == raised, code
        # acme keeps its negotiated price
        assert _lago_price(sandbox_server, "subscription:acme-main", "atlas-07", "input") == (
            Decimal("1.5")
        )
        assert not make_plan(project, client).has_changes

        # the enterprise plan's own price wins over the table's: a table edit there moves the
        # starter plans (and acme's copy) only
        write_project(
            project,
            prices={("atlas-07", "output"): raised, ("atlas-00", "input"): Decimal("0.3")},
        )
        plan = make_plan(project, client)
        assert sorted(c.ref for c in plan.pending()) == [
            "plan:starter",
            "plan:starter_annual",
            "subscription:acme-main",
        ]
