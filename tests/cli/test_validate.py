"""`lagoform validate` and `lagoform schema` through click, with the root group's error mapping."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from lagoform.cli import LagoformGroup
from lagoform.cli.validate import schema, validate

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "catalog" / "cases"


def _cli() -> click.Group:
    # The root group class (error -> exit code) with only these commands, so this test does not
    # depend on other command modules importing cleanly.
    group = LagoformGroup(name="lagoform")
    group.add_command(validate)
    group.add_command(schema)
    return group


def test_valid_example_exits_0_with_a_one_line_summary() -> None:
    result = CliRunner().invoke(_cli(), ["validate", "--root", str(ROOT)])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "Valid: 6 metrics, 4 plans, 1 add-on, 1 coupon, 1 tax, 1 usage mapping, "
        "2 tenants, 2 subscriptions.\n"
    )


def _warned(case: str) -> bool:
    return "warning: " in (CASES / case / "expected.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "case", sorted(p.name for p in CASES.iterdir() if p.is_dir() and not _warned(p.name))
)
def test_each_bad_case_exits_1_listing_its_problems(case: str) -> None:
    result = CliRunner().invoke(_cli(), ["validate", "--root", str(CASES / case)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    expected = (CASES / case / "expected.txt").read_text(encoding="utf-8").splitlines()
    for line in expected:
        assert line in result.output
    n = len(expected)
    assert f"{n} problem{'s' if n != 1 else ''} found; nothing was sent to Lago." in result.output


@pytest.mark.parametrize(
    "case", sorted(p.name for p in CASES.iterdir() if p.is_dir() and _warned(p.name))
)
def test_a_case_with_only_warnings_is_valid_and_says_them(case: str) -> None:
    result = CliRunner().invoke(_cli(), ["validate", "--root", str(CASES / case)])
    assert result.exit_code == 0, result.output
    expected = (CASES / case / "expected.txt").read_text(encoding="utf-8").splitlines()
    assert result.output.splitlines()[: len(expected)] == expected  # warnings, then the summary
    assert result.output.splitlines()[-1].startswith("Valid: ")


def test_missing_root_is_a_clean_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(_cli(), ["validate", "--root", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "no catalog/ directory" in result.output
    assert "Traceback" not in result.output


def test_schema_prints_and_writes_every_schema(tmp_path: Path) -> None:
    printed = CliRunner().invoke(_cli(), ["schema"])
    assert printed.exit_code == 0
    catalog = json.loads(printed.output)
    assert catalog["title"] == "lagoform catalog file"
    assert set(catalog["properties"]) == {
        "taxes",
        "billable_metrics",
        "add_ons",
        "plans",
        "price_tables",
        "coupons",
        "usage_mappings",
        "remove",
    }
    out = tmp_path / "overrides.schema.json"
    written = CliRunner().invoke(_cli(), ["schema", "--kind", "overrides", "--out", str(out)])
    assert written.exit_code == 0 and f"Wrote {out}" in written.output
    assert json.loads(out.read_text())["title"] == "lagoform tenant overrides file"
    both = CliRunner().invoke(_cli(), ["schema", "--out-dir", str(tmp_path / "s")])
    assert both.exit_code == 0
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [
        "catalog.schema.json",
        "overrides.schema.json",
        "policies.schema.json",
    ]


def test_schema_unwritable_target_is_a_clean_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = CliRunner().invoke(_cli(), ["schema", "--out", str(blocker / "x.json")])
    assert result.exit_code == 1
    assert "cannot write the schema" in result.output
