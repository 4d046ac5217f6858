"""LiteLLM's and OpenRouter's price lists (JSON), read as exact per-token costs.

* LiteLLM's ``model_prices_and_context_window.json``: an object of models; ``input_cost_per_token``,
  ``cache_read_input_token_cost``, ``cache_creation_input_token_cost``, ``output_cost_per_token``,
  ``output_cost_per_reasoning_token``, ``input_cost_per_audio_token``,
  ``output_cost_per_audio_token``; ``litellm_provider`` and ``mode`` (``sample_spec`` is its
  documentation entry, skipped). Numbers are read with ``json.loads(parse_float=Decimal)``.
* OpenRouter's ``/api/v1/models`` listing: ``data[].id`` (``provider/model``) and
  ``pricing.prompt``/``completion``/``input_cache_read``/``input_cache_write``/
  ``internal_reasoning``/``audio`` as decimal strings per token; ``-1`` marks a router whose price
  varies (skipped). ``image`` and ``request`` are not token prices and are not read.

JSON keeps no positions: a model's line is found by one pass over the text (its key, its id).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from lagoform.engine.price_sync.snapshot import (
    ModelCosts,
    PriceList,
    Problems,
    cost_problem,
    read_cost,
    settle,
)
from lagoform.errors import Problem

__all__ = ["LITELLM_FIELDS", "looks_litellm", "parse_json", "parse_litellm", "parse_openrouter"]

LITELLM_FIELDS = {
    "input": "input_cost_per_token",
    "cache_read": "cache_read_input_token_cost",
    "cache_write": "cache_creation_input_token_cost",
    "output": "output_cost_per_token",
    "reasoning": "output_cost_per_reasoning_token",
    "audio_input": "input_cost_per_audio_token",
    "audio_output": "output_cost_per_audio_token",
}
_OPENROUTER = {
    "input": "prompt",
    "cache_read": "input_cache_read",
    "cache_write": "input_cache_write",
    "output": "completion",
    "reasoning": "internal_reasoning",
    "audio_input": "audio",
}
LITELLM_DOC_ENTRY = "sample_spec"


def parse_json(text: str, problems: Problems) -> Any:
    try:
        return json.loads(text, parse_float=Decimal, parse_int=Decimal)
    except json.JSONDecodeError as err:
        problems.add(f"not valid JSON: {err.msg}", err.lineno, err.colno)
    except RecursionError:
        problems.add("not valid JSON: nested too deeply")
    return None


def _lines_of(text: str, pattern: str) -> dict[str, int]:
    """The line where each name ``pattern``'s group captures is first written (JSON keeps no
    positions); one pass over the text."""
    out: dict[str, int] = {}
    line, last = 1, 0
    for found in re.finditer(pattern, text):
        line += text.count("\n", last, found.start())
        last = found.start()
        name = json.loads(f'"{found.group(1)}"') if "\\" in found.group(1) else found.group(1)
        out.setdefault(name, line)
    return out


# a model's key in LiteLLM's object ("gpt-5": {), an id in OpenRouter's list ("id": "a/b")
_LITELLM_KEY = r'"((?:[^"\\]|\\.)*)"\s*:\s*\{'
_OPENROUTER_ID = r'"id"\s*:\s*"((?:[^"\\]|\\.)*)"'


def _token_costs(
    name: str,
    entry: dict[str, Any],
    fields: dict[str, str],
    line: int | None,
    problems: Problems,
    skipped: dict[str, str],
) -> dict[str, Decimal] | None:
    """A model's costs by price class (None: a problem, or no price per token: skipped)."""
    where = f"model {name!r}" + (": pricing" if fields is _OPENROUTER else "")
    costs = _read_costs(entry, fields, where, line, problems)
    if costs is not None and "input" not in costs and "output" not in costs:
        skipped[name] = "no price per token"
        return None
    return costs


def _read_costs(
    entry: dict[str, Any], fields: dict[str, str], where: str, line: int | None, problems: Problems
) -> dict[str, Decimal] | None:
    costs: dict[str, Decimal] = {}
    ok = True
    for name, key in fields.items():
        if entry.get(key) is None:
            continue
        cost = read_cost(entry[key])
        value = entry[key]
        shown = str(value) if isinstance(value, Decimal) else json.dumps(value, default=str)
        problem = cost_problem(cost, shown[:40])
        if problem or cost is None:
            problems.add(f"{where}: {key}: {problem}", line)
            ok = False
            continue
        costs[name] = cost
    return settle(costs) if ok else None


def parse_litellm(text: str, file: str) -> tuple[PriceList | None, list[Problem]]:
    problems = Problems(file)
    data = parse_json(text, problems)
    if problems.items:
        return None, problems.items
    if not isinstance(data, dict):
        problems.add("a LiteLLM price list is a JSON object of models", 1, 1)
        return None, problems.items
    models: dict[str, ModelCosts] = {}
    skipped: dict[str, str] = {}
    lines = _lines_of(text, _LITELLM_KEY)
    for name, entry in data.items():
        if name == LITELLM_DOC_ENTRY:
            continue
        line = lines.get(name)
        if not isinstance(entry, dict):
            problems.add(f"model {name!r}: expected an object of prices", line)
            continue
        costs = _token_costs(name, entry, LITELLM_FIELDS, line, problems, skipped)
        if costs is None:
            continue
        provider, mode = entry.get("litellm_provider"), entry.get("mode")
        models[name] = ModelCosts(
            name,
            str(provider) if isinstance(provider, str) else "",
            costs,
            str(mode) if isinstance(mode, str) else None,
            line,
        )
    return PriceList("litellm", file, models, skipped), problems.items


def parse_openrouter(text: str, file: str) -> tuple[PriceList | None, list[Problem]]:
    problems = Problems(file)
    data = parse_json(text, problems)
    if problems.items:
        return None, problems.items
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        problems.add('an OpenRouter models listing is a JSON object with a "data" list', 1, 1)
        return None, problems.items
    models: dict[str, ModelCosts] = {}
    skipped: dict[str, str] = {}
    lines = _lines_of(text, _OPENROUTER_ID)
    for index, entry in enumerate(data["data"]):
        ident = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(ident, str) or not ident:
            problems.add(f"data[{index}]: expected a model object with an id")
            continue
        line = lines.get(ident)
        pricing = entry.get("pricing")
        if not isinstance(pricing, dict):
            problems.add(f"model {ident!r}: expected a pricing object", line)
            continue
        if any(str(pricing.get(k)).strip() == "-1" for k in ("prompt", "completion")):
            skipped[ident] = "variable price (a router)"
            continue
        costs = _token_costs(ident, pricing, _OPENROUTER, line, problems, skipped)
        if costs is None:
            continue
        provider = ident.split("/", 1)[0] if "/" in ident else ""
        models[ident] = ModelCosts(ident, provider, costs, None, line)
    return PriceList("openrouter", file, models, skipped), problems.items


def looks_litellm(entry: Any) -> bool:
    """An entry of LiteLLM's object (it names a provider or a LiteLLM price field)."""
    return isinstance(entry, dict) and bool(
        {"litellm_provider", *LITELLM_FIELDS.values()}.intersection(entry)
    )
