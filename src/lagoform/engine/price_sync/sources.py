"""Which price list a snapshot is, and reading it: LiteLLM, OpenRouter or CSV.

``read_price_list`` recognises the shape (or takes the one asked for, and refuses a snapshot
of another shape with the right ``--source``) and hands it to its reader: ``json_lists``
(LiteLLM, OpenRouter) or ``csv_list``. Every reader returns the same ``PriceList`` of exact
per-token costs with the token semantics of ``snapshot``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

from lagoform.engine.price_sync.csv_list import parse_csv
from lagoform.engine.price_sync.json_lists import looks_litellm, parse_litellm, parse_openrouter
from lagoform.engine.price_sync.snapshot import PriceList, SourceName
from lagoform.errors import Problem

__all__ = ["detect", "read_price_list"]

_SHAPES = {"litellm": "a LiteLLM", "openrouter": "an OpenRouter", "csv": "a CSV"}
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
    if isinstance(data, dict) and any(looks_litellm(v) for v in data.values()):
        return "litellm"
    return None


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
