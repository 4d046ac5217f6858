"""`lagoform prices sync` end to end: a LiteLLM snapshot synced into a copy of a small LLM
catalog gives exact YAML prices (cost × 1.3, rounded up to the cent per 1M tokens; comments and
layout kept), then `lagoform plan` against `lagoform sandbox serve` (real HTTP) shows exactly
those price changes, the added models and the retired one; apply, and the plan and a second
sync are both empty."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from tests.conftest import SandboxServer
from tests.engine.e2e_helpers import lago
from tests.engine.price_sync.helpers import LITELLM, lagoform, project_copy, sync

PRICE_TABLE = """\
# List prices, USD per 1M tokens: provider cost x 1.3, rounded up to the cent
# (`lagoform prices sync`, settings in prices.yaml).
price_tables:
  - code: llm_list
    description: LLM list prices
    per: 1M tokens
    filters:
      - {values: {model: gpt-5, token_type: input}, properties: {amount: 1.63}}
      - {values: {model: gpt-5, token_type: cached_input}, properties: {amount: 0.17}}
      - {values: {model: gpt-5, token_type: output}, properties: {amount: 13}}
      - {values: {model: gpt-5, token_type: reasoning}, properties: {amount: 0}}
      - {values: {model: gpt-4o, token_type: input}, properties: {amount: 3.25}}
      - {values: {model: gpt-4o, token_type: output}, properties: {amount: 13}}
      # Anthropic bills cache writes apart
      - {values: {model: claude-sonnet-4-5, token_type: input}, properties: {amount: 3.90}}
      - {values: {model: claude-sonnet-4-5, token_type: cached_input}, properties: {amount: 0.39}}
      - {values: {model: claude-sonnet-4-5, token_type: cache_write}, properties: {amount: 4.88}}
      - {values: {model: claude-sonnet-4-5, token_type: output}, properties: {amount: 19.5}}
      - {values: {model: claude-sonnet-4-5, token_type: reasoning}, properties: {amount: 19.5}}
      - {values: {model: gpt-5-mini, token_type: input}, properties: {amount: 0.33}}
      - {values: {model: gpt-5-mini, token_type: cached_input}, properties: {amount: 0.04}}
      - {values: {model: gpt-5-mini, token_type: output}, properties: {amount: 2.6}}
      - {values: {model: gpt-5-mini, token_type: reasoning}, properties: {amount: 0}}
      - {values: {model: o3, token_type: input}, properties: {amount: 2.6}}
      - {values: {model: o3, token_type: cached_input}, properties: {amount: 0.65}}
      - {values: {model: o3, token_type: output}, properties: {amount: 10.4}}
      - {values: {model: o3, token_type: reasoning}, properties: {amount: 0}}
"""
METRICS = """\
# LLM usage: one metric, priced per model and token type.
billable_metrics:
  - code: llm_tokens
    name: LLM tokens
    aggregation: sum
    field_name: tokens
    filters:
      model: [gpt-5, gpt-4o, claude-sonnet-4-5, gpt-5-mini, o3]
      token_type: [input, cached_input, cache_write, output, reasoning]
remove:
  filter_values:
    - metric: llm_tokens
      values: {model: [gpt-4o]}
"""
# The team plan's own prices are per 1K tokens: the same list prices, converted exactly.
TEAM_GPT5 = """\
        per: 1K tokens                # this plan's own prices, per 1K tokens
        filters:
          - values: {model: gpt-5, token_type: input}
            properties: {amount: 0.00163}
          - values: {model: gpt-5, token_type: output}
            properties: {amount: 0.013}
          - values: {model: gpt-5, token_type: cached_input}
            properties: {amount: 0.00017}
          - values: {model: gpt-5, token_type: reasoning}
            properties: {amount: 0}
          - values: {model: claude-sonnet-4-5, token_type: input}
            properties: {amount: 0.0039}
