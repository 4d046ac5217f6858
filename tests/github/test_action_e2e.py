"""The Action's entry point end to end: a simulated runner, the sandbox over HTTP, a fake GitHub.

Each test runs ``python -m lagoform.github <mode>`` as the composite action does, against the
``sandbox_server`` fixture (a real HTTP server speaking Lago's API) and ``FakeGitHub`` (a
recording stand-in for GitHub's REST API), then checks what a reviewer would see: annotations,
the sticky comment, the job summary, step outputs, plan.json, the audit log, the drift issue.
The Lago API key and the GitHub token are canaries: they must appear in none of those.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lagoform.review import Review
from tests.github.fake_github import FakeGitHub
from tests.github.gfm import rendered_blocks
from tests.github.harness import (
    GITHUB_TOKEN,
    REPO,
    ActionRun,
    pull_request_event,
    push_event,
    run_action,
    schedule_event,
)

# Each test starts the entry point (and lagoform) as subprocesses a few times: ~5 s per run.
pytestmark = pytest.mark.slow

PROJECT = Path(__file__).parent / "project"
SHA1 = "1111111111111111111111111111111111111111"
SHA2 = "2222222222222222222222222222222222222222"


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(GITHUB_TOKEN, REPO) as gh:
        yield gh


@pytest.fixture
def workspace(tmp_path: Path, sandbox_server: Any) -> Path:
    """A checkout of a small pricing repository whose staging environment is the sandbox."""
    repo = tmp_path / "repo"
    shutil.copytree(PROJECT, repo)
    config = (repo / "lagoform.yaml").read_text().replace("SANDBOX_URL", sandbox_server.url)
    (repo / "lagoform.yaml").write_text(config)
    return repo


class Runner:
    """Runs the entry point with the same runner state a job would have, one directory per run."""

    def __init__(self, tmp_path: Path, workspace: Path, github: FakeGitHub, sandbox: Any) -> None:
        self.tmp_path = tmp_path
        self.workspace = workspace
        self.github = github
        self.sandbox = sandbox
        self.runs: list[ActionRun] = []

    def __call__(
        self,
        mode: str,
        event_name: str,
        event: dict[str, Any],
        *,
        sha: str = SHA1,
        **inputs: str,
    ) -> ActionRun:
        run = run_action(
            mode,
            workspace=self.workspace,
            runner_dir=self.tmp_path / f"runner-{len(self.runs)}",
            github_url=self.github.url,
            event_name=event_name,
            event=event,
            inputs={"environment": "staging", **inputs},
            # The environment's own variable (-e staging) and the ad-hoc one (--api-url).
            env={
                "LAGO_API_KEY_STAGING": self.sandbox.api_key,
                "LAGO_API_KEY": self.sandbox.api_key,
            },
            sha=sha,
            run_id=str(1000 + len(self.runs)),
        )
        self.runs.append(run)
        return run

    def pr(self, head: str = SHA1, **inputs: str) -> ActionRun:
        return self("pr", "pull_request", pull_request_event(7, head), sha=head, **inputs)

    def assert_no_secret_anywhere(self, *, expect_plan: bool = True) -> None:
        canaries = [self.sandbox.api_key, GITHUB_TOKEN]
        texts: list[str] = []
        for run in self.runs:
            texts += [run.stdout, run.stderr, run.raw_outputs, run.summary]
        texts += self.github.state.all_bodies()
        texts += [json.dumps(c.body) for c in self.github.state.calls if c.body]
        # The checkout and the runner's files (the sandbox keeps its own state elsewhere).
        roots = [self.workspace, *self.tmp_path.glob("runner-*")]
        files = [p for root in roots for p in root.rglob("*") if p.is_file()]
        assert any(p.name == "plan.json" for p in files) == expect_plan
        texts += [p.read_text(encoding="utf-8", errors="replace") for p in files]
        for canary in canaries:
            leaks = [t[:200] for t in texts if canary in t]
            assert not leaks, f"a secret leaked: {leaks}"


@pytest.fixture
def act(tmp_path: Path, workspace: Path, github: FakeGitHub, sandbox_server: Any) -> Runner:
    return Runner(tmp_path, workspace, github, sandbox_server)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def _bot_comments(github: FakeGitHub) -> list[dict[str, Any]]:
    return [c for c in github.state.comments.get(7, []) if c["user"]["login"] == "bot"]


def test_invalid_override_fails_with_annotation_and_comment(
    act: Runner, github: FakeGitHub
) -> None:
    tenant_file = act.workspace / "overrides" / "globex.yaml"
    _edit(tenant_file, "      approval: MSA-2026-014\n", "")
    # The catalog's validation points at the `overrides:` key that lacks the approval.
    lines = tenant_file.read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.strip() == "overrides:")
    col = lines[line - 1].index("overrides") + 1

    run = act.pr()

    assert run.exit_code == 1, run.stdout + run.stderr
    errors = run.annotations("error")
    expected = f"::error title=lagoform,file=overrides/globex.yaml,col={col},line={line}::"
    assert any(e.startswith(expected) and "overrides need 'approval'" in e for e in errors), errors
    assert run.outputs["outcome"] == "invalid"
    assert "plan-json" not in run.outputs
    [comment] = _bot_comments(github)
    # the verdict first, even without a plan, then that no bill was estimated
    assert comment["body"].startswith(
        "<!-- lagoform-plan:staging -->\n❌ **Invalid configuration** for `staging` — 1 problem "
        "in `overrides/globex.yaml`; nothing was planned.\n\n**Bills: not estimated**"
    )
    link = f"https://github.test/{REPO}/blob/{SHA1}/overrides/globex.yaml#L{line}"
    where = f"overrides/globex.yaml:{line}:{col}"
    assert f"[`{where}`]({link}): overrides need 'approval'" in comment["body"]
    assert "Invalid configuration" in run.summary
    assert "lagoform plan (staging)" not in run.stdout  # nothing was sent to Lago
    act.assert_no_secret_anywhere(expect_plan=False)


def test_pr_comment_is_created_once_then_edited(
    act: Runner, github: FakeGitHub, sandbox_server: Any
) -> None:
    # An ad-hoc target (--api-url, key from LAGO_API_KEY); "staging" is then only the label.
    first = act.pr(SHA1, api_url=sandbox_server.url)

    assert first.exit_code == 0, first.stdout + first.stderr
    assert first.outputs["outcome"] == "changes-pending"
    assert first.outputs["has-changes"] == "true"
    plan = Review.loads(Path(first.outputs["plan-json"]).read_bytes()).plan
    refs = {c.ref: c.action for c in plan.changes}
    assert refs["plan:pro_monthly"] == "create"
    assert refs["subscription:globex-main"] == "create"
    markdown = Path(first.outputs["plan-markdown"]).read_text()
    assert markdown.startswith("📝 **Changes pending** for `staging` — 4 objects change")
    # the whole plan, unescaped, in the summary, which leads with the verdict too
    assert first.summary.startswith(
        "📝 **Changes pending** for `staging` — 4 objects change (4 created); applied when "
        "this pull request is merged."
    )
    details = markdown[markdown.index("<details><summary>Every change") :]
    assert details.split("<sub>plan")[0] in first.summary
    assert any("changes pending for staging" in n for n in first.annotations("notice"))

    _edit(act.workspace / "catalog" / "pricing.yaml", "amount: 99.00 USD", "amount: 109.00 USD")
    second = act.pr(SHA2, api_url=sandbox_server.url)

    assert second.exit_code == 0, second.stdout + second.stderr
    [comment] = _bot_comments(github)
    assert comment["body"].startswith("<!-- lagoform-plan:staging -->\n")
    assert "--api-url" in second.stdout  # the target line lagoform printed
    assert second.outputs["comment-url"] == first.outputs["comment-url"] == comment["html_url"]
    assert SHA2[:12] in comment["body"] and SHA1[:12] not in comment["body"]
    writes = [(c.method, c.path) for c in github.state.writes()]
    assert writes == [
        ("POST", f"/repos/{REPO}/issues/7/comments"),
        ("PATCH", f"/repos/{REPO}/issues/comments/{comment['id']}"),
    ]
    act.assert_no_secret_anywhere()


def test_apply_names_the_merger_then_pr_names_negotiated_tenants(
    act: Runner, github: FakeGitHub
) -> None:
    applied = act("apply", "push", push_event("finance-lead", SHA1))

    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert applied.outputs["outcome"] == "applied"
    audit_log = Path(applied.outputs["audit-log"])
    records = [json.loads(line) for line in audit_log.read_text().splitlines()]
    assert records and {r["actor"] for r in records} == {"finance-lead"}
    assert "✅" in applied.summary and "subscription:globex-main" in applied.summary
    assert "failed" not in applied.summary
    # the log's head is pinned in the job summary and an output
    head = records[-1]["hash"]
    assert applied.outputs["audit-head"] == head
    assert f"Audit log head: `{head}`" in applied.summary
    assert f"lagoform audit verify --expect-head {head}" in applied.summary

    _edit(act.workspace / "overrides" / "globex.yaml", '"0.0000015"', '"0.0000012"')
    run = act.pr()

    assert run.exit_code == 0, run.stdout + run.stderr
    [comment] = _bot_comments(github)
    assert (
        "**Negotiated prices change for 1 customer:** **Globex AI** <sub>`globex`</sub> "
        "(overrides on `globex-main` changed)" in comment["body"]
    )
    act.assert_no_secret_anywhere()


def test_failed_apply_says_what_was_and_was_not_applied(act: Runner, sandbox_server: Any) -> None:
    tenant = act.workspace / "overrides" / "globex.yaml"
    tenant.write_text(
        tenant.read_text()
        + "wallets:\n  - code: prepaid\n    name: Prepaid credits\n    currency: USD\n"
        + '    rate_amount: "1"\n    paid_credits: "100"\n'
    )
    # Without Lago premium the subscription's overrides are refused (403) half-way through.
    sandbox_server.premium(False)

    run = act("apply", "push", push_event("finance-lead", SHA1), api_url=sandbox_server.url)

    assert run.exit_code == 1, run.stdout + run.stderr
    assert run.outputs["outcome"] == "failed"
    # lagoform names an --api-url target "ad-hoc", and so does its audit log.
    assert run.outputs["audit-log"] == str(act.workspace / "audit" / "ad-hoc.jsonl")
    assert run.summary.startswith(
        "❌ **Apply to `staging` failed** — 3 of 5 changes were applied: 3 created, 0 updated, "
        "0 deleted, 0 blocked."
    )
    rows = [line for line in run.summary.splitlines() if line.startswith("| ")]
    # every change with the audit records of its calls (intent ids)
    assert [row.rsplit(" | ", 1)[0] + " |" for row in rows[1:]] == [
        "| ✅ | `billable_metric:token_usage` | create | applied |",
        "| ✅ | `plan:pro_monthly` | create | applied |",
        "| ✅ | `customer:globex` | create | applied |",
        "| ❌ | `subscription:globex-main` | create | failed |",
        "| ⏭️ | `wallet:globex/prepaid` | create | not applied |",
    ]
    assert rows[-1].endswith("| — |") and rows[1].endswith("` |")
    [error] = [e for e in run.annotations("error") if "lagoform apply failed" in e]
    text = error.replace("%0A", "\n")
    assert "applied: create plan:pro_monthly" in text
    assert "failed: create subscription:globex-main" in text
    assert "not applied: create wallet:globex/prepaid" in text
    assert "feature_unavailable" in text  # Lago's reason, from the apply's own report
    assert Path(run.outputs["audit-log"]).is_file()
    act.assert_no_secret_anywhere()


def test_drift_issue_opened_updated_closed(
    act: Runner, github: FakeGitHub, sandbox_server: Any
) -> None:
    assert act("apply", "push", push_event("finance-lead", SHA1)).exit_code == 0
    clean = act("drift", "schedule", schedule_event())
    assert clean.exit_code == 0, clean.stdout + clean.stderr
    assert clean.outputs["outcome"] == "no-drift"
    assert github.state.writes() == []

    lago = httpx.Client(
        base_url=f"{sandbox_server.url}/api/v1",
        headers={"Authorization": f"Bearer {sandbox_server.api_key}"},
    )

    def hand_edit(cents: int) -> None:
        lago.put("/plans/pro_monthly", json={"plan": {"amount_cents": cents}}).raise_for_status()

    hand_edit(12_300)
    opened = act("drift", "schedule", schedule_event())
    hand_edit(45_600)
    updated = act("drift", "schedule", schedule_event())
    assert act("apply", "push", push_event("finance-lead", SHA1)).exit_code == 0
    closed = act("drift", "schedule", schedule_event())

    assert [r.outputs["outcome"] for r in (opened, updated, closed)] == [
        "drift",
        "drift",
        "no-drift",
    ]
    [issue] = github.state.issues.values()
    assert issue["state"] == "closed"
    assert issue["labels"] == [{"name": "lagoform-drift"}]
    assert issue["body"].startswith("<!-- lagoform-drift:staging -->")
    assert "plan:pro_monthly" in issue["body"] or "pro_monthly" in issue["body"]
    assert opened.outputs["issue-url"] == updated.outputs["issue-url"] == issue["html_url"]
    assert "No drift any more" in github.state.comments[issue["number"]][0]["body"]
    issue_writes = [c.method for c in github.state.writes() if "/issues" in c.path]
    assert issue_writes == ["POST", "PATCH", "POST", "PATCH"]  # open, update, note, close
    lago.close()
    act.assert_no_secret_anywhere()


def test_blocked_change_fails_the_check_and_is_not_applied(act: Runner, github: FakeGitHub) -> None:
    assert act("apply", "push", push_event("finance-lead", SHA1)).exit_code == 0
    # A metric used by a plan keeps its field name: Lago would ignore the change.
    _edit(act.workspace / "catalog" / "pricing.yaml", "field_name: tokens", "field_name: units")

    review = act.pr()
    apply = act("apply", "push", push_event("finance-lead", SHA2), sha=SHA2)

    assert review.exit_code == 1
    assert review.outputs["outcome"] == "blocked"
    [comment] = _bot_comments(github)
    assert "Blocked changes" in comment["body"]
    assert "field_name" in comment["body"]
    assert apply.exit_code == 1
    assert apply.outputs["outcome"] == "failed"
    assert "| ⛔ | `billable_metric:token_usage` | blocked | blocked | — |" in apply.summary
    act.assert_no_secret_anywhere()


def test_drift_check_that_cannot_plan_leaves_the_issue_alone(
    act: Runner, github: FakeGitHub, sandbox_server: Any
) -> None:
    github.state.add_issue(
        "old drift", "<!-- lagoform-drift:staging -->\nbefore", ["lagoform-drift"]
    )
    sandbox_server.control(outage=True)

    run = act("drift", "schedule", schedule_event())

    assert run.exit_code == 1
    assert run.outputs["outcome"] == "error"
    assert "drift was not checked" in run.summary
    assert github.state.calls == []  # not even a read: no plan, no verdict
    assert github.state.issues[1]["state"] == "open"
    assert any("lagoform plan failed" in e for e in run.annotations("error"))


APPLY_WORKFLOW = """\
name: lagoform apply
on:
  push:
    branches: [main]
