"""Which prices of a record's finance section carry the YAML's unit (``per``), and the currency.

``price_units.in_units`` over the structured diff of Lago-shaped charges; the trail writes what
it finds (schema version 3); a unit a renderer could not read is a schema problem, never a crash.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from lagoform.audit.chain import read_records, verify_file
from lagoform.audit.overrides_diff import charge_override_diff, plan_override_diff
from lagoform.audit.price_units import currency_of, in_units
from lagoform.audit.record import SCHEMA_VERSION, OverrideDiffEntry
from lagoform.audit.seal import GENESIS, seal_line
from lagoform.errors import AuditError
from lagoform.model.units import is_unit_price
from tests.audit.helpers import change, facts, file_trail

INPUT = {"type": ["input"]}
AUDIO = {"modality": ["audio"], "type": ["input"]}

PLAN: dict[str, Any] = {
    "code": "pro",
    "amount_cents": 2000,
    "amount_currency": "EUR",
    "charges": [
        {
            "code": "tokens",
            "charge_model": "standard",
            "properties": {"amount": "0.0000025"},
            "filters": [
                {"values": INPUT, "properties": {"amount": "0.000002"}},
                {"values": AUDIO, "properties": {"amount": "0.0000004"}},
            ],
        },
        {
            "code": "storage",
            "charge_model": "graduated",
            "properties": {
                "graduated_ranges": [
                    {"from_value": 0, "to_value": 100, "per_unit_amount": "0", "flat_amount": "0"},
                    {
                        "from_value": 100,
                        "to_value": None,
                        "per_unit_amount": "0.000008",
                        "flat_amount": "5",
                    },
                ]
            },
        },
        {
            "code": "seats",
            "charge_model": "package",
            "properties": {"amount": "10", "package_size": 5, "free_units": 0},
        },
    ],
}
# As DesiredState.units holds them for this plan: the charge's own unit, each filter's.
UNITS = {
    "tokens": {
        "": "1M tokens",
        "type=input": "1M tokens",
        "modality=audio;type=input": "1K tokens",
    },
    "storage": {"": "1M bytes"},
    "seats": {"": "1K seats"},  # a package's amount is per package: never scaled
}


def per_of(entries: list[OverrideDiffEntry]) -> dict[tuple[str | None, str, str], str | None]:
    return {
        (e.charge_code, json.dumps(e.filter_values, sort_keys=True), e.field): e.per
        for e in entries
    }


def test_unit_prices_carry_the_unit_their_yaml_wrote() -> None:
    overrides = {
        "amount_cents": 1500,
        "charges": {
            "tokens": {
                "properties": {"amount": "0.000002"},
                "filters": [
                    {"values": INPUT, "properties": {"amount": "0.0000015"}},
                    {"values": AUDIO, "properties": {"amount": "0.0000003"}},
                    # a filter the base charge lacks: in the charge's unit
                    {"values": {"type": ["output"]}, "properties": {"amount": "0.00001"}},
                ],
            },
            "storage": {
                "properties": {
                    "graduated_ranges": [
                        {
                            "from_value": 0,
                            "to_value": 100,
                            "per_unit_amount": "0",
                            "flat_amount": "0",
                        },
                        {
                            "from_value": 100,
                            "to_value": None,
                            "per_unit_amount": "0.000006",
                            "flat_amount": "4",
                        },
                    ]
                }
            },
            "seats": {"properties": {"amount": "8", "package_size": 5, "free_units": 0}},
        },
    }
    got = per_of(in_units(plan_override_diff(PLAN, overrides), PLAN, UNITS))
    assert got == {
        (None, "null", "amount_cents"): None,  # cents: money, not a unit price
        ("tokens", "null", "properties.amount"): "1M tokens",
        ("tokens", json.dumps(INPUT), "properties.amount"): "1M tokens",
        ("tokens", json.dumps(AUDIO), "properties.amount"): "1K tokens",
        ("tokens", '{"type": ["output"]}', "properties.amount"): "1M tokens",
        ("storage", "null", "properties.graduated_ranges[1].per_unit_amount"): "1M bytes",
        ("storage", "null", "properties.graduated_ranges[1].flat_amount"): None,
        ("seats", "null", "properties.amount"): None,
    }


def test_without_units_entries_are_left_as_they_are() -> None:
    entries = charge_override_diff(PLAN["charges"][0], {"properties": {"amount": "0.000002"}})
    assert in_units(entries, PLAN, {}) == entries
    assert in_units(entries, {"code": "pro"}, UNITS) == entries  # charge model unknown


@pytest.mark.parametrize(
    ("model", "path", "expected"),
    [
        ("standard", "properties.amount", True),
        ("graduated", "properties.graduated_ranges[2].per_unit_amount", True),
        ("volume", "properties.volume_ranges[0].per_unit_amount", True),
        ("graduated", "properties.graduated_ranges[2].flat_amount", False),
        ("package", "properties.amount", False),
        ("percentage", "properties.fixed_amount", False),
        ("graduated_percentage", "properties.graduated_percentage_ranges[0].rate", False),
        ("standard", "min_amount_cents", False),
        (None, "properties.amount", False),
    ],
)
def test_is_unit_price(model: str | None, path: str, expected: bool) -> None:
    assert is_unit_price(model, path) is expected


def test_currency_is_the_overrides_else_the_base_plans() -> None:
    assert currency_of(PLAN, {}) == "EUR"
    assert currency_of(PLAN, {"amount_currency": "USD"}) == "USD"
    assert currency_of({"code": "x"}, {}) is None


def test_the_trail_writes_units_currency_and_schema_3(log_path: Path) -> None:
    units = {"tokens": {"": "1M tokens", "type=input": "1M tokens"}}
    with_units = replace(facts(), units=units)
    body = {
        "charge": {
            "properties": {"amount": "0.0000015"},
            "filters": [{"values": INPUT, "properties": {"amount": "0.0000008"}}],
        }
    }
    with file_trail(log_path, overrides={"globex-main": with_units}) as trail:
        trail.intent(
            change("subscription", "globex-main"),
            {"method": "PUT", "path": "/subscriptions/globex-main/charges/tokens", "body": body},
        )
    [(_, record)] = read_records(log_path)
    assert record.schema_version == SCHEMA_VERSION == 3
    assert record.override is not None and record.override.currency == "USD"
    assert [(e.override_value, e.per) for e in record.override.charges_diff] == [
        ("0.0000015", "1M tokens"),
        ("0.0000008", "1M tokens"),
    ]


def test_an_unreadable_unit_is_a_schema_problem_naming_the_line(log_path: Path) -> None:
    entry = {"charge_code": "tokens", "filter_values": None, "field": "properties.amount",
             "base_value": "0.000002", "override_value": "0.0000015", "change": "changed",
             "per": "per a lot"}  # fmt: skip
    record = {
        "schema_version": 3, "record_id": "r1", "time": "2026-05-01T12:00:00.000000Z",
        "phase": "intent", "intent_id": None, "environment": "staging", "lago_host": "h",
        "actor": "a", "actor_source": "os", "git_commit": None, "pull_request": None,
        "plan_id": None, "action": "update", "object_kind": "subscription",
        "object_key": "globex-main", "method": "PUT", "path": "/x", "before_digest": None,
        "after_digest": None, "request_digest": None, "response_digest": None, "outcome": None,
        "override": {"tenant_id": "globex", "subscription_external_id": "globex-main",
                     "base_plan_code": "enterprise", "reason": None, "approval": None,
                     "charges_diff": [entry], "previous_overrides": None, "currency": "USD"},
    }  # fmt: skip
    _, line = seal_line(record, GENESIS, None)
    log_path.parent.mkdir(parents=True)
    log_path.write_text(line + "\n")
    report = verify_file(log_path)
    [problem] = report.problems
    assert problem.line == 1 and "does not match audit schema" in problem.message
    assert "charges_diff.0.per" in problem.message
    with pytest.raises(AuditError, match=r"audit\.jsonl:1: not a valid audit record"):
        read_records(log_path)
