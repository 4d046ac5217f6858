"""A top-up whose answer is lost is never granted twice: apply looks for it by the intent id it
carries, records ``unknown`` when it cannot find it, and a later settle blocks the wallet until
Lago shows it (in-process sandbox behind a transport that loses one answer)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from lagoform.engine.apply import ApplyFailed, apply_plan
from lagoform.engine.hooks import MemoryAudit
from lagoform.engine.settle import TAG_KEY, UnknownCall, block_unresolved, settle
from lagoform.errors import BlockedChangeError
from lagoform.lago import LagoClient, RetryPolicy
from lagoform.sandbox import Sandbox
from tests.engine.e2e_helpers import apply, edit, example_project, make_plan

GLOBEX = "overrides/globex.yaml"


class LoseOneTopUp(httpx.BaseTransport):
    """Answers from the sandbox, except the first top-up: its answer is lost (a read timeout),
    after the sandbox processed it (``deliver``) or before it ever saw it."""

    def __init__(self, sandbox: Sandbox, deliver: bool) -> None:
        self.inner = sandbox.transport()
        self.deliver = deliver
        self.held: httpx.Request | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        top_up = request.url.path.endswith("/wallet_transactions") and request.method == "POST"
        if top_up and self.held is None:
            self.held = request
            if self.deliver:
                self.inner.handle_request(request)
            raise httpx.ReadTimeout("the answer never came", request=request)
        return self.inner.handle_request(request)


def _client(transport: httpx.BaseTransport) -> LagoClient:
    return LagoClient(
        "http://sandbox.test", "key", transport=transport, pacing=None,
        retry=RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.002),
    )  # fmt: skip


def _credited(client: LagoClient) -> str:
    [wallet] = client.list_wallets("globex")
    paid = [
        t["credit_amount"]
        for t in client.list_wallet_transactions(wallet["lago_id"])
        if t["transaction_status"] == "purchased"
    ]
    return str(sum(float(p) for p in paid))


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Sandbox]:
    sandbox = Sandbox(premium=True)
    root = example_project(tmp_path)
    apply(root, _client(sandbox.transport()))
    edit(root, GLOBEX, "paid_credits: 10000", "paid_credits: 12000")
    return root, sandbox


def test_a_lost_answer_is_found_by_its_tag_and_recorded_ok(project: tuple[Path, Sandbox]) -> None:
    root, sandbox = project
    lossy = LoseOneTopUp(sandbox, deliver=True)
    client, audit = _client(lossy), MemoryAudit()
    apply_plan(make_plan(root, client), client, audit=audit)
    (intent,) = [r for r in audit.records if r["phase"] == "intent"]
    assert intent["request"]["body"]["wallet_transaction"]["metadata"] == [
        {"key": TAG_KEY, "value": intent["id"]}
    ]
    (outcome,) = [r for r in audit.records if r["phase"] == "outcome"]
    assert outcome["ok"] is True and "answer was lost" in outcome["note"]
    assert _credited(client) == "12000.0"  # once, not 14,000
    assert not make_plan(root, client).has_changes


def test_an_answer_lost_before_lago_saw_it_is_unknown_and_never_resent(
    project: tuple[Path, Sandbox],
) -> None:
    root, sandbox = project
    lossy = LoseOneTopUp(sandbox, deliver=False)
    client, audit = _client(lossy), MemoryAudit()
    with pytest.raises(ApplyFailed, match="will not send it again"):
        apply_plan(make_plan(root, client), client, audit=audit)
    (intent,) = [r for r in audit.records if r["phase"] == "intent"]
    (outcome,) = [r for r in audit.records if r["phase"] == "outcome"]
    assert outcome["ok"] is None  # unknown, not "failed"
    posts = [r for r in [lossy.held] if r is not None]
    assert len(posts) == 1  # the client did not repeat the POST
    call = UnknownCall(intent["id"], "wallet", "globex/prepaid", "update", "POST",
                       "/wallet_transactions", "t", "ci", "unknown")  # fmt: skip
    [verdict] = settle(client, [call])
    assert verdict.status == "unresolved" and TAG_KEY in verdict.note
    assert verdict.how is not None and f"lagoform audit settle {intent['id']}" in verdict.how
    blocked = block_unresolved(make_plan(root, client), [verdict])
    (change,) = blocked.pending()
    assert change.action == "blocked" and "unknown outcome" in change.blocked[-1].reason
    with pytest.raises(BlockedChangeError):
        apply_plan(blocked, client, audit=MemoryAudit())
    assert _credited(client) == "10000.0"
    # the held request reaches Lago late (it was still in flight): now it settles as landed
    assert lossy.held is not None
    sandbox.transport().handle_request(lossy.held)
    [late] = settle(client, [call])
    assert late.status == "landed" and "tagged" in late.note
    assert not block_unresolved(make_plan(root, client), [late]).has_changes
    assert _credited(client) == "12000.0"


def test_other_calls_are_superseded_and_missing_wallets_did_not_land(
    project: tuple[Path, Sandbox],
) -> None:
    _, sandbox = project
    client = _client(sandbox.transport())
    update = UnknownCall("r1", "plan", "pro", "update", "PUT", "/plans/pro", "t", "ci", "unknown")
    top_up = UnknownCall("r2", "wallet", "globex/none", "update", "POST", "/wallet_transactions",
                         "t", "ci", "no outcome")  # fmt: skip
    create = UnknownCall("r3", "wallet", "nobody/w", "create", "POST", "/wallets", "t", "ci",
                         "unknown")  # fmt: skip
    verdicts = settle(client, [update, top_up, create])
    assert [v.status for v in verdicts] == ["superseded", "not_landed", "not_landed"]
