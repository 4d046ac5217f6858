"""A stale saved plan names what moved in Lago: down to the field when it kept the objects as it
read them, else the objects."""

from __future__ import annotations

from lagoform.engine.plan import build_plan
from lagoform.engine.stale import MAX_FIELDS, seen_objects, stale_objects
from tests.engine.factories import charge, desired, live, metric, plan

TOKENS = metric("tokens", filters=[{"key": "model", "values": ["gpt-5", "gpt-4"]},
                                   {"key": "type", "values": ["input", "output"]}])  # fmt: skip


def _pro(gpt5_input: str, fee: int = 9_900) -> dict[str, object]:
    filters = [
        {"values": {"model": ["gpt-5"], "type": ["input"]}, "properties": {"amount": gpt5_input}},
        {"values": {"model": ["gpt-4"], "type": ["input"]}, "properties": {"amount": "0.0000005"}},
    ]
    return plan("pro", [charge("tokens", "tokens", "0.000002", filters=filters)],
                amount_cents=fee)  # fmt: skip


def test_moved_fields_are_named_with_old_and_new_values() -> None:
    then = live(billable_metric=[TOKENS], plan=[_pro("0.000001")])
    built = build_plan(desired(billable_metric=[TOKENS], plan=[_pro("0.000001", 12_900)]), then)
    seen = seen_objects(built, then)
    assert set(seen) == {"billable_metric:tokens", "plan:pro"}

    now = live(billable_metric=[TOKENS], plan=[_pro("0.0000009", 10_900)])
    assert stale_objects(built, then, seen) == []
    assert stale_objects(built, now, seen) == [
        "plan pro: amount 99.00 USD → 109.00 USD",
        "plan pro: charges.tokens.filters[model=gpt-5, type=input].properties.amount "
        "0.000001 → 0.0000009",
    ]
    # without what the plan read (an older saved plan): the objects only
    assert stale_objects(built, now) == ["plan:pro changed in Lago"]


def test_objects_that_appeared_vanished_or_only_changed_ids() -> None:
    then = live(billable_metric=[TOKENS])
    built = build_plan(desired(billable_metric=[TOKENS], plan=[_pro("0.000001")]), then)
    seen = seen_objects(built, then)
    assert seen["plan:pro"] is None
    appeared = live(billable_metric=[TOKENS], plan=[_pro("0.000001")])
    assert stale_objects(built, appeared, seen) == [
        # a plan now uses the metric: Lago locks some of its fields
        "billable metric tokens: same fields, but its ids or locks changed in Lago (re-created, "
        "or now subscribed or attached to a plan)",
        "plan:pro now exists in Lago",
    ]
    assert stale_objects(built, live(), seen) == ["billable_metric:tokens is gone from Lago"]


def test_many_moved_fields_are_cut_short() -> None:
    charges = [charge(f"c{i}", "tokens", "1") for i in range(12)]
    moved = [charge(f"c{i}", "tokens", "2") for i in range(12)]
    then = live(billable_metric=[TOKENS], plan=[plan("big", charges)])
    built = build_plan(desired(billable_metric=[TOKENS], plan=[plan("big", charges)]), then)
    lines = stale_objects(built, live(billable_metric=[TOKENS], plan=[plan("big", moved)]),
                          seen_objects(built, then))  # fmt: skip
    assert len(lines) == MAX_FIELDS + 1
    assert lines[-1] == f"plan big: … and {12 - MAX_FIELDS} more field(s)"
