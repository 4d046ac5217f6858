"""Plan versions (``versions:``) and migrations (``migrations:``) in a catalog plan.

A plan entry is its version 1. ``versions:`` adds later ones, each a delta of the version before
it (``extends`` semantics: its top-level keys replace that version's), and marks the one new
subscriptions get (``current:``)::

    - code: pro_monthly            # version 1: Lago plan pro_monthly
      amount: 99.00 USD
      versions:
        current: 2
        2: {amount: 119.00 USD}    # version 2: Lago plan pro_monthly_v2
      migrations:
        - {id: pro-v2, to: 2, who: all, when: end_of_term, decided: 2026-12-07}

``expand_versions`` runs on the located raw plans before variants are resolved: every later
version becomes a plan of its own (code ``<code>_v<N>``, ``extends`` the version before it), so
each version is one Lago plan, validated, diffed and applied like any other. The ``versions``
and ``migrations`` keys never reach the plan model. Which version a subscription is on, and
when a migration moves it, is decided against Lago by ``lagoform.engine.versions``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field, model_validator

from lagoform.catalog.diagnose import suggest, validate
from lagoform.catalog.models_base import CatalogModel, Code
from lagoform.catalog.yamlsrc import LocDict, SourceLocation, loc_of
from lagoform.errors import Problem

__all__ = [
    "Migration",
    "PlanFamily",
    "Who",
    "expand_versions",
    "version_code",
]

VERSION_KEYS = ("versions", "migrations")


def version_code(family: str, number: int) -> str:
    """The Lago plan code of one version: version 1 keeps the plan's own code."""
    return family if number == 1 else f"{family}_v{number}"


class Who(CatalogModel):
    """Which subscriptions a migration moves: those of these tenants, or of tenants carrying
    one of these tags (``tags:`` in the tenant file)."""

    tenants: tuple[Code, ...] = Field(
        default=(), description="Tenant ids (overrides/<tenant>.yaml file names)."
    )
    tags: tuple[Code, ...] = Field(default=(), description="Tenant tags (any of them).")

    @model_validator(mode="after")
    def _something(self) -> Who:
        if not self.tenants and not self.tags:
            raise ValueError("name tenants or tags (or write `who: all`)")
        return self


class Migration(CatalogModel):
    """Moving subscriptions of this plan from older versions to another version."""

    id: Code = Field(description="Names the migration in plans and audit records.")
    to: int = Field(description="The version the subscriptions move to.", ge=1)
    from_: tuple[int, ...] = Field(
        default=(),
        alias="from",
        description="The versions it moves subscriptions off (default: every other version).",
    )
    who: Literal["all"] | Who = Field(
        default="all", description="`all`, or {tenants: [...]} / {tags: [...]}."
    )
    when: Literal["now", "end_of_term"] | dt.date = Field(
        description="`now`, `end_of_term` (the end of the billing period current on "
        "`decided`), or a date (YYYY-MM-DD, UTC).",
        examples=["end_of_term", "2027-01-01"],
    )
    decided: dt.date | None = Field(
        default=None,
        description="With end_of_term: the day the migration was decided; each subscription "
        "moves when the billing period holding that day ends.",
    )

    @model_validator(mode="after")
    def _anchor(self) -> Migration:
        if self.when == "end_of_term" and self.decided is None:
            raise ValueError(
                "end_of_term needs `decided: YYYY-MM-DD` (the day the migration was decided: "
                "each subscription moves when its billing period holding that day ends)"
            )
        if self.when != "end_of_term" and self.decided is not None:
            raise ValueError("`decided` only goes with `when: end_of_term`")
        return self

    def matches(self, tenant: str, tags: tuple[str, ...]) -> bool:
        if self.who == "all":
            return True
        return tenant in self.who.tenants or bool(set(tags) & set(self.who.tags))


