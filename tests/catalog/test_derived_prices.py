"""Negotiated prices written as partial lists, discounts and units become exact Lago bodies."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from lagoform.catalog import load_project
from lagoform.engine.desired import from_project
from lagoform.errors import CatalogError

METRICS = """\
billable_metrics:
  - code: tokens
    name: Tokens
    aggregation: sum
    field_name: tokens
    filters:
      model: [gpt-5, gpt-5-mini]
      type: [input, output]
"""

PLANS = """\
plans:
  - code: pro
    name: Pro
    interval: monthly
    amount: 99.00 USD
    charges:
      - code: tokens
        metric: tokens
        per: 1M tokens
        properties: {amount: 2.00}
        filters:
          - values: {model: gpt-5, type: input}
            properties: {amount: 1.25}
          - values: {model: gpt-5, type: output}
            properties: {amount: 10.00}
          - values: {model: gpt-5-mini, type: input}
            properties: {amount: 0.25}
          - values: {model: gpt-5-mini, type: output}
            properties: {amount: 2.00}
"""


def project(tmp_path: Path, overrides: str) -> Path:
    (tmp_path / "catalog").mkdir()
    (tmp_path / "overrides").mkdir()
    (tmp_path / "catalog" / "metrics.yaml").write_text(METRICS)
    (tmp_path / "catalog" / "plans.yaml").write_text(PLANS)
    (tmp_path / "overrides" / "acme.yaml").write_text(
        "customer: {name: Acme, currency: USD}\nsubscriptions:\n  - external_id: acme-main\n"
        "    plan: pro\n    overrides:\n      reason: MSA\n      approval: A-1\n" + overrides
    )
    return tmp_path


def override_body(tmp_path: Path, overrides: str) -> dict[str, object]:
    desired = from_project(load_project(project(tmp_path, overrides)))
    body = desired.objects["subscription"]["acme-main"].body["plan_overrides"]
    [charge] = body["charges"]
    return dict(charge)


def prices(charge: dict[str, object]) -> dict[str, str]:
    return {
        "/".join(f["values"]["model"] + f["values"]["type"]): f["properties"]["amount"]
        for f in charge.get("filters") or []  # type: ignore[union-attr, index]
    }


def test_units_are_sent_per_single_unit(tmp_path: Path) -> None:
    desired = from_project(load_project(project(tmp_path, "")))
    [charge] = desired.objects["plan"]["pro"].body["charges"]
    assert charge["properties"] == {"amount": "0.000002"}
    assert {f["properties"]["amount"] for f in charge["filters"]} == {
        "0.00000125", "0.00001", "0.00000025", "0.000002"
    }  # fmt: skip
    assert desired.units == {"pro": {"tokens": {
        "": "1M tokens",
        "model=gpt-5;type=input": "1M tokens", "model=gpt-5;type=output": "1M tokens",
        "model=gpt-5-mini;type=input": "1M tokens", "model=gpt-5-mini;type=output": "1M tokens",
    }}}  # fmt: skip


def test_one_negotiated_filter_lists_only_itself(tmp_path: Path) -> None:
    charge = override_body(tmp_path, (
        "      charges:\n        tokens:\n          filters:\n"
        "            - values: {model: gpt-5, type: input}\n"
        "              properties: {amount: 1.00}\n"
    ))  # fmt: skip
    assert prices(charge) == {"gpt-5/input": "0.000001"}


def test_discounts_follow_the_list_and_the_most_specific_wins(tmp_path: Path) -> None:
    charge = override_body(tmp_path, (
        "      charges:\n        tokens:\n          discount: 10%\n          filters:\n"
        "            - values: {model: gpt-5}\n              discount: 20%\n"
        "            - values: {model: gpt-5, type: output}\n"
        "              properties: {amount: 7.00}\n"
    ))  # fmt: skip
    assert charge["properties"] == {"amount": "0.0000018"}  # 2.00 - 10%, per token
    assert prices(charge) == {
        "gpt-5/input": "0.000001",  # 1.25 - 20% (the model's discount)
        "gpt-5/output": "0.000007",  # its own price
        "gpt-5-mini/input": "0.000000225",  # 0.25 - 10% (the charge's)
        "gpt-5-mini/output": "0.0000018",
    }
    rules = from_project(load_project(tmp_path)).objects["subscription"]["acme-main"].meta
    assert rules["rules"] == ["tokens: 10% off list", "tokens [model=gpt-5]: 20% off list"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            "          filters:\n            - values: {model: gpt-5, type: [input, output]}\n"
            "              properties: {amount: 1}\n",
            "charge 'tokens' of the plan has no filter {model: gpt-5, type: input/output}",
        ),
        (
            "          filters:\n            - values: {model: gpt-5}\n"
            "              discount: 150%\n",
            "expected a percentage above 0% and below 100%, got 150%",
        ),
        (
            "          filters:\n            - values: {model: gpt-5}\n",
            "this filter negotiates nothing",
        ),
        (
            "          discount: 33.333333333333333%\n",
            "is not a price Lago can hold per unit",
        ),
    ],
)
def test_what_an_override_cannot_say_is_located(
    tmp_path: Path, overrides: str, message: str
) -> None:
    with pytest.raises(CatalogError) as err:
        override_body(tmp_path, "      charges:\n        tokens:\n" + overrides)
    texts = [str(p) for p in err.value.problems]
    assert any(message in t and t.startswith("overrides/acme.yaml:") for t in texts), texts


def test_a_discount_is_exact() -> None:
    from lagoform.catalog.models_charge import StandardProperties, discounted

    price = discounted(StandardProperties(amount=Decimal("2.50")), Decimal("15"))
    assert price.amount == Decimal("2.125")
