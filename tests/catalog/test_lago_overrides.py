"""A subscription's copy read back as overrides: only what differs from the plan is written,
in the plan's units, and a tenant file's override is kept while it still says what Lago holds."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from lagoform.catalog import BillingPlan, PlanOverrides, overrides_from_plans
from lagoform.catalog.lago_overrides import in_units, override_gaps, same_charges

FILTERS = [
    ({"model": "gpt-5", "type": "input"}, "1.25"),
    ({"model": "gpt-5", "type": "output"}, "10"),
    ({"model": "gpt-5-mini", "type": "input"}, "0.25"),
    ({"model": "gpt-5-mini", "type": "output"}, "2"),
]


def _plan(prices: list[tuple[dict[str, str], str]], *, per: bool = True) -> BillingPlan:
    scale = Decimal(1) if per else Decimal(1_000_000)
    charge: dict[str, Any] = {
        "code": "tokens",
        "metric": "tokens",
        "properties": {"amount": "0"},
        "filters": [
            {"values": values, "properties": {"amount": str(Decimal(price) / scale)}}
            for values, price in prices
        ],
    }
    if per:
        charge["per"] = "1M tokens"
    return BillingPlan.model_validate(
        {
            "code": "llm",
            "name": "LLM",
            "interval": "monthly",
            "amount": "0 USD",
            "charges": [charge],
        }
    )


def test_one_negotiated_filter_is_the_only_one_written_in_the_plans_unit() -> None:
    catalog = _plan(FILTERS)
    copy = _plan([(v, "1" if v == FILTERS[0][0] else p) for v, p in FILTERS], per=False)
    overrides = overrides_from_plans(catalog, copy, reason="r", approval="a")
    assert overrides is not None
    (entry,) = overrides.charges["tokens"].filters or ()
    assert entry.values == {"model": ("gpt-5",), "type": ("input",)}
    assert entry.properties is not None and entry.properties.amount == Decimal(1)  # type: ignore[union-attr]
    assert set(overrides.charges["tokens"].model_dump(exclude_none=True)) == {"filters"}
    assert (
        overrides_from_plans(catalog, _plan(FILTERS, per=False), reason="r", approval="a") is None
    )


def test_a_written_discount_that_still_holds_is_kept_as_written() -> None:
    catalog = _plan(FILTERS)
    written = PlanOverrides.model_validate(
        {"reason": "MSA", "approval": "A-1", "charges": {"tokens": {"discount": "20%"}}}
    )
    off = [(v, str(Decimal(p) * Decimal("0.8"))) for v, p in FILTERS]
    kept = overrides_from_plans(
        catalog, _plan(off, per=False), reason="MSA", approval="A-1", written=written
    )
    assert kept == written
    # Lago moved one price away from the discount: the charge is written from Lago's values
    moved = [(v, "0.9" if v == FILTERS[0][0] else p) for v, p in off]
    redone = overrides_from_plans(
        catalog, _plan(moved, per=False), reason="MSA", approval="A-1", written=written
    )
    assert redone is not None and redone.charges["tokens"].discount is None
    assert len(redone.charges["tokens"].filters or ()) == 4
    assert (redone.reason, redone.approval) == ("MSA", "A-1")


def test_units_charges_compared_by_what_they_bill_and_gaps() -> None:
    per_unit = _plan(FILTERS, per=False)
    assert same_charges(_plan(FILTERS), per_unit)
    assert not same_charges(_plan(FILTERS[:3]), per_unit)
    tokens = per_unit.charges[0]
    assert in_units(tokens.filters[0].properties, "1M tokens").amount == Decimal("1.25")
    assert override_gaps(_plan(FILTERS), _plan(FILTERS[:3], per=False)) == [
        "charge tokens: filter {model: gpt-5-mini, type: output} is on the plan, not on the copy"
    ]


def test_a_frozen_copy_is_read_back_as_frozen_with_only_its_written_values() -> None:
    # the catalog moved on (every price doubled); the frozen copy kept the old prices and one
    # negotiated filter, which someone then changed in Lago
    catalog = _plan([(v, str(Decimal(p) * 2)) for v, p in FILTERS])
    held = [(v, "0.9" if v == FILTERS[0][0] else p) for v, p in FILTERS]
    written = PlanOverrides.model_validate(
        {
            "reason": "r", "approval": "a", "frozen": True, "acknowledge": ["fallback:x"],
            "approvals": [{"kind": "finance", "ref": "FIN-1"}],
            "charges": {"tokens": {"filters": [
                {"values": FILTERS[0][0], "properties": {"model": "standard", "amount": "1"}},
            ]}},
        }
    )  # fmt: skip
    overrides = overrides_from_plans(
        catalog, _plan(held, per=False), reason="r", approval="a", written=written
    )
    assert overrides is not None and overrides.frozen and overrides.acknowledge == ("fallback:x",)
    assert [(a.kind, a.ref) for a in overrides.approvals] == [("finance", "FIN-1")]  # the YAML's
    (entry,) = overrides.charges["tokens"].filters or ()
    assert entry.properties is not None and entry.properties.amount == Decimal("0.9")  # type: ignore[union-attr]
    # as written while Lago still holds it: the object itself comes back
    same = overrides_from_plans(
        catalog,
        _plan([(v, "1" if v == FILTERS[0][0] else p) for v, p in FILTERS], per=False),
        reason="r", approval="a", written=written,
    )  # fmt: skip
    assert same == written
