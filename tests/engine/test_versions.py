"""``engine.versions.resolve``, pure: which version a subscription is on, and when a migration
is due (now, a date, end of term; upgrade vs downgrade; calendar vs anniversary periods)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from lagoform.engine.versions import refusals, resolve
from lagoform.model.state import DesiredObject, DesiredState, LiveObject, LiveState

VERSIONS = {"1": "pro", "2": "pro_v2"}


def epoch(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp()


def plan(code: str, cents: int) -> DesiredObject:
    normal = {"code": code, "amount_cents": cents, "amount_currency": "USD", "interval": "monthly"}
    return DesiredObject("plan", code, normal, {"code": code, "charges": []})


def desired(
    migrations: list[dict[str, Any]], v2_cents: int = 11900, refused: dict[str, Any] | None = None
) -> DesiredState:
    body = {"external_customer_id": "acme", "external_id": "acme-pro", "plan_code": "pro"}
    info = {
        "family": "pro",
        "versions": VERSIONS,
        "current": 2,
        "bodies": {
            code: {**body, "plan_code": code}
            for code in VERSIONS.values()
            if code not in (refused or {})
        },
        "refused": refused or {},
        "migrations": migrations,
    }
    sub = DesiredObject("subscription", "acme-pro", {}, body, meta={"versions": info})
    plans = {"pro": plan("pro", 9900), "pro_v2": plan("pro_v2", v2_cents)}
    return DesiredState(objects={"plan": plans, "subscription": {"acme-pro": sub}})


def live(billing_time: str = "calendar", started: str = "2026-01-01", **raw: Any) -> LiveState:
    record = {
        "external_id": "acme-pro",
        "plan_code": "pro",
        "plan_amount_cents": 9900,
        "plan_amount_currency": "USD",
        "status": "active",
        "billing_time": billing_time,
        "started_at": f"{started}T00:00:00Z",
        **raw,
    }
    obj = LiveObject("subscription", "acme-pro", {}, {}, record)
    return LiveState(objects={"subscription": {"acme-pro": obj}})


def migration(when: str, decided: str | None = None, **more: Any) -> dict[str, Any]:
    return {"id": "m", "to": 2, "from": [], "when": when, "decided": decided, **more}


def on(state: DesiredState) -> str:
    return str(state.objects["subscription"]["acme-pro"].body["plan_code"])


def test_a_new_subscription_gets_the_current_version() -> None:
    result = resolve(desired([]), LiveState(objects={}), now=epoch("2026-12-07"))
    assert on(result.desired) == "pro_v2"
    assert result.steps == ()


def test_an_existing_subscription_is_grandfathered_without_a_migration() -> None:
    result = resolve(desired([]), live(), now=epoch("2026-12-07"))
    assert on(result.desired) == "pro"
    assert result.steps == ()


@pytest.mark.parametrize(
    ("billing_time", "started", "now", "status", "due", "target"),
    [
        # calendar: the term holding 2026-12-07 ends 2026-12-31; an upgrade is sent after it
        ("calendar", "2026-01-01", "2026-12-10", "scheduled", "2027-01-01", "pro"),
        ("calendar", "2026-01-01", "2027-01-01T00:00:01", "moves", "2027-01-01", "pro_v2"),
        # anniversary on the 15th: the term is 2026-11-15 .. 2026-12-14
        ("anniversary", "2026-01-15", "2026-12-14T23:00:00", "scheduled", "2026-12-15", "pro"),
        ("anniversary", "2026-01-15", "2026-12-15T00:00:00", "moves", "2026-12-15", "pro_v2"),
    ],
)
def test_end_of_term_upgrade_is_sent_once_the_term_is_over(
    billing_time: str, started: str, now: str, status: str, due: str, target: str
) -> None:
    spec = migration("end_of_term", "2026-12-07")
    result = resolve(desired([spec]), live(billing_time, started), now=epoch(now))
    (step,) = result.steps
    assert (step.kind, step.status, step.due) == ("upgrade", status, due)
    assert step.effective == (due if status == "scheduled" else now[:10])
    assert on(result.desired) == target
    assert result.what_if is not None and on(result.what_if) == "pro_v2"


def test_end_of_term_downgrade_is_sent_during_the_term_and_bills_after_it() -> None:
    spec = migration("end_of_term", "2026-12-07")
    result = resolve(desired([spec], v2_cents=7900), live(), now=epoch("2026-12-10"))
    (step,) = result.steps
    assert (step.kind, step.status, step.due, step.effective) == (
        "downgrade",
        "moves",
        "2026-12-01",
        "2027-01-01",
    )
    assert on(result.desired) == "pro_v2"
    assert result.desired.objects["subscription"]["acme-pro"].meta["migration"] == "m"


def test_a_dated_migration_waits_for_its_day_on_lagos_clock() -> None:
    spec = migration("2027-02-15")
    before = resolve(desired([spec]), live(), now=epoch("2027-02-14T23:59:59"))
    assert before.steps[0].status == "scheduled" and on(before.desired) == "pro"
    state = live()
    state = LiveState(objects=state.objects, now=epoch("2027-02-15T08:00:00"))
    after = resolve(desired([spec]), state)  # Lago's clock (its Date header) decides
    assert after.steps[0].status == "moves" and on(after.desired) == "pro_v2"
    assert after.steps[0].effective == "2027-02-15"


def test_a_downgrade_lago_holds_is_in_progress() -> None:
    spec = migration("now")
    state = live(next_plan_code="pro_v2", downgrade_plan_date="2026-12-31")
    result = resolve(desired([spec], v2_cents=7900), state, now=epoch("2026-12-10"))
    (step,) = result.steps
    assert (step.status, step.effective) == ("in_progress", "2026-12-31")
    assert on(result.desired) == "pro_v2"  # the pending plan: nothing more to send


def test_from_limits_which_versions_move() -> None:
    spec = migration("now", **{"from": [2]})
    result = resolve(desired([spec]), live(), now=epoch("2026-12-10"))
    assert result.steps == () and on(result.desired) == "pro"


def test_a_due_move_whose_overrides_do_not_fit_is_blocked_with_the_reason() -> None:
    spec = migration("now")
    why = ["overrides/acme.yaml:9:9: plan 'pro_v2' has no charge 'storage'"]
    state = desired([spec], refused={"pro_v2": why})
    result = resolve(state, live(), now=epoch("2026-12-10"))
    (step,) = result.steps
    assert (step.status, step.reasons) == ("refused", tuple(why))
    obj = result.desired.objects["subscription"]["acme-pro"]
    assert obj.body["plan_code"] == "pro"  # it stays where it is
    (blocked,) = refusals(obj)
    assert "migration 'm' cannot move acme-pro to pro_v2" in blocked.reason
    assert "has no charge 'storage'" in blocked.reason
    assert "who" in blocked.way_out
    assert result.what_if is not None and on(result.what_if) == "pro"


def test_lagos_clock_is_read_from_its_date_header() -> None:
    from lagoform.engine.live import server_time

    assert server_time("Fri, 01 Jan 2027 00:00:05 GMT") == epoch("2027-01-01T00:00:05")
    assert server_time(None) is None
    assert server_time("not a date") is None


def test_a_migration_back_to_its_version_cancels_the_downgrade_lago_holds() -> None:
    undo = migration("now", to=1, **{"from": [1]})
    state = live(next_plan_code="pro_v2", downgrade_plan_date="2026-12-31")
    result = resolve(desired([undo], v2_cents=7900), state, now=epoch("2026-12-10"))
    assert result.steps == () and on(result.desired) == "pro"
    kept = resolve(desired([], v2_cents=7900), state, now=epoch("2026-12-10"))
    assert on(kept.desired) == "pro_v2"  # without it, Lago's pending downgrade stands