"""


def _http(server: SandboxServer, project: Path, *args: str) -> tuple[int, str]:
    result = lagoform(
        *args,
        "--api-url",
        server.url,
        "--root",
        str(project),
        env={"LAGO_API_KEY": server.api_key},
    )
    return result.exit_code, result.output


def _lago_price(server: SandboxServer, plan: str, model: str, token_type: str) -> Decimal:
    body = lago(server, "GET", f"/plans/{plan}")["plan"]
    (charge,) = body["charges"]
    (found,) = [
        f
        for f in charge["filters"]
        if f["values"] == {"model": [model], "token_type": [token_type]}
    ]
    return Decimal(found["properties"]["amount"])


def test_sync_writes_exact_prices_and_plan_shows_them(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    project = project_copy(tmp_path)
    code, output = _http(sandbox_server, project, "apply", "--auto-approve")
    assert code == 0, output
    assert _lago_price(sandbox_server, "pro", "gpt-5", "input") == Decimal("0.0000015")

    synced = sync(project, "--from", str(LITELLM))
    assert synced.exit_code == 0, synced.output
    catalog = project / "catalog"
    assert (catalog / "price_tables.yaml").read_text() == PRICE_TABLE
    assert (catalog / "metrics.yaml").read_text() == METRICS
    assert TEAM_GPT5 in (catalog / "plans.yaml").read_text()
    assert "2 added, 1 removed, 1 repriced (5 prices), 6 prices unchanged." in synced.output
    assert "- model gpt-4o: retired everywhere (remove.filter_values)" in synced.output

    code, plan = _http(sandbox_server, project, "plan", "--detailed-exitcode", "--no-impact")
    assert code == 2, plan
    assert (
        "[model=gpt-5, token_type=input] price · table llm_list: 1.5 USD per 1M tokens → "
        "1.63 USD per 1M tokens (▲ +8.7%)"
    ) in plan
    assert (
        "[model=gpt-5, token_type=output] price · table llm_list: 12 USD per 1M tokens → "
        "13 USD per 1M tokens (▲ +8.3%)"
    ) in plan
    assert (
        "~ [model=gpt-5, token_type=input] price: 0.0015 USD per 1K tokens → "
        "0.00163 USD per 1K tokens (▲ +8.7%)"
    ) in plan
    assert "+ [model=o3, token_type=output] · table llm_list = 10.4 USD per 1M tokens" in plan
    assert "+ [model=o3, token_type=output] = 0.0104 USD per 1K tokens" in plan
    assert "- [model=gpt-4o, token_type=input] · table llm_list = 3.25 USD per 1M tokens" in plan
    assert "retires model=gpt-4o everywhere: from this metric, from 2 plan filter(s)" in plan
    assert ": 0 to create, 3 to update, 0 to delete, 0 blocked" in plan

    code, output = _http(sandbox_server, project, "apply", "--auto-approve")
    assert code == 0, output
    # Lago holds the list price per token: 1.63 per 1M, 0.00163 per 1K
    assert _lago_price(sandbox_server, "pro", "gpt-5", "input") == Decimal("0.00000163")
    assert _lago_price(sandbox_server, "team", "gpt-5", "input") == Decimal("0.00000163")
    assert _lago_price(sandbox_server, "pro", "o3", "output") == Decimal("0.0000104")
    metric = lago(sandbox_server, "GET", "/billable_metrics/llm_tokens")["billable_metric"]
    (models,) = [f["values"] for f in metric["filters"] if f["key"] == "model"]
    assert sorted(models) == ["claude-sonnet-4-5", "gpt-5", "gpt-5-mini", "o3"]
    code, output = _http(sandbox_server, project, "plan", "--detailed-exitcode", "--no-impact")
    assert code == 0, output

    again = sync(project, "--from", str(LITELLM), "--check", "--format", "json")
    assert again.exit_code == 0, again.output
    report = json.loads(again.output)
    assert report["changed"] is False and report["removed"] == [] and report["added"] == []
    assert report["unchanged"] == 34  # 17 prices in the table, 17 in the team plan
