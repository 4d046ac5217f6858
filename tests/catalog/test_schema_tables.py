"""The editor schemas and shared price tables: every way of naming a table is accepted where the
loader accepts it, and refused where it does not (an override lists only what it negotiates; a
tier table lists its own tiers)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from jsonschema.exceptions import best_match

from lagoform.catalog.schema import SchemaKind
from lagoform.catalog.yamlsrc import load_yaml
from tests.catalog.llm_price_list import write_project
from tests.catalog.test_schema import _as_editor_sees, _path, _validator
from tests.catalog.test_tables import METRIC, NESTED, PLAN, TIERED

# A shorthand table use, a table aliasing another, a filter entry with its own unit and
# invoice name: the forms the loader tests (tests/catalog/test_tables.py) do not write.
MORE_FORMS = """
price_tables:
  - code: alias
    description: The list under another name
    filters: {table: list}
  - code: with_names
    per: 1M tokens
    filters:
      - values: {model: gpt-5, type: output}
        per: 1K tokens
        invoice_display_name: GPT-5 output
        properties: {amount: 0.01}
plans:
  - code: team
    name: Team
    interval: monthly
    amount: 99.00 USD
    charges:
      - metric: tokens
        per: 1M tokens
        filters: {table: alias}
"""


@functools.cache
def _cached(kind: SchemaKind) -> Any:
    return _validator(kind)


def _errors(kind: SchemaKind, data: Any) -> list[str]:
    """Each mistake where an editor underlines it (the deepest error that explains it)."""
    validator = _cached(kind)
    errors = validator.iter_errors(_as_editor_sees(data))
    return [f"{_path(best_match([e]))}: {best_match([e]).message}" for e in errors]


def test_every_way_of_naming_a_table_is_accepted() -> None:
    """What the loader tests load, the editor accepts."""
    documents = [MORE_FORMS, METRIC]
    for tables, charges in (NESTED, TIERED):
        documents += [tables, PLAN + charges]
    for text in documents:
        assert _errors("catalog", load_yaml(text, "catalog.yaml")) == [], text


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
