"""The fault-proxy suite (issue 15): lagoform's CLI against `lagoform sandbox serve` through a
proxy that misbehaves on cue (tests/faultproxy.py) — lost answers to non-idempotent creates,
2xx replies without the events, echoed keys and URL credentials, unreadable and long
Retry-After, redirects, pagination that never ends, and malformed chunked replies.

Every run uses a canary API key (the proxy swaps in the sandbox's own key, as a gateway would)
and checks that neither the key nor URL credentials are ever printed or written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from lagoform.audit.chain import unsettled_intents, verify_file
from lagoform.cli import _register, root
from tests.conftest import SandboxServer
from tests.dispatch.fixtures import llm_record
from tests.engine.e2e_helpers import edit, example_project, lago
from tests.faultproxy import FaultProxy, hold, lose_answer, raw, respond, rewrite

_register()

CANARY = "lago_canary_issue15_3f9a1c7e5b2d4c6a8e0f"
PASSWORD = "pw_canary_77e1b2c3d4"
READ_TIMEOUT = 3.0  # the proxied environment's read timeout: a lost answer costs this much
GLOBEX = "overrides/globex.yaml"


@pytest.fixture
def proxy(sandbox_server: SandboxServer) -> Iterator[FaultProxy]:
    fault = FaultProxy(sandbox_server.url, sandbox_server.api_key)
    try:
        yield fault
    finally:
        fault.close()


@pytest.fixture
def project(tmp_path: Path, proxy: FaultProxy) -> Path:
    path = example_project(tmp_path)
    (path / "lagoform.yaml").write_text(
        "version: 1\n"
        "environments:\n"
        "  proxied:\n"
        f"    api_url: {proxy.url}\n"
        "    api_key_env: LAGO_API_KEY_PROXIED\n"
        f"    timeouts: {{connect: 3, read: {READ_TIMEOUT}, write: 3, pool: 3}}\n"
        "    retry: {max_attempts: 3, base_delay: 0.05, max_delay: 0.2}\n"
        "    pacing: {config: null, events: null, usage: null}\n"
    )
    return path


def lf(project: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """`lagoform ARGS --root PROJECT` with the canary key, checked for leaks."""
    result = CliRunner().invoke(
        root,
        [*args, "--root", str(project)],
        env={"LAGO_API_KEY_PROXIED": CANARY, "LAGO_API_KEY": CANARY, **(env or {})},
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    assert_clean(result.output)
    return result


def assert_clean(text: str) -> None:
    """Neither secret, nor the first 8 characters a truncation could have left, appear."""
    for secret in (CANARY, PASSWORD):
        assert secret not in text and secret[:8] not in text, text[-2000:]


def assert_files_clean(project: Path) -> None:
    for path in project.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".jsonl", ".md", ".yaml"):
            assert_clean(path.read_text(errors="replace"))


def applied(project: Path) -> Result:
    result = lf(project, "apply", "-e", "proxied", "--auto-approve", "--actor", "ci")
    assert result.exit_code == 0, result.output
    return result


def paid_credits(server: SandboxServer) -> Decimal:
    [wallet] = lago(server, "GET", "/wallets?external_customer_id=globex")["wallets"]
    txns = lago(server, "GET", f"/wallets/{wallet['lago_id']}/wallet_transactions")
    return sum(
        (Decimal(t["credit_amount"]) for t in txns["wallet_transactions"]
         if t["transaction_status"] == "purchased"),
        Decimal(0),
    )  # fmt: skip


def log_of(project: Path) -> Path:
    return project / "audit" / "proxied.jsonl"


TOP_UP = "^/api/v1/wallet_transactions"


# -- lost answers to non-idempotent creates: no double credit across re-runs -----------------


def test_a_top_up_processed_but_unanswered_is_found_by_its_tag_not_sent_twice(
    project: Path, proxy: FaultProxy, sandbox_server: SandboxServer
) -> None:
    applied(project)
    assert paid_credits(sandbox_server) == 10000
    edit(project, GLOBEX, "paid_credits: 10000", "paid_credits: 12000")
    proxy.on("POST", TOP_UP, lose_answer(READ_TIMEOUT + 3))
    applied(project)  # the answer times out; apply finds the tagged transaction in Lago
    again = applied(project)
    assert "Nothing to apply." in again.output
    assert len(proxy.requests("POST", TOP_UP)) == 1
    assert paid_credits(sandbox_server) == 12000  # not 14,000
    records = [json.loads(x) for x in log_of(project).read_text().splitlines()]
    [outcome] = [
        r for r in records if r["phase"] == "outcome" and r["path"] == "/wallet_transactions"
    ]
    assert outcome["outcome"]["status"] == "ok" and "answer was lost" in outcome["note"]
    assert verify_file(log_of(project)).ok
    assert_files_clean(project)


def _top_up_held_in_flight(project: Path, proxy: FaultProxy) -> Result:
    """Applied, then 2,000 more paid credits asked for; the proxy holds the top-up (it never
    reaches Lago while apply waits), so apply's answer is lost."""
    applied(project)
    edit(project, GLOBEX, "paid_credits: 10000", "paid_credits: 12000")
    proxy.on("POST", TOP_UP, hold())
    lost = lf(project, "apply", "-e", "proxied", "--auto-approve")
    assert lost.exit_code == 1
    assert "will not send it again" in lost.stderr
    return lost


