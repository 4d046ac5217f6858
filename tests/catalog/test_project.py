"""Loading the whole project: the example, variants, locations, and many problems at once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lagoform.catalog import GraduatedProperties, load_project
from lagoform.errors import CatalogError

ROOT = Path(__file__).resolve().parents[2]


def test_example_project_validates() -> None:
    project = load_project(ROOT)
    catalog = project.catalog
    assert [m.code for m in catalog.billable_metrics] == [
        "token_usage",
        "image_generation",
        "api_calls",
        "active_users",
        "storage_gb",
        "voice_minutes",
    ]
    assert [p.code for p in catalog.plans] == ["free", "pro_monthly", "pro_annual", "enterprise"]
    assert [t.external_id for t in project.tenants] == ["acme-labs", "globex"]
    globex = project.tenant("globex")
    assert globex is not None and globex.usage_target is not None
    assert globex.usage_target.external_id == "globex-main"
    token = catalog.metric("token_usage")
    assert token is not None and token.filters["type"] == ("input", "output", "reasoning")


def test_variant_inherits_charges_and_overrides_its_own_keys() -> None:
    catalog = load_project(ROOT).catalog
    monthly, annual = catalog.plan("pro_monthly"), catalog.plan("pro_annual")
    assert monthly is not None and annual is not None
    assert annual.extends == "pro_monthly"
    assert annual.charges == monthly.charges
    assert (annual.interval, str(annual.amount), annual.bill_charges_monthly) == (
        "yearly",
        "990.00 USD",
        True,
    )
    assert annual.trial_days == monthly.trial_days == 14
    tokens = annual.charge("tokens")
    assert tokens is not None and isinstance(tokens.properties, GraduatedProperties)
    assert tokens.properties.tiers[1].from_ == 1000001


def test_locate_points_at_yaml_lines() -> None:
    project = load_project(ROOT)
    assert str(project.locate("plan", "pro_monthly")) == "catalog/plans.yaml:25:5"
    where = project.locate("plan", "pro_monthly", "charges", "tokens", "properties")
    assert str(where) == "catalog/plans.yaml:40:9"
    # an inherited charge points at the parent's line
    assert project.locate("plan", "pro_annual", "charges", "tokens") == project.locate(
        "plan", "pro_monthly", "charges", "tokens"
    )
    assert str(project.locate("plan", "pro_annual", "interval")) == "catalog/plans.yaml:120:5"
    sub = project.locate("tenant", "globex", "subscriptions", "globex-main", "overrides", "amount")
    assert str(sub) == "overrides/globex.yaml:31:7"
    assert str(project.locate("billable_metric", "api_calls")) == "catalog/metrics.yaml:28:5"
    assert project.locate("plan", "no_such_plan").line is None


def test_every_problem_is_reported_in_one_run_sorted(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "catalog", tmp_path / "catalog")
    shutil.copytree(ROOT / "overrides", tmp_path / "overrides")
    metrics = tmp_path / "catalog" / "metrics.yaml"
    metrics.write_text(
        metrics.read_text().replace("aggregation: unique_count", "aggregation: uniq")
    )
    plans = tmp_path / "catalog" / "plans.yaml"
    plans.write_text(
        plans.read_text()
        .replace(
            "values: {type: output, modality: text}", "values: {type: outptu, modality: text}", 1
        )
        .replace("package_size: 10000", "package_size: 0")
    )
    globex = tmp_path / "overrides" / "globex.yaml"
    globex.write_text(globex.read_text().replace("      approval: MSA-2026-014\n", ""))
    with pytest.raises(CatalogError) as caught:
        load_project(tmp_path)
    lines = [str(p) for p in caught.value.problems]
    assert lines == [
        "catalog/metrics.yaml:35:18: expected one of 'count', 'sum', 'max', 'unique_count', "
        "'weighted_sum', 'latest' or 'custom', got 'uniq' (did you mean 'unique_count'?)",
        "catalog/plans.yaml:51:28: 'outptu' is not a value of filter 'type' on metric "
        "'token_usage' (allowed: input, output, reasoning, or '*') (did you mean 'output'?)",
        "catalog/plans.yaml:90:50: package_size must be a whole number above 0, got 0",
        "overrides/globex.yaml:28:5: overrides need 'approval' (every override needs a reason "
        "and an approval reference (MSA or ticket id))",
    ]
    assert str(caught.value).endswith("4 problems found; nothing was sent to Lago.")


def test_a_variants_inherited_mistake_is_reported_once(tmp_path: Path) -> None:
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "p.yaml").write_text(
        "billable_metrics:\n  - {code: m, name: M, aggregation: count}\n"
        "plans:\n"
        "  - code: a\n    name: A\n    interval: monthly\n    amount: 1 USD\n"
        "    charges:\n      - metric: m\n        properties: {amount: -1}\n"
        "  - code: b\n    extends: a\n    interval: yearly\n"
    )
    with pytest.raises(CatalogError) as caught:
        load_project(tmp_path)
    assert [str(p) for p in caught.value.problems] == [
        "catalog/p.yaml:10:30: amount must be 0 or more, got -1"
    ]


def test_missing_catalog_directory_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="no catalog/ directory"):
        load_project(tmp_path)


def test_empty_catalog_is_valid(tmp_path: Path) -> None:
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "empty.yaml").write_text("# nothing yet\n")
    project = load_project(tmp_path)
    assert project.catalog.plans == () and project.tenants == ()
