"""Provider price lists read as exact per-token costs: LiteLLM, OpenRouter, or a simple CSV.

Every source is turned into the same thing: per model, its provider and the cost of one token of
each *price class* (``PRICE_CLASSES``), as ``Decimal`` read from the text (JSON numbers through
``json.loads(parse_float=Decimal)``, never a float). What a source means by its fields — its
token semantics — is settled here, once per source:

* LiteLLM's ``model_prices_and_context_window.json``: an object of models; ``input_cost_per_token``,
  ``cache_read_input_token_cost``, ``cache_creation_input_token_cost``, ``output_cost_per_token``,
  ``output_cost_per_reasoning_token``, ``input_cost_per_audio_token``,
  ``output_cost_per_audio_token``; ``litellm_provider`` and ``mode`` (``sample_spec`` is its
  documentation entry, skipped).
* OpenRouter's ``/api/v1/models`` listing: ``data[].id`` (``provider/model``) and
  ``pricing.prompt``/``completion``/``input_cache_read``/``input_cache_write``/
  ``internal_reasoning``/``audio`` as decimal strings per token; ``-1`` marks a router whose price
  varies (skipped). ``image`` and ``request`` are not token prices and are not read.
* CSV: a header naming ``model``, optionally ``provider`` and ``per`` (``1M tokens``: the row's
  prices are per that unit), and price-class columns; an empty cell is not listed.

Both JSON sources count reasoning tokens inside output and bill them at the output rate unless they
list a reasoning price: a reasoning price that is missing (or 0 while output is not free) is the
output price. A cache or audio price of 0 on a model whose input is not free means "not listed".
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import (
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import Any, Literal

from lagoform.catalog.diagnose import suggest
from lagoform.catalog.numbers import extent_problem
from lagoform.errors import Problem
from lagoform.model.units import parse_unit

__all__ = [
    "EXACT",
    "PRICE_CLASSES",
    "SOURCES",
    "ModelCosts",
    "PriceList",
    "SourceName",
    "parse_csv",
    "parse_litellm",
    "parse_openrouter",
    "read_price_list",
]

SourceName = Literal["litellm", "openrouter", "csv"]
SOURCES: tuple[SourceName, ...] = ("litellm", "openrouter", "csv")
# Disjoint kinds of token a provider prices: uncached input, cache reads, cache writes, output,
# reasoning, and audio in and out.
PRICE_CLASSES = (
    "input",
    "cache_read",
    "cache_write",
    "output",
    "reasoning",
    "audio_input",
    "audio_output",
)
_LITELLM = {
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
# Room for the exact result of arithmetic on bounded numbers (40 digits each, catalog.numbers);
# an operation that would still have to round raises ``Inexact`` instead of losing a digit.
EXACT = Context(prec=200, traps=[Inexact, InvalidOperation, DivisionByZero, Overflow])
_SHAPES = {"litellm": "a LiteLLM", "openrouter": "an OpenRouter", "csv": "a CSV"}
_EXTRAS_OF_INPUT = ("cache_read", "cache_write", "audio_input")
LITELLM_DOC_ENTRY = "sample_spec"


@dataclass(frozen=True)
class ModelCosts:
    """One model of a price list: what one token of each price class costs (USD)."""

    model: str
    provider: str
    costs: dict[str, Decimal]
    mode: str | None = None  # LiteLLM's mode (chat, embedding, ...)
    line: int | None = None  # where the source writes it


@dataclass(frozen=True)
class PriceList:
    """A parsed snapshot: its models (by id), and what was skipped and why."""

    source: SourceName
    file: str
    models: dict[str, ModelCosts]
    skipped: dict[str, str] = field(default_factory=dict)


class _Problems:
    def __init__(self, file: str, lines: list[str] | None = None) -> None:
        self.file = file
        self.items: list[Problem] = []
        self.lines = lines or []

    def cell(self, message: str, line: int, field: int) -> None:
        """A problem at the ``field``-th (0-based) cell of a CSV ``line``, by its column."""
        text = self.lines[line - 1] if line <= len(self.lines) else ""
        column, quoted, seen = 1, False, 0
        for offset, char in enumerate(text):
            if seen == field:
                column = offset + 1
                break
            if char == '"':
                quoted = not quoted
            elif char == "," and not quoted:
                seen += 1
        else:
            column = len(text) + 1
        self.add(message, line, column)

    def add(self, message: str, line: int | None = None, column: int | None = None) -> None:
        self.items.append(Problem(message, file=self.file, line=line, column=column))


def _json(text: str, problems: _Problems) -> Any:
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


def _cost(value: Any) -> Decimal | None:
    """A JSON number or a decimal string as an exact cost; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
    else:
        return None
    return number if number.is_finite() else None


def _settle(costs: dict[str, Decimal]) -> dict[str, Decimal]:
    """The sources' shared semantics: reasoning inside output at its rate; a 0 extra price of a
    model that is not free is not listed."""
    out = dict(costs)
    if out.get("input", Decimal(0)) != 0:
        for name in _EXTRAS_OF_INPUT:
            if out.get(name) == 0:
                del out[name]
    if "output" in out and (
        out.get("reasoning") is None or (out["reasoning"] == 0 and out["output"] != 0)
    ):
        out["reasoning"] = out["output"]
    return out