def test_a_top_up_still_in_flight_is_refused_until_lago_shows_it(
    project: Path, proxy: FaultProxy, sandbox_server: SandboxServer
) -> None:
    _top_up_held_in_flight(project, proxy)
    [unsettled] = unsettled_intents(log_of(project))
    assert unsettled.why == "unknown"
    tag = unsettled.record.record_id
    # every later plan and apply settles it first: Lago shows nothing yet, so nothing is sent
    planned = lf(project, "plan", "-e", "proxied")
    assert planned.exit_code == 0 and "NOT settled" in planned.stderr
    assert "globex/prepaid" in planned.stdout  # shown blocked in the plan reviewers read
    assert "an earlier call to Lago has an unknown outcome" in planned.stdout
    refused = lf(project, "apply", "-e", "proxied", "--auto-approve")
    assert refused.exit_code == 1
    assert f"lagoform audit settle {tag}" in refused.output
    assert "Check by hand (GET /api/v1/wallets/" in refused.output
    assert len(proxy.requests("POST", TOP_UP)) == 1  # never re-sent
    assert paid_credits(sandbox_server) == 10000
    # the call reaches Lago late: the next apply finds it and records the settlement
    proxy.release()
    settled = applied(project)
    assert "settled: Lago has it" in settled.stderr and "Nothing to apply." in settled.output
    assert len(proxy.requests("POST", TOP_UP)) == 1
    assert paid_credits(sandbox_server) == 12000
    assert unsettled_intents(log_of(project)) == []
    assert verify_file(log_of(project)).ok


def test_a_top_up_that_never_arrived_is_settled_by_hand_then_sent_once(
    project: Path, proxy: FaultProxy, sandbox_server: SandboxServer
) -> None:
    _top_up_held_in_flight(project, proxy)
    proxy.held.clear()  # dropped on the way: Lago never sees it
    [unsettled] = unsettled_intents(log_of(project))
    assert lf(project, "apply", "-e", "proxied", "--auto-approve").exit_code == 1  # refused
    checked = lf(project, "audit", "settle", unsettled.record.record_id, "--not-landed",
                 "--note", "no such transaction in Lago's UI", "-e", "proxied")  # fmt: skip
    assert checked.exit_code == 0, checked.output
    applied(project)
    assert len(proxy.requests("POST", TOP_UP)) == 2  # the lost one, and this one
    assert paid_credits(sandbox_server) == 12000
    assert verify_file(log_of(project)).ok


def test_a_customer_upsert_with_a_lost_answer_is_read_back_not_resent(
    project: Path, proxy: FaultProxy
) -> None:
    applied(project)
    proxy.clear()
    edit(project, GLOBEX, "account_manager: j.doe}", "account_manager: j.doe, region: emea}")
    proxy.on("POST", "^/api/v1/customers$", lose_answer(READ_TIMEOUT + 3))
    done = applied(project)
    assert "Apply complete" in done.output
    assert len(proxy.requests("POST", "^/api/v1/customers$")) == 1  # no blind retry, no 422
    assert "No changes" in lf(project, "plan", "-e", "proxied").output


# -- usage: a 2xx acknowledges only what it accounts for; malformed replies are retried ------


def _spool_usage(project: Path, records: int = 4) -> Path:
    usage = project / "usage.jsonl"
    usage.write_text("".join(json.dumps(llm_record(f"r{i}")) + "\n" for i in range(records)))
    spool = project / "spool.db"
    sent = lf(project, "dispatch", "send", str(usage), "--spool", str(spool))
    assert sent.exit_code == 0, sent.output
    return spool


