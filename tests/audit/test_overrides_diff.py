"""The per-charge structured diff: parametrized tables on Lago-shaped charges."""

from __future__ import annotations

from typing import Any

import pytest

from lagoform.audit.overrides_diff import (
    charge_override_diff,
    effective_override_diff,
    plan_override_diff,
)
from lagoform.errors import PlanError

TOKENS: dict[str, Any] = {
    "lago_id": "c-1",
    "code": "tokens",
    "billable_metric_code": "token_usage",
    "charge_model": "standard",
    "invoice_display_name": "Tokens",
    "min_amount_cents": 0,
    "pay_in_advance": False,
    "properties": {"amount": "0.000002"},
    "filters": [
        {
            "lago_id": "f-1",
            "charge_code": "tokens",
            "invoice_display_name": "Audio input",
            "properties": {"amount": "0.00004"},
            "values": {"type": ["input"], "modality": ["audio"]},
        },
        {
            "lago_id": "f-2",
            "charge_code": "tokens",
            "invoice_display_name": None,
            "properties": {"amount": "0.00001"},
            "values": {"type": ["output"]},
        },
    ],
    "taxes": [],
    "tax_codes": ["vat_fr"],
}

GRADUATED: dict[str, Any] = {
    "code": "storage",
    "charge_model": "graduated",
    "properties": {
        "graduated_ranges": [
            {"from_value": 0, "to_value": 100, "per_unit_amount": "0", "flat_amount": "0"},
            {"from_value": 101, "to_value": None, "per_unit_amount": "0.5", "flat_amount": "0"},
        ]
    },
    "filters": [],
}

AUDIO_IN = {"modality": ["audio"], "type": ["input"]}
OUTPUT = {"type": ["output"]}


def row(
    field: str,
    base: Any,
    new: Any,
    change: str,
    values: dict[str, list[str]] | None = None,
    code: str | None = "tokens",
) -> dict[str, Any]:
    return {
        "charge_code": code,
        "filter_values": values,
        "field": field,
        "base_value": base,
        "override_value": new,
        "change": change,
        "per": None,  # the diff knows no YAML units: ``price_units.in_units`` adds them
    }


CASES = [
    pytest.param(TOKENS, {}, [], id="empty-override"),
    pytest.param(
        TOKENS,
        {"properties": {"amount": "0.0000015"}},
        [row("properties.amount", "0.000002", "0.0000015", "changed")],
        id="charge-price",
    ),
    pytest.param(
        TOKENS,
        {"properties": {"amount": "0.0000020"}},
        [],
        id="same-decimal-is-no-change",
    ),
    pytest.param(
        TOKENS,
        {"min_amount_cents": 10000, "invoice_display_name": "Tokens (negotiated)"},
        [
            row("invoice_display_name", "Tokens", "Tokens (negotiated)", "changed"),
            row("min_amount_cents", 0, 10000, "changed"),
        ],
        id="min-amount-and-name",
    ),
    pytest.param(
        TOKENS,
        {"tax_codes": ["vat_de", "vat_fr"]},
        [row("tax_codes", ["vat_fr"], ["vat_de", "vat_fr"], "changed")],
        id="tax-codes-whole-value",
    ),
    pytest.param(
        TOKENS,
        {"tax_codes": ["vat_fr"]},
        [],
        id="tax-codes-unchanged",
    ),
    pytest.param(
        TOKENS,
        {
            "filters": [
                {
                    # scalar and unsorted keys: same identity as the base filter
                    "values": {"type": "input", "modality": ["audio"]},
                    "invoice_display_name": "Audio input",
                    "properties": {"amount": "0.00003"},
                },
                {"values": {"type": ["output"]}, "properties": {"amount": "0.00001"}},
            ]
        },
        [row("properties.amount", "0.00004", "0.00003", "changed", AUDIO_IN)],
        id="filter-price",
    ),
    pytest.param(
        TOKENS,
        {
            "filters": [
                {
                    "values": {"type": ["input"], "modality": ["audio"]},
                    "invoice_display_name": "Audio input",
                    "properties": {"amount": "0.00004"},
                },
                {"values": {"type": ["reasoning"]}, "properties": {"amount": "0.00002"}},
            ]
        },
        [
            row("properties.amount", "0.00001", None, "removed", OUTPUT),
            row("properties.amount", None, "0.00002", "added", {"type": ["reasoning"]}),
        ],
        id="filter-batch-replace-adds-and-drops",
    ),
    pytest.param(
        TOKENS,
        {"filters": []},
        [
            row("invoice_display_name", "Audio input", None, "removed", AUDIO_IN),
            row("properties.amount", "0.00004", None, "removed", AUDIO_IN),
            row("properties.amount", "0.00001", None, "removed", OUTPUT),
        ],
        id="empty-filters-drop-all",
    ),
    pytest.param(
        TOKENS,
        {"properties": {"amount": "0.000002", "pricing_group_keys": ["region"]}},
        [row("properties.pricing_group_keys[0]", None, "region", "added")],
        id="properties-key-added",
    ),
    pytest.param(
        GRADUATED,
        {
            "properties": {
                "graduated_ranges": [
                    {"from_value": 0, "to_value": 100, "per_unit_amount": "0", "flat_amount": "0"},
                    {
                        "from_value": 101,
                        "to_value": None,
                        "per_unit_amount": "0.4",
                        "flat_amount": "0",
                    },
                ]
            }
        },
        [
            row(
                "properties.graduated_ranges[1].per_unit_amount",
                "0.5",
                "0.4",
                "changed",
                code="storage",
            )
        ],
        id="graduated-tier",
    ),
    pytest.param(
        GRADUATED,
        {
            "properties": {
                "graduated_ranges": [
                    {
                        "from_value": 0,
                        "to_value": None,
                        "per_unit_amount": "0.3",
                        "flat_amount": "0",
                    }
                ]
            }
        },
        [
            row(
                "properties.graduated_ranges[0].per_unit_amount",
                "0",
                "0.3",
                "changed",
                code="storage",
            ),
            row("properties.graduated_ranges[0].to_value", 100, None, "removed", code="storage"),
            row("properties.graduated_ranges[1].flat_amount", "0", None, "removed", code="storage"),
            row("properties.graduated_ranges[1].from_value", 101, None, "removed", code="storage"),
            row(
                "properties.graduated_ranges[1].per_unit_amount",
                "0.5",
                None,
                "removed",
                code="storage",
            ),
        ],
        id="graduated-tiers-collapsed",
    ),
]


