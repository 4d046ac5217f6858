"""policies.yaml is loaded like the catalog: every mistake at once, each at its file:line:col,
cross-checked against the catalog (approval kinds, metrics, filter values, plans, rule ids);
and ``lagoform validate`` reports the rules the YAML alone decides."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest
from click.testing import CliRunner

from lagoform.catalog import load_project
from lagoform.catalog.models_policy import RULE_KINDS, PolicyRule
from lagoform.catalog.policies_file import load_policies, policy_problems
from lagoform.cli import _register, root
from lagoform.errors import CatalogError
from lagoform.validation import validate_project
from tests.engine.e2e_helpers import example_project

_register()

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return example_project(tmp_path)


def test_the_example_policies_hold_for_the_example_catalog() -> None:
    policies = load_policies(REPO, load_project(REPO))
    assert policies is not None
    assert [r.id for r in policies.model.rules] == [
        "max-increase",
        "notice",
        "negotiated-floor",
        "margin",
        "big-change",
    ]
    assert policies.reviewers("finance") == ("@acme/finance",)
    result = CliRunner().invoke(root, ["validate", "--root", str(REPO)])
    assert result.exit_code == 0, result.output


def test_no_file_no_policies(project: Path) -> None:
    assert load_policies(project, load_project(project)) is None
    assert policy_problems(project, None) == []


def test_every_mistake_is_located_and_reported_at_once(project: Path) -> None:
    (project / "policies.yaml").write_text(
        """approvals:
  finance: {reviewers: ["@acme/finance"]}
costs:
  - metric: tokens_usage
    currency: USD
    costs: [{values: {model: atlas-1}, cost: 1}]
  - metric: token_usage
    currency: USD
    costs:
      - {values: {model: atlas-3, typ: input}, cost: 1}
rules:
  - {id: cap, rule: max_increase, percent: 10, approval: finanse}
  - {id: cap, rule: min_notice, days: 30, plans: [pro_montly]}
approved:
  - {kind: legal, ref: L-1, findings: [policy:cap:acme]}
"""
    )
    problems = validate_project(project)
    shown = [str(p) for p in problems]
    assert shown == [
        "policies.yaml:4:13: cost table for unknown billable metric 'tokens_usage' "
        "(did you mean 'token_usage'?)",
        "policies.yaml:10:18: metric token_usage filter model has no value 'atlas-3' "
        "(did you mean 'atlas-2'?)",
        "policies.yaml:10:18: metric token_usage has no filter 'typ' (did you mean 'type'?)",
        "policies.yaml:12:58: approval kind 'finanse' is not defined under approvals: "
        "(did you mean 'finance'?)",
        "policies.yaml:13:10: rule id 'cap' is used twice",
        "policies.yaml:13:50: rule cap names unknown plan 'pro_montly' "
        "(did you mean 'pro_monthly'?)",
        "policies.yaml:15:12: approval kind 'legal' is not defined under approvals:",
    ]
    result = CliRunner().invoke(root, ["validate", "--root", str(project)])
    assert result.exit_code == 1
    assert "policies.yaml:13:10: rule id 'cap' is used twice" in result.output
    with pytest.raises(CatalogError):
        load_policies(project, load_project(project))


def test_a_wrong_shape_says_what_is_expected_where(project: Path) -> None:
    (project / "policies.yaml").write_text(
        "rules:\n"
        "  - {id: floor, rule: negotiated_floor, floor: 1.5}\n"
        "  - {id: cap, rule: max_increase}\n"
        "  - {id: odd, rule: max_raise}\n"
    )
    shown = [str(p) for p in validate_project(project)]
    assert len(shown) == 3, shown
    assert shown == [
        "policies.yaml:2:48: Input should be less than or equal to 1, got 1.5",  # the floor
        "policies.yaml:3:5: max_increase needs percent, amount or both",
        "policies.yaml:4:21: unknown rule kind 'max_raise': expected one of max_increase, "
        "min_notice, negotiated_floor, margin_floor, approval_above (did you mean "
        "'max_increase'?)",
    ]
    tags = [
        m.model_fields["rule"].annotation.__args__[0] for m in get_args(get_args(PolicyRule)[0])
    ]
    assert tuple(tags) == RULE_KINDS


def test_validate_fails_on_an_error_finding_and_only_says_a_warning(project: Path) -> None:
    rule = "rules:\n  - {id: floor, rule: negotiated_floor, floor: 0.85, severity: SEV}\n"
    (project / "policies.yaml").write_text(rule.replace("SEV", "warning"))
    warned = CliRunner().invoke(root, ["validate", "--root", str(project)])
    assert warned.exit_code == 0, warned.output
    assert (
        "overrides/globex.yaml:34: warning: policy floor: subscription globex-main negotiates "
        "tokens amount at 0.0000015 USD per unit" in warned.output
    )
    (project / "policies.yaml").write_text(rule.replace("SEV", "error"))
    failed = CliRunner().invoke(root, ["validate", "--root", str(project)])
    assert failed.exit_code == 1
    assert "overrides/globex.yaml:34: policy floor: subscription globex-main" in failed.output
    assert "3 problems found; nothing was sent to Lago." in failed.output
