"""Shared price tables: a table is only a way of writing the same charges.

The loader writes each table's entries into the charges that use it (before validation, keeping
every entry's file:line in the table); these tests compare the Lago bodies with the same prices
written out, and check what the project remembers about where prices came from.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from lagoform.catalog import load_project
from lagoform.catalog.lago_form import plan_body
from lagoform.errors import CatalogError
from tests.catalog.llm_price_list import MODELS, TYPES, price, write_project


def _bodies(root: Path) -> dict[str, Any]:
    return {p.code: plan_body(p, update=True) for p in load_project(root).catalog.plans}


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "catalog" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


METRIC = """
billable_metrics:
  - code: tokens
    name: Tokens
    aggregation: sum
    field_name: tokens
    filters:
      model: [gpt-5, gpt-5-mini, claude-4]
      type: [input, output]
  - code: storage
    name: Storage
    aggregation: sum
    field_name: bytes
"""
PLAN = """
plans:
  - code: pro
    name: Pro
    interval: monthly
    amount: 99.00 USD
    charges:
"""

# (tables.yaml, the charges of plan pro): tables using tables, with units; tier tables.
NESTED = (
    """
price_tables:
  - code: list
    per: 1M tokens
    filters:
      - values: {model: gpt-5, type: input}
        properties: {amount: 1.25}
      - values: {model: gpt-5, type: output}
        per: 1K tokens
        properties: {amount: 0.01}
  - code: eu
    filters:
      - table: list
      - values: {model: gpt-5, type: input}
        properties: {amount: 1.5}
  - code: plain
    filters:
      - values: {model: claude-4, type: input}
        properties: {amount: 3}
""",
    """
      - metric: tokens
        per: 1K tokens
        filters:
          - table: eu
          - table: plain
""",
)
TIERED = (
    """
price_tables:
  - code: volume_2026
    per: 1M tokens
    tiers:
      - {to: 1000000, per_unit: 0}
      - {per_unit: 8}
  - code: by_model
    model: graduated
    filters:
      - values: {model: gpt-5}
        properties: {tiers: {table: volume_2026}}
""",
    """
      - metric: storage
        model: volume
        per: 1M tokens
        properties: {tiers: {table: volume_2026}}
      - metric: tokens
        model: graduated
        per: 1M tokens
        properties: {tiers: [{per_unit: 1}]}
        filters:
          - table: by_model
          - values: {model: claude-4}
            properties: {tiers: {table: volume_2026}}
