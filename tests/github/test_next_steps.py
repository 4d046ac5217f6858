""" "What happens next": where the repository's workflows apply a merge, who CODEOWNERS says must
approve the files a pull request touches (asked of a fake GitHub over HTTP), how to re-plan."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lagoform.engine.findings import Finding
from lagoform.engine.plan import Plan
from lagoform.github.commands import Target
from lagoform.github.next_steps import (
    NextSteps,
    apply_targets,
    gather,
    owners_of,
    parse_codeowners,
    render,
)
from lagoform.github.runner import RunnerContext
from lagoform.github.settings import Settings
from lagoform.lago.secret import Secret
from tests.github.fake_github import FakeGitHub
from tests.github.harness import GITHUB_TOKEN, REPO

WORKFLOW = """\
on: push
jobs:
  production:
    needs: [staging, check]
    steps:
      - uses: lagoform/lagoform@v1
        with: {mode: apply, environment: production}
  check:
    steps:
      - run: make test
  staging:
    steps:
      - uses: actions/checkout@v5
      - uses: lagoform/lagoform@v1
        with: {mode: apply, environment: staging}
  other-project:
    steps:
      - uses: lagoform/lagoform@v1
        with: {mode: apply, environment: eu, working-directory: pricing-eu}
  plan:
    steps:
      - uses: lagoform/lagoform@v1
        with: {mode: pr, environment: production}
