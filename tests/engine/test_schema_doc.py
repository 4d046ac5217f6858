"""docs/plan-json-schema.md carries the generated JSON Schema of the plan; keep them in sync."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from lagoform.engine.plan import FORMAT_VERSION, Plan

DOC = Path(__file__).resolve().parents[2] / "docs" / "plan-json-schema.md"
BLOCK = re.compile(r"```json\n(.*?)\n```", re.S)


def test_doc_schema_matches_the_model() -> None:
    schema = json.dumps(Plan.model_json_schema(), indent=2, sort_keys=True)
    text = DOC.read_text()
    if os.environ.get("LAGOFORM_REGEN_GOLDEN"):
        text = BLOCK.sub(lambda _: f"```json\n{schema}\n```", text, count=1)
        DOC.write_text(text)
    match = BLOCK.search(text)
    assert match is not None, "docs/plan-json-schema.md has no ```json block"
    assert match.group(1) == schema, "regenerate with LAGOFORM_REGEN_GOLDEN=1"
    assert f"(version {FORMAT_VERSION})" in text
