"""Pricing policies: what the margin rule costs `lagoform validate` / `plan` on an LLM price list.

An LLM price list of 160 models × 4 token types (640 filter prices, per 1M tokens) priced by 3
plans, against a cost table of the same 640 combinations (`policies.yaml`, `margin_floor`).
The rule needs, for every filter, the cost entries it may price, and for every charge, the
entries no filter surely prices. Measured in the same run, median of 3, bounded:

* lagoform's index of the cost entries by key and value (``policies.costs.CostIndex``);
* the alternative a user would write: every filter against every cost entry (the plain
  definitions, as the property test states them).

Both give the same entries (checked). Also timed: the whole offline policy check
(``check_project``: matching, prices, the YAML line of each finding). No server is involved.
Writes the "Pricing policies" section of ``benchmarks/RESULTS.md`` (other sections kept).
Run: ``.venv/bin/python benchmarks/policies_margin.py [--models 160]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from _harness import machine, write_section

from lagoform.catalog import load_project
from lagoform.catalog.models_charge import WILDCARD
from lagoform.catalog.models_policy import CostEntry
from lagoform.catalog.policies_file import load_policies
from lagoform.engine.desired import from_project
from lagoform.model.filters import ALL_FILTER_VALUES
from lagoform.policies import check_project
from lagoform.policies.costs import CostIndex

SECTION = "## Pricing policies"
TYPES = ["input", "output", "cached_input", "reasoning"]
PLANS = {"starter": Decimal(2), "pro": Decimal(1), "enterprise": Decimal("0.8")}
ROUNDS = 3


def price(model: int, kind: str) -> Decimal:
    return Decimal("0.25") * (model + 1) * (4 if "put" in kind else 1)


def write(root: Path, models: int) -> None:
    names = [f"m{i:03d}" for i in range(models)]
    (root / "catalog").mkdir(parents=True)
    (root / "overrides").mkdir()
    plans = [
        {
            "code": code,
            "name": code.title(),
            "interval": "monthly",
            "amount": "0 USD",
            "charges": [
                {
                    "code": "tokens",
                    "metric": "tokens",
                    "per": "1M tokens",
                    "properties": {"amount": "0"},
                    "filters": [
                        {
                            "values": {"model": m, "type": t},
                            "properties": {"amount": str(price(i, t) * factor)},
                        }
                        for i, m in enumerate(names)
                        for t in TYPES
                    ],
                }
            ],
        }
        for code, factor in PLANS.items()
    ]
    catalog = {
        "billable_metrics": [
            {"code": "tokens", "name": "Tokens", "aggregation": "sum", "field_name": "tokens",
             "filters": {"model": names, "type": TYPES}},
        ],
        "plans": plans,
    }  # fmt: skip
    (root / "catalog" / "prices.yaml").write_text(yaml.safe_dump(catalog, sort_keys=False))
    costs = [
        {"values": {"model": m, "type": t}, "cost": str(price(i, t) * Decimal("0.7"))}
        for i, m in enumerate(names)
        for t in TYPES
    ]
    policies = {
        "costs": [{"metric": "tokens", "per": "1M tokens", "currency": "USD", "costs": costs}],
        "rules": [{"id": "margin", "rule": "margin_floor", "margin": "0.3"}],
    }
    (root / "policies.yaml").write_text(yaml.safe_dump(policies, sort_keys=False))


def _may(values: Mapping[str, list[str]], entry: CostEntry) -> bool:
    for key, allowed in values.items():
        theirs = entry.values.get(key)
        if ALL_FILTER_VALUES in allowed or theirs is None or WILDCARD in theirs:
            continue
        if not set(theirs) & set(allowed):
            return False
    return True


def _surely(values: Mapping[str, list[str]], entry: CostEntry) -> bool:
    for key, allowed in values.items():
        if ALL_FILTER_VALUES in allowed:
            continue
        theirs = entry.values.get(key)
        if theirs is None or WILDCARD in theirs or not set(theirs) <= set(allowed):
            return False
    return True


def pairwise(entries: list[CostEntry], filters: list[dict[str, list[str]]]) -> Any:
    may = [[e for e in entries if _may(f, e)] for f in filters]
    uncovered = [e for e in entries if not any(_surely(f, e) for f in filters)]
    return may, uncovered


def indexed(entries: list[CostEntry], filters: list[dict[str, list[str]]]) -> Any:
    index = CostIndex(entries)
    return [index.may(f) for f in filters], index.uncovered(filters)


def median(run: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(ROUNDS):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=160)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write(root, args.models)
        project = load_project(root)
        policies = load_policies(root, project)
        assert policies is not None
        desired = from_project(project)
        entries = list(policies.model.costs[0].costs)
        charges = [o.normal["charges"]["tokens"] for o in desired.objects["plan"].values()]
        filters = [f["values"] for c in charges for f in c["filters"].values()]
        slow, expected = median(lambda: pairwise(entries, filters))
        fast, got = median(lambda: indexed(entries, filters))
        assert got == expected, "the index must find the entries the definitions find"
        today = dt.date.today()
        whole, found = median(lambda: check_project(policies, project, desired, today=today))
    info = machine()
    n = len(entries)
    text = (
        f"{SECTION}\n\n"
        f"`benchmarks/policies_margin.py`: an LLM price list of {args.models} models × "
        f"{len(TYPES)} token types ({n} filter prices per 1M tokens) on {len(PLANS)} plans, "
        f"against a cost table of the same {n} combinations (`margin_floor`). Matching every "
        "filter with the cost entries it may price, and every charge with the entries no filter "
        f"surely prices, two ways in the same run (same result, checked). Median of {ROUNDS}. "
        f"Run {time.strftime('%Y-%m-%d')}; machine: nproc {info.nproc}, Python {info.python}, "
        "shared with other jobs (noisy).\n\n"
        "| matching | seconds |\n|---|---|\n"
        f"| lagoform: cost entries indexed by key and value | **{fast:.3f} s** |\n"
        f"| every filter against every cost entry | {slow:.3f} s |\n\n"
        f"The index is {slow / fast:.0f}× faster. The whole offline policy check "
        f"(`check_project`: matching, prices, the YAML line of each of its {len(found)} "
        f"findings) takes {whole:.2f} s.\n"
    )
    print(text)
    if not args.no_write:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