"""


def _workflow(root: Path, name: str, text: str) -> None:
    folder = root / ".github" / "workflows"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


def test_apply_targets_follow_needs_and_the_projects_directory(tmp_path: Path) -> None:
    _workflow(tmp_path, "apply.yml", WORKFLOW)
    assert apply_targets(tmp_path) == (("staging", "production"), ".github/workflows/apply.yml")
    assert apply_targets(tmp_path, "pricing-eu") == (("eu",), ".github/workflows/apply.yml")
    assert apply_targets(tmp_path, "elsewhere") == ((), None)


def test_no_or_broken_workflows_apply_nothing(tmp_path: Path) -> None:
    assert apply_targets(tmp_path) == ((), None)
    _workflow(tmp_path, "broken.yml", "jobs: [unclosed")
    _workflow(tmp_path, "plan.yaml", "jobs:\n  plan:\n    steps:\n      - with: {mode: pr}\n")
    assert apply_targets(tmp_path) == ((), None)


CODEOWNERS = r"""
# Lines are patterns, then owners; the last matching line wins.
*                       @acme/platform
*.yaml                  @acme/pricing-eng
/overrides/             @acme/finance @acme/sales-ops
docs/*                  @acme/docs
apps/                   @acme/apps
**/logs                 @acme/sre
/catalog/experiments/
/catalog/\#odd.yaml     @acme/odd   # a trailing comment
"""


@pytest.mark.parametrize(
    ("path", "owners"),
    [
        ("README.md", ("@acme/platform",)),
        ("catalog/plans.yaml", ("@acme/pricing-eng",)),
        ("deep/down/x.yaml", ("@acme/pricing-eng",)),
        ("overrides/globex.yaml", ("@acme/finance", "@acme/sales-ops")),
        ("sub/overrides/globex.yaml", ("@acme/pricing-eng",)),  # anchored at the root
        ("docs/guide.md", ("@acme/docs",)),
        ("docs/deep/guide.md", ("@acme/platform",)),  # docs/* owns what is directly in docs/
        ("x/apps/a/b.py", ("@acme/apps",)),
        ("a/b/logs/today.txt", ("@acme/sre",)),
        ("catalog/experiments/new.yaml", ()),  # an owner-less line unsets owners
        ("catalog/#odd.yaml", ("@acme/odd",)),
    ],
)
def test_codeowners_patterns_match_as_github_documents(path: str, owners: tuple[str, ...]) -> None:
    assert owners_of(parse_codeowners(CODEOWNERS), path) == owners


def test_no_rule_no_owner() -> None:
    assert owners_of(parse_codeowners("/catalog/ @acme/pricing\n"), "overrides/x.yaml") is None


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(GITHUB_TOKEN, REPO) as gh:
        yield gh


def _ctx(root: Path, github: FakeGitHub) -> RunnerContext:
    return RunnerContext(
        workspace=root,
        repository=REPO,
        event_name="pull_request",
        event={"pull_request": {"number": 7}},
        api_url=github.url,
        server_url="https://github.test",
        run_id="1",
        sha=None,
        actor=None,
        token=Secret(GITHUB_TOKEN),
    )


def _settings(root: Path) -> Settings:
    return Settings(
        mode="pr", target=Target("production"), project_root=root, output_dir=root / "out"
    )


def test_gather_asks_github_for_the_touched_files(tmp_path: Path, github: FakeGitHub) -> None:
    _workflow(tmp_path, "apply.yml", WORKFLOW)
    (tmp_path / ".github" / "CODEOWNERS").write_text(CODEOWNERS)
    github.state.pull_files[7] = ["overrides/globex.yaml", "catalog/plans.yaml", "NOTES.txt"]

    steps = gather(_ctx(tmp_path, github), _settings(tmp_path))

    assert steps == NextSteps(
        targets=("staging", "production"),
        workflow=".github/workflows/apply.yml",
        owners=("@acme/finance", "@acme/sales-ops", "@acme/pricing-eng", "@acme/platform"),
        unowned=(),
        codeowners=".github/CODEOWNERS",
        files=3,
        replan="lagoform plan -e production",
    )
    assert [c.path for c in github.state.calls] == [f"/repos/{REPO}/pulls/7/files"]
    text = render(steps)
    assert text.splitlines() == [
        "#### What happens next",
        "",
        "- **On merge:** applied to `staging`, then `production` (`.github/workflows/apply.yml`).",
        "- **Approval:** @acme/finance, @acme/sales-ops, @acme/pricing-eng, @acme/platform "
        "(`.github/CODEOWNERS` owners of the 3 files this pull request touches).",
        "- **Re-plan:** push to this branch (this comment is updated), or run "
        "`lagoform plan -e production` locally.",
    ]


def test_without_the_files_the_pricing_files_stand_in(tmp_path: Path, github: FakeGitHub) -> None:
    (tmp_path / "CODEOWNERS").write_text("/overrides/ @acme/finance\n")
    github.state.forbid_writes = True  # reads still work: no files listed for PR 7 either
    steps = gather(_ctx(tmp_path, github), _settings(tmp_path), held="nothing to apply.")
    assert steps.files == 0 and steps.owners == ("@acme/finance",)
    assert steps.unowned == ("catalog/", "lagoform.yaml", "policies.yaml")
    text = render(steps)
    assert "- **On merge:** nothing to apply." in text
    assert (
        "@acme/finance (`CODEOWNERS` owners of the pricing files (the pull request's files could "
        "not be listed)); 3 file(s) have no owner." in text
    )


def test_no_codeowners_says_how_to_require_finance(tmp_path: Path, github: FakeGitHub) -> None:
    github.state.pull_files[7] = ["catalog/plans.yaml"]
    text = render(gather(_ctx(tmp_path, github), _settings(tmp_path)))
    assert "no CODEOWNERS file: anyone with write access can approve" in text
    assert "no workflow in this repository applies it" in text


def test_a_policy_approval_names_its_reviewers_and_how_to_give_it(
    tmp_path: Path, github: FakeGitHub
) -> None:
    github.state.pull_files[7] = ["catalog/plans.yaml"]

    def finding(ident: str, approval: str | None, acknowledged: bool = False) -> Finding:
        return Finding(
            id=ident,
            subject="plan pro",
            message="moves a price by 50 %",
            way_out="change it by less",
            rule=ident.split(":")[1],
            where="catalog/plans.yaml:12",
            approval=approval,
            reviewers=("@acme/finance", "@cfo") if approval else (),
            acknowledged=acknowledged,
        )

    plan = Plan(
        plan_id="p",
        catalog_fingerprint="c",
        live_fingerprints={},
        changes=(),
        findings=(
            finding("policy:big:plan:pro", "finance"),
            finding("policy:cap:acme", "finance"),
            finding("policy:big:plan:team", "finance", acknowledged=True),  # approved already
            finding("policy:notice:plan:pro", None),  # no approval lets it through
        ),
    )
    steps = gather(_ctx(tmp_path, github), _settings(tmp_path), plan=plan)
    assert steps.policy_approvals == (("finance", ("@acme/finance", "@cfo"), 2),)
    assert (
        "- **Policy approval `finance`:** required by 2 pricing-policy findings; given by "
        "@acme/finance, @cfo: add it under `approved:` in `policies.yaml` in this pull request "
        "(its reference and the finding ids), so the apply on merge lets them through."
    ) in render(steps).splitlines()
    assert gather(_ctx(tmp_path, github), _settings(tmp_path)).policy_approvals == ()
