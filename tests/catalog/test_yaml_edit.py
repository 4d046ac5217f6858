"""In-place YAML edits (``lagoform.catalog.yaml_edit``): only what changed is rewritten, in the
file's own layout; what did not change keeps its text, comments included."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lagoform.catalog import BillableMetric, BillingPlan
from lagoform.catalog.yaml_edit import dump_roundtrip, item_of, load_roundtrip, update
from lagoform.catalog.yamlsrc import parse_yaml

PLANS = {
    # lagoform's examples: dashes indented under their key
    "indented": """plans:
  # the one plan
  - code: pro
    name: Pro            # shown on invoices
    interval: monthly
    amount: 99.00 USD
    charges:
      - metric: tokens
        properties: {amount: 0.000002}   # fallback
        filters:
          - values: {type: input}
            properties: {amount: 0.000001}
""",
    # the other common style: dashes flush with their key
    "flush": """plans:
# the one plan
- code: pro
  name: Pro            # shown on invoices
  interval: monthly
  amount: 99.00 USD
  charges:
  - metric: tokens
    properties: {amount: 0.000002}   # fallback
    filters:
    - values: {type: input}
      properties: {amount: 0.000001}
""",
}
TOKENS = {"code": "tokens", "name": "T", "aggregation": "sum", "field_name": "n"}


def _plan(text: str) -> BillingPlan:
    data, problems = parse_yaml(text, "plans.yaml")  # as lagoform loads it
    assert not problems
    return BillingPlan.model_validate(data["plans"][0])


@pytest.mark.parametrize("style", sorted(PLANS))
def test_an_unchanged_file_round_trips_byte_for_byte(style: str) -> None:
    text = PLANS[style]
    assert dump_roundtrip(load_roundtrip(text), text) == text


@pytest.mark.parametrize("style", sorted(PLANS))
def test_only_the_changed_values_are_rewritten_in_the_files_layout(style: str) -> None:
    text = PLANS[style]
    data = load_roundtrip(text)
    old = _plan(text)
    charge = old.charges[0]
    new_filter = charge.filters[0].model_copy(
        update={
            "properties": charge.filters[0].properties.model_copy(
                update={"amount": Decimal("0.0000008")}
            )
        }
    )
    added = charge.filters[0].model_copy(update={"values": {"type": ("output",)}})
    new = old.model_copy(
        update={
            "name": "Pro 2",
            "charges": (charge.model_copy(update={"filters": (new_filter, added)}),),
        }
    )
    index = item_of(data["plans"], "code", "pro")
    assert index == 0
    update(data["plans"][index], old, new)
    out = dump_roundtrip(data, text)
    assert "name: Pro 2          # shown on invoices" in out  # the comment keeps its column
    assert "# the one plan" in out and "properties: {amount: 0.000002}   # fallback" in out
    assert "properties: {amount: 0.0000008}" in out  # a flow mapping stays on its line
    assert _plan(out) == new
    dash = "          - " if style == "indented" else "    - "
    assert f"{dash}values:" in out or f"{dash}values: {{" in out  # the new filter, same layout


def test_a_mapping_updates_key_by_key_and_a_default_value_disappears() -> None:
    text = (
        "billable_metrics:\n  - code: tokens  # id\n    name: T\n    aggregation: sum\n"
        "    field_name: n\n    recurring: true\n    filters:\n      model: [a, b]   # models\n"
        "      type: [input]\n"
    )
    data = load_roundtrip(text)
    old = BillableMetric.model_validate(
        {**TOKENS, "recurring": True, "filters": {"model": ["a", "b"], "type": ["input"]}}
    )
    new = old.model_copy(
        update={"recurring": False, "filters": {"model": ("a", "b", "c"), "type": ("input",)}}
    )
    update(data["billable_metrics"][0], old, new)
    out = dump_roundtrip(data, text)
    assert "recurring" not in out  # back at its default
    assert "model: [a, b, c]" in out  # written on one line, as before
    assert "type: [input]" in out and "# id" in out


def test_an_edited_file_keeps_its_indentation() -> None:
    text = (
        "customer:\n    name: Acme   # who\n    address:\n        city: Paris\n"
        "subscriptions:\n    - external_id: acme-1\n      plan: pro\n"
    )
    data = load_roundtrip(text)
    data["customer"]["address"]["city"] = "Lyon"
    assert dump_roundtrip(data, text) == text.replace("Paris", "Lyon")
