"""Model price-list sync: a LiteLLM-size snapshot into an LLM catalog, and what a script does.

A generated LiteLLM-shaped snapshot (default 2,500 models of 5 providers, ~0.7 MB) is synced
into a catalog selling 200 of them × 4 token types (an 800-entry price table, per 1M tokens,
with comments), at cost × 1.3 rounded up to the cent per 1M tokens, two ways in the same run:

* ``lagoform prices sync --dry-run`` in process (read the settings and the project, parse the
  snapshot with Decimal, price, edit the round-trip YAML, load the result in a scratch copy);
* the alternative a user would write: ``json.load`` (floats), the same markup and rounding in
  float arithmetic (``math.ceil``), PyYAML load and dump of the table file.

Reports the median time of each (of 3, bounded) and what the script gets wrong: prices that
differ from the exact ones (float error crossing a rounding step) and whether the comments
survived. Writes the "Price-list sync" section of ``benchmarks/RESULTS.md``.
Run: ``.venv/bin/python benchmarks/price_sync.py [--models 2500]``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from _harness import machine, write_section

from lagoform.catalog import load_project
from lagoform.engine.price_sync import (
    check_result,
    load_settings,
    read_price_list,
    sync_prices,
)

SECTION = "## Price-list sync"
PROVIDERS = ("openai", "anthropic", "gemini", "bedrock", "azure")
SOLD = 200
ROUNDS = 3
TYPES = {"input": "input_cost_per_token", "cached_input": "cache_read_input_token_cost",
         "output": "output_cost_per_token", "reasoning": "output_cost_per_token"}  # fmt: skip
SETTINGS = """\
metric: llm_tokens
write_to: [{price_table: llm_list}]
token_types:
  - {price: input, values: {token_type: input}}
  - {price: cache_read, values: {token_type: cached_input}}
  - {price: output, values: {token_type: output}}
  - {price: reasoning, values: {token_type: reasoning}}
