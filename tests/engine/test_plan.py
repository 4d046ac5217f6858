"""build_plan: actions, ordering, locks (blocked), deletions, unmanaged, blast radius, saving."""

from __future__ import annotations

from typing import Any

import pytest

from lagoform.engine.plan import Plan, build_plan
from lagoform.errors import CatalogError, PlanError
from tests.engine.factories import charge, desired, live, metric, plan, subscription

TOKENS = metric("tokens", filters=[{"key": "type", "values": ["input", "output"]}])
PRO = plan("pro", [charge("tokens", "tokens", "0.5")], amount_cents=9900)


def _summary(p: Plan) -> list[tuple[str, str, str]]:
    return [(c.kind, c.key, c.action) for c in p.changes]


def test_empty_lago_creates_everything_in_dependency_order() -> None:
    d = desired(
        plan=[PRO],
        billable_metric=[TOKENS],
        tax=[{"code": "vat", "name": "VAT", "rate": 20}],
        coupon=[
            {
                "code": "c",
                "name": "C",
                "coupon_type": "percentage",
                "percentage_rate": "10",
                "frequency": "once",
            }
        ],
        add_on=[{"code": "setup", "name": "Setup", "amount_cents": 100, "amount_currency": "USD"}],
    )
    p = build_plan(d, live())
    assert _summary(p) == [
        ("tax", "vat", "create"),
        ("billable_metric", "tokens", "create"),
        ("add_on", "setup", "create"),
        ("plan", "pro", "create"),
        ("coupon", "c", "create"),
    ]
    assert p.has_changes
    assert p.live_fingerprints == {
        "tax:vat": None,
        "billable_metric:tokens": None,
        "add_on:setup": None,
        "plan:pro": None,
        "coupon:c": None,
    }


def test_no_changes_when_live_matches() -> None:
    p = build_plan(
        desired(plan=[PRO], billable_metric=[TOKENS]), live(plan=[PRO], billable_metric=[TOKENS])
    )
    assert not p.has_changes
    assert p.counts()["no-op"] == 2
    assert all(fp is not None for fp in p.live_fingerprints.values())


UPDATE_CASES: list[tuple[str, dict[str, Any], list[tuple[tuple[str, ...], Any, Any]]]] = [
    (
        "price",
        plan("pro", [charge("tokens", "tokens", "0.4")], amount_cents=9900),
        [(("charges", "tokens", "properties", "amount"), "0.5", "0.4")],
    ),
    (
        "base fee",
        plan("pro", [charge("tokens", "tokens", "0.5")], amount_cents=10900),
        [(("amount_cents",), 9900, 10900)],
    ),
    (
        "add charge",
        plan(
            "pro",
            [charge("tokens", "tokens", "0.5"), charge("t2", "tokens", "1")],
            amount_cents=9900,
        ),
        [(("charges", "t2"), None, "<new>")],
    ),
    ("remove charge", plan("pro", [], amount_cents=9900), [(("charges", "tokens"), "<old>", None)]),
    (
        "filter price",
        plan(
            "pro",
            [
                charge(
                    "tokens",
                    "tokens",
                    "0.5",
                    filters=[{"values": {"type": ["input"]}, "properties": {"amount": "0.1"}}],
                )
            ],
            amount_cents=9900,
        ),
        [(("charges", "tokens", "filters", "type=input"), None, "<new>")],
    ),
]


@pytest.mark.parametrize(
    ("desired_plan", "expected"), [c[1:] for c in UPDATE_CASES], ids=[c[0] for c in UPDATE_CASES]
)
def test_plan_updates_show_exact_field_changes(
    desired_plan: dict[str, Any], expected: list[tuple[tuple[str, ...], Any, Any]]
) -> None:
    p = build_plan(
        desired(plan=[desired_plan], billable_metric=[TOKENS]),
        live(plan=[PRO], billable_metric=[TOKENS]),
    )
    (change,) = p.pending()
    assert change.action == "update"
    got = [
        (
            c.path,
            "<new>" if isinstance(c.new, dict) else c.new,
            c.old if not isinstance(c.old, dict) else "<old>",
        )
        for c in change.changes
    ]
    assert [(path, new, old) for path, old, new in expected] == [(g[0], g[1], g[2]) for g in got]


