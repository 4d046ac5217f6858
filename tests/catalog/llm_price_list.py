"""A realistic LLM price list as a project: 40 models × 4 token types (160 filter prices per
charge), written once as a shared price table and used by three plans in two files — or, for
comparison, written out in full in every plan (what a table saves people from).

``write_project(root, tables=True)`` writes ``root``/catalog; ``price(model, type)`` is the list
price (USD per 1M tokens) both forms use, and ``prices`` changes some of them.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

MODELS = tuple(f"atlas-{i:02d}" for i in range(40))
TYPES = ("input", "output", "cached_input", "reasoning")
_FACTOR = {"input": Decimal(1), "output": Decimal(4), "cached_input": Decimal("0.1")}
# The enterprise plan's own price for one filter (its own entry wins over the table's).
ENTERPRISE_OWN = {("atlas-00", "input"): Decimal("0.9")}
TIERS = [{"to": 1_000_000, "per_unit": "0"}, {"per_unit": "8"}]  # USD per 1M bytes


def price(model: str, token_type: str) -> Decimal:
    """List price in USD per 1M tokens: 0.25 steps by model, output and reasoning 4× input."""
    base = Decimal("0.25") * (MODELS.index(model) + 1)
    return base * _FACTOR.get(token_type, Decimal(4))


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _entries(prices: dict[tuple[str, str], Decimal], skip: set[tuple[str, str]]) -> list[Any]:
    return [
        {"values": {"model": m, "type": t}, "properties": {"amount": _text(prices[m, t])}}
        for m in MODELS
        for t in TYPES
        if (m, t) not in skip
    ]


def write_project(
    root: Path, *, tables: bool = True, prices: dict[tuple[str, str], Decimal] | None = None
) -> Path:
    """The project under ``root`` (catalog/ only); ``prices`` replaces some list prices."""
    listed = {(m, t): price(m, t) for m in MODELS for t in TYPES} | dict(prices or {})
    catalog = root / "catalog"
    (catalog / "enterprise").mkdir(parents=True, exist_ok=True)
    metrics = {
        "billable_metrics": [
            {
                "code": "llm_tokens",
                "name": "LLM tokens",
                "aggregation": "sum",
                "field_name": "tokens",
                "filters": {"model": list(MODELS), "type": list(TYPES)},
            },
            {"code": "storage", "name": "Storage", "aggregation": "sum", "field_name": "bytes"},
        ]
    }
    own = [
        {"values": {"model": m, "type": t}, "properties": {"amount": _text(p)}}
        for (m, t), p in ENTERPRISE_OWN.items()
    ]
    if tables:
        starter_filters: Any = {"table": "llm_list"}
        enterprise_filters: Any = [{"table": "llm_list"}, *own]
        storage_tiers: Any = {"table": "storage_2026"}
    else:
        starter_filters = _entries(listed, set())
        enterprise_filters = [*_entries(listed, set(ENTERPRISE_OWN)), *own]
        storage_tiers = TIERS
    starter = {
        "code": "starter",
        "name": "Starter",
        "interval": "monthly",
        "amount": "20.00 USD",
        "charges": [{"metric": "llm_tokens", "per": "1M tokens", "filters": starter_filters}],
    }
    plans = {
        "plans": [
            starter,
            {"code": "starter_annual", "extends": "starter", "name": "Starter (annual)",
             "interval": "yearly", "amount": "200.00 USD"},
        ]
    }  # fmt: skip
    enterprise = {
        "plans": [
            {
                "code": "enterprise",
                "name": "Enterprise",
                "interval": "monthly",
                "amount": "2000.00 USD",
                "charges": [
                    {"metric": "llm_tokens", "per": "1M tokens", "filters": enterprise_filters},
                    {
                        "metric": "storage",
                        "model": "graduated",
                        "per": "1M bytes",
                        "properties": {"tiers": storage_tiers},
                    },
                ],
            }
        ]
    }
    files: dict[str, Any] = {
        "metrics.yaml": metrics,
        "plans.yaml": plans,
        "enterprise/plans.yaml": enterprise,
    }
    if tables:
        files["price_tables.yaml"] = {
            "price_tables": [
                {
                    "code": "llm_list",
                    "description": "LLM list prices, 2026",
                    "per": "1M tokens",
                    "filters": _entries(listed, set()),
                },
                {"code": "storage_2026", "per": "1M bytes", "tiers": TIERS},
            ]
        }
    for name, data in files.items():
        (catalog / name).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return root
