"""The sync configuration (``prices.yaml``): what a provider price list becomes in the catalog.

Read with the catalog's located YAML loader, so every mistake names file:line:col (unknown keys
with a "did you mean"); then checked against the loaded project (the metric, its filter keys and
values, the price tables and plan charges written to). Format: ``docs/pricing-changes/sync.md``.
"""

from __future__ import annotations

import fnmatch
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from lagoform.catalog import BillingPlan, Project
from lagoform.catalog.diagnose import suggest, validate, walk
from lagoform.catalog.models_base import CatalogModel, Code, Text
from lagoform.catalog.models_charge import UnitText
from lagoform.catalog.yamlguard import read_yaml_file
from lagoform.catalog.yamlsrc import LocDict, SourceLocation, parse_yaml
from lagoform.engine.price_sync.snapshot import PRICE_CLASSES, SourceName
from lagoform.errors import CatalogError, ConfigError, Problem

__all__ = ["CONFIG_FILE", "Counting", "ModelRule", "SyncSettings", "Target", "load_settings"]

CONFIG_FILE = "prices.yaml"
PriceClass = Literal[
    "input", "cache_read", "cache_write", "output", "reasoning", "audio_input", "audio_output"
]
assert set(PriceClass.__args__) == set(PRICE_CLASSES)  # type: ignore[attr-defined]


class Target(CatalogModel):
    """Where the prices are written: a price table, or one charge of a plan."""

    price_table: Code | None = None
    plan: Code | None = None
    charge: Code | None = None

    @model_validator(mode="after")
    def _one(self) -> Target:
        if (self.price_table is None) == (self.plan is None):
            raise ValueError("give either price_table, or plan and charge")
        if (self.plan is None) != (self.charge is None):
            raise ValueError("a plan target names its charge too (plan: pro, charge: tokens)")
        return self

    def label(self) -> str:
        if self.price_table is not None:
            return f"price table {self.price_table}"
        return f"plan {self.plan} charge {self.charge}"


class TokenType(CatalogModel):
    """One price of the source, written as the filter entry with these values (plus the model)."""

    price: PriceClass = Field(description="The source's price class.")
    values: dict[Text, Text] = Field(
        min_length=1, description="Filter key -> value of the entry (the model key is added)."
    )
    write_to: tuple[Target, ...] | None = Field(
        default=None, min_length=1, description="Where this type's prices go (default: all's)."
    )

    def label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.values.items())


class _Match(CatalogModel):
    """Models by shell patterns on the source's provider and model id."""

    provider: Text = Field(default="*", description="Provider pattern, e.g. 'openai'.")
    model: Text = Field(default="*", description="Model id pattern, e.g. 'gpt-5*'.")

    def matches(self, provider: str, model: str) -> bool:
        return fnmatch.fnmatchcase(provider, self.provider) and fnmatch.fnmatchcase(
            model, self.model
        )


class ModelRule(_Match):
    """Which models of the source are sold, and at which markup."""

    markup: Decimal | None = Field(default=None, gt=0, description="This rule's markup.")


class Counting(_Match):
    """How your usage records count a provider's tokens: a class counted inside another is
    billed the difference (``reasoning: inside output`` prices reasoning at reasoning − output)."""

    cache_read: Literal["separate", "inside input"] = "separate"
    cache_write: Literal["separate", "inside input"] = "separate"
    audio_input: Literal["separate", "inside input"] = "separate"
    reasoning: Literal["separate", "inside output"] = "separate"
    audio_output: Literal["separate", "inside output"] = "separate"

    def container(self, price: str) -> str | None:
        said = getattr(self, price, "separate")
        return None if said == "separate" else str(said).removeprefix("inside ")


class Rounding(CatalogModel):
    step: Decimal = Field(gt=0, description="Round to a multiple of this, e.g. 0.01.")
    per: UnitText = Field(default="1", description="The unit the step is per, e.g. '1M tokens'.")
    mode: Literal["up", "down", "half_up", "half_even"] = "up"


