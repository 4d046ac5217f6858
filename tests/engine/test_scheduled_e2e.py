"""Scheduled prices end to end: `lagoform plan` / `apply` over real HTTP against `lagoform
sandbox serve`, whose clock the test moves (``POST /__sandbox/clock``). A scheduled price is
not pending before its date, is pending from it and apply applies it; too short a notice is a
finding apply refuses; the plan names the date and the customers to notify."""

from __future__ import annotations

import datetime as dt
import json
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
from click.testing import CliRunner, Result

from lagoform.cli import _register, root
from tests.conftest import SandboxServer
from tests.engine.e2e_helpers import edit, example_project, lago

_register()

DAY = 86_400


def http(server: SandboxServer, project: Path, *args: str) -> Result:
    return CliRunner().invoke(
        root,
        [*args, "--api-url", server.url, "--root", str(project)],
        env={"LAGO_API_KEY": server.api_key},
    )


def server_today(server: SandboxServer) -> dt.date:
    """The sandbox's day, as lagoform reads it: the Date header of an answer."""
    response = httpx.get(f"{server.url}/health", timeout=10)
    return parsedate_to_datetime(response.headers["date"]).astimezone(dt.UTC).date()


def schedule_fee(project: Path, effective: dt.date, notice: str | None = None) -> None:
    """pro_monthly's base fee: 99 USD now, 119 USD from ``effective``."""
    extra = f", notice: {notice}" if notice else ""
    edit(
        project,
        "catalog/plans.yaml",
        "    amount: 99.00 USD\n",
        "    amount: 99.00 USD\n    scheduled:\n"
        f"      - {{effective: {effective.isoformat()}, amount: 119.00 USD{extra}, "
        "reason: Yearly price review}\n",
    )