def _token_costs(
    name: str,
    entry: dict[str, Any],
    fields: dict[str, str],
    line: int | None,
    problems: _Problems,
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
    entry: dict[str, Any], fields: dict[str, str], where: str, line: int | None, problems: _Problems
) -> dict[str, Decimal] | None:
    costs: dict[str, Decimal] = {}
    ok = True
    for name, key in fields.items():
        if entry.get(key) is None:
            continue
        cost = _cost(entry[key])
        bound = extent_problem(cost) if cost is not None else None
        if bound:
            problems.add(f"{where}: {key}: {bound}", line)
            ok = False
            continue
        if cost is None or cost < 0:
            problems.add(
                f"{where}: {key}: expected a price per token (a number ≥ 0), got "
                f"{json.dumps(entry[key], default=str)[:40]}",
                line,
            )
            ok = False
            continue
        costs[name] = cost
    return _settle(costs) if ok else None


def parse_litellm(text: str, file: str) -> tuple[PriceList | None, list[Problem]]:
    problems = _Problems(file)
    data = _json(text, problems)
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
        costs = _token_costs(name, entry, _LITELLM, line, problems, skipped)
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
    problems = _Problems(file)
    data = _json(text, problems)
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


CSV_COLUMNS = ("model", "provider", "per", *PRICE_CLASSES)


def parse_csv(text: str, file: str) -> tuple[PriceList | None, list[Problem]]:
    problems = _Problems(file, text.splitlines())
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or not any(cell.strip() for cell in rows[0]):
        problems.add("a CSV price list starts with a header line (model, input, output, ...)", 1)
        return None, problems.items
    header = [cell.strip() for cell in rows[0]]
    for index, name in enumerate(header):
        if name not in CSV_COLUMNS:
            hint = suggest(name, CSV_COLUMNS)
            problems.cell(
                f"unknown column {name!r}: expected {', '.join(CSV_COLUMNS)}"
                + (f" ({hint})" if hint else ""),
                1,
                index,
            )
    if "model" not in header:
        problems.add("the header has no 'model' column", 1)
    if problems.items:
        return None, problems.items
    models: dict[str, ModelCosts] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = dict(zip(header, (cell.strip() for cell in row), strict=False))
        model = cells.get("model", "")
        if not model:
            problems.add("a row needs a model", number)
            continue
        if model in models:
            problems.add(
                f"model {model!r} is listed twice (first at line {models[model].line})", number
            )
            continue
        costs = _csv_costs(cells, header, number, problems)
        if costs is not None:
            models[model] = ModelCosts(
                model, cells.get("provider", ""), _settle(costs), None, number
            )
    return PriceList("csv", file, models), problems.items


def _csv_costs(
    cells: dict[str, str], header: list[str], line: int, problems: _Problems
) -> dict[str, Decimal] | None:
    scale = 1
    if cells.get("per"):
        try:
            scale = parse_unit(cells["per"]).scale
        except ValueError as err:
            problems.cell(f"per: {err}", line, header.index("per"))
            return None
    costs: dict[str, Decimal] = {}
    for name in PRICE_CLASSES:
        written = cells.get(name, "")
        if not written:
            continue
        cost = _cost(written)
        bound = extent_problem(cost) if cost is not None else None
        if bound:
            problems.cell(f"{name}: {bound}", line, header.index(name))
            return None
        if cost is None or cost < 0:
            problems.cell(
                f"{name}: expected a price (a number ≥ 0), got {written!r}",
                line,
                header.index(name),
            )
            return None
        try:
            with localcontext(EXACT):
                costs[name] = cost / scale
        except Inexact:
            problems.cell(
                f"{name}: {written} per {cells['per']} is not an exact price per token",
                line,
                header.index(name),
            )
            return None
    return costs


_PARSERS: dict[SourceName, Callable[[str, str], tuple[PriceList | None, list[Problem]]]] = {
    "litellm": parse_litellm,
    "openrouter": parse_openrouter,
    "csv": parse_csv,
}


def detect(text: str, name: str) -> SourceName | None:
    """Which source a snapshot looks like (None: none of them)."""
    if name.lower().endswith(".csv"):
        return "csv"
    try:
        data = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    except (json.JSONDecodeError, RecursionError):
        return "csv" if text.lstrip().lower().startswith("model") else None
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        return "openrouter"
    if isinstance(data, dict) and any(_looks_litellm(v) for v in data.values()):
        return "litellm"
    return None


def _looks_litellm(entry: Any) -> bool:
    return isinstance(entry, dict) and bool(
        {"litellm_provider", *_LITELLM.values()}.intersection(entry)
    )


def read_price_list(
    text: str, file: str, source: SourceName | None
) -> tuple[PriceList | None, list[Problem]]:
    """Parse ``text`` as ``source`` (or the shape it has); every problem at once."""
    found = detect(text, file)
    if source is None and found is None:
        return None, [
            Problem(
                "unknown price list shape: expected LiteLLM's model_prices_and_context_window.json "
                "(an object of models with input_cost_per_token ...), OpenRouter's /api/v1/models "
                'listing ({"data": [...]}) or a CSV with a model column',
                file=file,
                line=1,
                hint="say which with --source litellm|openrouter|csv",
            )
        ]
    chosen = source or found
    assert chosen is not None
    if source is not None and found is not None and found != source:
        return None, [
            Problem(
                f"this looks like {_SHAPES[found]} price list, not {source}",
                file=file,
                line=1,
                hint=f"use --source {found}",
            )
        ]
    return _PARSERS[chosen](text, file)
