"""Markup, rounding and counting: exact Decimal arithmetic, in the units the YAML writes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lagoform.catalog.yamlsrc import LocDict, parse_yaml
from lagoform.engine.price_sync.compute import list_price, price_models
from lagoform.engine.price_sync.settings import Rounding, SyncSettings
from lagoform.engine.price_sync.snapshot import ModelCosts, PriceList

CENT_PER_1M = Rounding(step=Decimal("0.01"), per="1M tokens", mode="up")


def test_markup_and_rounding_are_exact_where_a_float_is_not() -> None:
    # In binary floating point 1.1e-06 × 1.3 × 1e6 is 1.4300000000000002, which rounds up to
    # 1.44; the exact product is 1.43.
    assert 1.1e-06 * 1.3 * 1e6 > 1.43
    assert list_price(Decimal("1.1e-06"), Decimal("1.3"), CENT_PER_1M) == Decimal("1.43")
    assert list_price(Decimal("1.25e-06"), Decimal("1.3"), CENT_PER_1M) == Decimal("1.63")
    assert list_price(Decimal("1e-05"), Decimal("1.3"), CENT_PER_1M) == Decimal("13.00")


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("up", "1.63"), ("down", "1.62"), ("half_up", "1.63"), ("half_even", "1.62")],
)
def test_rounding_modes(mode: str, expected: str) -> None:
    rounding = Rounding(step=Decimal("0.01"), per="1M tokens", mode=mode)  # type: ignore[arg-type]
    # 1.25 per 1M × 1.3 = 1.625 per 1M: exactly half a cent
    assert list_price(Decimal("0.00000125"), Decimal("1.3"), rounding) == Decimal(expected)


def test_no_digit_is_lost_to_the_decimal_context() -> None:
    # 31 significant digits: Python's default Decimal context (28 digits) would round them
    cost = Decimal("1.234567890123456789012345678901E-6")
    exact = Decimal("1.6049382571604938257160493825713")
    per_1m = Rounding(step=Decimal("1E-31"), per="1M tokens", mode="down")
    assert list_price(cost, Decimal("1.3"), per_1m) == exact
    assert list_price(cost, Decimal("1.3"), None) == Decimal(
        "0.0000016049382571604938257160493825713"
    )
    # a value just under a step stays under it when rounding down, however many digits
    below = Decimal("0.0000016299999999999999999999999999")
    cent = Rounding(step=Decimal("0.01"), per="1M tokens", mode="down")
    assert list_price(below, Decimal(1), cent) == Decimal("1.62")
    assert list_price(below, Decimal(1), CENT_PER_1M) == Decimal("1.63")


def test_half_even_goes_to_the_even_step() -> None:
    even = Rounding(step=Decimal("0.01"), per="1M tokens", mode="half_even")
    assert list_price(Decimal("0.000001635"), Decimal(1), even) == Decimal("1.64")
    assert list_price(Decimal("0.000001645"), Decimal(1), even) == Decimal("1.64")
    assert list_price(Decimal("0.0000016451"), Decimal(1), even) == Decimal("1.65")


def test_other_steps_and_units() -> None:
    per_1k = Rounding(step=Decimal("0.0001"), per="1K tokens", mode="up")
    assert list_price(Decimal("0.00000125"), Decimal("1.3"), per_1k) == Decimal("0.0017")
    nickel = Rounding(step=Decimal("0.05"), per="1M tokens", mode="up")
    assert list_price(Decimal("0.000003"), Decimal("1.3"), nickel) == Decimal("3.90")
    # no rounding: the exact product, per token
    assert list_price(Decimal("0.00000125"), Decimal("1.3"), None) == Decimal("0.000001625")


SETTINGS = """\
metric: llm_tokens
write_to: [{price_table: llm_list}]
token_types:
  - {price: input, values: {token_type: input}}
  - {price: cache_read, values: {token_type: cached_input}}
  - {price: output, values: {token_type: output}}
  - {price: reasoning, values: {token_type: reasoning}}
models:
  - {provider: openai, model: "gpt-*"}
  - {provider: anthropic, model: "*", markup: 1.5}
markup: 1.3
rounding: {step: 0.01, per: 1M tokens}
counting:
  - provider: openai
    reasoning: inside output
    cache_read: {cache}
"""


def _settings(cache: str = "separate") -> tuple[SyncSettings, LocDict]:
    data, problems = parse_yaml(SETTINGS.replace("{cache}", cache), "prices.yaml")
    assert not problems and isinstance(data, LocDict)
    return SyncSettings.model_validate(data), data


def _list(*models: ModelCosts) -> PriceList:
    return PriceList("litellm", "snap.json", {m.model: m for m in models})


GPT = ModelCosts(
    "gpt-5",
    "openai",
    {
        "input": Decimal("0.00000125"),
        "cache_read": Decimal("0.000000125"),
        "output": Decimal("0.00001"),
        "reasoning": Decimal("0.000012"),
    },
    "chat",
)
CLAUDE = ModelCosts(
    "claude",
    "anthropic",
    {"input": Decimal("0.000003"), "output": Decimal("0.000015"), "reasoning": Decimal("0.000015")},
    "chat",
)


def test_rule_markup_counting_and_missing_prices() -> None:
    settings, data = _settings()
    embedding = ModelCosts("gpt-embed", "openai", {"input": Decimal("1e-8")}, "embedding")
    other = ModelCosts("llama", "meta", {"input": Decimal("1e-7")}, "chat")
    priced, problems = price_models(_list(GPT, CLAUDE, embedding, other), settings, data)
    assert problems == []
    assert set(priced) == {"gpt-5", "claude"}  # not an embedding mode, not a meta model
    # reasoning counted inside output: billed the difference 15.60 - 13.00
    assert priced["gpt-5"].prices == {
        0: Decimal("1.63"),
        1: Decimal("0.17"),
        2: Decimal("13.00"),
        3: Decimal("2.60"),
    }
    # the anthropic rule's own markup (1.5); no cache price listed: no cached_input entry
    assert priced["claude"].prices == {0: Decimal("4.50"), 2: Decimal("22.50"), 3: Decimal("22.50")}
    assert priced["claude"].missing == (1,)


def test_a_discount_counted_inside_its_container_cannot_be_billed() -> None:
    settings, data = _settings(cache="inside input")
    priced, problems = price_models(_list(GPT), settings, data)
    (problem,) = problems
    assert str(problem) == (
        "prices.yaml:16:17: gpt-5: cache_read counted inside input would be billed -1.46 per "
        "1M tokens (its price less the input price), and Lago charges cannot be negative "
        "(send cache_read tokens apart from input in your usage records and say "
        "`cache_read: separate`)"
    )
    assert 1 not in priced["gpt-5"].prices


def test_excluded_models_are_not_priced() -> None:
    settings, data = _settings()
    excluded = settings.model_copy(update={"exclude": ("gpt-5*",)})
    priced, _ = price_models(_list(GPT, CLAUDE), excluded, data)
    assert set(priced) == {"claude"}
