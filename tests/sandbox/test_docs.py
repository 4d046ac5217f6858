"""docs/sandbox.md stays true: every endpoint it says the sandbox covers is routed, the
organization integrations it names are the sandbox's, and what it says is answered 501 is."""

from __future__ import annotations

import re
from pathlib import Path

from lagoform.sandbox import routes
from lagoform.sandbox.request import FEATURES
from tests.sandbox.helpers import Api, create_plan, subscribe

DOC = Path(__file__).resolve().parents[2] / "docs" / "sandbox.md"


def _section(title: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 3)
    return text[start : end if end != -1 else None]


def test_every_covered_endpoint_is_routed() -> None:
    def shape(path: str) -> str:
        return re.sub(r"\{[^}]*\}", "{}", path)

    templates = [shape(template) for _, template, _ in routes._TABLE]  # the route table itself
    covered = _section("What it covers")
    paths = re.findall(r"`(?:(?:GET|POST|PUT|DELETE) )?(/[a-z_{}/\[\].]+)`", covered)
    assert len(paths) >= 10
    for path in paths:
        if path in ("/health",) or path.startswith("/__sandbox"):
            continue  # answered by the sandbox core, not Lago's route table
        base = shape(path.split("[")[0].rstrip("/"))
        assert any(t.startswith(base) for t in templates), path


def test_the_documented_integrations_are_the_sandboxs() -> None:
    covered = _section("What it covers")
    named = set(re.findall(r"`(progressive_billing|events_targeting_wallets|preview)`", covered))
    assert named == set(FEATURES)


def test_documented_refusals_answer_501(api: Api) -> None:
    create_plan(api, "basic")
    subscribe(api, "s1", "basic")
    body = {
        "customer": {"external_id": "cust-1"},
        "subscriptions": {"external_ids": ["s1"], "plan_code": "basic"},
    }
    reply = api.post("/invoices/preview", body)
    assert (reply.status, reply.body["code"]) == (501, "not_supported_by_sandbox")
    assert "plan-change" in reply.body["message"]