LOCK_CASES: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    ("interval", {"interval": "yearly"}, ("interval",)),
    ("currency", {"amount_currency": "EUR"}, ("amount_currency",)),
    ("trial", {"trial_period": 14}, ("trial_period",)),
    ("pay in advance", {"pay_in_advance": True}, ("pay_in_advance",)),
]


@pytest.mark.parametrize(
    ("change", "path"), [c[1:] for c in LOCK_CASES], ids=[c[0] for c in LOCK_CASES]
)
def test_locked_plan_fields_blocked_once_subscribed(
    change: dict[str, Any], path: tuple[str, ...]
) -> None:
    want = {**PRO, **change}
    subs = [subscription("s1", "pro", status="terminated")]  # ever had one is enough
    p = build_plan(
        desired(plan=[want], billable_metric=[TOKENS]),
        live(plan=[PRO], billable_metric=[TOKENS], subscriptions=subs),
    )
    (c,) = p.pending()
    assert c.action == "blocked"
    assert [b.path for b in c.blocked] == [path]
    assert "new plan code" in c.blocked[0].way_out
    # Without any subscription the same change is a plain update.
    p2 = build_plan(
        desired(plan=[want], billable_metric=[TOKENS]), live(plan=[PRO], billable_metric=[TOKENS])
    )
    assert p2.pending()[0].action == "update"


def test_child_plan_subscription_does_not_lock_parent() -> None:
    want = {**PRO, "interval": "yearly"}
    subs = [subscription("s1", "pro")]
    p = build_plan(
        desired(plan=[want], billable_metric=[TOKENS]),
        live(plan=[PRO], billable_metric=[TOKENS], subscriptions=subs, overridden=["s1"]),
    )
    assert p.pending()[0].action == "update"


@pytest.mark.parametrize(
    "field",
    ["charge_model", "pay_in_advance", "prorated", "min_amount_cents", "billable_metric_code"],
)
def test_locked_charge_fields(field: str) -> None:
    value: Any = {
        "charge_model": "package",
        "pay_in_advance": True,
        "prorated": True,
        "min_amount_cents": 100,
        "billable_metric_code": "other",
    }[field]
    want = plan("pro", [charge("tokens", "tokens", "0.5", **{field: value})], amount_cents=9900)
    p = build_plan(
        desired(plan=[want], billable_metric=[TOKENS]),
        live(plan=[PRO], billable_metric=[TOKENS], subscriptions=[subscription("s1", "pro")]),
    )
    c = p.pending()[0]
    assert c.action == "blocked"
    assert any(b.path[:3] == ("charges", "tokens", field) for b in c.blocked)


def test_price_change_on_subscribed_plan_is_allowed_with_blast_radius() -> None:
    want = plan("pro", [charge("tokens", "tokens", "0.4")], amount_cents=9900)
    subs = [
        subscription("s1", "pro", customer="acme"),
        subscription("s2", "pro", customer="acme"),
        subscription("s3", "pro", customer="globex"),
        subscription("s4", "pro", customer="initech"),
        subscription("s5", "pro", customer="old", status="terminated"),
    ]
    p = build_plan(
        desired(plan=[want], billable_metric=[TOKENS]),
        live(plan=[PRO], billable_metric=[TOKENS], subscriptions=subs, overridden=["s4"]),
    )
    c = p.pending()[0]
    assert c.action == "update"
    assert c.blast is not None
    assert (
        c.blast.active_subscriptions,
        c.blast.overridden_follow,
        c.blast.overridden_not_follow,
    ) == (3, 0, 1)
    tenants = {(t.external_customer_id, t.how, t.reached): t.subscriptions for t in c.blast.tenants}
    assert tenants == {
        ("acme", "follows", True): ("s1", "s2"),
        ("globex", "follows", True): ("s3",),
        ("initech", "unreached", False): ("s4",),
    }
    # With cascade_updates the overridden subscription follows.
    p2 = build_plan(
        desired(plan=[{**want, "cascade_updates": True}], billable_metric=[TOKENS]),
        live(plan=[PRO], billable_metric=[TOKENS], subscriptions=subs, overridden=["s4"]),
    )
    b = p2.pending()[0].blast
    assert b is not None and (b.overridden_follow, b.overridden_not_follow) == (1, 0)


