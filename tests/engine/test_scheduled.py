"""Scheduled prices, the pure parts: the notice arithmetic, the target's day from a Date header,
the folding of due prices, and ``effective_date`` / ``beyond_due`` (what other rules and the
scheduled run ask of a plan)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from lagoform.catalog import load_project
from lagoform.catalog.models_schedule import notice_start
from lagoform.catalog.schedule import as_of, entries
from lagoform.engine.desired import from_project
from lagoform.engine.diff import FieldChange
from lagoform.engine.plan import ObjectChange, Plan
from lagoform.engine.scheduled import (
    DueEntry,
    Schedule,
    ScheduledChange,
    beyond_due,
    effective_date,
)
from lagoform.engine.target_day import day_at, server_time, today_of
from lagoform.model.state import LiveState

D = dt.date


@pytest.mark.parametrize(
    ("effective", "notice", "start"),
    [
        (D(2027, 1, 1), None, D(2027, 1, 1)),
        (D(2027, 1, 1), "30 days", D(2026, 12, 2)),
        (D(2027, 1, 1), "2 weeks", D(2026, 12, 18)),
        (D(2027, 1, 1), "1 month", D(2026, 12, 1)),
        (D(2027, 3, 31), "1 month", D(2027, 2, 28)),  # clamped to the month's end
        (D(2028, 3, 31), "1 month", D(2028, 2, 29)),  # a leap year
        (D(2027, 1, 15), "13 months", D(2025, 12, 15)),
    ],
)
def test_notice_start(effective: dt.date, notice: str | None, start: dt.date) -> None:
    assert notice_start(effective, notice) == start


def test_the_day_comes_from_the_date_header_in_utc() -> None:
    assert today_of("Thu, 31 Dec 2026 23:30:00 GMT") == D(2026, 12, 31)
    assert today_of("Fri, 01 Jan 2027 01:00:00 +0200") == D(2026, 12, 31)  # 23:00 UTC
    fallback = dt.datetime(2030, 6, 1, 12, tzinfo=dt.UTC)
    assert today_of(None, fallback=fallback) == D(2030, 6, 1)
    assert day_at(None, fallback=fallback) == D(2030, 6, 1)
    assert day_at(server_time("Thu, 31 Dec 2026 23:30:00 GMT")) == D(2026, 12, 31)
    assert today_of("not a date", fallback=fallback) == D(2030, 6, 1)


PLANS = """
billable_metrics:
  - {code: tokens, name: Tokens, aggregation: sum, field_name: tokens,
     filters: {type: [input, output]}}
plans:
  - code: pro
    name: Pro
    interval: monthly
    amount: 99.00 USD
    scheduled:
      - {effective: 2027-03-01, amount: 129.00 USD}
      - {effective: 2027-01-01, amount: 119.00 USD}
    charges:
      - code: tokens
        metric: tokens
        per: 1M tokens
        properties: {amount: 2}
        scheduled:
          - {effective: 2027-02-01, min_amount: 10}
        filters:
          - values: {type: input}
            properties: {amount: 1.25}
            scheduled:
              - {effective: 2027-01-01, properties: {amount: 1.5}, notice: 30 days}