@dataclass(frozen=True)
class PlanFamily:
    """A versioned plan: its versions' Lago codes, the current one, its migrations."""

    code: str
    versions: dict[int, str]
    current: int
    migrations: tuple[Migration, ...] = ()
    # where each migration was written (same order), for messages
    migration_locs: tuple[SourceLocation, ...] = field(default=(), compare=False)

    def number_of(self, plan_code: str) -> int | None:
        return next((n for n, c in self.versions.items() if c == plan_code), None)

    @property
    def current_code(self) -> str:
        return self.versions[self.current]


def expand_versions(
    plans: list[LocDict],
) -> tuple[list[LocDict], list[Problem], dict[str, PlanFamily]]:
    """Every raw plan without its ``versions``/``migrations`` keys, followed by one raw plan per
    later version; the problems found; the plan families by their version-1 code."""
    codes = {str(raw.get("code")) for raw in plans if isinstance(raw, LocDict)}
    out: list[LocDict] = []
    problems: list[Problem] = []
    families: dict[str, PlanFamily] = {}
    for raw in plans:
        if not isinstance(raw, LocDict) or not any(k in raw for k in VERSION_KEYS):
            out.append(raw)
            continue
        out.append(raw.copy_with(versions=..., migrations=...))
        code = raw.get("code")
        if not isinstance(code, str):
            continue  # the plan model reports the missing code
        if "extends" in raw and "versions" in raw:
            problems.append(
                raw.key_loc("versions").problem(
                    f"plan '{code}' is a variant (extends); only a plan of its own has versions",
                    "give the parent plan the versions",
                )
            )
            continue
        added, numbers, current = _versions(raw, code, codes, problems)
        out.extend(added)
        migrations, locs = _migrations(raw, code, numbers, problems)
        families[code] = PlanFamily(code, numbers, current, migrations, locs)
    return out, problems, families


def _versions(
    raw: LocDict, code: str, codes: set[str], problems: list[Problem]
) -> tuple[list[LocDict], dict[int, str], int]:
    block = raw.get("versions")
    numbers = {1: code}
    if block is None:
        return [], numbers, 1
    if not isinstance(block, LocDict):
        problems.append(raw.value_loc("versions").problem("expected a mapping under versions"))
        return [], numbers, 1
    deltas: dict[int, LocDict] = {}
    keys: dict[int, object] = {}  # as written, to locate
    for key, value in block.items():
        if key == "current":
            continue
        where = block.key_loc(key)
        number = _number(key)
        if number is None or number < 2:
            problems.append(
                where.problem(
                    f"expected a version number of 2 or more, or `current`, got '{key}'",
                    "version 1 is the plan itself",
                )
            )
            continue
        if not isinstance(value, LocDict):
            problems.append(
                block.value_loc(key).problem(
                    f"expected a mapping for version {number} (the keys that differ from "
                    f"version {number - 1})"
                )
            )
            continue
        for forbidden in ("code", "extends", *VERSION_KEYS):
            if forbidden in value:
                problems.append(
                    value.key_loc(forbidden).problem(
                        f"a version cannot set `{forbidden}`",
                        f"version {number}'s Lago code is {version_code(code, number)}",
                    )
                )
        deltas[number] = value
        keys[number] = key
    for number in sorted(deltas):
        if number - 1 not in numbers:
            problems.append(
                block.key_loc(keys[number]).problem(
                    f"version {number} follows no version {number - 1}: number versions 2, 3, …"
                )
            )
            continue
        numbers[number] = version_code(code, number)
    current = _number(block.get("current", max(numbers)))
    if current is None or current not in numbers:
        problems.append(
            block.value_loc("current").problem(
                f"expected the number of a version of plan '{code}' "
                f"({', '.join(str(n) for n in sorted(numbers))}), got '{block.get('current')}'"
            )
        )
        current = max(numbers)
    added: list[LocDict] = []
    for number in sorted(numbers):
        if number == 1:
            continue
        new_code = numbers[number]
        if new_code in codes:
            problems.append(
                block.key_loc(keys[number]).problem(
                    f"version {number} of plan '{code}' is Lago plan '{new_code}', but the "
                    "catalog already has a plan with that code",
                    "rename that plan",
                )
            )
            continue
        entry = deltas[number].copy_with(code=new_code, extends=numbers[number - 1])
        entry.key_locs.setdefault("extends", block.key_loc(keys[number]))
        entry.value_locs.setdefault("extends", block.key_loc(keys[number]))
        added.append(entry)
    return added, numbers, current


