"""Golden files for the three renderers, plus the markdown trimming and colour rules.

Regenerate after an intended change with ``LAGOFORM_REGEN_GOLDEN=1 pytest tests/engine``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lagoform.engine.plan import Plan, build_plan
from lagoform.engine.render import render_json, render_markdown, render_text
from tests.engine.factories import charge, desired, live, metric, plan, subscription

GOLDEN = Path(__file__).parent / "golden"

TOKENS = metric("tokens", filters=[{"key": "type", "values": ["input", "output"]}])
SEATS = metric("seats", aggregation_type="unique_count_agg", field_name="user")
TIERS = [
    {"from_value": 0, "to_value": 10, "per_unit_amount": "5", "flat_amount": "0"},
    {"from_value": 11, "to_value": None, "per_unit_amount": "4", "flat_amount": "0"},
]


def scenario() -> Plan:
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
    live_ent = plan("enterprise", [charge("tokens", "tokens", "0.3")], amount_cents=50000)
    want_ent = {**live_ent, "interval": "yearly"}
    subs = [
        subscription("acme-main", "pro", customer="acme"),
        subscription("globex-main", "pro", customer="globex"),
        subscription("initech-main", "pro", customer="initech"),
        subscription("hooli-main", "enterprise", customer="hooli"),
        subscription("old-1", "legacy", customer="umbrella"),
    ]
    d = desired(
        billable_metric=[TOKENS, SEATS, metric("images", aggregation_type="count_agg")],
        plan=[want_pro, want_ent],
        tax=[{"code": "vat", "name": "VAT", "rate": 20}],
        remove={"plans": ["legacy"]},
    )
    lv = live(
        billable_metric=[TOKENS, SEATS],
        plan=[live_pro, live_ent, plan("legacy"), plan("partner_special")],
        tax=[{"code": "vat", "name": "VAT", "rate": 20}],
        subscriptions=subs,
        overridden=["initech-main"],
    )
    return build_plan(d, lv, target="sandbox (embedded, .lagoform/sandbox.json)")


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
    assert Plan.loads(text) == scenario()
    assert json.loads(text)["format_version"] == 1


def test_text_colour_only_when_asked() -> None:
    p = scenario()
    assert "\x1b[" not in render_text(p)
    assert "\x1b[" in render_text(p, color=True)


def test_no_changes_text_and_markdown() -> None:
    d = desired(billable_metric=[TOKENS])
    p = build_plan(d, live(billable_metric=[TOKENS]))
    assert render_text(p).startswith("No changes")
    assert "**No changes.**" in render_markdown(p)


@pytest.mark.parametrize("limit", [65_536, 6_000])
def test_markdown_trimmed_to_limit_with_pointer(limit: int) -> None:
    many = [
        plan(f"p{i:03d}", [charge(f"c{j}", "tokens", str(j)) for j in range(10)])
        for i in range(300)
    ]
    p = build_plan(desired(billable_metric=[TOKENS], plan=many), live(billable_metric=[TOKENS]))
    out = render_markdown(p, full_plan="https://ci.example/plan.json", limit=limit)
    assert len(out) <= limit
    assert "https://ci.example/plan.json" in out
    assert "more change(s) not shown" in out
    assert out.startswith("### lagoform plan")
    assert out.count("<details>") == out.count("</details>")