models: [{provider: openai, model: "model-0*"}]
markup: 1.3
rounding: {step: 0.01, per: 1M tokens, mode: up}
"""


def snapshot(models: int) -> dict[str, Any]:
    rng = random.Random(7)
    data: dict[str, Any] = {"sample_spec": {"input_cost_per_token": 0, "mode": "chat"}}
    for i in range(models):
        data[f"model-{i:04d}"] = {
            "litellm_provider": PROVIDERS[i % len(PROVIDERS)],
            "mode": "chat",
            "input_cost_per_token": float(f"{rng.randint(1, 4000)}e-09"),
            "cache_read_input_token_cost": float(f"{rng.randint(1, 400)}e-09"),
            "output_cost_per_token": float(f"{rng.randint(1, 9000)}e-09"),
            "max_input_tokens": 128000,
            "supports_function_calling": True,
        }
    return data


def write_project(root: Path, sold: list[str]) -> None:
    catalog = root / "catalog"
    catalog.mkdir(parents=True)
    (root / "prices.yaml").write_text(SETTINGS)
    (catalog / "metrics.yaml").write_text(yaml.safe_dump({"billable_metrics": [{
        "code": "llm_tokens", "name": "LLM tokens", "aggregation": "sum", "field_name": "tokens",
        "filters": {"model": sold, "token_type": list(TYPES)},
    }]}, sort_keys=False))  # fmt: skip
    lines = [
        "# List prices, USD per 1M tokens (prices.yaml: cost x 1.3, up to the cent)",
        "price_tables:",
        "  - code: llm_list",
        "    per: 1M tokens",
        "    filters:",
    ]
    for model in sold:
        lines.append(f"      # {model}")
        lines.extend(
            f"      - {{values: {{model: {model}, token_type: {t}}}, properties: {{amount: 1}}}}"
            for t in TYPES
        )
    (catalog / "price_tables.yaml").write_text("\n".join(lines) + "\n")
    (catalog / "plans.yaml").write_text(
        "plans:\n  - code: pro\n    name: Pro\n    interval: monthly\n    amount: 0 USD\n"
        "    charges:\n      - metric: llm_tokens\n        per: 1M tokens\n"
        "        filters: {table: llm_list}\n"
    )


def with_lagoform(root: Path, text: str) -> tuple[float, dict[tuple[str, str], Decimal]]:
    started = time.perf_counter()
    project = load_project(root)
    settings, data = load_settings(root / "prices.yaml", "prices.yaml", project)
    prices, problems = read_price_list(text, "litellm.json", "litellm")
    assert prices is not None and not problems
    result = sync_prices(project, settings, data, prices)
    check_result(root, result)
    elapsed = time.perf_counter() - started
    exact = {
        (c.model, c.token_type.removeprefix("token_type=")): c.new
        for c in result.changes
        if c.new is not None
    }
    assert not result.added and not result.removed
    return elapsed, exact


def with_a_script(root: Path, text: str) -> tuple[float, dict[tuple[str, str], float], bool]:
    """What a person writes in an afternoon: floats, math.ceil, PyYAML."""
    started = time.perf_counter()
    data = json.loads(text)
    path = root / "catalog" / "price_tables.yaml"
    catalog = yaml.safe_load(path.read_text())
    prices: dict[tuple[str, str], float] = {}
    for entry in catalog["price_tables"][0]["filters"]:
        model, token_type = entry["values"]["model"], entry["values"]["token_type"]
        cost = data[model][TYPES[token_type]]
        price = math.ceil(cost * 1.3 * 1_000_000 * 100) / 100
        entry["properties"]["amount"] = price
        prices[model, token_type] = price
    out = yaml.safe_dump(catalog, sort_keys=False)
    elapsed = time.perf_counter() - started
    return elapsed, prices, "#" in out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=2500)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    data = snapshot(args.models)
    text = json.dumps(data, indent=4)
    sold = [n for n, e in data.items() if e.get("litellm_provider") == "openai"][:SOLD]
    ours, theirs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        write_project(root, sold)
        # the settings sell exactly the catalog's models (openai, model-0000..model-0995)
        for _ in range(ROUNDS):
            seconds, exact = with_lagoform(root, text)
            ours.append(seconds)
            seconds, floats, comments = with_a_script(root, text)
            theirs.append(seconds)
    wrong = sum(1 for key, price in floats.items() if Decimal(str(price)) != exact[key])
    info = machine()
    entries = len(sold) * len(TYPES)
    result = (
        f"{SECTION}\n\n"
        f"`benchmarks/price_sync.py`: a generated LiteLLM-shaped snapshot of {args.models:,} "
        f"models ({len(text) / 1e6:.1f} MB) synced into a catalog selling {len(sold)} of them × "
        f"{len(TYPES)} token types ({entries} table entries per 1M tokens, with comments) at "
        f"cost × 1.3 rounded up to the cent per 1M tokens. Median of {ROUNDS}. Run "
        f"{time.strftime('%Y-%m-%d')}; machine: nproc {info.nproc}, Python {info.python}, shared "
        "with other jobs (noisy).\n\n"
        "| how | time | prices wrong | comments kept |\n|---|---|---|---|\n"
        f"| `lagoform prices sync --dry-run` (Decimal, round-trip YAML, result validated) "
        f"| **{statistics.median(ours):.2f} s** | 0 of {len(exact)} | yes |\n"
        f"| a script: `json.load` floats, `math.ceil`, PyYAML | "
        f"{statistics.median(theirs):.2f} s | {wrong} of {len(floats)} | "
        f"{'yes' if comments else 'no'} |\n\n"
        "The script is faster and wrong: binary floating point puts some products just above a "
        "cent (1.1e-06 × 1.3 × 1e6 = 1.4300000000000002, rounded up to 1.44), and PyYAML drops "
        "every comment and the file's layout, so the review diff is the whole file.\n"
    )
    print(result)
    if not args.no_write:
        write_section(SECTION, result)


if __name__ == "__main__":
    main()