@pytest.mark.parametrize(("base", "override", "expected"), CASES)
def test_charge_override_diff(
    base: dict[str, Any], override: dict[str, Any], expected: list[dict[str, Any]]
) -> None:
    got = [e.model_dump() for e in charge_override_diff(base, override)]
    assert got == expected


BASE_PLAN: dict[str, Any] = {
    "code": "enterprise",
    "amount_cents": 10000,
    "amount_currency": "USD",
    "name": "Enterprise",
    "charges": [TOKENS, GRADUATED],
}


def test_plan_override_diff_plan_level_then_charges_by_code() -> None:
    overrides = {
        "amount_cents": 4500,
        "charges": {
            "tokens": {"properties": {"amount": "0.0000015"}},
            "storage": {"min_amount_cents": 500},
        },
    }
    got = [e.model_dump() for e in plan_override_diff(BASE_PLAN, overrides)]
    assert got == [
        row("amount_cents", 10000, 4500, "changed", code=None),
        row("min_amount_cents", None, 500, "added", code="storage"),
        row("properties.amount", "0.000002", "0.0000015", "changed"),
    ]


def test_plan_override_diff_accepts_a_list_of_charges_with_codes() -> None:
    overrides = {"charges": [{"code": "tokens", "properties": {"amount": "0.000001"}}]}
    got = plan_override_diff(BASE_PLAN, overrides)
    assert [(e.charge_code, e.field, e.override_value) for e in got] == [
        ("tokens", "properties.amount", "0.000001")
    ]


def test_override_of_unknown_charge_is_a_plan_error() -> None:
    with pytest.raises(PlanError, match=r"'images'.*'enterprise'"):
        plan_override_diff(BASE_PLAN, {"charges": {"images": {"properties": {"amount": "1"}}}})


def test_effective_override_diff_reads_previous_negotiated_values() -> None:
    child_tokens = {
        **TOKENS,
        "lago_id": "child-c-1",
        "lago_parent_id": "c-1",
        "properties": {"amount": "0.0000018"},
        "filters": [
            {**TOKENS["filters"][0], "properties": {"amount": "0.00003"}},
            TOKENS["filters"][1],
        ],
    }
    effective = {
        **BASE_PLAN,
        "amount_cents": 9000,
        "parent_id": "p-1",
        "charges": [child_tokens, GRADUATED],
    }
    got = [e.model_dump() for e in effective_override_diff(BASE_PLAN, effective)]
    assert got == [
        row("amount_cents", 10000, 9000, "changed", code=None),
        row("properties.amount", "0.000002", "0.0000018", "changed"),
        row("properties.amount", "0.00004", "0.00003", "changed", AUDIO_IN),
    ]


def test_effective_equal_to_base_has_no_entries() -> None:
    assert effective_override_diff(BASE_PLAN, BASE_PLAN) == []


def test_tax_codes_read_from_lago_taxes_objects() -> None:
    base = {"code": "tokens", "taxes": [{"code": "vat_fr", "rate": 20}]}
    assert charge_override_diff(base, {"tax_codes": ["vat_fr"]}) == []
    [entry] = charge_override_diff(base, {"tax_codes": ["vat_de"]})
    assert (entry.field, entry.base_value, entry.override_value) == (
        "tax_codes",
        ["vat_fr"],
        ["vat_de"],
    )


def test_plan_level_tax_codes() -> None:
    plan = {"code": "enterprise", "taxes": [{"code": "vat_fr"}], "charges": []}
    [entry] = plan_override_diff(plan, {"tax_codes": []})
    assert (entry.charge_code, entry.field, entry.change) == (None, "tax_codes", "removed")
