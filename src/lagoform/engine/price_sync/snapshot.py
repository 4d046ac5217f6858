"""A provider price list as lagoform reads it: per model, the exact cost of one token of each
price class, and the token semantics every source shares.

The classes are disjoint prices (``PRICE_CLASSES``): uncached input, cache reads, cache writes,
output, reasoning, audio in and out. Reasoning tokens are output tokens billed at the output rate
unless a list prices them apart: a missing reasoning price, or 0 while output is not free, is the
output price (``settle``). A cache or audio price of 0 on a model whose input is not free means
"not listed". Costs are ``Decimal`` from the text, bounded like every number lagoform reads
(``catalog.numbers``); ``EXACT`` is the context in which arithmetic on them never rounds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import (
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)
from typing import Any, Literal

from lagoform.catalog.numbers import extent_problem
from lagoform.errors import Problem

__all__ = [
    "EXACT",
    "PRICE_CLASSES",
    "SOURCES",
    "ModelCosts",
    "PriceList",
    "Problems",
    "SourceName",
    "cost_problem",
    "read_cost",
    "settle",
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
# Room for the exact result of arithmetic on bounded numbers (40 digits each, catalog.numbers);
# an operation that would still have to round raises ``Inexact`` instead of losing a digit.
EXACT = Context(prec=200, traps=[Inexact, InvalidOperation, DivisionByZero, Overflow])
_EXTRAS_OF_INPUT = ("cache_read", "cache_write", "audio_input")


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


class Problems:
    """The problems of one snapshot, located in it."""

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


def read_cost(value: Any) -> Decimal | None:
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


def cost_problem(cost: Decimal | None, shown: str) -> str | None:
    """Why ``cost`` (written ``shown``) is not a price (None: it is one)."""
    if cost is None or cost < 0:
        return f"expected a price (a number ≥ 0), got {shown}"
    return extent_problem(cost)


def settle(costs: dict[str, Decimal]) -> dict[str, Decimal]:
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