def test_attached_metric_locks_aggregation_but_not_name() -> None:
    want = {**TOKENS, "aggregation_type": "max_agg", "name": "Tokens!"}
    p = build_plan(
        desired(billable_metric=[want], plan=[PRO]), live(billable_metric=[TOKENS], plan=[PRO])
    )
    c = next(c for c in p.changes if c.kind == "billable_metric")
    assert c.action == "blocked"
    assert [b.path for b in c.blocked] == [("aggregation_type",)]
    assert c.blast is not None and c.blast.via_plans == ("pro",)
    # A metric used by no plan can change freely.
    p2 = build_plan(desired(billable_metric=[want]), live(billable_metric=[TOKENS]))
    assert p2.pending()[0].action == "update"


def test_unmanaged_reported_never_deleted_unless_listed() -> None:
    legacy = plan("legacy")
    p = build_plan(
        desired(plan=[PRO], billable_metric=[TOKENS]),
        live(plan=[PRO, legacy], billable_metric=[TOKENS]),
    )
    assert not p.has_changes
    assert [(u.kind, u.key) for u in p.unmanaged] == [("plan", "legacy")]
    p2 = build_plan(
        desired(plan=[PRO], billable_metric=[TOKENS], remove={"plans": ["legacy"]}),
        live(plan=[PRO, legacy], billable_metric=[TOKENS]),
    )
    assert _summary(p2)[-1] == ("plan", "legacy", "delete")
    assert p2.unmanaged == ()
    assert p2.pending()[0].confirm is None


def test_deleting_plan_with_subscriptions_needs_confirmation() -> None:
    legacy = plan("legacy")
    p = build_plan(
        desired(remove={"plans": ["legacy"]}),
        live(plan=[legacy], subscriptions=[subscription("s", "legacy")]),
    )
    (c,) = p.pending()
    assert (c.action, c.confirm) == ("delete", "legacy")
    assert c.note is not None and "terminates" in c.note


def test_deletes_run_last_in_reverse_order() -> None:
    p = build_plan(
        desired(
            plan=[plan("new")], remove={"plans": ["old"], "billable_metrics": ["m"], "taxes": ["t"]}
        ),
        live(
            plan=[plan("old")],
            billable_metric=[metric("m")],
            tax=[{"code": "t", "name": "T", "rate": 1}],
        ),
    )
    assert _summary(p) == [
        ("plan", "new", "create"),
        ("plan", "old", "delete"),
        ("billable_metric", "m", "delete"),
        ("tax", "t", "delete"),
    ]


def test_defined_and_removed_is_a_catalog_error() -> None:
    with pytest.raises(CatalogError, match="both defined and listed under remove"):
        desired(plan=[PRO], remove={"plans": ["pro"]})


def test_pending_deletion_blocks_recreate() -> None:
    gone = {**PRO}
    lv = live(plan=[gone], billable_metric=[TOKENS])
    lv.objects["plan"]["pro"] = lv.objects["plan"]["pro"].__class__(
        **{**lv.objects["plan"]["pro"].__dict__, "pending_deletion": True}
    )
    p = build_plan(desired(plan=[PRO], billable_metric=[TOKENS]), lv)
    c = next(c for c in p.changes if c.kind == "plan")
    assert c.action == "blocked" and "being deleted" in c.blocked[0].reason


def test_plan_round_trips_json_and_rejects_other_versions() -> None:
    p = build_plan(desired(plan=[PRO], billable_metric=[TOKENS]), live(), target="sandbox")
    again = Plan.loads(p.dumps())
    assert again == p
    with pytest.raises(PlanError, match="format_version 99"):
        Plan.loads(p.dumps().replace('"format_version": 2', '"format_version": 99'))
    with pytest.raises(PlanError, match="invalid JSON"):
        Plan.loads("{nope")


def test_plan_id_is_deterministic_and_content_bound() -> None:
    d = desired(plan=[PRO], billable_metric=[TOKENS])
    assert build_plan(d, live()).plan_id == build_plan(d, live()).plan_id
    other = desired(plan=[{**PRO, "name": "Other"}], billable_metric=[TOKENS])
    assert build_plan(other, live()).plan_id != build_plan(d, live()).plan_id