jobs:
  production:
    needs: staging
    runs-on: ubuntu-latest
    steps:
      - uses: lagoform/lagoform@0123456789abcdef0123456789abcdef01234567
        with:
          mode: apply
          environment: production
  staging:
    runs-on: ubuntu-latest
    steps:
      - uses: lagoform/lagoform@0123456789abcdef0123456789abcdef01234567
        with:
          mode: apply
          environment: staging
"""
CODEOWNERS = "# pricing needs finance\n*.yaml @acme/platform\n/overrides/ @acme/finance\n"


def test_pr_comment_leads_with_verdict_and_money_then_the_merge_comments_what_was_applied(
    act: Runner, github: FakeGitHub, sandbox_server: Any
) -> None:
    assert act("apply", "push", push_event("finance-lead", SHA1)).exit_code == 0
    assert _bot_comments(github) == []  # no pull request behind that push: the summary only
    with httpx.Client(
        base_url=f"{sandbox_server.url}/api/v1",
        headers={"Authorization": f"Bearer {sandbox_server.api_key}"},
    ) as lago:
        event = {
            "transaction_id": "gh-revenue-1",
            "external_subscription_id": "globex-main",
            "code": "token_usage",
            "properties": {"tokens": 1_000_000, "type": "input"},
        }
        lago.post("/events/batch", json={"events": [event]}).raise_for_status()
    workflows = act.workspace / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "lagoform-apply.yml").write_text(APPLY_WORKFLOW)
    (act.workspace / ".github" / "CODEOWNERS").write_text(CODEOWNERS)
    github.state.pull_files[7] = ["overrides/globex.yaml"]
    overrides = act.workspace / "overrides" / "globex.yaml"
    _edit(overrides, '"0.0000015"', '"0.0000012"')
    first = act.pr(SHA1)
    _edit(overrides, '"0.0000012"', '"0.0000010"')
    second = act.pr(SHA2)

    for run in (first, second):
        assert run.exit_code == 0, run.stdout + run.stderr
    # one comment, created by the first push and edited by the second
    [comment] = _bot_comments(github)
    writes = [(c.method, c.path) for c in github.state.writes()]
    assert writes == [
        ("POST", f"/repos/{REPO}/issues/7/comments"),
        ("PATCH", f"/repos/{REPO}/issues/comments/{comment['id']}"),
    ]
    # The verdict, then the money line: 1,000,000 input tokens at the negotiated 0.0000015 →
    # 0.000001 USD, on top of the 99.00 USD subscription fee; then the mover by name.
    body = comment["body"]
    verdict = (
        "📝 **Changes pending** for `staging` — 1 object change (1 updated); applied when this "
        "pull request is merged."
    )
    money = "**-0.50 USD/month (-0.5 %) across 1 customer; 0 pay more, 1 less**"
    assert body.startswith(f"<!-- lagoform-plan:staging -->\n{verdict}\n\n{money}\n\n")
    mover = "| **Globex AI** <sub>`globex`</sub> | 100.50 USD | 100.00 USD | -0.50 USD (-0.5 %) |"
    assert mover in body
    assert body.index(mover) < body.index("**What changes:**") < body.index("What happens next")
    # where it applies on merge, who approves, how to re-plan
    assert (
        "- **On merge:** applied to `staging`, then `production` "
        "(`.github/workflows/lagoform-apply.yml`)." in body
    )
    assert (
        "- **Approval:** @acme/finance (`.github/CODEOWNERS` owners of the 1 file this pull "
        "request touches)." in body
    )
    assert "run `lagoform plan -e staging` locally." in body
    assert body.index("What happens next") < body.index("<details>")
    assert "-0.30 USD" not in body and SHA2[:12] in body  # the second push's figures
    # GitHub renders it with the verdict and the money line as its first two blocks
    blocks = rendered_blocks(body)
    assert blocks[0] == ("p", verdict.replace("**", "").replace("`", ""))
    assert blocks[1] == ("p", money.replace("**", ""))
    # the job summary and plan.md lead the same way
    assert second.summary.startswith(f"{verdict}\n\n{money}\n\n")
    markdown = Path(second.outputs["plan-markdown"]).read_text()
    assert markdown.split("\n\n")[1] == money
    saved = Review.loads(Path(second.outputs["plan-json"]).read_bytes())
    assert saved.revenue is not None and saved.revenue.movers[0].delta_cents == -50
    assert saved.customer_names["globex"] == "Globex AI"

    # merged: apply plans without the section (it would read usage for nothing), applies, and
    # tells the pull request what it applied, with the audit records
    github.state.commit_pulls[SHA2] = [7]
    merged = act("apply", "push", push_event("finance-lead", SHA2), sha=SHA2)
    assert merged.exit_code == 0, merged.stdout + merged.stderr
    assert "subscription globex-main" in merged.stdout and "Revenue impact" not in merged.stdout
    applied = Review.loads(Path(merged.outputs["plan-json"]).read_bytes())
    assert applied.revenue is None and applied.plan.has_changes
    result = next(c for c in _bot_comments(github) if c["id"] != comment["id"])
    assert merged.outputs["comment-url"] == result["html_url"]
    text = result["body"]
    assert text.startswith(
        "<!-- lagoform-apply:staging -->\n✅ **Applied to `staging`** — 1 change as "
        "`finance-lead`: 0 created, 1 updated, 0 deleted, 0 blocked."
    )
    log = Path(merged.outputs["audit-log"]).read_text()
    records = [json.loads(line) for line in log.splitlines()]
    mine = [r for r in records if r["plan_id"] == applied.plan.plan_id]
    intents = [r["record_id"][:12] for r in mine if r["phase"] == "intent"]
    row = next(line for line in text.splitlines() if "subscription:globex-main" in line)
    assert row.startswith("| ✅ | `subscription:globex-main` | update | applied | ")
    assert intents and all(f"`{i}`" in row for i in intents)
    head = mine[-1]["hash"]
    assert "🧾 Audit records: `audit/staging.jsonl` (hash-chained), kept in the [run's " in text
    assert f"Audit log head: `{head}`" in text and f"--expect-head {head}`" in text
    assert "(https://github.test/acme/pricing/actions/runs/" in text and "#artifacts)" in text
    assert merged.summary.strip() == text.split("\n", 1)[1].strip()
    act.assert_no_secret_anywhere()


POLICIES = """approvals:
  finance: {reviewers: ["@acme/finance"]}
