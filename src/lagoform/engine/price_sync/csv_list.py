"""A price list as a simple CSV: a header naming ``model``, optionally ``provider`` and ``per``
(``1M tokens``: the row's prices are per that unit), and price-class columns; an empty cell is
not listed. Prices become exact costs per token (a unit that cannot divide a price exactly is an
error at its cell); problems name the line and the column of the cell.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal, Inexact, localcontext

from lagoform.catalog.diagnose import suggest
from lagoform.engine.price_sync.snapshot import (
    EXACT,
    PRICE_CLASSES,
    ModelCosts,
    PriceList,
    Problems,
    cost_problem,
    read_cost,
    settle,
)
from lagoform.errors import Problem
from lagoform.model.units import parse_unit

__all__ = ["CSV_COLUMNS", "parse_csv"]

CSV_COLUMNS = ("model", "provider", "per", *PRICE_CLASSES)


def parse_csv(text: str, file: str) -> tuple[PriceList | None, list[Problem]]:
    problems = Problems(file, text.splitlines())
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
                model, cells.get("provider", ""), settle(costs), None, number
            )
    return PriceList("csv", file, models), problems.items


def _csv_costs(
    cells: dict[str, str], header: list[str], line: int, problems: Problems
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
        cost = read_cost(written)
        problem = cost_problem(cost, repr(written))
        if problem or cost is None:
            problems.cell(f"{name}: {problem}", line, header.index(name))
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
