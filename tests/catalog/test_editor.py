"""What an editor shows: the real yaml-language-server, driven over LSP, on the committed files.

``make setup`` installs yaml-language-server (the engine of VS Code's YAML extension and of
most editors' YAML support) from npm into ``.venv/node``. The example files are opened where
they live, so their relative modeline must resolve in the checkout; each broken case from
``schema_cases/`` is opened beside them with the modeline in place of its ``# expect:`` line,
and must get exactly one diagnostic, on a line of the node its header names.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lagoform.catalog.yamlsrc import LocDict, LocList, load_yaml

ROOT = Path(__file__).resolve().parents[2]
CASES = Path(__file__).parent / "schema_cases"
SERVER = Path(sys.prefix) / "node" / "node_modules" / "yaml-language-server" / "bin"
EXAMPLES = sorted((ROOT / "catalog").glob("*.yaml")) + sorted((ROOT / "overrides").glob("*.yaml"))
BROKEN = sorted(CASES.glob("*/*.yaml"))

pytestmark = pytest.mark.slow


def _broken_uri(case: Path) -> str:
    # Beside the examples (catalog/ or overrides/), so the same relative modeline resolves.
    return (ROOT / case.parent.name / f"__broken__{case.name}").as_uri()


def _broken_text(case: Path) -> str:
    header, body = case.read_text(encoding="utf-8").split("\n", 1)
    assert header.startswith("# expect: ")
    modeline = f"# yaml-language-server: $schema=../src/lagoform/schemas/{case.parent.name}"
    return f"{modeline}.schema.json\n{body}"


@pytest.fixture(scope="module")
def diagnostics(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    node = shutil.which("node")
    assert node, "node is missing (yaml-language-server runs on it)"
    server = SERVER / "yaml-language-server"
    assert server.exists(), f"{server} is missing: run `make setup`"
    docs = [{"uri": p.as_uri(), "text": p.read_text(encoding="utf-8")} for p in EXAMPLES]
    docs += [{"uri": _broken_uri(c), "text": _broken_text(c)} for c in BROKEN]
    docs_file = tmp_path_factory.mktemp("lsp") / "docs.json"
    docs_file.write_text(json.dumps(docs), encoding="utf-8")
    result = subprocess.run(
        [node, str(Path(__file__).parent / "lsp_client.js"), str(server), str(docs_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found: dict[str, list[dict[str, Any]]] = json.loads(result.stdout)
    return found


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_examples_show_no_problem(
    path: Path, diagnostics: dict[str, list[dict[str, Any]]]
) -> None:
    assert diagnostics[path.as_uri()] == []


def _lines(node: Any) -> set[int]:
    """1-based lines of everything written inside a loaded YAML node."""
    lines: set[int] = set()
    if isinstance(node, LocDict):
        for key in node:
            lines |= {node.key_loc(key).line or 0, node.value_loc(key).line or 0}
            lines |= _lines(node[key])
    elif isinstance(node, LocList):
        lines |= {loc.line or 0 for loc in node.item_locs}
        for item in node:
            lines |= _lines(item)
    return lines


def _span(case: Path) -> set[int]:
    """The lines of the node the case's header names (its key's line included)."""
    text = case.read_text(encoding="utf-8")
    path = text.splitlines()[0].removeprefix("# expect: ").split("/")
    node: Any = load_yaml(text, case.name)
    line = 0
    for part in path:
        if isinstance(node, LocList):
            line = node.item_loc(int(part)).line or 0
            node = node[int(part)]
        else:
            line = node.key_loc(part).line or 0
            node = node[part]
    return {line} | _lines(node)


@pytest.mark.parametrize("case", BROKEN, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_mistake_is_underlined_where_it_is_written(
    case: Path, diagnostics: dict[str, list[dict[str, Any]]]
) -> None:
    shown = diagnostics[_broken_uri(case)]
    assert len(shown) == 1, [d["message"] for d in shown]
    line = shown[0]["range"]["start"]["line"] + 1  # LSP lines are 0-based
    assert line in _span(case), (line, sorted(_span(case)), shown[0]["message"])
