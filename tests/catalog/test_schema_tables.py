"""The editor schemas and shared price tables: every way of naming a table is accepted where the
loader accepts it, and refused where it does not (an override lists only what it negotiates; a
tier table lists its own tiers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jsonschema.exceptions import best_match

from lagoform.catalog.yamlsrc import load_yaml
from tests.catalog.llm_price_list import write_project
from tests.catalog.test_schema import _as_editor_sees, _path, _validator

EVERY_FORM = """
price_tables:
  - code: llm_list
    description: List prices
    per: 1M tokens
    filters:
      - values: {model: gpt-5, type: input}
        properties: {amount: 1.25}
      - values: {model: gpt-5, type: output}
        per: 1K tokens
        invoice_display_name: GPT-5 output
        properties: {amount: 0.01}
  - code: llm_eu
    filters:
      - table: llm_list
      - values: {model: gpt-5, type: input}
        properties: {amount: 1.5}
  - code: alias
    filters: {table: llm_list}
  - code: volume_2026
    per: 1M tokens
    tiers:
      - {to: 1000000, per_unit: 0}
      - {per_unit: 8, flat: 1}
  - code: by_model
    model: graduated
    filters:
      - values: {model: gpt-5}
        properties: {tiers: {table: volume_2026}}
plans:
  - code: pro
    name: Pro
    interval: monthly
    amount: 99.00 USD
    charges:
      - metric: tokens
        per: 1M tokens
        filters: {table: llm_list}
      - code: tokens_eu
        metric: tokens
        per: 1M tokens
        filters:
          - table: llm_eu
          - values: {model: claude-4, type: input}
            properties: {amount: 3}
      - metric: storage
        model: volume
        properties: {tiers: {table: volume_2026}}
      - code: tokens_tiered
        metric: tokens
        model: graduated
        properties: {tiers: {table: volume_2026}}
        filters:
          - table: by_model
          - values: {model: claude-4}
            properties: {tiers: {table: volume_2026}}
"""


def _errors(kind: str, data: Any) -> list[str]:
    """Each mistake where an editor underlines it (the deepest error that explains it)."""
    validator = _validator(kind)  # type: ignore[arg-type]
    errors = validator.iter_errors(_as_editor_sees(data))
    return [f"{_path(best_match([e]))}: {best_match([e]).message}" for e in errors]


def test_every_way_of_naming_a_table_is_accepted() -> None:
    assert _errors("catalog", load_yaml(EVERY_FORM, "tables.yaml")) == []


def test_the_generated_llm_price_list_is_clean(tmp_path: Path) -> None:
    root = write_project(tmp_path)
    files = sorted((root / "catalog").rglob("*.yaml"))
    assert len(files) == 4
    for path in files:
        data = load_yaml(path.read_text(encoding="utf-8"), path.name)
        assert _errors("catalog", data) == [], path


def test_an_override_cannot_name_a_table() -> None:
    tenant = """
customer: {name: Globex, currency: USD}
subscriptions:
  - external_id: globex-main
    plan: pro
    overrides:
      reason: negotiated
      approval: MSA-1
      charges:
        tokens:
          filters: {table: llm_list}
"""
    errors = _errors("overrides", load_yaml(tenant, "globex.yaml"))
    assert [e.split(":")[0] for e in errors] == ["subscriptions/0/overrides/charges/tokens/filters"]


def test_a_tier_table_lists_its_own_tiers() -> None:
    catalog = """
price_tables:
  - code: alias
    tiers: {table: volume_2026}
"""
    errors = _errors("catalog", load_yaml(catalog, "tables.yaml"))
    assert [e.split(":")[0] for e in errors] == ["price_tables/0/tiers"]
