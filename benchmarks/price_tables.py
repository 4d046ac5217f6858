"""Shared price tables: what writing an LLM price list once costs `lagoform validate` / `plan`.

An LLM price list of 40 models × 4 token types (160 filter prices, per 1M tokens) priced by N
plans (default 20, in 4 files), written two ways in the same run:

* once, as a price table every plan names (`filters: {table: llm_list}`);
* the alternative a user would pick without tables: the 160 prices written out in every plan.

Measures (median of 5, bounded) what every command does first: loading and validating the
project (`load_project`) and turning it into Lago request bodies (`from_project`), plus the YAML
each way takes. Both must give the same request bodies (checked). No server is involved.

Writes the "Price tables" section of ``benchmarks/RESULTS.md`` (other sections kept).
Run: ``.venv/bin/python benchmarks/price_tables.py [--plans 20]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from _harness import machine, write_section

from lagoform.catalog import load_project
from lagoform.engine.desired import from_project

SECTION = "## Price tables"
MODELS = [f"atlas-{i:02d}" for i in range(40)]
TYPES = ["input", "output", "cached_input", "reasoning"]
ROUNDS = 5
FILES = 4


def entries() -> list[dict[str, Any]]:
    return [
        {
            "values": {"model": m, "type": t},
            "properties": {"amount": str(Decimal("0.25") * (i + 1) * (4 if "put" in t else 1))},
        }
        for i, m in enumerate(MODELS)
        for t in TYPES
    ]


def write(root: Path, plans: int, *, tables: bool) -> int:
    """The project under ``root``; returns the lines of YAML written."""
    catalog = root / "catalog"
    catalog.mkdir(parents=True)
    docs: dict[str, Any] = {
        "metrics.yaml": {
            "billable_metrics": [
                {"code": "llm_tokens", "name": "LLM tokens", "aggregation": "sum",
                 "field_name": "tokens", "filters": {"model": MODELS, "type": TYPES}},
            ]
        }
    }  # fmt: skip
    if tables:
        docs["price_tables.yaml"] = {
            "price_tables": [{"code": "llm_list", "per": "1M tokens", "filters": entries()}]
        }
    for f in range(FILES):
        docs[f"plans_{f}.yaml"] = {
            "plans": [
                {
                    "code": f"plan_{i:03d}",
                    "name": f"Plan {i}",
                    "interval": "monthly",
                    "amount": f"{10 * (i + 1)} USD",
                    "charges": [
                        {
                            "metric": "llm_tokens",
                            "per": "1M tokens",
                            "filters": {"table": "llm_list"} if tables else entries(),
                        }
                    ],
                }
                for i in range(f, plans, FILES)
            ]
        }
    lines = 0
    for name, data in docs.items():
        text = yaml.safe_dump(data, sort_keys=False)
        (catalog / name).write_text(text, encoding="utf-8")
        lines += text.count("\n")
    return lines


def measure(root: Path) -> tuple[float, float, dict[str, Any]]:
    """(median seconds to load, median seconds load + bodies, the plan bodies)."""
    loads, totals = [], []
    bodies: dict[str, Any] = {}
    for _ in range(ROUNDS):
        started = time.perf_counter()
        project = load_project(root)
        loaded = time.perf_counter()
        desired = from_project(project)
        done = time.perf_counter()
        loads.append(loaded - started)
        totals.append(done - started)
        bodies = {k: o.body for k, o in desired.objects["plan"].items()}
    return statistics.median(loads), statistics.median(totals), bodies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=20)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        table_lines = write(Path(tmp) / "tables", args.plans, tables=True)
        inline_lines = write(Path(tmp) / "inline", args.plans, tables=False)
        table_load, table_total, table_bodies = measure(Path(tmp) / "tables")
        inline_load, inline_total, inline_bodies = measure(Path(tmp) / "inline")
    assert table_bodies == inline_bodies, "a table must give the bodies of the prices written out"
    info = machine()
    filters = len(MODELS) * len(TYPES)
    text = (
        f"{SECTION}\n\n"
        f"`benchmarks/price_tables.py`: an LLM price list of {len(MODELS)} models × "
        f"{len(TYPES)} token types ({filters} filter prices per 1M tokens) priced by "
        f"{args.plans} plans in {FILES} files, written once as a shared price table, or written "
        f"out in every plan (the alternative without tables); both give the same Lago request "
        f"bodies (checked). Median of {ROUNDS}. Run {time.strftime('%Y-%m-%d')}; machine: nproc "
        f"{info.nproc}, Python {info.python}, shared with other jobs (noisy).\n\n"
        "| written as | YAML lines | load + validate | + Lago bodies |\n|---|---|---|---|\n"
        f"| one price table, named by every plan | {table_lines:,} | **{table_load:.2f} s** "
        f"| {table_total:.2f} s |\n"
        f"| the prices written out in every plan | {inline_lines:,} | {inline_load:.2f} s "
        f"| {inline_total:.2f} s |\n\n"
        f"The table is {inline_lines / table_lines:.0f}× less YAML to review; loading it takes "
        f"{table_load / inline_load:.2f}× the time of the written-out prices (each entry is "
        "still validated once per plan that uses it, located in the table).\n"
    )
    print(text)
    if not args.no_write:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