def test_plan_being_deleted_is_not_deleted_again_nor_unmanaged() -> None:
    lv = live(plan=[plan("legacy"), plan("gone")])
    gone = lv.objects["plan"]["gone"]
    lv.objects["plan"]["gone"] = gone.__class__(**{**gone.__dict__, "pending_deletion": True})
    p = build_plan(desired(remove={"plans": ["gone"]}), lv)
    assert p.pending() == []
    assert [(u.kind, u.key) for u in p.unmanaged] == [("plan", "legacy")]


def test_cascade_does_not_reach_a_subscription_overriding_the_changed_charge() -> None:
    want = {**plan("pro", [charge("tokens", "tokens", "0.4")], amount_cents=9900),
            "cascade_updates": True}  # fmt: skip
    sub_body = {
        "external_id": "s4",
        "external_customer_id": "initech",
        "plan_code": "pro",
        "plan_overrides": {"charges": [{"code": "tokens", "properties": {"amount": "0.3"}}]},
    }
    d = desired(plan=[want], billable_metric=[TOKENS], subscription=[sub_body])
    lv = live(plan=[PRO], billable_metric=[TOKENS], overridden=["s4", "s5"],
              subscriptions=[subscription("s4", "pro", customer="initech"),
                             subscription("s5", "pro", customer="umbrella")])  # fmt: skip
    b = next(c for c in build_plan(d, lv).changes if c.kind == "plan").blast
    assert b is not None and (b.overridden_follow, b.overridden_not_follow) == (1, 1)
    assert {(t.external_customer_id, t.how, t.reached, t.kept) for t in b.tenants} == {
        ("initech", "repriced", False, ("charge tokens price (negotiated)",)),
        ("umbrella", "cascade", True, ()),
    }


def test_blast_radius_counts_pending_subscriptions_and_lagoform_managed_copies() -> None:
    want = plan("pro", [charge("tokens", "tokens", "0.4")], amount_cents=9900)
    managed = {"external_id": "s4", "external_customer_id": "initech", "plan_code": "pro",
               "plan_overrides": {"name": "Pro (Initech)"}}  # fmt: skip
    subs = [
        subscription("s1", "pro", customer="acme"),
        subscription("s2", "pro", customer="hooli", status="pending"),  # starts later
        subscription("s3", "lite", customer="hooli", next_plan_code="pro"),
        subscription("s3", "pro", customer="hooli", status="pending"),  # a scheduled downgrade
        subscription("s4", "pro", customer="initech"),  # own copy, YAML states overrides
        subscription("s5", "pro", customer="umbrella"),  # own copy, not in YAML
        subscription("s6", "pro", customer="old", status="canceled"),
    ]
    d = desired(plan=[want], billable_metric=[TOKENS], subscription=[managed])
    lv = live(plan=[PRO], billable_metric=[TOKENS], subscriptions=subs, overridden=["s4", "s5"])
    b = next(c for c in build_plan(d, lv).changes if c.kind == "plan").blast
    assert b is not None
    assert (b.active_subscriptions, b.pending_subscriptions) == (1, 2)
    # lagoform keeps s4 at base plan + overrides, so its non-negotiated charge follows
    assert (b.overridden_follow, b.overridden_not_follow) == (1, 1)
    rows = {(t.external_customer_id, t.pending, t.how, t.reached) for t in b.tenants}
    assert rows == {
        ("acme", False, "follows", True),
        ("hooli", True, "follows", True),
        ("initech", False, "repriced", True),
        ("umbrella", False, "unreached", False),
    }


def test_a_metric_change_says_it_reaches_own_copies_without_naming_cascade_updates() -> None:
    from lagoform.engine.render.view import blast_lines

    want = {**TOKENS, "name": "Tokens!"}
    subs = [subscription("s1", "pro"), subscription("s4", "pro", customer="i")]
    lv = live(billable_metric=[TOKENS], plan=[PRO], overridden=["s4"], subscriptions=subs)
    change = next(
        c for c in build_plan(desired(billable_metric=[want], plan=[PRO]), lv).changes
        if c.kind == "billable_metric"
    )  # fmt: skip
    assert change.blast is not None
    lines = list(blast_lines(change.blast, "billable_metric"))
    overridden = next(line for line in lines if line.strip().startswith("i (negotiated prices)"))
    assert "cascade_updates" not in overridden
    assert "a metric's change reaches every charge on it" in overridden
