"""Audit prices as people read them (``review.audit_values``): the one rule ``audit show`` and
the plan's audit preview share, through the plan renders' own formatter."""

from __future__ import annotations

from typing import Any

import pytest

from lagoform.engine.plan import build_plan
from lagoform.review import Review
from lagoform.review.audit_values import entry_prices, shown_price
from lagoform.review.render import audit_lines
from tests.engine.factories import desired, live, plan


@pytest.mark.parametrize(
    ("field", "value", "currency", "per", "shown"),
    [
        ("properties.amount", "0.0000025", "USD", "1M tokens", "2.5 USD per 1M tokens"),
        ("properties.amount", "0.0000004", "EUR", "1K tokens", "0.0004 EUR per 1K tokens"),
        ("properties.amount", "0", "USD", "1M tokens", "free"),
        ("properties.graduated_ranges[1].per_unit_amount", "0.000008", "USD", "1M bytes",
         "8 USD per 1M bytes"),
        ("properties.amount", "0.0000025", None, "1M tokens", "2.5 per 1M tokens"),
        ("amount_cents", 450000, "USD", None, "4,500.00 USD"),
        ("min_amount_cents", 1000, "JPY", None, "1,000 JPY"),
        ("amount_cents", 450000, None, None, None),  # no currency said: the caller's raw form
        ("properties.amount", "0.0000025", "USD", None, None),  # no unit said
        ("properties.amount", None, "USD", "1M tokens", None),
        ("properties.amount", "0.0000025", "USD", "per a lot", None),  # an edited saved plan
    ],
)  # fmt: skip
def test_shown_price(
    field: str, value: Any, currency: str | None, per: str | None, shown: str | None
) -> None:
    assert shown_price(field, value, currency, per) == shown


def test_entry_prices_reads_an_entry_in_its_json_form() -> None:
    entry = {"field": "properties.amount", "base_value": "0.0000025",
             "override_value": "0.000002", "per": "1M tokens"}  # fmt: skip
    assert entry_prices(entry, "USD") == ("2.5 USD per 1M tokens", "2 USD per 1M tokens")
    assert entry_prices({**entry, "per": None}, "USD") == (None, None)


def _review(*records: dict[str, Any]) -> Review:
    return Review(plan=build_plan(desired(plan=[plan("pro")]), live()), audit_preview=records)


def _record(entry: dict[str, Any], currency: str | None) -> dict[str, Any]:
    override: dict[str, Any] = {"tenant_id": "t1", "base_plan_code": "pro", "reason": "r",
                                "approval": "a", "charges_diff": [entry]}  # fmt: skip
    if currency is not None:
        override["currency"] = currency
    return {"method": "PUT", "path": "/subscriptions/s1/charges/tokens",
            "object_kind": "subscription", "object_key": "s1", "override": override}  # fmt: skip


ENTRY = {"charge_code": "tokens", "filter_values": {"model": ["gpt-5"], "type": ["input"]},
         "field": "properties.amount", "base_value": "0.0000025", "override_value": "0.000002",
         "change": "changed"}  # fmt: skip


def test_the_preview_shows_the_records_unit_and_currency() -> None:
    [preview] = audit_lines(_review(_record({**ENTRY, "per": "1M tokens"}, "USD")))
    assert preview.entries == (
        "tokens [model=gpt-5, type=input] properties.amount: 2.5 USD per 1M tokens → "
        "2 USD per 1M tokens (changed)",
    )


def test_a_preview_saved_before_units_renders_as_it_did() -> None:
    [preview] = audit_lines(_review(_record(ENTRY, None)))
    assert preview.entries == (
        "tokens [model=gpt-5, type=input] properties.amount: 0.0000025 → 0.000002 (changed)",
    )
    [edited] = audit_lines(_review(_record({**ENTRY, "per": "per a lot"}, "USD")))
    assert edited.entries == preview.entries  # an unreadable unit: Lago's amounts, no crash
