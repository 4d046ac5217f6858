"""`lagoform audit verify|show` through the real root group (exit codes, no tracebacks)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lagoform.audit.configured import log_path, open_trail, sinks_from_config
from lagoform.audit.sinks import JsonlFileSink, LokiSink, StdoutSink
from lagoform.cli import _register, root
from lagoform.config import parse_config
from lagoform.lago import Secret
from tests.audit.helpers import CANARY, change, facts, file_trail

_register()


def run(*args: str) -> Result:
    return CliRunner().invoke(root, list(args))


def write_log(path: Path, crash: bool = False) -> None:
    with file_trail(path, overrides={"globex-main": facts()}) as trail:
        rid = trail.intent(change("plan", "pro"), {"method": "PUT", "path": "/plans/pro"})
        trail.outcome(rid, True, 200, None, None)
        sub = change("subscription", "globex-main")
        body = {"charge": {"properties": {"amount": "0.0000015"}}}
        rid = trail.intent(
            sub,
            {"method": "PUT", "path": "/subscriptions/globex-main/charges/tokens", "body": body},
        )
        trail.outcome(rid, False, 422, "validation_errors", None)
        if crash:
            trail.intent(change("plan", "crashed"), {"method": "PUT", "path": "/plans/crashed"})


def test_verify_intact_log(log_path: Path) -> None:
    write_log(log_path)
    result = run("audit", "verify", str(log_path))
    assert result.exit_code == 0, result.output
    assert f"{log_path}: 4 records, chain intact" in result.stdout


def test_verify_tampered_log_names_file_line_and_record(log_path: Path) -> None:
    write_log(log_path)
    lines = log_path.read_text().splitlines()
    record = json.loads(lines[2])
    record["outcome"] = None
    record["override"]["charges_diff"][0]["override_value"] = "0.000001"  # a quiet price edit
    lines[2] = json.dumps(record)
    log_path.write_text("\n".join(lines) + "\n")
    result = run("audit", "verify", str(log_path))
    assert result.exit_code == 1
    assert f"{log_path}:3: record {record['record_id']}: content was edited" in result.stdout
    assert "failed verification: 1 problem in 4 records" in result.stderr
    assert "Traceback" not in result.output


def test_verify_removed_record(log_path: Path) -> None:
    write_log(log_path)
    lines = log_path.read_text().splitlines()
    log_path.write_text("\n".join(lines[:1] + lines[2:]) + "\n")
    result = run("audit", "verify", str(log_path))
    assert result.exit_code == 1
    assert f"{log_path}:2: " in result.stdout and "was removed" in result.stdout


def test_verify_missing_log_is_a_clean_error(tmp_path: Path) -> None:
    result = run("audit", "verify", str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 1
    assert "does not exist" in result.stderr
    assert isinstance(result.exception, SystemExit)


def test_verify_uses_the_configured_log_of_the_environment(tmp_path: Path) -> None:
    (tmp_path / "lagoform.yaml").write_text(
        "version: 1\n"
        "environments:\n"
        "  staging: {api_url: 'https://lago.example', api_key_env: LAGO_KEY_STAGING}\n"
        "audit:\n  sinks:\n    - {kind: jsonl, path: 'logs/{env}.jsonl'}\n"
    )
    write_log(tmp_path / "logs" / "staging.jsonl")
    result = run("audit", "verify", "-e", "staging", "--root", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "staging.jsonl: 4 records, chain intact" in result.stdout
    unknown = run("audit", "verify", "-e", "prod", "--root", str(tmp_path))
    assert unknown.exit_code == 1 and "unknown environment 'prod'" in unknown.stderr


def test_verify_warns_about_pending_intents(log_path: Path) -> None:
    write_log(log_path, crash=True)
    result = run("audit", "verify", str(log_path))
    assert result.exit_code == 0
    assert "1 call(s) with no known outcome" in result.stderr


def test_show_pending_lists_only_the_unfinished_intent(log_path: Path) -> None:
    write_log(log_path, crash=True)
    result = run("audit", "show", "--pending", str(log_path))
    assert result.exit_code == 0
    [line] = result.stdout.splitlines()
    assert line.startswith(f"{log_path}:5 ") and "intent: update plan 'crashed'" in line


def test_show_text_spells_out_the_override(log_path: Path) -> None:
    write_log(log_path)
    out = run("audit", "show", str(log_path)).stdout
    assert "outcome failed HTTP 422 validation_errors: update subscription 'globex-main'" in out
    assert "reason: Negotiated token rates, MSA §4.2; approval: MSA-2026-014" in out
    assert 'charge tokens properties.amount: base "0.000002" -> "0.0000015" (changed)' in out


def test_show_json_is_one_record_per_line(log_path: Path) -> None:
    write_log(log_path)
    out = run("audit", "show", "--format", "json", str(log_path)).stdout.splitlines()
    assert [json.loads(x)["phase"] for x in out] == ["intent", "outcome"] * 2


CONFIG = """
version: 1
environments:
  production: {api_url: "https://api.getlago.com", api_key_env: LAGO_KEY_PROD}
audit:
  sinks:
    - {kind: jsonl, path: "audit/{env}.jsonl"}
    - {kind: stdout}
    - {kind: loki, url: "http://127.0.0.1:3100", labels: {team: billing}, timeout: 2}
