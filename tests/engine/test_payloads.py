"""The requests one change becomes (pure): subscriptions on their base plan with per-charge
overrides, never a ``plan_overrides.charges`` list nor a sync re-post; the record a pending
subscription's calls address; wallet top-ups."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lagoform.engine.diff import FieldChange
from lagoform.engine.payloads import ApplyContext, Step, record_status, resolve, steps_for
from lagoform.engine.plan import ObjectChange
from lagoform.engine.pricing_model import PlanMove, SubscriptionPricing
from lagoform.errors import PlanError

SUB = {"external_id": "g", "external_customer_id": "globex", "plan_code": "team", "name": None}
TIERS = [{"from_value": 0, "to_value": 10, "per_unit_amount": "0", "flat_amount": "0"},
         {"from_value": 11, "per_unit_amount": "0.04", "flat_amount": "0"}]  # fmt: skip
TARGET = {
    "plan": {"amount_cents": 8500},
    "charges": {
        "seats": {"properties": {"graduated_ranges": TIERS}},
        "tokens": {
            "filters": {
                "type=input": {"values": {"type": ["input"]}, "properties": {"amount": "0.08"}}
            },
            "min_amount_cents": 500,
        },
    },
}


def sub_change(
    action: str = "update",
    target: dict[str, Any] | None = None,
    move: PlanMove | None = None,
    status: str = "active",
    changes: tuple[FieldChange, ...] = (),
) -> ObjectChange:
    pricing = SubscriptionPricing(
        plan_code="team",
        currency="USD",
        target=target or {},
        status=status,  # type: ignore[arg-type]
    )
    return ObjectChange(
        kind="subscription",
        key="g",
        action=action,  # type: ignore[arg-type]
        body={**SUB, "plan_overrides": {"charges": [{"code": "tokens"}]}},
        pricing=pricing,
        move=move,
        changes=changes,
    )


def calls(steps: list[Step]) -> list[tuple[str, str]]:
    return [(s.method, s.request()["path"]) for s in steps]


def test_create_carries_plan_level_overrides_then_one_call_per_charge() -> None:
    steps = steps_for(sub_change("create", TARGET), ApplyContext())
    assert calls(steps) == [
        ("POST", "/subscriptions"),
        ("PUT", "/subscriptions/g/charges/seats"),
        ("PUT", "/subscriptions/g/charges/tokens"),
    ]
    assert steps[0].body == {**SUB, "plan_overrides": {"amount_cents": 8500}}
    # Lago's shapes: an open last tier says to_value null, filters are a list
    assert steps[1].body == {
        "properties": {"graduated_ranges": [TIERS[0], {**TIERS[1], "to_value": None}]}
    }
    assert steps[2].body == {
        "filters": [{"values": {"type": ["input"]}, "properties": {"amount": "0.08"}}],
        "min_amount_cents": 500,
    }
    assert [s.overrides for s in steps] == [True, True, True]


def test_update_sends_plan_level_values_without_charges_and_never_re_posts() -> None:
    steps = steps_for(sub_change("update", TARGET), ApplyContext())
    assert calls(steps) == [
        ("PUT", "/subscriptions/g"),
        ("PUT", "/subscriptions/g/charges/seats"),
        ("PUT", "/subscriptions/g/charges/tokens"),
    ]
    assert steps[0].body == {"plan_overrides": {"amount_cents": 8500}}


def test_downgrade_addresses_the_pending_subscription() -> None:
    down = PlanMove(kind="downgrade", from_plan="pro", to_plan="team")
    steps = steps_for(sub_change("update", TARGET, down, "pending"), ApplyContext())
    assert calls(steps) == [
        ("POST", "/subscriptions"),
        ("PUT", "/subscriptions/g/charges/seats?subscription_status=pending"),
        ("PUT", "/subscriptions/g/charges/tokens?subscription_status=pending"),
    ]
    assert steps[0].body is not None and steps[0].body["plan_overrides"] == {"amount_cents": 8500}


def test_swap_sets_plan_level_overrides_afterwards_on_the_pending_record() -> None:
    swap = PlanMove(kind="swap", from_plan="pro", to_plan="team")
    steps = steps_for(sub_change("update", TARGET, swap, "pending"), ApplyContext())
    assert calls(steps)[:2] == [
        ("POST", "/subscriptions"),
        ("PUT", "/subscriptions/g?status=pending"),
    ]
    assert steps[0].body is not None and "plan_overrides" not in steps[0].body


def test_cancelled_downgrade_deletes_the_pending_subscription_only() -> None:
    undo = PlanMove(kind="cancel_downgrade", from_plan="lite", to_plan="team")
    steps = steps_for(sub_change("update", {}, undo), ApplyContext())
    assert calls(steps) == [("DELETE", "/subscriptions/g?status=pending")]


def test_answer_decides_which_record_later_calls_address() -> None:
    post = Step("create", "POST", "/subscriptions", "subscription", {"plan_code": "team"}, "x")
    assert record_status(post, {"status": "pending"}) == "pending"
    assert record_status(post, {"status": "active", "next_plan_code": "team"}) == "pending"
    assert record_status(post, {"status": "active", "next_plan_code": None}) == "active"
    put = Step("override_charge", "PUT", "/subscriptions/g/charges/t", "charge", {}, "x",
               follows="g")  # fmt: skip
    ctx = ApplyContext(record_status={"g": "pending"})
    assert (
        resolve(put, ctx).request()["path"]
        == "/subscriptions/g/charges/t?subscription_status=pending"
    )
    ctx.record_status["g"] = "active"
    assert resolve(put, ctx).params is None


@given(
    plan_level=st.dictionaries(
        st.sampled_from(["amount_cents", "name", "invoice_display_name", "tax_codes"]),
        st.integers(0, 10**6),
    ),
    codes=st.lists(st.sampled_from(["a", "b", "c", "d"]), unique=True),
    action=st.sampled_from(["create", "update"]),
    kind=st.sampled_from([None, "upgrade", "downgrade", "swap", "cancel_downgrade"]),
)
def test_no_step_ever_sends_a_charges_list_or_re_posts_without_a_move(
    plan_level: dict[str, int], codes: list[str], action: str, kind: str | None
) -> None:
    target: dict[str, Any] = {"plan": plan_level} if plan_level else {}
    if codes:
        target["charges"] = {c: {"properties": {"amount": "1"}} for c in codes}
    move = PlanMove(kind=kind, from_plan="x", to_plan="team") if kind else None  # type: ignore[arg-type]
    steps = steps_for(
        sub_change(action, target, move if action == "update" else None), ApplyContext()
    )
    for step in steps:
        assert "charges" not in ((step.body or {}).get("plan_overrides") or {})
    posts = [s for s in steps if s.method == "POST"]
    reposts = action == "create" or (move is not None and move.kind != "cancel_downgrade")
    assert len(posts) == (1 if reposts else 0)
    assert sorted(s.path.rsplit("/", 1)[1] for s in steps if s.op == "override_charge") == sorted(
        codes
    )


def wallet_change(old: str, new: str) -> ObjectChange:
    return ObjectChange(
        kind="wallet",
        key="globex/prepaid",
        action="update",
        body={"external_customer_id": "globex", "code": "prepaid", "paid_credits": new},
        changes=(FieldChange(path=("paid_credits",), old=old, new=new),),
    )


def test_wallet_credit_increase_is_one_top_up_for_the_difference() -> None:
    ctx = ApplyContext(wallet_ids={"globex/prepaid": "w-1"})
    (step,) = steps_for(wallet_change("1000", "1250.5"), ctx)
    assert (step.op, step.path, step.root) == (
        "top_up",
        "/wallet_transactions",
        "wallet_transaction",
    )
    assert step.body == {"wallet_id": "w-1", "paid_credits": "250.5"}


def test_wallet_credit_decrease_never_becomes_a_request() -> None:
    ctx = ApplyContext(wallet_ids={"globex/prepaid": "w-1"})
    with pytest.raises(PlanError, match="cannot go down"):
        steps_for(wallet_change("1000", "900"), ctx)
