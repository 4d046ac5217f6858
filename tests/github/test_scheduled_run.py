"""The scheduled run (Action mode ``scheduled``) end to end: a simulated runner, the sandbox over
HTTP with its clock moved, a fake GitHub. The pull request shows the scheduled price with its
date and the customers to notify; the daily run applies nothing before the date, applies the
due price on it (audit records by ``lagoform-scheduled``), and refuses when anything else is
pending."""

from __future__ import annotations

import datetime as dt
import json
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.github.fake_github import FakeGitHub
from tests.github.harness import push_event, schedule_event
from tests.github.test_action_e2e import (  # noqa: F401  (fixtures)
    SHA1,
    Runner,
    _bot_comments,
    _edit,
    act,
    github,
    workspace,
)

pytestmark = pytest.mark.slow

DAY = 86_400


def _lago(server: Any, path: str) -> Any:
    response = httpx.get(
        f"{server.url}/api/v1{path}",
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def _today(server: Any) -> dt.date:
    date = httpx.get(f"{server.url}/health", timeout=10).headers["date"]
    return parsedate_to_datetime(date).astimezone(dt.UTC).date()


def test_scheduled_run_applies_a_due_price_and_nothing_else(
    act: Runner,  # noqa: F811
    github: FakeGitHub,  # noqa: F811
    sandbox_server: Any,
) -> None:
    assert act("apply", "push", push_event("finance-lead", SHA1)).exit_code == 0
    effective = _today(sandbox_server) + dt.timedelta(days=3)
    pricing = act.workspace / "catalog" / "pricing.yaml"
    _edit(
        pricing,
        "    amount: 99.00 USD\n",
        "    amount: 99.00 USD\n    scheduled:\n"
        f"      - {{effective: {effective.isoformat()}, notice: 2 days, amount: 109.00 USD}}\n",
    )

    review = act.pr()
    assert review.exit_code == 0, review.stdout + review.stderr
    [comment] = _bot_comments(github)
    assert "Scheduled price changes (1)" in comment["body"]
    assert f"| **{effective.isoformat()}** | `pro_monthly` |" in comment["body"]
    assert "Globex AI (globex)" in comment["body"]  # the customer to notify, by name

    early = act("scheduled", "schedule", schedule_event())
    assert early.exit_code == 0, early.stdout + early.stderr
    assert early.outputs["outcome"] == "no-changes"
    assert f"**{effective.isoformat()}**" in early.summary  # what is still ahead
    assert _lago(sandbox_server, "/plans/pro_monthly")["plan"]["amount_cents"] == 9900

    sandbox_server.advance_clock(3 * DAY)
    due = act("scheduled", "schedule", schedule_event())
    assert due.exit_code == 0, due.stdout + due.stderr
    assert due.outputs["outcome"] == "applied"
    assert "plan:pro_monthly" in due.summary
    assert _lago(sandbox_server, "/plans/pro_monthly")["plan"]["amount_cents"] == 10900
    log = [json.loads(line) for line in Path(due.outputs["audit-log"]).read_text().splitlines()]
    mine = [r for r in log if r["actor"] == "lagoform-scheduled"]
    assert mine and log[-len(mine) :] == mine  # this run's records, all by the scheduled run
    # the plan, and the copy apply keeps at the catalog's prices for the negotiating tenant
    assert {r["object_key"] for r in mine} == {"pro_monthly", "globex-main"}
    # the saved plan is the catalog of its day: the override facts reach the audit records
    assert "not the one this plan was made from" not in due.stdout + due.stderr
    copy = [r for r in mine if r["object_key"] == "globex-main"]
    assert "MSA-2026-014" in json.dumps(copy)
    assert len(_bot_comments(github)) == 1  # no pull request to comment on

    # an edit nobody merged yet (or a hand edit in Lago) is not the scheduled run's to apply
    later = effective + dt.timedelta(days=2)
    _edit(pricing, "    name: Pro\n", "    name: Pro 2027\n")
    _edit(
        pricing,
        "amount: 109.00 USD}\n",
        f"amount: 109.00 USD}}\n      - {{effective: {later.isoformat()}, amount: 119.00 USD}}\n",
    )
    sandbox_server.advance_clock(2 * DAY)
    refused = act("scheduled", "schedule", schedule_event())
    assert refused.exit_code == 1
    assert refused.outputs["outcome"] == "drift"
    assert "`plan:pro_monthly`: update" in refused.summary
    plan = _lago(sandbox_server, "/plans/pro_monthly")["plan"]
    assert (plan["name"], plan["amount_cents"]) == ("Pro", 10900)
    act.assert_no_secret_anywhere()
