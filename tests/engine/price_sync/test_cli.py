"""`lagoform prices sync` from the command line: dry run and check (exit 2), the JSON report,
other sources (OpenRouter through a URL on 127.0.0.1, CSV), a retired model coming back, a
price the list drops, and bad input: clear located errors, exit 1, no traceback, nothing
written."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.price_sync.helpers import CSV, LITELLM, OPENROUTER, project_copy, sync


def _texts(project: Path) -> dict[str, str]:
    return {
        p.relative_to(project).as_posix(): p.read_text()
        for p in sorted((project / "catalog").rglob("*.yaml"))
    }


def test_dry_run_and_check_write_nothing(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    before = _texts(project)
    dry = sync(project, "--from", str(LITELLM), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Would change catalog/metrics.yaml, catalog/plans.yaml, catalog/price_tables.yaml" in (
        dry.output
    )
    check = sync(project, "--from", str(LITELLM), "--check")
    assert check.exit_code == 2, check.output
    assert _texts(project) == before
    assert sync(project, "--from", str(LITELLM)).exit_code == 0
    assert _texts(project) != before
    settled = sync(project, "--from", str(LITELLM), "--check")
    assert settled.exit_code == 0, settled.output
    assert "The catalog already matches the price list." in settled.output


def test_json_report_carries_decimal_strings(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    result = sync(project, "--from", str(LITELLM), "--dry-run", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["format_version"] == 1 and report["source"] == "litellm"
    assert report["added"] == ["gpt-5-mini", "o3"]
    assert report["removed"] == ["gpt-4o"]
    assert report["repriced"] == ["gpt-5"]
    assert report["written"] is False and report["changed"] is True
    first = {
        (c["target"], c["model"], c["token_type"]): (c["old"], c["new"], c["per"])
        for c in report["changes"]
    }
    assert first["price table llm_list", "gpt-5", "token_type=input"] == (
        "1.5",
        "1.63",
        "1M tokens",
    )
    assert first["plan team charge tokens", "gpt-5", "token_type=input"] == (
        "0.0015",
        "0.00163",
        "1K tokens",
    )
    assert first["price table llm_list", "o3", "token_type=output"] == (None, "10.4", "1M tokens")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """OpenRouter's listing served over HTTP on 127.0.0.1 (port 0), like its /api/v1/models."""
    body = OPENROUTER.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/api/v1/models":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


OPENROUTER_SETTINGS = """\
metric: llm_tokens
write_to: [{price_table: llm_list}]
token_types:
  - {price: input, values: {token_type: input}}
  - {price: cache_read, values: {token_type: cached_input}}
  - {price: cache_write, values: {token_type: cache_write}}
  - {price: output, values: {token_type: output}}
  - {price: reasoning, values: {token_type: reasoning}}
models:
  - {provider: anthropic, model: "anthropic/claude-*"}
markup: 1.3
rounding: {step: 0.01, per: 1M tokens, mode: up}
"""


def test_openrouter_from_a_url(tmp_path: Path, served: str) -> None:
    project = project_copy(tmp_path)
    config = tmp_path / "openrouter.yaml"
    config.write_text(OPENROUTER_SETTINGS)
    result = sync(
        project,
        "--from",
        f"{served}/api/v1/models",
        "--config",
        str(config),
        "--source",
        "openrouter",
    )
    assert result.exit_code == 0, result.output
    table = (project / "catalog" / "price_tables.yaml").read_text()
    for token_type, amount in [
        ("input", "3.9"), ("cached_input", "0.39"), ("cache_write", "4.88"),
        ("output", "19.5"), ("reasoning", "19.5"),
    ]:  # fmt: skip
        line = (
            f"- {{values: {{model: anthropic/claude-sonnet-4.5, token_type: {token_type}}}, "
            f"properties: {{amount: {amount}}}}}"
        )
        assert line in table
    # no rule's pattern names the catalog's own models: they are left alone
    assert "- model" not in result.output and "1 added, 0 removed" in result.output
    missing = sync(project, "--from", f"{served}/nope", "--config", str(config))
    assert missing.exit_code == 1
    assert f"Error: cannot read the price list {served}/nope: HTTP 404" in missing.output