def _number(value: object) -> int | None:
    """A version number as written (YAML keys arrive as text): 2, "2"."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _migrations(
    raw: LocDict, code: str, numbers: dict[int, str], problems: list[Problem]
) -> tuple[tuple[Migration, ...], tuple[SourceLocation, ...]]:
    block = raw.get("migrations")
    if block is None:
        return (), ()
    if not isinstance(block, list):
        problems.append(raw.value_loc("migrations").problem("expected a list under migrations"))
        return (), ()
    found: list[Migration] = []
    locs: list[SourceLocation] = []
    ids: set[str] = set()
    for entry in block:
        start = entry.loc if isinstance(entry, LocDict) else loc_of(block, raw.loc)
        migration, errors = validate(Migration, entry, start)
        problems.extend(errors)
        if migration is None or not isinstance(entry, LocDict):
            continue
        known = ", ".join(str(n) for n in sorted(numbers))
        for number, key in [(migration.to, "to")] + [(n, "from") for n in migration.from_]:
            if number not in numbers:
                problems.append(
                    entry.value_loc(key).problem(
                        f"plan '{code}' has no version {number} (versions: {known})"
                    )
                )
        if migration.id in ids:
            problems.append(
                entry.value_loc("id").problem(f"migration id '{migration.id}' is used twice")
            )
        ids.add(migration.id)
        found.append(migration)
        locs.append(entry.loc)
    return tuple(found), tuple(locs)


def check_migration_targets(
    families: dict[str, PlanFamily], tenants: dict[str, tuple[str, ...]]
) -> list[Problem]:
    """Tenants and tags a migration names must exist (``tenants``: tenant id -> its tags)."""
    problems: list[Problem] = []
    tags = {t for ts in tenants.values() for t in ts}
    for family in families.values():
        for migration, loc in zip(family.migrations, family.migration_locs, strict=True):
            if migration.who == "all":
                continue
            for tenant in migration.who.tenants:
                if tenant not in tenants:
                    problems.append(
                        loc.problem(
                            f"migration '{migration.id}' names unknown tenant '{tenant}'",
                            suggest(tenant, list(tenants)),
                        )
                    )
            for tag in migration.who.tags:
                if tag not in tags:
                    problems.append(
                        loc.problem(
                            f"migration '{migration.id}' names tag '{tag}' that no tenant has",
                            suggest(tag, sorted(tags)) or "add `tags: [...]` to tenant files",
                        )
                    )
    return problems


def family_of(families: dict[str, PlanFamily], plan_code: str) -> PlanFamily | None:
    """The family a plan code belongs to (any of its versions)."""
    for family in families.values():
        if plan_code in family.versions.values():
            return family
    return None


def allow_versions(defs: dict[str, Any]) -> None:
    """The editor schema's plan also takes ``versions`` and ``migrations`` (they never reach
    the plan model: ``expand_versions`` takes them out first)."""
    plan = defs.get("BillingPlan")
    if plan is None:
        return
    migration = Migration.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    for name, definition in migration.pop("$defs", {}).items():
        defs.setdefault(name, definition)
    defs["PlanMigration"] = migration
    plan.setdefault("properties", {})["versions"] = {
        "type": "object",
        "description": "Later versions of this plan (this entry is version 1): each a mapping "
        "of the keys that differ from the version before it; Lago plan code <code>_v<N>.",
        "properties": {
            "current": {
                "type": "integer",
                "minimum": 1,
                "description": "The version new subscriptions get (default: the highest).",
            }
        },
        "patternProperties": {"^[0-9]+$": {"$ref": "#/$defs/BillingPlan"}},
        "additionalProperties": False,
    }
    plan["properties"]["migrations"] = {
        "type": "array",
        "description": "Moves of this plan's subscriptions to another version.",
        "items": {"$ref": "#/$defs/PlanMigration"},
    }