rules:
  - {id: big, rule: approval_above, price_change_percent: 25, approval: finance}
"""


def test_a_broken_pricing_policy_holds_the_merge_until_finance_approves_in_the_pr(
    act: Runner, github: FakeGitHub
) -> None:
    assert act("apply", "push", push_event("finance-lead", SHA1)).exit_code == 0
    (act.workspace / "policies.yaml").write_text(POLICIES)
    pricing = act.workspace / "catalog" / "pricing.yaml"
    _edit(pricing, 'properties: {amount: "0.000002"}', 'properties: {amount: "0.000003"}')
    line = pricing.read_text().splitlines().index('        properties: {amount: "0.000003"}') + 1

    review = act.pr()

    assert review.exit_code == 1
    assert review.outputs["outcome"] == "blocked"
    [comment] = _bot_comments(github)
    body = comment["body"]
    assert "⛔ **Policy violations** for `staging` — 1 error(s) against `policies.yaml`" in body
    assert f"`policy:big:plan:pro_monthly` at `catalog/pricing.yaml:{line}`" in body
    assert (
        "- **Policy approval `finance`:** required by 1 pricing-policy finding; given by "
        "@acme/finance: add it under `approved:` in `policies.yaml`" in body
    )
    assert "nothing is applied until the findings are fixed, approved or acknowledged." in body
    refused = act("apply", "push", push_event("finance-lead", SHA2), sha=SHA2)
    assert refused.exit_code == 1
    assert "policy:big:plan:pro_monthly" in refused.stdout + refused.summary

    # finance approves in the pull request itself: the approval is reviewed like the change
    (act.workspace / "policies.yaml").write_text(
        POLICIES
        + "approved:\n  - {kind: finance, ref: FIN-7, findings: [policy:big:plan:pro_monthly]}\n"
    )
    again = act.pr()
    assert again.exit_code == 0, again.stdout + again.stderr
    assert again.outputs["outcome"] == "changes-pending"
    [comment] = _bot_comments(github)  # the same comment, edited
    assert "**approved (finance FIN-7)** `policy:big:plan:pro_monthly`" in comment["body"]
    applied = act("apply", "push", push_event("finance-lead", SHA2), sha=SHA2)
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    act.assert_no_secret_anywhere()
