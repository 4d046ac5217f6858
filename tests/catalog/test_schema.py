"""The JSON Schemas accept the example files and flag what an editor should underline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from lagoform.catalog import catalog_schema, overrides_schema

ROOT = Path(__file__).resolve().parents[2]


def _plain(path: Path) -> Any:
    # What an editor sees: YAML 1.1-ish data, dates as text.
    return json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))


@pytest.mark.parametrize("path", sorted((ROOT / "catalog").glob("*.yaml")), ids=lambda p: p.name)
def test_example_catalog_files_match_the_schema(path: Path) -> None:
    jsonschema.validate(_plain(path), catalog_schema())


@pytest.mark.parametrize("path", sorted((ROOT / "overrides").glob("*.yaml")), ids=lambda p: p.name)
def test_example_overrides_files_match_the_schema(path: Path) -> None:
    jsonschema.validate(_plain(path), overrides_schema())


@pytest.mark.parametrize(
    "doc",
    [
        {"plans": [{"code": "p", "nmae": "P"}]},
        {"billable_metrics": [{"code": "m", "name": "M", "aggregation": "summ"}]},
        {"plans": [{"code": "p", "amount": "99 dollars"}]},
        {"taxes": {"code": "t"}},
        {
            "usage_mappings": [
                {"record_type": "r", "tenant": "$t", "events": [{"key": "a:b", "metric": "m"}]}
            ]
        },
    ],
)
def test_schema_flags_mistakes(doc: Any) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, catalog_schema())


def test_overrides_schema_requires_reason_and_approval() -> None:
    doc = {
        "customer": {"name": "x"},
        "subscriptions": [{"external_id": "s", "plan": "p", "overrides": {"reason": "r"}}],
    }
    with pytest.raises(jsonschema.ValidationError, match="approval"):
        jsonschema.validate(doc, overrides_schema())
