"""A subscription's prices compared with its YAML (pure): the effective plan against base plan +
overrides, what is blocked and why, which record a scheduled downgrade addresses."""

from __future__ import annotations

from typing import Any

from lagoform.engine.plan import ObjectChange, build_plan, hints_for
from tests.engine.factories import charge, child_plan, desired, live, metric, plan, subscription

TOKENS = metric("tokens", filters=[{"key": "type", "values": ["input", "output"]}])
IMAGES = metric("images", aggregation_type="count_agg")
FILTER = {"values": {"type": ["input"]}, "properties": {"amount": "0.1"}}
TEAM = plan(
    "team",
    [charge("tokens", "tokens", "0.5", filters=[FILTER]), charge("images", "images", "0.03")],
    amount_cents=19900,
)
DEAL = {"charges": [{"code": "tokens", "properties": {"amount": "0.4"}}]}
META = {"subscription:globex-main": {"reason": "MSA", "approval": "A-1"}}


def sub_body(overrides: dict[str, Any] | None = None, plan_code: str = "team") -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": "globex-main",
        "external_customer_id": "globex",
        "plan_code": plan_code,
    }
    if overrides is not None:
        body["plan_overrides"] = overrides
    return body


def compare(
    overrides: dict[str, Any] | None,
    *,
    effective: dict[str, Any] | None = None,
    base: dict[str, Any] = TEAM,
    live_base: dict[str, Any] = TEAM,
    record: dict[str, Any] | None = None,
    now: str | None = None,
) -> ObjectChange:
    d = desired(
        billable_metric=[TOKENS, IMAGES],
        plan=[base],
        subscription=[sub_body(overrides, str(base["code"]))],
        meta=META,
    )
    subs = [record] if record is not None else []
    lv = live(
        billable_metric=[TOKENS, IMAGES],
        plan=[live_base],
        subscriptions=subs,
        overridden=["globex-main"] if effective is not None else [],
        effective={"globex-main": effective} if effective is not None else None,
    )
    p = build_plan(d, lv, created_at=now)
    return next(c for c in p.changes if c.kind == "subscription")


def on_team(**kw: Any) -> dict[str, Any]:
    return subscription("globex-main", "team", customer="globex", **kw)


def test_new_subscription_sets_what_differs_from_the_base_plan() -> None:
    change = compare({**DEAL, "amount_cents": 19900, "name": "Team (Globex)"})
    assert change.action == "create" and change.pricing is not None
    # the same fee as the base is not sent; the name and the token price are
    assert change.pricing.target == {
        "plan": {"name": "Team (Globex)"},
        "charges": {"tokens": {"properties": {"amount": "0.4"}}},
    }
    assert (change.pricing.reason, change.pricing.approval) == ("MSA", "A-1")
    assert not change.pricing.exists and change.pricing.status == "active"
    assert change.note is not None and "premium" in change.note


def test_charge_only_overrides_create_the_copy_in_the_creating_call() -> None:
    change = compare(DEAL)
    assert change.pricing is not None
    assert change.pricing.plan_target == {"amount_cents": 19900}  # the base fee, unchanged


def test_a_future_start_addresses_the_pending_record() -> None:
    body_start = "2027-01-01T00:00:00Z"
    d = desired(
        billable_metric=[TOKENS, IMAGES],
        plan=[TEAM],
        subscription=[{**sub_body(DEAL), "subscription_at": body_start}],
    )
    p = build_plan(
        d, live(billable_metric=[TOKENS, IMAGES], plan=[TEAM]), created_at="2026-11-01T00:00:00Z"
    )
    (change,) = [c for c in p.changes if c.kind == "subscription"]
    assert change.pricing is not None and change.pricing.status == "pending"


def test_on_its_base_plan_only_the_negotiated_fields_compare() -> None:
    # the catalog moves images too: that is the plan's change, not this subscription's
    moved = plan(
        "team", [TEAM["charges"][0], charge("images", "images", "0.04")], amount_cents=19900
    )
    change = compare(DEAL, base=moved, record=on_team())
    assert [(c.path, c.old, c.new) for c in change.changes] == [
        (("overrides", "charges", "tokens", "properties", "amount"), "0.5", "0.4")
    ]
    assert change.pricing is not None and change.pricing.exists and not change.pricing.overridden


def test_own_copy_is_compared_in_full_so_drift_on_any_charge_shows() -> None:
    copy = child_plan(
        TEAM, charges=[charge("tokens", "tokens", "0.4", filters=[FILTER]),
                       charge("images", "images", "0.01")]
    )  # fmt: skip
    change = compare(DEAL, effective=copy, record=on_team())
    assert change.action == "update"
    assert [(c.path, c.old, c.new) for c in change.changes] == [
        (("overrides", "charges", "images", "properties", "amount"), "0.01", "0.03")
    ]
    assert change.pricing is not None and change.pricing.overridden
    assert change.pricing.target == {"charges": {"images": {"properties": {"amount": "0.03"}}}}
    images = [x for x in change.pricing.lines if x.charge == "images"]
    assert [(x.current, x.new, x.negotiated) for x in images] == [
        ({"amount": "0.01"}, {"amount": "0.03"}, False)
    ]


def test_own_copy_matching_its_yaml_is_a_no_op() -> None:
    copy = child_plan(
        TEAM, charges=[charge("tokens", "tokens", "0.4", filters=[FILTER]), TEAM["charges"][1]]
    )
    assert compare(DEAL, effective=copy, record=on_team()).action == "no-op"


