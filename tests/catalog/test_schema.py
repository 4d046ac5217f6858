"""The editor schemas: committed as generated, clean on the examples, flag mistakes where written.

An editor (yaml-language-server) reads YAML 1.2: numbers are numbers, ``2026-01-01`` is text.
``_as_editor_sees`` gives a file that shape, and a JSON Schema validator (jsonschema) checks it.
Each file under ``schema_cases/<kind>/`` holds one mistake and names, on its first line, the
path where the validator must flag it (``# expect: plans/0/trial_days``), and nowhere else.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from jsonschema.exceptions import ValidationError, best_match

from lagoform.catalog.schema import (
    SCHEMA_KINDS,
    SchemaKind,
    editor_schema,
    schema_id,
    schema_text,
    shipped_schema_path,
)
from lagoform.catalog.yamlsrc import load_yaml

ROOT = Path(__file__).resolve().parents[2]
CASES = Path(__file__).parent / "schema_cases"
EXAMPLES: list[tuple[SchemaKind, Path]] = [
    *(("catalog", p) for p in sorted((ROOT / "catalog").glob("*.yaml"))),
    *(("overrides", p) for p in sorted((ROOT / "overrides").glob("*.yaml"))),
    ("policies", ROOT / "policies.yaml"),
]
BROKEN: list[tuple[SchemaKind, Path]] = [
    (kind, p) for kind in SCHEMA_KINDS for p in sorted((CASES / kind).glob("*.yaml"))
]


def _as_editor_sees(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _as_editor_sees(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_editor_sees(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def _load(path: Path) -> Any:
    return _as_editor_sees(load_yaml(path.read_text(encoding="utf-8"), path.name))


def _validator(kind: SchemaKind) -> jsonschema.Draft202012Validator:
    schema = json.loads(shipped_schema_path(kind).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _path(error: ValidationError) -> str:
    return "/".join(str(part) for part in error.absolute_path)


@pytest.mark.parametrize("kind", SCHEMA_KINDS)
def test_the_committed_schemas_are_the_generated_ones(kind: SchemaKind) -> None:
    committed = shipped_schema_path(kind).read_text(encoding="utf-8")
    assert committed == schema_text(kind), "run `make schemas` and commit the result"
    assert json.loads(committed)["$id"] == schema_id(kind)


@pytest.mark.parametrize(("kind", "path"), EXAMPLES, ids=lambda v: getattr(v, "name", v))
def test_the_examples_are_clean(kind: SchemaKind, path: Path) -> None:
    errors = [f"{_path(e)}: {e.message}" for e in _validator(kind).iter_errors(_load(path))]
    assert errors == []


@pytest.mark.parametrize(("kind", "path"), EXAMPLES, ids=lambda v: getattr(v, "name", v))
def test_every_example_names_its_schema_on_the_first_line(kind: SchemaKind, path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    up = "" if path.parent == ROOT else "../"  # policies.yaml sits at the project's root
    assert first == f"# yaml-language-server: $schema={up}src/lagoform/schemas/{kind}.schema.json"
    # The modeline is relative to the file: it resolves in a fresh clone.
    target = (path.parent / first.split("$schema=", 1)[1]).resolve()
    assert target == shipped_schema_path(kind)


@pytest.mark.parametrize(("kind", "path"), BROKEN, ids=lambda v: getattr(v, "name", v))
def test_a_mistake_is_flagged_where_it_is_written(kind: SchemaKind, path: Path) -> None:
    header = path.read_text(encoding="utf-8").splitlines()[0]
    expect = re.fullmatch(r"# expect: (\S+)", header)
    assert expect, f"{path.name}: first line must be '# expect: <path>'"
    errors = list(_validator(kind).iter_errors(_load(path)))
    assert errors, f"{path.name}: the mistake was not flagged"
    flagged = {_path(best_match([e])) for e in errors}
    assert flagged == {expect.group(1)}


_SUBSCHEMA = ("items", "additionalProperties", "not")
_SUBSCHEMAS = ("anyOf", "oneOf")
# if/then and allOf only lay constraints over a property declared (and described) elsewhere.
_OVERLAYS = ("if", "then", "else", "allOf")


def _properties(node: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
    """Every property a schema declares (not the overlays), with where it is."""
    found: list[tuple[str, dict[str, Any]]] = []
    if not isinstance(node, dict):
        return found
    for name, sub in node.get("properties", {}).items():
        found.append((f"{where}.{name}", sub))
        found += _properties(sub, f"{where}.{name}")
    for name, sub in node.get("$defs", {}).items():
        found += _properties(sub, name)
    for key in _SUBSCHEMA:
        found += _properties(node.get(key), f"{where}/{key}")
    for key in _SUBSCHEMAS:
        for index, sub in enumerate(node.get(key, [])):
            found += _properties(sub, f"{where}/{key}[{index}]")
    return found


@pytest.mark.parametrize("kind", SCHEMA_KINDS)
def test_every_property_has_a_one_line_description(kind: SchemaKind) -> None:
    properties = _properties(editor_schema(kind), kind)
    assert len(properties) > (30 if kind == "policies" else 80)
    missing = [where for where, sub in properties if not sub.get("description", "").strip()]
    assert missing == []
    long = [where for where, sub in properties if "\n" in sub["description"]]
    assert long == []


def _is_typed(node: Any) -> bool:
    """A number may be written as text only when that text must read as a number or path."""
    if isinstance(node, dict):
        branches = node.get("anyOf", [])
        takes_number = any(b.get("type") in ("number", "integer") for b in branches)
        loose = [b for b in branches if b.get("type") == "string" and "pattern" not in b]
        if takes_number and loose:
            return False
        return all(_is_typed(v) for k, v in node.items() if k != "additionalProperties")
    if isinstance(node, list):
        return all(_is_typed(v) for v in node)
    return True


@pytest.mark.parametrize("kind", SCHEMA_KINDS)
def test_numbers_money_and_dates_are_typed(kind: SchemaKind) -> None:
    schema = editor_schema(kind)
    assert _is_typed(schema)
    text = json.dumps(schema)
    assert '"format": "date-time"' not in text  # a bare date is valid: a pattern instead
    assert "Money" in schema["$defs"]