def applied(tmp_path: Path, server: SandboxServer) -> tuple[Path, dt.date]:
    """The example project, applied to the sandbox; and the sandbox's day."""
    project = example_project(tmp_path)
    result = http(server, project, "apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    return project, server_today(server)


def fee_cents(server: SandboxServer, code: str = "pro_monthly") -> int:
    return int(lago(server, "GET", f"/plans/{code}")["plan"]["amount_cents"])


def test_scheduled_price_waits_for_its_date_then_apply_applies_it(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    project, today = applied(tmp_path, sandbox_server)
    effective = today + dt.timedelta(days=10)
    schedule_fee(project, effective, notice="7 days")

    before = http(sandbox_server, project, "plan", "--detailed-exitcode")
    assert before.exit_code == 0, before.output  # scheduled only: nothing pending
    assert "No changes" in before.output
    assert "Scheduled price changes (1)" in before.output
    assert f"plan pro_monthly on {effective.isoformat()}" in before.output
    assert "pro_monthly base fee: 99.00 USD -> 119.00 USD" in before.output
    assert "customers to notify (1): Acme Labs (acme-labs)" in before.output
    assert "reason: Yearly price review" in before.output
    # the variant writes its own amount: it does not inherit the parent's scheduled fees
    assert "plan pro_annual" not in before.output
    nothing = http(sandbox_server, project, "apply", "--auto-approve")
    assert nothing.exit_code == 0, nothing.output
    assert "Nothing to apply." in nothing.output
    assert fee_cents(sandbox_server) == 9900

    sandbox_server.advance_clock(9 * DAY)  # the day before: still scheduled
    eve = http(sandbox_server, project, "plan", "--detailed-exitcode")
    assert eve.exit_code == 0, eve.output
    assert "Scheduled price changes (1)" in eve.output

    quiet = http(sandbox_server, project, "impact")
    assert "No subscription's pricing changes" in quiet.output, quiet.output

    sandbox_server.advance_clock(1 * DAY)  # its day (by the target's clock, not this one's)
    priced = http(sandbox_server, project, "impact")  # prices in force today: the new fee
    assert priced.exit_code == 0, priced.output
    assert "No subscription's pricing changes" not in priced.output
    assert "acme-labs" in priced.output or "Acme Labs" in priced.output
    due = http(sandbox_server, project, "plan", "--detailed-exitcode")
    assert due.exit_code == 2, due.output
    assert "plan pro_monthly" in due.output and "119.00 USD" in due.output
    assert "Scheduled price changes" not in due.output
    done = http(sandbox_server, project, "apply", "--auto-approve", "--actor", "scheduled-run")
    assert done.exit_code == 0, done.output
    assert fee_cents(sandbox_server) == 11900
    assert fee_cents(sandbox_server, "pro_annual") == 99000  # the variant kept its own fee

    after = http(sandbox_server, project, "plan", "--detailed-exitcode")
    assert after.exit_code == 0, after.output  # an entry in the past, applied: nothing to do
    assert "Scheduled price changes" not in after.output


def test_too_short_notice_is_a_finding_apply_refuses(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    project, today = applied(tmp_path, sandbox_server)
    effective = today + dt.timedelta(days=10)
    schedule_fee(project, effective, notice="30 days")
    # something else pending too, so apply has work it must refuse
    edit(project, "catalog/plans.yaml", "    name: Pro\n", "    name: Pro (2027)\n")
    finding_id = f"notice:pro_monthly:{effective.isoformat()}"

    planned = http(sandbox_server, project, "plan", "--format", "json")
    assert planned.exit_code == 0, planned.output
    review = json.loads(planned.output[planned.output.index("{") :])
    findings = {f["id"]: f for f in review["plan"]["findings"]}
    assert findings[finding_id]["severity"] == "error"
    notify_by = (effective - dt.timedelta(days=30)).isoformat()
    assert (
        f"told by {notify_by}, before today ({today.isoformat()})"
        in (findings[finding_id]["message"])
    )
    assert "Acme Labs" in findings[finding_id]["message"]
    later = (today + dt.timedelta(days=30)).isoformat()
    assert f"move `effective:` to {later} or later" in findings[finding_id]["way_out"]

    refused = http(sandbox_server, project, "apply", "--auto-approve")
    assert refused.exit_code == 1, refused.output
    assert finding_id in refused.output
    assert lago(sandbox_server, "GET", "/plans/pro_monthly")["plan"]["name"] == "Pro"

    accepted = http(sandbox_server, project, "apply", "--auto-approve", "--acknowledge", finding_id)
    assert accepted.exit_code == 0, accepted.output
    assert lago(sandbox_server, "GET", "/plans/pro_monthly")["plan"]["name"] == "Pro (2027)"
    assert fee_cents(sandbox_server) == 9900  # the scheduled fee still waits for its date


def test_enough_notice_is_no_finding_and_a_cut_needs_none(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    project, today = applied(tmp_path, sandbox_server)
    schedule_fee(project, today + dt.timedelta(days=30), notice="30 days")  # told today: fine
    planned = http(sandbox_server, project, "plan", "--format", "json")
    assert json.loads(planned.output[planned.output.index("{") :])["plan"]["findings"] == []

    (tmp_path / "cut").mkdir()
    cut = example_project(tmp_path / "cut")
    edit(
        cut,
        "catalog/plans.yaml",
        "    amount: 99.00 USD\n",
        "    amount: 99.00 USD\n    scheduled:\n"
        f"      - {{effective: {(today + dt.timedelta(days=2)).isoformat()}, "
        "notice: 30 days, amount: 79.00 USD}\n",
    )
    text = http(sandbox_server, cut, "plan").output
    assert "(30 days notice: notify by" in text and "no rise" in text
    assert "notice:pro_monthly" not in text  # a price cut needs no notice


def test_pull_request_comment_names_the_date_and_the_customers(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    project, today = applied(tmp_path, sandbox_server)
    effective = today + dt.timedelta(days=45)
    schedule_fee(project, effective, notice="1 month")
    edit(
        project,
        "catalog/plans.yaml",
        "                - {per_unit: 0.000006}\n",
        "                - {per_unit: 0.000006}\n"
        "            scheduled:\n"
        f"              - effective: {effective.isoformat()}\n"
        "                properties:\n"
        "                  tiers:\n"
        "                    - {to: 1000000, per_unit: 0}\n"
        "                    - {per_unit: 0.000008}\n",
    )
    markdown = http(sandbox_server, project, "plan", "--format", "markdown")
    assert markdown.exit_code == 0, markdown.output
    text = markdown.output
    # pro_annual inherits the charges, their scheduled prices with them (not the base fee)
    assert "#### 🗓️ Scheduled price changes (2)" in text
    assert f"| **{effective.isoformat()}** | `pro_annual` | pro_annual/tokens" in text
    assert f"| **{effective.isoformat()}** | `pro_monthly` | pro_monthly base fee |" in text
    assert "| 99.00 USD | 119.00 USD | 1 month (notify by" in text
    assert "| 1: Acme Labs (acme-labs) |" in text
    assert "pro_monthly/tokens[modality=text, type=output] price" in text
    assert "0.000008 per unit" in text
    assert "Yearly price review" in text
    assert sandbox_server.api_key not in text


def test_the_sandbox_date_header_follows_its_clock(sandbox_server: SandboxServer) -> None:
    """Lagoform reads the target's day from the Date header; the sandbox's answers carry one
    from its own clock (one header, not uvicorn's too), moved by the clock control."""
    response = httpx.get(
        f"{sandbox_server.url}/api/v1/plans",
        headers={"Authorization": f"Bearer {sandbox_server.api_key}"},
        timeout=10,
    )
    assert len(response.headers.get_list("date")) == 1
    start = parsedate_to_datetime(response.headers["date"])
    assert abs((start - dt.datetime.now(dt.UTC)).total_seconds()) < 120
    sandbox_server.advance_clock(3 * DAY)
    moved = parsedate_to_datetime(httpx.get(f"{sandbox_server.url}/health").headers["date"])
    assert 3 * DAY - 120 < (moved - start).total_seconds() < 3 * DAY + 120