def _events(server: SandboxServer) -> list[str]:
    listed = lago(server, "GET", "/events?per_page=100")["events"]
    return sorted(e["transaction_id"] for e in listed)


EVENTS = "^/api/v1/events/batch"
EMPTY_2XX = {
    "200 {}": respond(200, {}),
    '200 {"events": []}': respond(200, {"events": []}),
    "202 without a body": respond(202),
    "204": respond(204),
}


@pytest.mark.parametrize("answer", sorted(EMPTY_2XX))
def test_a_2xx_without_the_events_acknowledges_nothing(
    project: Path, proxy: FaultProxy, sandbox_server: SandboxServer, answer: str
) -> None:
    spool = _spool_usage(project)
    proxy.on("POST", EVENTS, EMPTY_2XX[answer], times=2)
    run = lf(project, "dispatch", "run", "--once", "-q", "-e", "proxied", "--spool", str(spool))
    assert run.exit_code == 0, run.output
    assert "not acknowledged, retrying" in run.stderr
    assert "dead letters 0; backlog 0" in run.stdout
    assert len(_events(sandbox_server)) == 16  # 4 records x 4 events (the example mapping)
    assert len(proxy.requests("POST", EVENTS)) == 3


def test_an_endpoint_that_never_confirms_dead_letters_with_the_reason(
    project: Path, proxy: FaultProxy, sandbox_server: SandboxServer
) -> None:
    spool = _spool_usage(project, records=2)
    proxy.on("POST", EVENTS, respond(200, {}), times=-1)
    run = lf(project, "dispatch", "run", "--once", "-q", "-e", "proxied", "--spool", str(spool),
             "--max-attempts", "2")  # fmt: skip
    assert run.exit_code == 0, run.output
    assert "dead letters 2" in run.stdout and _events(sandbox_server) == []
    listed = lf(project, "dispatch", "dlq", "list", "--spool", str(spool))
    assert "accounts for 0 of the 8 events" in listed.output  # kept, with the reason
    proxy.clear()
    replay = lf(project, "dispatch", "dlq", "replay", "--all", "-e", "proxied", "--spool",
                str(spool))  # fmt: skip
    assert replay.exit_code == 0, replay.output
    assert len(_events(sandbox_server)) == 8


def test_a_malformed_chunked_reply_is_a_transport_error_retried_nothing_lost(
    project: Path, proxy: FaultProxy, sandbox_server: SandboxServer
) -> None:
    spool = _spool_usage(project)
    broken = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        b'\r\nzz\r\n{"events": []}\r\n0\r\n\r\n'
    )
    proxy.on("POST", EVENTS, raw(broken))
    run = lf(project, "dispatch", "run", "--once", "-q", "-e", "proxied", "--spool", str(spool))
    assert run.exit_code == 0, run.output
    warned = [line for line in run.stderr.splitlines() if "not acknowledged, retrying" in line]
    assert warned and "RemoteProtocolError" in warned[0]  # a transport error, said plainly
    assert "dead letters 0; backlog 0" in run.stdout
    assert len(_events(sandbox_server)) == 16


# -- secrets ----------------------------------------------------------------------------------


def test_echoed_keys_and_url_credentials_are_never_printed(
    project: Path, proxy: FaultProxy, sandbox_server: SandboxServer
) -> None:
    metrics = "^/api/v1/billable_metrics"
    # a gateway answering 2xx with a non-JSON page that echoes the Authorization header,
    # the key placed where a cut at 120 characters would have kept its start in view
    echo = "x" * 110 + f" Authorization: Bearer {CANARY} " + "y" * 300
    proxy.on("GET", metrics, respond(200, echo))
    page = lf(project, "plan", "-e", "proxied")
    assert page.exit_code == 1 and "expected JSON from Lago" in page.stderr
    assert proxy.requests("GET", metrics)[0].headers["Authorization"] == f"Bearer {CANARY}"
    # an error page echoing it past the 160-character excerpt
    error_page = f"<html><body>{'z' * 150} {CANARY} {'w' * 400}</body></html>"
    proxy.on("GET", metrics, respond(502, error_page, "text/html"), times=-1)
    failed = lf(project, "plan", "-e", "proxied")
    assert failed.exit_code == 1 and "HTTP 502" in failed.stderr
    proxy.clear()
    # credentials in the URL reach the request, and no text
    host = proxy.url.removeprefix("http://")
    url = f"http://lagoform:{PASSWORD}@{host}"
    out = project / "plan.json"
    planned = lf(project, "plan", "--api-url", url, "--format", "markdown", "--out", str(out))
    assert planned.exit_code == 0, planned.output
    assert f"http://{host}" in planned.stderr  # the target line, without the credentials
    done = lf(project, "apply", str(out), "--api-url", url, "--auto-approve")
    assert done.exit_code == 0, done.output
    assert proxy.requests("GET", "^/api/v1/taxes")[0].headers["Authorization"].startswith("Basic")
    assert_files_clean(project)  # plan.json, the audit log