""",
)


def test_a_table_gives_the_bodies_of_the_prices_written_out(tmp_path: Path) -> None:
    with_tables = write_project(tmp_path / "tables")
    written_out = write_project(tmp_path / "inline", tables=False)
    bodies = _bodies(with_tables)
    assert bodies == _bodies(written_out)
    # 160 filters per charge; per 1M tokens written, per token sent
    starter = bodies["starter"]["charges"][0]
    assert len(starter["filters"]) == len(MODELS) * len(TYPES) == 160
    first = starter["filters"][0]
    assert first["values"] == {"model": ["atlas-00"], "type": ["input"]}
    assert Decimal(first["properties"]["amount"]) * 1_000_000 == price("atlas-00", "input")
    # the variant (extends) inherits the charge that names the table
    assert bodies["starter_annual"]["charges"] == bodies["starter"]["charges"]


def test_the_plans_own_entry_wins_and_the_rest_follow_the_table(tmp_path: Path) -> None:
    enterprise = _bodies(write_project(tmp_path))["enterprise"]
    filters = {
        (f["values"]["model"][0], f["values"]["type"][0]): Decimal(f["properties"]["amount"])
        for f in enterprise["charges"][0]["filters"]
    }
    assert len(filters) == 160
    assert filters["atlas-00", "input"] * 1_000_000 == Decimal("0.9")  # its own
    assert filters["atlas-00", "output"] * 1_000_000 == price("atlas-00", "output")


def test_the_project_says_which_prices_came_from_which_table(tmp_path: Path) -> None:
    sources = load_project(write_project(tmp_path)).table_sources
    assert set(sources) == {"starter", "starter_annual", "enterprise"}
    starter = sources["starter"]["llm_tokens"]["filters"]
    assert len(starter) == 160 and set(starter.values()) == {"llm_list"}
    assert "model=atlas-39;type=reasoning" in starter
    enterprise = sources["enterprise"]
    assert len(enterprise["llm_tokens"]["filters"]) == 159  # one price is its own
    assert "model=atlas-00;type=input" not in enterprise["llm_tokens"]["filters"]
    assert enterprise["storage"] == {"tiers": {"": "storage_2026"}}


def test_a_table_entry_is_located_where_the_table_writes_it(tmp_path: Path) -> None:
    project = load_project(write_project(tmp_path))
    where = project.locate("plan", "enterprise", "charges", "llm_tokens", "filters", 5)
    assert where.file == "catalog/price_tables.yaml"
    text = (tmp_path / where.file).read_text().splitlines()
    assert where.line is not None and "values:" in text[where.line - 1]
    table = project.locate("price_table", "llm_list", "per")
    assert (table.file, table.line) == ("catalog/price_tables.yaml", 4)


def test_tables_use_tables_and_units_follow_the_rules(tmp_path: Path) -> None:
    tables, charges = NESTED
    root = _write(
        tmp_path, {"metrics.yaml": METRIC, "tables.yaml": tables, "plans.yaml": PLAN + charges}
    )
    body = _bodies(root)["pro"]["charges"][0]
    amounts = {
        (f["values"]["model"][0], f["values"]["type"][0]): f["properties"]["amount"]
        for f in body["filters"]
    }
    assert amounts == {
        ("gpt-5", "output"): "0.00001",  # 0.01 per 1K tokens: the entry's own per:
        # eu's own entry wins over list's 1.25 per 1M; eu has no per:, so it is read in the
        # unit of the charge that uses it: 1.5 per 1K tokens
        ("gpt-5", "input"): "0.0015",
        ("claude-4", "input"): "0.003",  # plain has no per: either: 3 per 1K tokens
    }
    sources = load_project(root).table_sources["pro"]["tokens"]["filters"]
    assert sources == {
        "model=gpt-5;type=output": "eu",
        "model=gpt-5;type=input": "eu",
        "model=claude-4;type=input": "plain",
    }


def test_tier_tables_price_tiers_of_charges_and_filters(tmp_path: Path) -> None:
    tables, charges = TIERED
    root = _write(
        tmp_path, {"metrics.yaml": METRIC, "tables.yaml": tables, "plans.yaml": PLAN + charges}
    )
    storage, tokens = _bodies(root)["pro"]["charges"]
    expected = [
        {"from_value": 0, "to_value": 1000000, "per_unit_amount": "0", "flat_amount": "0"},
        {
            "from_value": 1000001,
            "to_value": None,
            "per_unit_amount": "0.000008",
            "flat_amount": "0",
        },
    ]
    assert storage["properties"]["volume_ranges"] == expected
    assert [f["properties"]["graduated_ranges"] for f in tokens["filters"]] == [expected, expected]
    sources = load_project(root).table_sources["pro"]
    assert sources["storage"] == {"tiers": {"": "volume_2026"}}
    assert sources["tokens"] == {
        "filters": {"model=gpt-5": "by_model"},
        "tiers": {"model=claude-4": "volume_2026"},
    }


def test_an_unused_table_is_still_checked(tmp_path: Path) -> None:
    tables = """
price_tables:
  - code: draft
    filters:
      - values: {model: gpt-5}
        properties: {amount: -1}
"""
    root = _write(tmp_path, {"metrics.yaml": METRIC, "tables.yaml": tables})
    with pytest.raises(CatalogError) as caught:
        load_project(root)
    assert [str(p) for p in caught.value.problems] == [
        "catalog/tables.yaml:6:30: amount must be 0 or more, got -1"
    ]


def test_no_tables_no_sources(tmp_path: Path) -> None:
    root = _write(
        tmp_path, {"metrics.yaml": METRIC, "plans.yaml": PLAN + "      - metric: tokens\n"}
    )
    project = load_project(root)
    assert project.table_sources == {} and project.catalog.price_tables == ()


def test_the_documented_example_loads(tmp_path: Path) -> None:
    """docs/yaml-format.md's price-table example, file by file, is a valid catalog."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "yaml-format.md").read_text()
    block = next(b for b in doc.split("```yaml\n")[1:] if "price_tables:" in b).split("```")[0]
    files: dict[str, str] = {}
    for part in block.split("# catalog/")[1:]:
        name, _, text = part.partition("\n")
        files[name.split()[0]] = text
    assert set(files) == {"price_tables.yaml", "plans.yaml", "enterprise/plans.yaml"}
    metrics = """
billable_metrics:
  - {code: llm_tokens, name: LLM tokens, aggregation: sum, field_name: tokens,
     filters: {model: [atlas-2, atlas-2-mini], type: [input, cached_input, output, reasoning]}}
  - {code: storage, name: Storage, aggregation: sum, field_name: bytes}
"""
    project = load_project(_write(tmp_path, {**files, "metrics.yaml": metrics}))
    bodies = {p.code: plan_body(p) for p in project.catalog.plans}
    own = bodies["enterprise"]["charges"][0]["filters"][-1]
    assert own["values"] == {"model": ["atlas-2"], "type": ["input"]}
    assert own["properties"] == {"amount": "0.0000009"}
    assert bodies["starter_annual"]["charges"] == bodies["starter"]["charges"]
    assert [t.code for t in project.catalog.price_tables] == [
        "llm_list", "llm_list_eu", "storage_2026",
    ]  # fmt: skip