def test_csv_source_and_a_price_the_list_drops(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    result = sync(project, "--from", str(CSV))  # prices.yaml says litellm; the file is a CSV
    assert result.exit_code == 1
    assert "prices.csv:1: this looks like a CSV price list, not litellm (use --source csv)" in (
        result.output
    )
    result = sync(project, "--from", str(CSV), "--source", "csv")
    assert result.exit_code == 0, result.output
    # the CSV gives no provider-specific rows for claude's cache writes: kept, and said so
    assert (
        "! model claude-sonnet-4-5 token_type=cache_write · price table llm_list: the list no "
        "longer prices it; kept at 4.88 USD per 1M tokens"
    ) in result.output
    table = (project / "catalog" / "price_tables.yaml").read_text()
    assert (
        "{values: {model: claude-sonnet-4-5, token_type: cache_write}, properties: {amount: "
        "4.88}}" in table
    )


def test_a_retired_model_back_in_the_list_is_taken_off_the_remove_list(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    snapshot = json.loads(LITELLM.read_text())
    without = {k: v for k, v in snapshot.items() if k != "o3"}
    (tmp_path / "without.json").write_text(json.dumps(without))
    assert sync(project, "--from", str(LITELLM)).exit_code == 0
    gone = sync(project, "--from", str(tmp_path / "without.json"))
    assert gone.exit_code == 0, gone.output
    assert "- model o3: retired everywhere" in gone.output
    metrics = (project / "catalog" / "metrics.yaml").read_text()
    assert "values: {model: [gpt-4o, o3]}" in metrics
    back = sync(project, "--from", str(LITELLM))
    assert back.exit_code == 0, back.output
    assert "+ model o3: back in the list (taken off remove.filter_values)" in back.output
    metrics = (project / "catalog" / "metrics.yaml").read_text()
    assert "values: {model: [gpt-4o]}" in metrics
    # gpt-4o back too: the remove list it was alone on goes
    (tmp_path / "with.json").write_text(
        json.dumps({**snapshot, "gpt-4o": {**snapshot["o3"], "litellm_provider": "openai"}})
    )
    both = sync(project, "--from", str(tmp_path / "with.json"))
    assert both.exit_code == 0, both.output
    assert "+ model gpt-4o: back in the list (taken off remove.filter_values)" in both.output
    metrics = (project / "catalog" / "metrics.yaml").read_text()
    assert "remove" not in metrics
    assert metrics.endswith("token_type: [input, cached_input, cache_write, output, reasoning]\n")


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            "metric: llm_tokens\nwrite_to: [{price_table: llm_list}]\ntoken_types: []\n"
            "models: [{}]\nmarkupp: 1.3\n",
            "prices.yaml:5:1: unknown key 'markupp' (did you mean 'markup'?)",
        ),
        (
            "metric: llm_tokns\nwrite_to: [{price_table: llm_list}]\n"
            "token_types: [{price: input, values: {token_type: input}}]\nmodels: [{}]\n",
            "prices.yaml:1:9: no billable metric 'llm_tokns' in the catalog (did you mean "
            "'llm_tokens'?)",
        ),
        (
            "metric: llm_tokens\nwrite_to: [{price_table: llm_lst}]\n"
            "token_types: [{price: input, values: {token_type: inptu}}]\nmodels: [{}]\n",
            "prices.yaml:2:12: no price table 'llm_lst' (did you mean 'llm_list'?)",
        ),
        (
            "metric: llm_tokens\nwrite_to: [{price_table: llm_list}]\n"
            "token_types: [{price: input, values: {token_type: inptu}}]\nmodels: [{}]\n",
            "prices.yaml:3:51: 'inptu' is not a value of filter 'token_type' on metric "
            "'llm_tokens' (did you mean 'input'?)",
        ),
        (
            "metric: llm_tokens\nwrite_to: [{plan: team}]\n"
            "token_types: [{price: input, values: {token_type: input}}]\nmodels: [{}]\n",
            "prices.yaml:2:12: a plan target names its charge too",
        ),
        (
            "metric: llm_tokens\nwrite_to: [{plan: pro, charge: tokens}]\n"
            "token_types: [{price: input, values: {token_type: input}}]\nmodels: [{}]\n",
            "prices.yaml:2:12: plan pro charge tokens takes its whole filter list from a price "
            "table (write to that price table",
        ),
        (
            "metric: llm_tokens\nwrite_to: [{price_table: llm_list}]\n"
            "token_types: [{price: input, values: {token_type: input}}]\n"
            "models: [{provider: mistral}]\n",
            "fixtures/litellm.json has no model these rules select; nothing was changed",
        ),
        ("metric: [llm_tokens\n", "prices.yaml:2:1: invalid YAML: expected ',' or ']'"),
        (
            "metric: llm_tokens\nwrite_to: [{price_table: llm_list}]\n"
            "token_types: [{price: tokens, values: {token_type: input}}]\nmodels: [{}]\n",
            "prices.yaml:3:23: expected one of 'input', 'cache_read', 'cache_write', 'output', "
            "'reasoning', 'audio_input' or 'audio_output', got 'tokens'",
        ),
    ],
)
def test_bad_settings_are_located_and_nothing_is_written(
    tmp_path: Path, settings: str, expected: str
) -> None:
    project = project_copy(tmp_path)
    (project / "prices.yaml").write_text(settings)
    before = _texts(project)
    result = sync(project, "--from", str(LITELLM))
    assert result.exit_code == 1, result.output
    assert expected in result.output, result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # an expected error, not a crash
    assert _texts(project) == before


