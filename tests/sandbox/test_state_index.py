"""The sandbox state's shortcuts answer exactly what a scan would: the external-id index, and
the lazy start of due subscriptions."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from lagoform.sandbox import Sandbox
from lagoform.sandbox.state import State, iso_ms
from tests.sandbox.helpers import InProcessApi


def _customer(lago_id: str, external_id: str, deleted: bool = False) -> dict[str, object]:
    return {"lago_id": lago_id, "external_id": external_id, "deleted_at": 1.0 if deleted else None}


def test_lookups_follow_additions_deletions_and_in_place_changes() -> None:
    state = State()
    state.customers = {f"c{i}": _customer(f"c{i}", f"ext-{i}") for i in range(1000)}
    assert state.customer_by_external_id("ext-500") is state.customers["c500"]
    assert state.customer_by_external_id("nobody") is None
    # a deleted customer and a new one with the same external id: the live one answers
    state.customers["c500"]["deleted_at"] = 2.0
    state.customers["c1000"] = _customer("c1000", "ext-500")
    assert state.customer_by_external_id("ext-500") is state.customers["c1000"]
    # a record changed in place (the sandbox never does this, the index must not care)
    state.customers["c7"]["external_id"] = "renamed"
    assert state.customer_by_external_id("renamed") is state.customers["c7"]
    assert state.customer_by_external_id("ext-7") is None
    assert [r["lago_id"] for r in state.with_external_id("customers", "ext-500")] == [
        "c500",
        "c1000",
    ]  # insertion order, deleted ones included: callers choose


def test_a_pending_subscription_starts_when_due_even_between_reads(sandbox: Sandbox) -> None:
    # the "start due subscriptions" job skips its scan while the next start is ahead: a read
    # after the start passes (clock moved, no write in between) still finds it started
    api = InProcessApi(sandbox)
    plan = {"code": "p", "name": "P", "interval": "monthly", "amount_cents": 100,
            "amount_currency": "USD", "pay_in_advance": False}  # fmt: skip
    api.ok("POST", "/plans", {"plan": plan})
    sub = {"external_customer_id": "c", "external_id": "s", "plan_code": "p",
           "subscription_at": "2099-01-01T00:00:00Z"}  # fmt: skip
    api.ok("POST", "/subscriptions", {"subscription": sub})
    for _ in range(2):  # the second read is answered from the known next start
        pending = api.ok("GET", "/subscriptions/s", query={"status": "pending"})
        assert pending["subscription"]["status"] == "pending"
    sandbox.advance_clock(datetime(2099, 1, 2, tzinfo=UTC).timestamp() - sandbox.now())
    assert api.ok("GET", "/subscriptions/s")["subscription"]["status"] == "active"


@given(
    st.one_of(
        st.integers(-86400 * 365 * 70, 86400 * 365 * 300),
        st.floats(-86400 * 365 * 70, 86400 * 365 * 300, allow_nan=False),
    )
)
@settings(max_examples=500, deadline=None)
def test_event_timestamps_read_as_strftime_writes_them(ts: float) -> None:
    """``iso_ms`` formats by arithmetic from a cached date; the calendar's answer is the
    reference (milliseconds rounded half up, 999.5 ms carrying into the next second)."""
    whole = math.floor(ts)
    millis = int((ts - whole) * 1000 + 0.5)
    if millis == 1000:
        whole, millis = whole + 1, 0
    expected = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"
    assert iso_ms(ts) == expected
