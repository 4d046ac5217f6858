"""Renders say which prices come from which shared price table: the rule (the charge group's
title) beside the resulting prices (each moved price names its table), in text, markdown and
the price moves summary; the JSON plan carries it for later renders."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from lagoform.engine import render as plan_render
from lagoform.engine.plan import Plan, build_plan
from tests.engine.factories import charge, desired, live, metric, plan

MODELS = ("atlas-1", "atlas-2", "atlas-3")
TOKENS = metric(
    "tokens",
    filters=[
        {"key": "model", "values": list(MODELS)},
        {"key": "type", "values": ["input", "output"]},
    ],
)
GIVEN = {"atlas-1": "0.000001", "atlas-2": "0.000002", "atlas-3": "0.000003"}


def _filters(prices: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"values": {"model": [m], "type": ["input"]}, "properties": {"amount": p}}
        for m, p in prices.items()
    ]


def _key(model: str) -> str:
    return f"model={model};type=input"


# atlas-1 and atlas-2 come from table llm_list; atlas-3 is the plan's own price
SOURCES = {
    "pro": {"tokens": {"filters": {_key("atlas-1"): "llm_list", _key("atlas-2"): "llm_list"}}}
}
UNITS = {"pro": {"tokens": {_key(m): "1M tokens" for m in MODELS}}}


def _plan(new: dict[str, str], old: dict[str, str] | None) -> Plan:
    want = plan("pro", [charge("tokens", "tokens", "0", filters=_filters(new))])
    d = replace(desired(billable_metric=[TOKENS], plan=[want]), units=UNITS, price_tables=SOURCES)
    have = [plan("pro", [charge("tokens", "tokens", "0", filters=_filters(old))])] if old else []
    return build_plan(d, live(billable_metric=[TOKENS], plan=have))


def test_an_edited_charge_names_its_table_and_each_moved_price_its_source() -> None:
    p = _plan({**GIVEN, "atlas-2": "0.0000024"}, GIVEN)
    text = plan_render.render_text(p)
    assert (
        "    ~ charge tokens (standard) · prices from table llm_list (2 filters), 1 filter of "
        "its own\n"
        "        ~ [model=atlas-2, type=input] price · table llm_list: 2 USD per 1M tokens → "
        "2.4 USD per 1M tokens (▲ +20.0%)\n"
    ) in text
    markdown = plan_render.render_markdown(p)
    assert (
        "| plan pro | `tokens · [model=atlas-2, type=input] price · table llm_list` | "
        "2 USD per 1M tokens | 2.4 USD per 1M tokens | ▲ +20.0% |"
    ) in markdown
    assert "**~ charge tokens (standard) · prices from table llm_list (2 filters), 1 filter" in (
        markdown
    )


def test_the_plans_own_price_is_not_said_to_come_from_a_table() -> None:
    text = plan_render.render_text(_plan({**GIVEN, "atlas-3": "0.000004"}, GIVEN))
    assert "~ [model=atlas-3, type=input] price: 3 USD per 1M tokens → 4 USD" in text
    assert "atlas-3, type=input] price · table" not in text


def test_a_new_plan_says_where_its_prices_come_from() -> None:
    text = plan_render.render_text(_plan(GIVEN, None))
    assert (
        "    charge tokens · tokens · standard · prices from table llm_list (2 filters), "
        "1 filter of its own\n"
    ) in text
    assert "        [model=atlas-1, type=input] = 1 USD per 1M tokens\n" in text


def test_the_saved_plan_keeps_the_sources_and_the_same_identity() -> None:
    p = _plan({**GIVEN, "atlas-2": "0.0000024"}, GIVEN)
    saved = Plan.loads(p.dumps())
    assert saved.price_tables == SOURCES
    assert plan_render.render_text(saved) == plan_render.render_text(p)
    # the sources are for readers only: the same prices without them make the same plan
    want = plan(
        "pro",
        [charge("tokens", "tokens", "0", filters=_filters({**GIVEN, "atlas-2": "0.0000024"}))],
    )
    bare = build_plan(
        desired(billable_metric=[TOKENS], plan=[want]),
        live(
            billable_metric=[TOKENS],
            plan=[plan("pro", [charge("tokens", "tokens", "0", filters=_filters(GIVEN))])],
        ),
    )
    assert (bare.plan_id, bare.catalog_fingerprint) == (p.plan_id, p.catalog_fingerprint)
    assert json.loads(bare.dumps())["price_tables"] == {}