def test_overrides_gone_from_yaml_are_blocked_while_prices_differ() -> None:
    copy = child_plan(TEAM, amount_cents=15000)
    change = compare(None, effective=copy, record=on_team())
    assert change.action == "blocked"
    [blocked] = change.blocked
    assert blocked.path == ("overrides",)
    assert "no API to put a subscription back on its plan" in blocked.reason
    assert [(c.path, c.old, c.new) for c in change.changes] == [
        (("overrides", "amount_cents"), 15000, 19900)
    ]
    # a copy pricing exactly like the catalog is not a problem
    assert compare(None, effective=child_plan(TEAM), record=on_team()).action == "no-op"


def test_a_charge_the_copy_lacks_is_blocked_unless_lago_cascades_it() -> None:
    copy = child_plan(TEAM, charges=[TEAM["charges"][0]])
    change = compare({}, effective=copy, record=on_team())
    assert [b.path for b in change.blocked] == [("overrides", "charges", "images")]
    assert "cascade_updates: true" in change.blocked[0].way_out
    # added to the plan in this very plan, with cascade_updates: Lago copies it
    cascading = {**TEAM, "cascade_updates": True}
    lean = plan("team", [TEAM["charges"][0]], amount_cents=19900)
    added = compare({}, effective=copy, record=on_team(), base=cascading, live_base=lean)
    assert added.action == "no-op"


def test_model_and_first_override_fields_are_blocked_on_a_copy() -> None:
    graduated = charge("images", "images", charge_model="graduated",
                       properties={"graduated_ranges": [{"from_value": 0, "to_value": None,
                                                         "per_unit_amount": "0.03"}]})  # fmt: skip
    copy = child_plan(TEAM, charges=[TEAM["charges"][0], graduated], trial_period=0)
    change = compare({"trial_period": 14}, effective=copy, record=on_team())
    paths = [b.path for b in change.blocked]
    assert ("overrides", "charges", "images", "charge_model") in paths
    assert ("overrides", "trial_period") in paths


def test_scheduled_downgrade_compares_the_pending_record() -> None:
    active = on_team(next_plan_code="lite", downgrade_plan_date="2026-12-31")
    pending = subscription("globex-main", "lite", customer="globex", status="pending")
    lite = plan("lite", [charge("tokens", "tokens", "0.6")], amount_cents=900)
    d = desired(
        billable_metric=[TOKENS, IMAGES],
        plan=[TEAM, lite],
        subscription=[
            sub_body({"charges": [{"code": "tokens", "properties": {"amount": "0.55"}}]}, "lite")
        ],
    )
    lv = live(billable_metric=[TOKENS, IMAGES], plan=[TEAM, lite], subscriptions=[active, pending])
    (change,) = [c for c in build_plan(d, lv).changes if c.kind == "subscription"]
    assert change.move is None  # it is already heading to lite
    assert change.pricing is not None and change.pricing.status == "pending"
    assert change.pricing.target == {"charges": {"tokens": {"properties": {"amount": "0.55"}}}}
    # the catalog keeps team: the scheduled downgrade is cancelled
    d_team = desired(billable_metric=[TOKENS, IMAGES], plan=[TEAM, lite], subscription=[sub_body()])
    (keep,) = [c for c in build_plan(d_team, lv).changes if c.kind == "subscription"]
    assert keep.move is not None and keep.move.kind == "cancel_downgrade"
    assert keep.move.from_plan == "lite" and keep.move.effective == "2026-12-31"


def test_hints_name_every_managed_subscription() -> None:
    d = desired(billable_metric=[TOKENS, IMAGES], plan=[TEAM], subscription=[sub_body(DEAL)])
    hints = hints_for(d)
    assert hints.subscriptions == ("globex-main",) and hints.effective_plans == ("globex-main",)


# -- a negotiated value equal to today's catalog price (found by tests/consistency) --------------

RAISED = plan(
    "team",
    [charge("tokens", "tokens", "0.7", filters=[FILTER]), charge("images", "images", "0.03")],
    amount_cents=19900,
)
KEEP_HALF = {"charges": [{"code": "tokens", "properties": {"amount": "0.5"}}]}


def test_a_negotiated_price_the_catalog_moves_away_from_gets_its_override() -> None:
    # on the plan itself, negotiating today's 0.5 while the catalog goes to 0.7: apply must
    # create the override, or the raise reaches the tenant
    change = compare(KEEP_HALF, base=RAISED, record=on_team())
    assert change.action == "update" and change.pricing is not None
    assert change.pricing.charge_targets == {"tokens": {"properties": {"amount": "0.5"}}}
    # and a negotiated price the catalog now reaches needs none
    reached = compare({"charges": [{"code": "tokens", "properties": {"amount": "0.7"}}]},
                      base=RAISED, record=on_team())  # fmt: skip
    assert reached.action == "no-op"


def test_a_cascade_into_an_uncustomised_negotiated_charge_is_set_back() -> None:
    # its own copy holds the catalog's 0.5 because that is the negotiated price; Lago's cascade
    # carries the raise into it, so apply sets it back after the plan update
    copy = child_plan(TEAM, name="Team (Globex)")
    cascading = {**RAISED, "cascade_updates": True}
    change = compare(KEEP_HALF, effective=copy, base=cascading, record=on_team())
    assert change.pricing is not None
    assert change.pricing.charge_targets == {"tokens": {"properties": {"amount": "0.5"}}}
    # without cascade_updates the copy keeps 0.5 by itself: nothing to send
    still = compare(KEEP_HALF, effective=copy, base=RAISED, record=on_team())
    assert still.pricing is None or not still.pricing.charge_targets