"""


def test_sinks_from_config(tmp_path: Path) -> None:
    config = parse_config(CONFIG)
    sinks = sinks_from_config(config.audit, root=tmp_path, environment="production")
    assert [type(s) for s in sinks] == [JsonlFileSink, StdoutSink, LokiSink]
    assert isinstance(sinks[0], JsonlFileSink)
    assert sinks[0].path == tmp_path / "audit" / "production.jsonl"
    assert isinstance(sinks[2], LokiSink)
    assert sinks[2].labels == {"job": "lagoform", "environment": "production", "team": "billing"}
    assert log_path(config, root=tmp_path, environment="production") == sinks[0].path


def test_canary_key_absent_from_records_and_every_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LAGO_API_KEY", CANARY)
    config = parse_config(CONFIG.replace("    - {kind: loki", "    # - {kind: loki"))
    env = {"LAGO_API_KEY": CANARY, "GITHUB_ACTOR": "octocat"}
    with open_trail(
        config,
        root=tmp_path,
        environment="production",
        api_url=f"https://user:{CANARY}@api.getlago.com/api/v1",
        plan_id="p1",
        actor=None,
        env=env,
        api_key=Secret(CANARY),
        overrides={"globex-main": facts()},
    ) as trail:
        rid = trail.intent(
            change("subscription", "globex-main"),
            {"method": "PUT", "path": "/subscriptions/globex-main", "body": {"k": CANARY}},
        )
        trail.outcome(rid, False, 401, "unauthorized", {"error": f"bad key {CANARY}"})
    printed = capsys.readouterr()
    assert len(printed.out.splitlines()) == 2  # the stdout sink did print both records
    path = tmp_path / "audit" / "production.jsonl"
    outputs = [path.read_text(), printed.out, printed.err]
    for args in (["verify"], ["show"], ["show", "--format", "json"], ["show", "--pending"]):
        result = run("audit", *args, str(path))
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    assert all(CANARY not in text for text in outputs)
    assert json.loads(path.read_text().splitlines()[0])["lago_host"] == "https://api.getlago.com"


# -- prices in the YAML's units (schema 3), and logs written before them ----------------------

LEGACY = Path(__file__).parent / "data" / "schema-v2.jsonl"  # written by lagoform before units


def test_a_log_written_before_units_verifies_and_renders_as_it_always_did() -> None:
    verified = run("audit", "verify", str(LEGACY))
    assert verified.exit_code == 0, verified.output
    assert "4 records, chain intact" in verified.stdout
    shown = run("audit", "show", str(LEGACY))
    assert shown.exit_code == 0, shown.output
    details = [line for line in shown.stdout.splitlines() if line.startswith("      ")]
    assert details == [
        '      charge tokens properties.amount: base "0.000002" -> "0.0000015" (changed)',
        '      charge tokens filter {"type": ["input"]} properties.amount: base "0.000001" -> '
        '"0.0000008" (changed)',
        "      plan amount_cents: base 10000 -> 4500 (changed)",
    ]
    records = [
        json.loads(x)
        for x in run("audit", "show", "--format", "json", str(LEGACY)).stdout.splitlines()
    ]
    assert {r["schema_version"] for r in records} == {2}
    diff = records[0]["override"]["charges_diff"]
    assert [(e["base_value"], e["override_value"], e["per"]) for e in diff] == [
        ("0.000002", "0.0000015", None),
        ("0.000001", "0.0000008", None),
    ]


def test_show_prints_unit_prices_and_money_in_the_records_units(log_path: Path) -> None:
    units = {"tokens": {"": "1M tokens", "type=input": "1K tokens"}}
    with file_trail(log_path, overrides={"globex-main": replace(facts(), units=units)}) as trail:
        sub = change("subscription", "globex-main")
        body = {
            "charge": {
                "properties": {"amount": "0.0000015"},
                "filters": [{"values": {"type": ["input"]}, "properties": {"amount": "0"}}],
            }
        }
        path = "/subscriptions/globex-main/charges/tokens"
        trail.intent(sub, {"method": "PUT", "path": path, "body": body})
        plan_level = {"subscription": {"plan_overrides": {"amount_cents": 4500}}}
        trail.intent(
            sub, {"method": "PUT", "path": "/subscriptions/globex-main", "body": plan_level}
        )
    out = run("audit", "show", str(log_path)).stdout
    assert (
        "charge tokens properties.amount: base 2 USD per 1M tokens -> 1.5 USD per 1M tokens "
        "(changed)" in out
    )
    assert (  # its filter's own unit; a zero price reads as the plan says it
        'charge tokens filter {"type": ["input"]} properties.amount: base 0.001 USD per 1K tokens'
        " -> free (changed)" in out
    )
    assert "plan amount_cents: base 100.00 USD -> 45.00 USD (changed)" in out
    as_json = run("audit", "show", "--format", "json", str(log_path)).stdout.splitlines()
    entry = json.loads(as_json[0])["override"]["charges_diff"][0]
    assert (entry["base_value"], entry["override_value"], entry["per"]) == (
        "0.000002",
        "0.0000015",
        "1M tokens",
    )