# -- Retry-After, redirects, pagination ---------------------------------------------------------


@pytest.mark.parametrize("header", ["soon", "1,2", "Thu, 99 Foo 2026 25:61:61 GMT"])
def test_an_unreadable_retry_after_backs_off_in_plan_apply_and_the_worker(
    project: Path, proxy: FaultProxy, sandbox_server: SandboxServer, header: str
) -> None:
    limited = respond(429, {"status": 429, "error": "Too Many Requests"}, Retry_After=header)
    proxy.on("GET", "^/api/v1/plans", limited)
    planned = lf(project, "plan", "-e", "proxied")
    assert planned.exit_code == 0, planned.output
    assert f"Retry-After {header!r} is neither seconds nor an HTTP date" in planned.stderr
    proxy.on("POST", "^/api/v1/taxes$", limited)  # apply's first create
    applied(project)
    assert unsettled_intents(log_of(project)) == []  # no intent left without its outcome
    spool = _spool_usage(project, records=1)
    proxy.on("POST", EVENTS, limited)
    run = lf(project, "dispatch", "run", "--once", "-q", "-e", "proxied", "--spool", str(spool))
    assert run.exit_code == 0 and "dead letters 0; backlog 0" in run.stdout


def test_a_long_retry_after_and_a_redirect_say_what_happened(
    project: Path, proxy: FaultProxy
) -> None:
    proxy.on("GET", "^/api/v1/plans", respond(429, {"status": 429}, Retry_After="3600"))
    waited = lf(project, "plan", "-e", "proxied")
    assert waited.exit_code == 1
    assert "Lago asked to wait 3,600 s" in waited.stderr and "max_retry_after" in waited.stderr
    moved = respond(
        301, "Moved", "text/html", Location="https://lago.elsewhere.example/api/v1/taxes"
    )
    proxy.on("GET", "^/api/v1/taxes", moved)
    redirected = lf(project, "plan", "-e", "proxied")
    assert redirected.exit_code == 1
    assert "redirect (HTTP 301) to https://lago.elsewhere.example" in redirected.stderr
    assert "does not follow redirects" in redirected.stderr


def _endless(seen: Any, body: dict[str, Any]) -> dict[str, Any]:
    page = int(re.search(r"[?&]page=(\d+)", seen.path).group(1))  # type: ignore[union-attr]
    return {**body, "meta": {**body["meta"], "next_page": page + 1, "total_pages": 1}}


def _stuck(seen: Any, body: dict[str, Any]) -> dict[str, Any]:
    page = int(re.search(r"[?&]page=(\d+)", seen.path).group(1))  # type: ignore[union-attr]
    items = body["taxes"] or [{"code": "stuck"}]
    return {"taxes": items, "meta": {"current_page": page, "next_page": page}}


def test_pagination_that_never_ends_stops_at_total_pages_or_is_refused(
    project: Path, proxy: FaultProxy
) -> None:
    applied(project)
    proxy.clear()
    proxy.on("GET", "^/api/v1/taxes", rewrite(_endless), times=-1)
    planned = lf(project, "plan", "-e", "proxied")
    assert planned.exit_code == 0 and "No changes" in planned.output
    assert len(proxy.requests("GET", "^/api/v1/taxes")) == 1  # total_pages ended it
    proxy.clear()
    proxy.on("GET", "^/api/v1/taxes", rewrite(_stuck), times=-1)
    stuck = lf(project, "plan", "-e", "proxied")
    assert stuck.exit_code == 1 and "does not advance: page 1 names next_page 1" in stuck.stderr
    assert len(proxy.requests("GET", "^/api/v1/taxes")) == 1
