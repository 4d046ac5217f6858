"""Each source parser: exact Decimal costs per token (never a float), the source's token
semantics (reasoning inside output at its rate; zero extras of a paid model not listed), what is
skipped, and bad snapshots located by line and column."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lagoform.engine.price_sync.csv_list import parse_csv
from lagoform.engine.price_sync.json_lists import parse_litellm, parse_openrouter
from lagoform.engine.price_sync.sources import detect, read_price_list
from tests.engine.price_sync.helpers import CSV, LITELLM, OPENROUTER


def _all_decimal(costs: dict[str, Decimal]) -> bool:
    return all(type(v) is Decimal for v in costs.values())


def test_litellm_costs_are_exact_decimals_from_the_json_text() -> None:
    prices, problems = parse_litellm(LITELLM.read_text(), "litellm.json")
    assert problems == [] and prices is not None
    gpt5 = prices.models["gpt-5"]
    assert gpt5.provider == "openai" and gpt5.mode == "chat"
    assert gpt5.costs == {
        "input": Decimal("0.00000125"),
        "cache_read": Decimal("1.25E-7"),
        "output": Decimal("0.00001"),
        "reasoning": Decimal("0.00001"),  # not listed: inside output, at the output rate
    }
    assert _all_decimal(gpt5.costs)
    assert gpt5.line == 9  # where "gpt-5": is written
    claude = prices.models["claude-sonnet-4-5"].costs
    assert claude["cache_write"] == Decimal("0.00000375")
    assert claude["cache_read"] == Decimal("0.0000003")
    # a listed reasoning price is its own
    assert prices.models["gemini/gemini-2.5-pro"].costs["reasoning"] == Decimal("0.00001")
    assert "sample_spec" not in prices.models  # LiteLLM's documentation entry
    assert prices.skipped == {"dall-e-3": "no price per token"}
    assert prices.models["text-embedding-3-small"].mode == "embedding"


def test_openrouter_decimal_strings_and_its_semantics() -> None:
    prices, problems = parse_openrouter(OPENROUTER.read_text(), "openrouter.json")
    assert problems == [] and prices is not None
    gpt5 = prices.models["openai/gpt-5"]
    assert gpt5.provider == "openai"
    # internal_reasoning "0" on a paid model: reasoning is billed as completion
    assert gpt5.costs == {
        "input": Decimal("0.00000125"),
        "cache_read": Decimal("0.000000125"),
        "output": Decimal("0.00001"),
        "reasoning": Decimal("0.00001"),
    }
    assert _all_decimal(gpt5.costs)
    claude = prices.models["anthropic/claude-sonnet-4.5"].costs
    assert claude["cache_write"] == Decimal("0.00000375")
    free = prices.models["meta-llama/llama-3.3-8b-instruct:free"].costs
    assert free == {"input": 0, "output": 0, "reasoning": 0}  # a free model stays free
    assert prices.skipped == {"openrouter/auto": "variable price (a router)"}
    assert prices.models["openai/gpt-5"].line == 4


def test_csv_prices_per_unit_are_converted_exactly_to_per_token() -> None:
    prices, problems = parse_csv(CSV.read_text(), "prices.csv")
    assert problems == [] and prices is not None
    assert prices.models["gpt-5"].costs == {
        "input": Decimal("0.00000125"),
        "cache_read": Decimal("0.000000125"),
        "output": Decimal("0.00001"),
        "reasoning": Decimal("0.00001"),  # empty cell: reasoning at the output rate
    }
    tiny = prices.models["tiny"]
    assert tiny.provider == "local" and tiny.line == 4
    assert tiny.costs == {
        "input": Decimal("1E-7"),
        "output": Decimal("4E-7"),
        "reasoning": Decimal("8E-7"),
    }
    assert _all_decimal(tiny.costs)


def test_the_shape_is_recognised() -> None:
    assert detect(LITELLM.read_text(), "x.json") == "litellm"
    assert detect(OPENROUTER.read_text(), "x.json") == "openrouter"
    assert detect(CSV.read_text(), "x.csv") == "csv"
    assert detect("model,input\nm,1\n", "snapshot") == "csv"
    assert detect('{"a": 1}', "x.json") is None


@pytest.mark.parametrize(
    ("text", "source", "expected"),
    [
        (
            '{"gpt-5": {"input_cost_per_token": 1e-06,\n  "output_cost_per_token": }}',
            "litellm",
            "snap.json:2:28: not valid JSON: Expecting value",
        ),
        (
            '{"models": [1, 2]}',
            None,
            "snap.json:1: unknown price list shape: expected LiteLLM's "
            "model_prices_and_context_window.json",
        ),
        (
            '{"data": []}',
            "litellm",
            "snap.json:1: this looks like an OpenRouter price list, not litellm (use --source "
            "openrouter)",
        ),
        (
            '{\n "sample_spec": {},\n "gpt-5": {"litellm_provider": "openai",\n'
            '  "input_cost_per_token": "cheap"}}',
            "litellm",
            "snap.json:3: model 'gpt-5': input_cost_per_token: expected a price "
            '(a number ≥ 0), got "cheap"',
        ),
        (
            '{"gpt-5": {"litellm_provider": "openai", "output_cost_per_token": -1e-06}}',
            None,
            "snap.json:1: model 'gpt-5': output_cost_per_token: expected a price (a number ≥ 0), "
            "got -0.000001",
        ),
        (
            '{"data": [\n {"id": "a/b",\n  "pricing": {"prompt": "x", "completion": "1"}}]}',
            "openrouter",
            "snap.json:2: model 'a/b': pricing: prompt: expected a price (a number ≥ 0), got \"x\"",
        ),
        (
            '{"data": [{"name": "no id"}]}',
            "openrouter",
            "snap.json: data[0]: expected a model object with an id",
        ),
    ],
)
def test_bad_json_snapshots_are_located(text: str, source: str | None, expected: str) -> None:
    prices, problems = read_price_list(text, "snap.json", source)  # type: ignore[arg-type]
    assert prices is None or problems
    assert any(str(p).startswith(expected) for p in problems), [str(p) for p in problems]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("model,inptu,output\n", "prices.csv:1:7: unknown column 'inptu'"),
        ("provider,input\n", "prices.csv:1: the header has no 'model' column"),
        ("model,input\ngpt-5,1.5.2\n", "prices.csv:2:7: input: expected a price (a number ≥ 0)"),
        ("model,input\ngpt-5,1\ngpt-5,2\n", "prices.csv:3: model 'gpt-5' is listed twice"),
        ("model,per,input\ngpt-5,per million,1\n", "prices.csv:2:7: per: expected a unit"),
        ("", "prices.csv:1: a CSV price list starts with a header line"),
        (
            "model,per,input\nx,3 tokens,1\n",
            "prices.csv:2:12: input: 1 per 3 tokens is not an exact price per token",
        ),
        ("model,input\nx,1e-999\n", "prices.csv:2:3: input: 1e-999 is out of range"),
    ],
)
def test_bad_csv_is_located(text: str, expected: str) -> None:
    prices, problems = parse_csv(text, "prices.csv")
    assert prices is None or problems
    assert any(str(p).startswith(expected) for p in problems), [str(p) for p in problems]


def test_unknown_csv_column_suggests_the_right_one() -> None:
    _, problems = parse_csv("model,inptu\n", "prices.csv")
    assert "(did you mean 'input'?)" in str(problems[0])
