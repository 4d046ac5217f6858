"""Golden files for the three renderers, plus the markdown trimming and colour rules.

The golden scenario is a ``Review`` (the plan with the audit records apply would write for
globex's negotiated prices), rendered as ``lagoform plan`` renders it.

Regenerate after an intended change with ``LAGOFORM_REGEN_GOLDEN=1 pytest tests/engine``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lagoform.audit.fields import OverrideFacts
from lagoform.engine import render as plan_render
from lagoform.engine.plan import build_plan
from lagoform.review import Review, build_review, render_json, render_markdown, render_text
from tests.engine.factories import (
    charge,
    child_plan,
    desired,
    live,
    metric,
    plan,
    subscription,
)

GOLDEN = Path(__file__).parent / "golden"

TOKENS = metric("tokens", filters=[{"key": "type", "values": ["input", "output"]}])
SEATS = metric("seats", aggregation_type="unique_count_agg", field_name="user")
TIERS = [
    {"from_value": 0, "to_value": 10, "per_unit_amount": "5", "flat_amount": "0"},
    {"from_value": 11, "to_value": None, "per_unit_amount": "4", "flat_amount": "0"},
]


TEAM = plan(
    "team",
    [
        charge(
            "tokens",
            "tokens",
            "0.5",
            filters=[{"values": {"type": ["input"]}, "properties": {"amount": "0.1"}}],
        ),
        charge("seats", "seats", charge_model="graduated", properties={"graduated_ranges": TIERS}),
    ],
    amount_cents=19900,
)
GLOBEX_DEAL = {
    "amount_cents": 8500,
    "amount_currency": "USD",
    "charges": [
        {
            "code": "tokens",
            "properties": {"amount": "0.42"},
            "filters": [{"values": {"type": ["input"]}, "properties": {"amount": "0.08"}}],
        }
    ],
}
# what Lago holds for globex-main now: its own copy of team, negotiated earlier, and a token
# price someone edited in Lago since
GLOBEX_NOW = child_plan(
    TEAM,
    amount_cents=9000,
    charges=[
        charge(
            "tokens",
            "tokens",
            "0.45",
            filters=[{"values": {"type": ["input"]}, "properties": {"amount": "0.09"}}],
        ),
        TEAM["charges"][1],
    ],
)


def scenario() -> Review:
    live_pro = plan(
        "pro",
        [
            charge(
                "tokens",
                "tokens",
                "0.5",
                filters=[
                    {"values": {"type": ["input"]}, "properties": {"amount": "0.1"}},
                ],
            ),
            charge(
                "seats", "seats", charge_model="graduated", properties={"graduated_ranges": TIERS}
            ),
            charge("legacy_tokens", "tokens", "2"),
        ],
        amount_cents=9900,
    )
    new_tiers = [TIERS[0], {**TIERS[1], "per_unit_amount": "3.5"}]
    want_pro = plan(
        "pro",
        [
            charge(
                "tokens",
                "tokens",
                "0.4",
                filters=[
                    {"values": {"type": ["input"]}, "properties": {"amount": "0.08"}},
                ],
            ),
            charge(
                "seats",
                "seats",
                charge_model="graduated",
                properties={"graduated_ranges": new_tiers},
            ),
            charge("images", "images", "0.02"),
        ],
        amount_cents=9900,
    )
    scale = plan(
        "scale",
        [
            charge(
                "tokens",
                "tokens",
                "0.3",
                invoice_display_name="Tokens",
                filters=[{"values": {"type": ["input"]}, "properties": {"amount": "0.06"}}],
            ),
            charge(
                "seats",
                "seats",
                charge_model="volume",
                properties={"volume_ranges": TIERS},
                min_amount_cents=5000,
            ),
        ],
        amount_cents=49900,
        pay_in_advance=True,
    )
    live_ent = plan("enterprise", [charge("tokens", "tokens", "0.3")], amount_cents=50000)
    want_ent = {**live_ent, "interval": "yearly"}
    period_end = {"current_billing_period_ending_at": "2026-12-31T23:59:59Z"}
    subs = [
        subscription("acme-main", "pro", customer="acme", plan_amount_cents=9900, **period_end),
        subscription("globex-main", "team", customer="globex", plan_amount_cents=9000),
        subscription("initech-main", "pro", customer="initech"),
        subscription("initech-next", "pro", customer="initech", status="pending"),
        subscription("hooli-main", "enterprise", customer="hooli"),
        subscription("old-1", "legacy", customer="umbrella"),
    ]
    wallet = {
        "external_customer_id": "globex",
        "code": "prepaid",
        "name": "Prepaid",
        "currency": "USD",
        "rate_amount": "1",
        "paid_credits": "1000",
        "granted_credits": "100",
    }
    d = desired(
        billable_metric=[TOKENS, SEATS, metric("images", aggregation_type="count_agg")],
        plan=[want_pro, want_ent, scale, TEAM],
        tax=[{"code": "vat", "name": "VAT", "rate": 20}],
        subscription=[
            {"external_id": "acme-main", "external_customer_id": "acme", "plan_code": "team"},
            {
                "external_id": "globex-main",
                "external_customer_id": "globex",
                "plan_code": "team",
                "plan_overrides": GLOBEX_DEAL,
            },
        ],
        wallet=[{**wallet, "paid_credits": "1500"}],
        remove={"plans": ["legacy"]},
        meta={"subscription:globex-main": {"reason": "2-year commit", "approval": "MSA-7"}},
    )
    lv = live(
        billable_metric=[TOKENS, SEATS],
        plan=[live_pro, live_ent, TEAM, plan("legacy"), plan("partner_special")],
        tax=[{"code": "vat", "name": "VAT", "rate": 20}],
        wallet=[wallet],
        subscriptions=subs,
        overridden=["initech-main", "globex-main"],
        effective={"globex-main": GLOBEX_NOW},
    )
    built = build_plan(d, lv, target="sandbox (embedded, .lagoform/sandbox.json)")
    facts = OverrideFacts(
        tenant_id="globex",
        subscription_external_id="globex-main",
        base_plan=TEAM,
        overrides=GLOBEX_DEAL,
        effective_plan=GLOBEX_NOW,
        reason="2-year commit",
        approval="MSA-7",
    )
    return build_review(built, facts={"globex-main": facts})


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("LAGOFORM_REGEN_GOLDEN"):
        path.write_text(text)
    assert path.exists(), f"missing golden file {path}; run with LAGOFORM_REGEN_GOLDEN=1"
    assert text == path.read_text(), f"{name} differs from its golden file"


def test_text_golden() -> None:
    _check("plan.txt", render_text(scenario()))


def test_markdown_golden() -> None:
    _check("plan.md", render_markdown(scenario()))


def test_json_golden_and_loadable() -> None:
    text = render_json(scenario())
    _check("plan.json", text)
    assert Review.loads(text) == scenario()
    data = json.loads(text)
    assert (data["review_version"], data["plan"]["format_version"]) == (1, 2)


def test_text_colour_only_when_asked() -> None:
    p = scenario()
    assert "\x1b[" not in render_text(p)
    assert "\x1b[" in render_text(p, color=True)


def test_no_changes_text_and_markdown() -> None:
    d = desired(billable_metric=[TOKENS])
    p = build_plan(d, live(billable_metric=[TOKENS]))
    assert plan_render.render_text(p).startswith("No changes")
    assert "**No changes.**" in plan_render.render_markdown(p)


@pytest.mark.parametrize("limit", [65_536, 6_000])
def test_markdown_trimmed_to_limit_with_pointer(limit: int) -> None:
    many = [
        plan(f"p{i:03d}", [charge(f"c{j}", "tokens", str(j)) for j in range(10)])
        for i in range(300)
    ]
    p = build_plan(desired(billable_metric=[TOKENS], plan=many), live(billable_metric=[TOKENS]))
    out = plan_render.render_markdown(p, full_plan="https://ci.example/plan.json", limit=limit)
    assert len(out) <= limit
    assert "https://ci.example/plan.json" in out
    assert "more change(s) not shown" in out
    assert out.startswith("### lagoform plan")
    assert out.count("<details>") == out.count("</details>")


def test_a_long_price_table_keeps_what_changes_and_what_is_negotiated() -> None:
    """A subscription on a plan with many filters: its table in the comment lists the prices
    that change, those negotiated away from the catalog and the plan's own lines; the rest is
    one count."""
    models = [f"m{i:02d}" for i in range(20)]
    llm = metric("llm", filters=[{"key": "model", "values": models}])

    def big(model_price: str) -> dict[str, object]:
        filters = [{"values": {"model": [m]}, "properties": {"amount": model_price if m == "m00"
                    else "0.5"}} for m in models]  # fmt: skip
        return plan("big", [charge("llm", "llm", "1", filters=filters)], amount_cents=1000)

    # an override lists a charge's filters whole (Lago replaces them): m01 is negotiated
    filters = big("0.9")["charges"][0]["filters"]  # type: ignore[index]
    deal = {"charges": [{"code": "llm", "filters": [
        {**f, "properties": {"amount": "0.4"}} if f["values"]["model"] == ["m01"] else f
        for f in filters]}]}  # fmt: skip
    d = desired(
        billable_metric=[llm],
        plan=[big("0.9")],
        subscription=[
            {
                "external_id": "s1",
                "external_customer_id": "acme",
                "plan_code": "big",
                "plan_overrides": deal,
            }
        ],
        meta={"subscription:s1": {"reason": "pilot", "approval": "CRM-1"}},
    )
    now = child_plan(big("1"))  # its own copy in Lago, at the old catalog prices
    lv = live(billable_metric=[llm], plan=[big("1")], subscriptions=[subscription("s1", "big")],
              overridden=["s1"], effective={"s1": now})  # fmt: skip
    markdown = render_markdown(Review(plan=build_plan(d, lv)))
    table = markdown[markdown.index("**prices on plan big") :]
    table = table[: table.index("<sub>✱")]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    shown = [r for r in rows[1:] if "other price(s) unchanged" not in r]
    assert any("[model=m00]" in r for r in shown)  # the catalog's change reaches it
    assert any("[model=m01]" in r and r.startswith("| ✱") for r in shown)  # negotiated
    assert len(shown) == 2
    [rest] = [r for r in rows if "other price(s) unchanged" in r]
    total = len(shown) + int(rest.split("_")[1].split(" ")[0])
    assert total == 20  # the override names the charge's 20 filters
    assert rest.count("|") == rows[0].count("|")  # a whole row of the table
