"""Usage mapping defaults: a record missing an optional dimension is billed with the default,
not dead-lettered whole — in the mapper, and end to end through the spool worker against
`lagoform sandbox serve` over HTTP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from lagoform.catalog import load_project
from lagoform.dispatch.deadletters import DeadLetterStore
from lagoform.dispatch.mapping import Mapper, RecordRejected, mapper_for_project
from lagoform.errors import DispatchError
from lagoform.sandbox.state import E_PROPS, E_SUB, E_TXN
from tests.dispatch.harness import run_cli

CATALOG = """
billable_metrics:
  - code: tokens
    name: Tokens
    aggregation: sum
    field_name: tokens
    filters:
      model: [gpt-5, gpt-5-mini]
      type: [input, output]
      context: [standard, long]
plans:
  - code: pro
    name: Pro
    interval: monthly
    amount: 10 USD
    charges:
      - metric: tokens
        properties: {amount: 0}
        filters:
          - values: {context: standard}
            properties: {amount: 0.000002}
          - values: {context: long}
            properties: {amount: 0.000004}
usage_mappings:
  - record_type: llm.completed
    tenant: $tenant
    defaults: {context: standard, region: unknown}
    events:
      - key: input
        metric: tokens
        quantity: $usage.input
        properties: {model: $model, type: input, context: $context, region: $region}
      - key: output
        metric: tokens
        quantity: $usage.output
        properties: {model: $model, type: output, context: $context}
        defaults: {context: long}
"""
TENANT = """
customer: {name: Acme, currency: USD}
subscriptions:
  - {external_id: acme-main, plan: pro}
"""


def _project(root: Path) -> Path:
    (root / "catalog").mkdir(parents=True)
    (root / "overrides").mkdir()
    (root / "catalog" / "catalog.yaml").write_text(CATALOG)
    (root / "overrides" / "acme.yaml").write_text(TENANT)
    return root


def _record(rid: str, **fields: Any) -> dict[str, Any]:
    record = {
        "id": rid,
        "type": "llm.completed",
        "timestamp": 1767225600,
        "tenant": "acme",
        "model": "gpt-5",
        "usage": {"input": 100, "output": 40},
    }
    record.update(fields)
    return {k: v for k, v in record.items() if v is not None}


def _properties(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["transaction_id"]: e["properties"] for e in events}


def test_a_missing_or_null_dimension_takes_the_default(tmp_path: Path) -> None:
    mapper = mapper_for_project(load_project(_project(tmp_path / "p")))
    _, events = mapper.map(_record("r"))  # no context, no region
    assert _properties(events) == {
        "r:input": {
            "model": "gpt-5",
            "type": "input",
            "context": "standard",
            "region": "unknown",
            "tokens": 100,
        },
        # the event's own default wins over the mapping's
        "r:output": {"model": "gpt-5", "type": "output", "context": "long", "tokens": 40},
    }
    _, events = mapper.map({**_record("n"), "context": None, "region": None})
    assert _properties(events)["n:input"]["context"] == "standard"
    assert _properties(events)["n:input"]["region"] == "unknown"
    _, events = mapper.map(_record("w", context="long", region="eu"))
    assert _properties(events)["w:input"]["context"] == "long"  # a value read wins
    assert _properties(events)["w:input"]["region"] == "eu"


def test_a_wrong_value_is_still_refused_and_a_dimension_without_default_still_needed(
    tmp_path: Path,
) -> None:
    mapper = mapper_for_project(load_project(_project(tmp_path / "p")))
    with pytest.raises(RecordRejected) as wrong:
        mapper.map(_record("x", context="huge"))  # a default fills what is missing, only
    assert wrong.value.reason == "filter_value_not_allowed"
    with pytest.raises(RecordRejected) as missing:
        mapper.map(_record("m", model=None))
    assert missing.value.reason == "missing_filter_value"
    assert "defaults: {model: ...}" in missing.value.message


def test_the_mapper_refuses_a_default_the_filter_does_not_allow(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    project = load_project(root)
    mapping = project.catalog.usage_mappings[0]
    broken = mapping.model_copy(update={"defaults": {"context": "huge"}})
    with pytest.raises(DispatchError, match="default context='huge' is not a filter value"):
        Mapper([broken], project.catalog.billable_metrics, {"acme": "acme-main"})


def test_the_spool_worker_bills_records_missing_a_dimension_with_the_default(
    sandbox_server: Any, tmp_path: Path
) -> None:
    root = _project(tmp_path / "project")
    spool = tmp_path / "spool.db"
    records = [
        _record("a"),  # no context: standard (input) and long (output's own default)
        _record("b", context="long"),
        _record("c", context=None, model="gpt-5-mini"),
        _record("d", context="huge"),  # a wrong value: dead-lettered, as before
    ]
    usage = tmp_path / "usage.jsonl"
    usage.write_bytes(b"\n".join(orjson.dumps(r) for r in records) + b"\n")
    sent = run_cli(sandbox_server, root, spool, "send", str(usage))
    assert sent.returncode == 0, sent.stdout + sent.stderr
    done = run_cli(sandbox_server, root, spool, "run", "--once", "-q")
    assert done.returncode == 0, done.stderr
    stored = {e[E_TXN]: (e[E_SUB], e[E_PROPS]) for e in sandbox_server.dump()["events"]}
    contexts = {txn: props.get("context") for txn, (_, props) in stored.items()}
    assert contexts == {
        "a:input": "standard",
        "a:output": "long",
        "b:input": "long",
        "b:output": "long",
        "c:input": "standard",
        "c:output": "long",
    }
    assert {sub for sub, _ in stored.values()} == {"acme-main"}
    assert stored["a:input"][1]["region"] == "unknown"
    with DeadLetterStore(spool) as store:
        letters = {d.record_id: d.reason for d in store.list()}
    assert letters == {"d": "filter_value_not_allowed"}
