"""A small project (three tenants, one overridden) applied to the sandbox server, with usage.

Plans: ``growth`` (graduated tokens, standard calls; the plan the tests edit), ``legacy``
(nobody subscribes). Tenants: acme and initech on growth; globex on growth with a negotiated
token price. ``USAGE`` is what each subscription sends in the current period.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from lagoform.catalog import load_project
from lagoform.engine.apply import apply_plan
from lagoform.engine.desired import from_project
from lagoform.engine.hooks import MemoryAudit
from lagoform.engine.live import fetch_live
from lagoform.engine.plan import build_plan, hints_for
from lagoform.lago import AsyncLagoClient, LagoClient, RetryPolicy
from lagoform.model.state import DesiredState
from tests.conftest import SandboxServer

FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05)

METRICS = """\
billable_metrics:
  - code: tokens
    name: Tokens
    aggregation: sum
    field_name: tokens
    filters:
      type: [input, output]
  - code: calls
    name: API calls
    aggregation: count
"""

PLANS = """\
plans:
  - code: growth
    name: Growth
    interval: monthly
    amount: 50.00 USD
    cascade_updates: false
    charges:
      - code: tokens
        metric: tokens
        model: graduated
        properties:
          tiers:
            - {to: 1000, per_unit: 0, flat: 0}
            - {to: 10000, per_unit: "0.01"}
            - {per_unit: "0.005"}
      - code: calls
        metric: calls
        model: standard
        properties: {amount: "0.10"}
  - code: legacy
    name: Legacy
    interval: monthly
    amount: 10.00 USD
    charges:
      - code: calls
        metric: calls
        model: standard
        properties: {amount: "0.20"}
"""

TENANT = """\
customer:
  name: {name}
  currency: USD
subscriptions:
  - external_id: {tenant}-main
    plan: growth
"""

GLOBEX_OVERRIDES = """\
    overrides:
      reason: Negotiated token price
      approval: MSA-7
      charges:
        tokens:
          properties:
            tiers:
              - {to: 1000, per_unit: 0}
              - {per_unit: "0.008"}
"""

# subscription -> (tokens events, number of calls)
USAGE: dict[str, tuple[list[int], int]] = {
    "acme-main": ([3000, 2000], 10),  # 5,000 tokens: 4,000 in tier 2
    "globex-main": ([6000], 4),  # 6,000 tokens at its own price
    "initech-main": ([15000, 5000], 0),  # 20,000 tokens: 9,000 in tier 2, 10,000 in tier 3
}


def write_project(root: Path) -> Path:
    (root / "catalog").mkdir(parents=True)
    (root / "overrides").mkdir()
    (root / "catalog" / "metrics.yaml").write_text(METRICS)
    (root / "catalog" / "plans.yaml").write_text(PLANS)
    for tenant, name in (("acme", "Acme"), ("globex", "Globex"), ("initech", "Initech")):
        text = TENANT.format(name=name, tenant=tenant)
        if tenant == "globex":
            text += GLOBEX_OVERRIDES
        (root / "overrides" / f"{tenant}.yaml").write_text(text)
    return root


def edit(root: Path, file: str, old: str, new: str) -> None:
    path = root / file
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {file}"
    path.write_text(text.replace(old, new))


def desired_of(root: Path) -> DesiredState:
    return from_project(load_project(root))


def client_for(server: SandboxServer) -> LagoClient:
    return LagoClient(server.url, server.api_key, retry=FAST_RETRY, pacing=None)


def async_client_for(server: SandboxServer) -> AsyncLagoClient:
    return AsyncLagoClient(server.url, server.api_key, retry=FAST_RETRY, pacing=None)


def apply_project(root: Path, client: LagoClient) -> None:
    desired = desired_of(root)
    plan = build_plan(desired, fetch_live(client, hints_for(desired)), target="test")
    report = apply_plan(plan, client, audit=MemoryAudit())
    assert report.ok, report.summary()


_ids = itertools.count()


def send_usage(client: LagoClient, usage: Mapping[str, tuple[Iterable[int], int]]) -> None:
    events: list[dict[str, Any]] = []
    for sub, (tokens, calls) in usage.items():
        for amount in tokens:
            events.append(_event(sub, "tokens", {"tokens": amount, "type": "input"}))
        events.extend(_event(sub, "calls", {}) for _ in range(calls))
    for start in range(0, len(events), 100):
        client.post_events_batch(events[start : start + 100])


def _event(sub: str, code: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "transaction_id": f"impact-{next(_ids)}",
        "external_subscription_id": sub,
        "code": code,
        "properties": properties,
    }


def current_usage(client: LagoClient, customer: str, sub: str) -> dict[str, Any]:
    return client.get_current_usage(customer, sub)