"""


def _project(tmp_path: Path) -> Path:
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "plans.yaml").write_text(PLANS, encoding="utf-8")
    return tmp_path


def test_as_of_folds_the_prices_in_force_that_day(tmp_path: Path) -> None:
    project = load_project(_project(tmp_path))
    assert as_of(project, D(2026, 12, 31)) is project  # nothing due: the same project

    def fee_and_prices(day: dt.date) -> tuple[int, str, int, str]:
        body = from_project(as_of(project, day)).get("plan", "pro")
        assert body is not None
        charge = body.normal["charges"]["tokens"]
        return (
            body.normal["amount_cents"],
            charge["properties"]["amount"],
            charge["min_amount_cents"],
            charge["filters"]["type=input"]["properties"]["amount"],
        )

    assert fee_and_prices(D(2026, 12, 31)) == (9900, "0.000002", 0, "0.00000125")
    assert fee_and_prices(D(2027, 1, 1)) == (11900, "0.000002", 0, "0.0000015")
    assert fee_and_prices(D(2027, 2, 1)) == (11900, "0.000002", 1000, "0.0000015")
    assert fee_and_prices(D(2027, 3, 1)) == (12900, "0.000002", 1000, "0.0000015")

    listed = entries(project)
    assert [(e.effective, e.subject) for e in listed] == [
        (D(2027, 1, 1), "pro"),
        (D(2027, 1, 1), "pro/tokens[type=input]"),
        (D(2027, 2, 1), "pro/tokens"),
        (D(2027, 3, 1), "pro"),
    ]
    assert listed[1].notice == "30 days"
    assert str(listed[1].where).startswith("catalog/plans.yaml:24:")


def test_plan_schedule_without_lago_subscribers(tmp_path: Path) -> None:
    from lagoform.engine.scheduled import plan_schedule

    project = load_project(_project(tmp_path))
    desired = from_project(project)
    timed = plan_schedule(project, desired, LiveState(objects={}), D(2027, 1, 15))
    assert timed.schedule is not None
    assert [(c.effective, c.prices) for c in timed.schedule.upcoming] == [
        (D(2027, 2, 1), ("pro/tokens",)),
        (D(2027, 3, 1), ("pro",)),
    ]
    fee = timed.schedule.upcoming[1]
    assert fee.rise and fee.notified == () and fee.notify_by == D(2027, 3, 1)
    assert [(s.field, s.old, s.new) for s in fee.steps] == [("amount_cents", 11900, 12900)]
    assert timed.findings == ()  # no subscriber to notify
    body = timed.desired.get("plan", "pro")
    assert body.normal["amount_cents"] == 11900  # the due fee is the desired one


SCHEDULE = Schedule(
    today=D(2027, 1, 15),
    upcoming=(
        ScheduledChange(
            plan="pro",
            effective=D(2027, 3, 1),
            notify_by=D(2027, 3, 1),
            prices=("pro",),
            changes=(FieldChange(path=("amount_cents",), old=11900, new=12900),),
        ),
    ),
    due=(
        DueEntry(
            plan="pro",
            effective=D(2027, 1, 1),
            paths=(("charges", "tokens", "filters", "type=input", "properties"),),
            where="catalog/plans.yaml:24:17",
        ),
    ),
)


def test_effective_date_of_a_planned_change() -> None:
    filter_price = ("charges", "tokens", "filters", "type=input", "properties", "amount")
    assert effective_date(SCHEDULE, "plan:pro", filter_price) == D(2027, 1, 1)  # due: past
    assert effective_date(SCHEDULE, "plan:pro", ("amount_cents",)) == D(2027, 3, 1)  # ahead
    assert effective_date(SCHEDULE, "plan:pro", ("name",)) is None  # immediate
    assert effective_date(SCHEDULE, "plan:other", ("amount_cents",)) is None
    assert effective_date(None, "plan:pro", ("amount_cents",)) is None
    assert effective_date(SCHEDULE, "plan:pro") == D(2027, 3, 1)  # any: the next one ahead


def _plan(*changes: ObjectChange) -> Plan:
    return Plan(plan_id="p", catalog_fingerprint="c", live_fingerprints={}, changes=changes)


def test_beyond_due_keeps_only_what_no_due_price_explains() -> None:
    due = ObjectChange(
        kind="plan",
        key="pro",
        action="update",
        changes=(
            FieldChange(
                path=("charges", "tokens", "filters", "type=input", "properties", "amount"),
                old="0.00000125",
                new="0.0000015",
            ),
        ),
    )
    renamed = due.model_copy(
        update={"changes": (*due.changes, FieldChange(path=("name",), old="Pro", new="Pro 2"))}
    )
    early = due.model_copy(
        update={"changes": (FieldChange(path=("amount_cents",), old=11900, new=12900),)}
    )
    assert beyond_due(_plan(due), SCHEDULE) == []
    assert beyond_due(_plan(renamed), SCHEDULE) == [renamed]  # a hand edit rides along
    assert beyond_due(_plan(early), SCHEDULE) == [early]  # not due yet
    assert beyond_due(_plan(due), None) == [due]
    other = ObjectChange(kind="customer", key="acme", action="update")
    assert beyond_due(_plan(due, other), SCHEDULE) == [other]
    # the copy of the plan apply keeps for a subscription with negotiated prices follows it
    copy = ObjectChange(
        kind="subscription",
        key="globex-main",
        action="update",
        body={"plan_code": "pro"},
        changes=tuple(
            FieldChange(path=("overrides", *f.path), old=f.old, new=f.new) for f in due.changes
        ),
    )
    assert beyond_due(_plan(due, copy), SCHEDULE) == []
    elsewhere = copy.model_copy(update={"body": {"plan_code": "other"}})
    assert beyond_due(_plan(due, elsewhere), SCHEDULE) == [elsewhere]