def test_bad_snapshots_and_paths(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    broken = tmp_path / "broken.json"
    broken.write_text('{"gpt-5": {"input_cost_per_token": 1e-06,,}}')
    result = sync(project, "--from", str(broken))
    assert result.exit_code == 1
    assert f"{broken}:1:42: not valid JSON: Expecting property name" in result.output
    assert "nothing was sent to Lago" in result.output
    missing = sync(project, "--from", str(tmp_path / "nope.json"))
    assert missing.exit_code == 1
    assert "Error: cannot read the price list" in missing.output and "nope.json" in missing.output
    no_config = sync(project, "--from", str(LITELLM), "--config", str(tmp_path / "none.yaml"))
    assert no_config.exit_code == 1
    assert "no sync configuration at" in no_config.output


def test_a_price_the_target_unit_cannot_hold_is_refused(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    settings = (project / "prices.yaml").read_text()
    # no rounding: 1.25e-06 × 1.333333333 per token needs 17 decimals; Lago keeps 15
    (project / "prices.yaml").write_text(
        settings.replace("rounding: {step: 0.01, per: 1M tokens, mode: up}\n", "").replace(
            "markup: 1.3", "markup: 1.333333333"
        )
    )
    before = _texts(project)
    result = sync(project, "--from", str(LITELLM))
    assert result.exit_code == 1, result.output
    assert "is not a price Lago can hold per unit" in result.output
    assert _texts(project) == before


def test_targets_the_sync_cannot_write_to_are_refused_at_their_line(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    plans = project / "catalog" / "plans.yaml"
    plans.write_text(
        plans.read_text().replace("amount: 200.00 USD", "amount: 200.00 EUR")
        + """\
  - code: team_annual
    extends: team
    name: Team (annual)
    interval: yearly
    amount: 2000.00 EUR
"""
    )
    settings = (project / "prices.yaml").read_text()
    (project / "prices.yaml").write_text(
        settings.replace(
            "  - plan: team\n    charge: tokens\n",
            "  - plan: team\n    charge: tokens\n  - {plan: team_annual, charge: tokens}\n",
        ).replace(
            "  - {price: output, values: {token_type: output}}\n",
            "  - {price: output, values: {token_type: output}}\n"
            "  - {price: reasoning, values: {token_type: output}}\n",
        )
    )
    result = sync(project, "--from", str(LITELLM))
    assert result.exit_code == 1
    assert (
        "prices.yaml:7:5: plan 'team' bills in EUR; provider price lists are in USD (write to "
        "a table or charge of a USD plan)"
    ) in result.output
    assert "prices.yaml:9:5: plan 'team_annual' takes its charges from 'team': write to it" in (
        result.output
    )
    assert "prices.yaml:15:5: the same values as token_types[3]" in result.output
    assert "3 problems found" in result.output


def test_a_json_snapshot_is_not_read_as_csv(tmp_path: Path) -> None:
    result = sync(project_copy(tmp_path), "--from", str(OPENROUTER), "--source", "csv")
    assert result.exit_code == 1
    assert (
        "openrouter.json:1: this looks like an OpenRouter price list, not csv (use --source "
        "openrouter)" in result.output
    )


def test_a_result_the_catalog_would_refuse_is_not_written(tmp_path: Path) -> None:
    """The last guard: the new texts are loaded in a scratch copy before anything is written."""
    from lagoform.engine.price_sync import SyncResult, check_result
    from lagoform.errors import CatalogError

    project = project_copy(tmp_path)
    before = _texts(project)
    broken = before["catalog/plans.yaml"].replace("interval: monthly", "interval: fortnightly", 1)
    result = SyncResult("litellm", "snap.json", texts={"catalog/plans.yaml": broken})
    with pytest.raises(CatalogError) as caught:
        check_result(project, result)
    messages = [str(p) for p in caught.value.problems]
    assert any(m.startswith("catalog/plans.yaml:4:15: ") for m in messages), messages
    assert messages[-1] == (
        "snap.json: the synced catalog would not be valid (above, in the files as they would be "
        "written); nothing was written"
    )
    assert _texts(project) == before


def test_a_token_type_can_go_to_its_own_targets(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    (project / "prices.yaml").write_text("""\
metric: llm_tokens
write_to: [{price_table: llm_list}]
token_types:
  - {price: input, values: {token_type: input}}
  - {price: output, values: {token_type: output}}
  - price: reasoning
    values: {token_type: reasoning}
    write_to: [{plan: team, charge: tokens}]
models: [{provider: openai, model: o3}]
markup: 1.3
rounding: {step: 0.01, per: 1M tokens}
""")
    result = sync(project, "--from", str(LITELLM), "--format", "json")
    assert result.exit_code == 0, result.output
    changes = {(c["target"], c["token_type"]) for c in json.loads(result.output)["changes"]}
    assert changes == {
        ("price table llm_list", "token_type=input"),
        ("price table llm_list", "token_type=output"),
        ("plan team charge tokens", "token_type=reasoning"),
    }
    plans = (project / "catalog" / "plans.yaml").read_text()
    assert (
        "- values: {model: o3, token_type: reasoning}\n            properties: {amount: 0.0104}"
        in (plans)
    )
    assert "model: o3, token_type: input" not in plans


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            "metric: llm_tokens\ntoken_types:\n  - {price: input, values: {token_type: input}}\n"
            "models: [{}]\n",
            "prices.yaml:1:1: say where the prices go: write_to (here, or on every token type)",
        ),
        (
            "metric: llm_tokens\ntoken_types:\n  - price: input\n    values: {token_type: input}\n"
            "    write_to: [{price_table: llm_list}, {plan: pro, charge: token}]\nmodels: [{}]\n",
            "prices.yaml:5:41: plan 'pro' has no charge 'token' (did you mean 'tokens'?)",
        ),
    ],
)
def test_where_the_prices_go_is_checked(tmp_path: Path, settings: str, expected: str) -> None:
    project = project_copy(tmp_path)
    (project / "prices.yaml").write_text(settings)
    result = sync(project, "--from", str(LITELLM))
    assert result.exit_code == 1
    assert expected in result.output, result.output
