"""From provider cost to list price: markup, counting, rounding — exact, in ``Decimal``.

For one model and one token type: ``cost × markup``, expressed in the rounding unit
(``per: 1M tokens``: ``lagoform.model.units`` does the conversion), rounded to a multiple of the
step (up by default). A price class your usage records count *inside* another (``counting``)
is billed the difference of the two rounded prices, so a token counted twice is billed exactly
its own list price in total; Lago's charges cannot be negative, so a difference below zero is a
problem with the way out, never a silent 0. The result stays in the rounding unit; the catalog
writer converts it to the unit each target writes (``Unit.per_unit`` / ``per_scale``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext

from lagoform.catalog.money import decimal_text
from lagoform.catalog.yamlsrc import LocDict
from lagoform.engine.price_sync.settings import Rounding, SyncSettings, location
from lagoform.engine.price_sync.snapshot import EXACT, ModelCosts, PriceList
from lagoform.errors import Problem
from lagoform.model.units import Unit, parse_unit

__all__ = ["Priced", "list_price", "price_models", "rounding_unit"]

ONE_TOKEN = parse_unit("1")


@dataclass(frozen=True)
class Priced:
    """A selected model: its source entry and list price per token type (by the index of the
    type in ``token_types``), in the rounding unit."""

    costs: ModelCosts
    prices: dict[int, Decimal]
    missing: tuple[int, ...]  # token types the source does not price for it


def rounding_unit(rounding: Rounding | None) -> Unit:
    return parse_unit(rounding.per) if rounding is not None else ONE_TOKEN


def list_price(cost: Decimal, markup: Decimal, rounding: Rounding | None) -> Decimal:
    """``cost`` (per token) × ``markup``, in the rounding unit, rounded as configured.

    Exact: the product is computed with room for every digit (costs and settings are bounded
    by ``catalog.numbers``), and the rounding is an integer division with its remainder, so no
    digit is ever lost to ``Decimal``'s context precision."""
    unit = rounding_unit(rounding)
    with localcontext(EXACT):
        value = unit.per_scale(cost * markup)
        if rounding is None:
            return value
        steps, rest = divmod(value, rounding.step)
        if _rounds_up(rounding.mode, steps, rest * 2, rounding.step):
            steps += 1
        return steps * rounding.step


def _rounds_up(mode: str, steps: Decimal, twice_rest: Decimal, step: Decimal) -> bool:
    """Whether a non-negative value of ``steps`` whole steps and a rest goes up a step."""
    if twice_rest == 0:
        return False
    match mode:
        case "up":
            return True
        case "half_up":
            return twice_rest >= step
        case "half_even":
            return twice_rest > step or (twice_rest == step and steps % 2 == 1)
    return False  # down


def price_models(
    prices: PriceList, settings: SyncSettings, data: LocDict
) -> tuple[dict[str, Priced], list[Problem]]:
    """Every model the settings select, priced; problems located in the settings."""
    selected: dict[str, Priced] = {}
    problems: list[Problem] = []
    for name, costs in prices.models.items():
        if prices.source == "litellm" and costs.mode not in settings.modes:
            continue
        rule = settings.rule_for(costs.provider, name)
        if rule is None:
            continue
        markup = rule.markup if rule.markup is not None else settings.markup
        counting = settings.counting_for(costs.provider, name)
        out: dict[int, Decimal] = {}
        missing: list[int] = []
        for index, token_type in enumerate(settings.token_types):
            cls = token_type.price
            if cls not in costs.costs:
                missing.append(index)
                continue
            price = list_price(costs.costs[cls], markup, settings.rounding)
            container = counting[1].container(cls) if counting else None
            if container is not None and counting is not None:
                inner = costs.costs.get(container)
                where = location(data, "counting", counting[0], cls)
                if inner is None:
                    problems.append(
                        where.problem(
                            f"{name}: {cls} is counted inside {container}, but the price list has "
                            f"no {container} price for it"
                        )
                    )
                    continue
                price -= list_price(inner, markup, settings.rounding)
                if price < 0:
                    problems.append(
                        where.problem(
                            f"{name}: {cls} counted inside {container} would be billed "
                            f"{decimal_text(price.normalize())} per "
                            f"{rounding_unit(settings.rounding)} (its price less the {container} "
                            "price), and Lago charges cannot be negative",
                            f"send {cls} tokens apart from {container} in your usage records and "
                            f"say `{cls}: separate`",
                        )
                    )
                    continue
            out[index] = price
        if out:
            selected[name] = Priced(costs, out, tuple(missing))
    return selected, problems
