"""A small project (catalog + overrides) exercising every mapping feature, for dispatch tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from lagoform.catalog import BillableMetric, Tenant, UsageMapping
from lagoform.dispatch.mapping import Mapper

METRICS_YAML = """
billable_metrics:
  - code: token_usage
    name: Tokens
    aggregation: sum
    field_name: tokens
    filters:
      model: [atlas-1, atlas-2]
      type: [input, output, reasoning]
      modality: [text, audio]
  - code: image_generation
    name: Images
    aggregation: count
    filters:
      model: [atlas-1, atlas-2]
  - code: active_users
    name: Active users
    aggregation: unique_count
    field_name: user_id
  - code: api_calls
    name: API calls
    aggregation: sum
    field_name: calls
plans:
  - code: pro
    name: Pro
    interval: monthly
    amount: 10 USD
    charges:
      - {metric: token_usage, model: standard, properties: {amount: "0.000002"}}
"""

USAGE_YAML = """
usage_mappings:
  - record_type: llm.generation_completed
    subscription: $subscription_id
    tenant: $tenant
    events:
      - key: tokens.input.text
        metric: token_usage
        quantity: $usage.input.text
        properties: {model: $model, type: input, modality: text}
      - key: tokens.input.audio
        metric: token_usage
        quantity: $usage.input.audio
        properties: {model: $model, type: input, modality: audio}
      - key: tokens.output.text
        metric: token_usage
        quantity: $usage.output.text
        properties: {model: $model, type: output, modality: text}
      - key: tokens.reasoning.text
        metric: token_usage
        quantity: $usage.reasoning.text
        properties: {model: $model, type: reasoning, modality: text, note: $$raw}
      - key: images
        metric: image_generation
        repeat: $images
        properties: {model: $model}
      - key: users
        metric: active_users
        quantity: $user_id
  - record_type: api.call
    tenant: $tenant
    events:
      - key: calls
        metric: api_calls
        quantity: 1
        properties: {model: atlas-1, region: $region, weight: $weight}
"""

GLOBEX_YAML = """
customer: {name: Globex AI, currency: USD}
subscriptions:
  - {external_id: globex-main, plan: pro, usage_target: true}
  - {external_id: globex-side, plan: pro}
"""

INITECH_YAML = """
customer: {name: Initech, currency: USD}
subscriptions:
  - {external_id: initech-a, plan: pro}
  - {external_id: initech-b, plan: pro}
"""


def write_project(root: Path) -> Path:
    (root / "catalog").mkdir(parents=True, exist_ok=True)
    (root / "overrides").mkdir(parents=True, exist_ok=True)
    (root / "catalog" / "metrics.yaml").write_text(METRICS_YAML)
    (root / "catalog" / "usage.yaml").write_text(USAGE_YAML)
    (root / "overrides" / "globex.yaml").write_text(GLOBEX_YAML)
    (root / "overrides" / "initech.yaml").write_text(INITECH_YAML)
    return root


def build_mapper() -> Mapper:
    """The mapper for the project above, built from the catalog's own models."""
    metrics = [BillableMetric.model_validate(m) for m in _load(METRICS_YAML)["billable_metrics"]]
    mappings = [UsageMapping.model_validate(m) for m in _load(USAGE_YAML)["usage_mappings"]]
    tenants = {}
    for name, text in (("globex", GLOBEX_YAML), ("initech", INITECH_YAML)):
        tenant = Tenant.model_validate({"external_id": name, **_load(text)})
        target = tenant.usage_target
        tenants[name] = target.external_id if target else None
    return Mapper(mappings, metrics, tenants)


def _load(text: str) -> dict[str, Any]:
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def llm_record(record_id: str, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": record_id,
        "type": "llm.generation_completed",
        "timestamp": 1767225600,
        "tenant": "globex",
        "model": "atlas-1",
        "usage": {"input": {"text": 100}, "output": {"text": 40}},
    }
    record.update(fields)
    return record