class SyncSettings(CatalogModel):
    source: SourceName | None = Field(default=None, description="Default for --source.")
    metric: Code = Field(description="The metric whose filter lists the models.")
    model_key: Text = Field(default="model", description="Its filter key naming the model.")
    write_to: tuple[Target, ...] = Field(default=(), description="Where the prices go.")
    token_types: tuple[TokenType, ...] = Field(min_length=1)
    models: tuple[ModelRule, ...] = Field(min_length=1, description="Models sold (first wins).")
    exclude: tuple[Text, ...] = Field(default=(), description="Model id patterns left out.")
    modes: tuple[Text, ...] = Field(
        default=("chat", "completion", "responses"), description="LiteLLM modes read."
    )
    markup: Decimal = Field(default=Decimal(1), gt=0, description="Cost × markup.")
    rounding: Rounding | None = None
    counting: tuple[Counting, ...] = ()

    @field_validator("exclude", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _targets(self) -> SyncSettings:
        if not self.write_to and any(t.write_to is None for t in self.token_types):
            raise ValueError("say where the prices go: write_to (here, or on every token type)")
        return self

    def targets(self) -> list[tuple[Target, tuple[Any, ...], list[int]]]:
        """Each target once: where it is written in the settings, and the indexes of the token
        types it takes."""
        out: dict[Target, tuple[tuple[Any, ...], list[int]]] = {}
        for index, token_type in enumerate(self.token_types):
            found: list[tuple[Target, tuple[Any, ...]]]
            if token_type.write_to is None:
                found = [(t, ("write_to", i)) for i, t in enumerate(self.write_to)]
            else:
                found = [
                    (t, ("token_types", index, "write_to", i))
                    for i, t in enumerate(token_type.write_to)
                ]
            for target, path in found:
                out.setdefault(target, (path, []))[1].append(index)
        return [(target, path, types) for target, (path, types) in out.items()]

    def rule_for(self, provider: str, model: str) -> ModelRule | None:
        if any(fnmatch.fnmatchcase(model, pattern) for pattern in self.exclude):
            return None
        return next((r for r in self.models if r.matches(provider, model)), None)

    def counting_for(self, provider: str, model: str) -> tuple[int, Counting] | None:
        return next(
            ((i, c) for i, c in enumerate(self.counting) if c.matches(provider, model)), None
        )


def load_settings(path: Path, shown: str, project: Project) -> tuple[SyncSettings, LocDict]:
    """The settings in ``path`` checked against ``project``; ``CatalogError`` with every
    located problem (``ConfigError`` when there is no such file)."""
    if not path.exists():
        raise ConfigError(
            f"no sync configuration at {shown}: write one (docs/pricing-changes/sync.md) or "
            "pass --config FILE"
        )
    text, unreadable = read_yaml_file(path, shown)
    if text is None:
        raise CatalogError(unreadable)
    data, problems = parse_yaml(text, shown)
    if problems:
        raise CatalogError(problems)
    if not isinstance(data, LocDict):
        raise CatalogError([Problem("expected a mapping of sync settings", file=shown, line=1)])
    settings, problems = validate(SyncSettings, data, data.loc)
    if settings is None:
        raise CatalogError(problems)
    problems = check_settings(settings, data, project)
    if problems:
        raise CatalogError(problems)
    return settings, data


def check_settings(settings: SyncSettings, data: LocDict, project: Project) -> list[Problem]:
    """Cross-checks against the catalog, each at the line of the config that is wrong."""
    problems: list[Problem] = []

    def at(path: tuple[Any, ...], message: str, hint: str | None = None) -> None:
        where, _, _ = walk(data, path, data.loc)
        problems.append(where.problem(message, hint))

    metric = project.catalog.metric(settings.metric)
    if metric is None:
        codes = [m.code for m in project.catalog.billable_metrics]
        at(
            ("metric",),
            f"no billable metric '{settings.metric}' in the catalog",
            suggest(settings.metric, codes),
        )
        return problems
    keys = dict(metric.filters)
    if settings.model_key not in keys:
        at(
            ("model_key",),
            f"metric '{metric.code}' has no filter '{settings.model_key}'",
            suggest(settings.model_key, keys),
        )
    seen: dict[tuple[tuple[str, str], ...], int] = {}
    for index, token_type in enumerate(settings.token_types):
        for key, value in token_type.values.items():
            where = ("token_types", index, "values", key)
            if key == settings.model_key:
                at(where, f"'{key}' is the model key: the sync writes it")
            elif key not in keys:
                at(where, f"metric '{metric.code}' has no filter '{key}'", suggest(key, keys))
            elif value not in keys[key]:
                at(
                    where,
                    f"'{value}' is not a value of filter '{key}' on metric '{metric.code}'",
                    suggest(value, keys[key]),
                )
        identity = tuple(sorted(token_type.values.items()))
        if identity in seen:
            at(("token_types", index), f"the same values as token_types[{seen[identity]}]")
        seen.setdefault(identity, index)
    for target, path, _ in settings.targets():
        problem = _target_problem(target, project, metric.code)
        if problem is not None:
            at(path, *problem)
    return problems


def _target_problem(target: Target, project: Project, metric: str) -> tuple[str, str | None] | None:
    catalog = project.catalog
    if target.price_table is not None:
        table = next((t for t in catalog.price_tables if t.code == target.price_table), None)
        if table is None:
            codes = [t.code for t in catalog.price_tables]
            return f"no price table '{target.price_table}'", suggest(target.price_table, codes)
        if table.model != "standard" or table.tiers:
            return f"price table '{table.code}' is not a standard filter price list", None
        users = [
            plan
            for plan in catalog.plans
            if any(
                table.code in by_key.get("filters", {}).values()
                for by_key in project.table_sources.get(plan.code, {}).values()
            )
        ]
        return next((_not_usd(p) for p in users if p.currency != "USD"), None)
    plan = catalog.plan(str(target.plan))
    if plan is None:
        return f"no plan '{target.plan}'", suggest(target.plan, [p.code for p in catalog.plans])
    charge = plan.charge(str(target.charge))
    if charge is None:
        return f"plan '{plan.code}' has no charge '{target.charge}'", suggest(
            target.charge, [c.code for c in plan.charges]
        )
    if charge.metric != metric:
        return f"charge '{charge.code}' bills metric '{charge.metric}', not '{metric}'", None
    if charge.model != "standard":
        return f"charge '{charge.code}' is {charge.model}; the sync writes standard prices", None
    if plan.extends is not None:
        return f"plan '{plan.code}' takes its charges from '{plan.extends}': write to it", None
    return _not_usd(plan) if plan.currency != "USD" else None


def _not_usd(plan: BillingPlan) -> tuple[str, str | None]:
    return (
        f"plan '{plan.code}' bills in {plan.currency}; provider price lists are in USD",
        "write to a table or charge of a USD plan",
    )


def location(data: LocDict, *path: Any) -> SourceLocation:
    where, _, _ = walk(data, path, data.loc)
    return where
