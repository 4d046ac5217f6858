"""Shared price tables: each table's entries written into the charges that use it.

``resolve_tables`` works on located raw YAML before validation, as ``variants.resolve_extends``
does. A charge's ``filters`` may be ``{table: code}`` or a list mixing ``- table: code`` items
with entries of its own (its own win for the same values map); a filter table may use other
filter tables the same way; a graduated or volume ``properties.tiers`` (a charge's, or a filter
entry's) may be ``{table: code}``. Entries keep their file:line in the table, so a mistake in
one is reported where it is written, with where the table is used (``table_uses``).

Units: a table's prices are per its ``per:``; a filter entry without a ``per:`` of its own gets
the table's, and a table without ``per:`` is read in the unit of whatever uses it. A tier
table's ``per:`` must be the unit in force where it is used.

A table is only a way of writing the same charges: Lago receives the same request bodies, so
moving prices into a table plans nothing.
"""

from __future__ import annotations

from typing import Any, TypeGuard

from lagoform.catalog.checks_charge import Report, check_properties
from lagoform.catalog.checks_units import check_filter_units
from lagoform.catalog.diagnose import suggest, validate
from lagoform.catalog.models_table import TABLE_KEY, PriceTable
from lagoform.catalog.table_uses import Found, TableUses
from lagoform.catalog.yamlsrc import LocDict, LocList, SourceLocation, copy_sequence
from lagoform.errors import Problem
from lagoform.model.units import parse_unit

__all__ = ["check_tables", "own_problems", "resolve_tables"]

TIERED = ("graduated", "volume")
_Entry = tuple[Any, str | None, SourceLocation | None]  # an entry, its table, where it is named


def _is_use(item: Any) -> TypeGuard[LocDict]:
    return isinstance(item, LocDict) and TABLE_KEY in item


def _tier_use(entry: Any) -> bool:
    props = entry.get("properties") if isinstance(entry, LocDict) else None
    return isinstance(props, LocDict) and _is_use(props.get("tiers"))


def _values_key(entry: Any) -> tuple[tuple[str, tuple[str, ...]], ...] | None:
    """A raw filter's values map, keys and values sorted (what makes two filters the same)."""
    values = entry.get("values") if isinstance(entry, dict) else None
    if not isinstance(values, dict):
        return None
    return tuple(
        sorted(
            (str(k), tuple(sorted(str(x) for x in (v if isinstance(v, list) else [v]))))
            for k, v in values.items()
        )
    )


def _located(items: list[Any], where: SourceLocation) -> LocList:
    out = LocList(items, loc=where)
    out.item_locs = [i.loc if isinstance(i, LocDict) else where for i in items]
    return out


def _scale(per: Any) -> int | None:
    """How many units ``per`` prices (None: one unit; a unit that does not parse: None too,
    the model says what a unit looks like)."""
    if per is None:
        return 1
    try:
        return parse_unit(per).scale if isinstance(per, str) else None
    except ValueError:
        return None


def _with(raw: LocDict, key: str, value: Any, source: LocDict | None = None) -> LocDict:
    """``raw`` with ``key`` set; with ``source``, located where ``source`` writes ``key``."""
    out = raw.copy_with(**{key: value})
    if source is not None:
        out.key_locs[key] = source.key_loc(key)
        out.value_locs[key] = source.value_loc(key)
    return out


class _Resolver:
    def __init__(self, tables: list[LocDict]) -> None:
        self.by_code: dict[str, LocDict] = {}
        for raw in tables:
            code = raw.get("code")
            if isinstance(code, str | int) and not isinstance(code, bool):
                self.by_code.setdefault(str(code), raw)
        self.problems: list[Problem] = []
        self.uses = TableUses()
        self._filters: dict[str, list[Any]] = {}  # each filter table's entries, resolved

    def _report(self, where: SourceLocation, message: str, hint: str | None = None) -> None:
        self.problems.append(where.problem(message, hint))

    def _table(self, use: LocDict, chain: tuple[str, ...]) -> tuple[str, LocDict] | None:
        """The table a ``{table: code}`` names, or None (reported: unknown, or a cycle)."""
        for key in use:
            if key != TABLE_KEY:
                self._report(
                    use.key_loc(key),
                    f"unknown key '{key}' beside `table:`",
                    "a `table:` item names a table and nothing else; write entries of your own "
                    "as separate items",
                )
        code, where = use.get(TABLE_KEY), use.value_loc(TABLE_KEY)
        if isinstance(code, int) and not isinstance(code, bool):
            code = str(code)
        if not isinstance(code, str):
            self._report(where, "expected the code of a price table")
            return None
        if code in chain:
            self._report(where, f"price tables form a cycle: {' -> '.join([*chain, code])}")
            return None
        table = self.by_code.get(code)
        if table is None:
            hint = suggest(code, self.by_code)
            if not self.by_code:
                hint = "define it under `price_tables:` in any catalog file"
            self._report(where, f"unknown price table '{code}'", hint)
            return None
        return code, table

    # -- filter tables ----------------------------------------------------------------------

    def _filter_table(
        self, use: LocDict, model: Any, owner: str, chain: tuple[str, ...]
    ) -> tuple[str, list[Any]] | None:
        """The entries of the filter table ``use`` names, each in its unit; None: reported."""
        found = self._table(use, chain)
        if found is None:
            return None
        code, table = found
        where = use.value_loc(TABLE_KEY)
        if "filters" not in table:
            self._report(
                where,
                f"price table '{code}' is a tier list, not filter prices",
                f"name it in a graduated or volume charge's properties: `tiers: {{table: {code}}}`",
            )
            return None
        holds = table.get("model", "standard")
        if isinstance(model, str) and isinstance(holds, str) and holds != model:
            self._report(
                where,
                f"{owner} is {model}; price table '{code}' holds {holds} prices",
                f"use a table whose `model:` is {model}",
            )
            return None
        per = table.get("per")
        return code, [
            _with(e, "per", per, table)
            if isinstance(e, LocDict) and per is not None and "per" not in e
            else e
            for e in self._entries(code, table, chain)
        ]

    def _entries(self, code: str, table: LocDict, chain: tuple[str, ...]) -> list[Any]:
        """A filter table's entries: the tables it uses expanded, tier tables written in."""
        if code not in self._filters:
            model, per = table.get("model", "standard"), table.get("per")
            entries = self._expand(
                table.get("filters"), model, f"price table '{code}'", (*chain, code)
            )
            self._filters[code] = [
                self._entry_tiers(e, model, per, per is not None, (*chain, code))[0]
                for e, _, _ in entries
            ]
        return list(self._filters[code])

    def _expand(self, items: Any, model: Any, owner: str, chain: tuple[str, ...]) -> list[_Entry]:
        """A filters list with each ``table:`` item replaced by that table's entries (the
        list's own entries win for the same values): each entry, its table, where named."""
        if _is_use(items):
            items = [items]
        if not isinstance(items, list):
            return []
        own = {_values_key(i) for i in items if isinstance(i, dict) and not _is_use(i)}
        taken: dict[Any, str] = {}
        out: list[_Entry] = []
        for item in items:
            if not _is_use(item):
                out.append((item, None, None))
                continue
            found = self._filter_table(item, model, owner, chain)
            if found is None:
                continue
            code, entries = found
            site = item.value_loc(TABLE_KEY)
            for entry in entries:
                key = _values_key(entry)
                if key is not None and key in own:
                    continue  # the list's own price wins
                if key is not None and key in taken:
                    if taken[key] != code:
                        self._report(
                            site,
                            f"price tables '{taken[key]}' and '{code}' both price the filter "
                            f"{_show(entry)}",
                            "write the price this list should use as an entry of its own",
                        )
                    continue  # a repeat inside one table is reported where the table is
                if key is not None:
                    taken[key] = code
                out.append((entry, code, site))
        return out

    # -- tier tables ------------------------------------------------------------------------

    def _tiers_for(
        self, props: LocDict, model: Any, per: Any, owner: str, chain: tuple[str, ...]
    ) -> tuple[LocDict, str | None, Any]:
        """``props`` with its ``tiers: {table: code}`` written in: (props, the table's code
        or None when it could not be used (reported), the table's ``per:``). ``per``: the unit
        in force there; ``...``: none is known yet (it then takes the table's)."""
        use = props["tiers"]
        where = use.value_loc(TABLE_KEY)
        if isinstance(model, str) and model not in TIERED:
            self._report(
                where,
                f"{owner} is {model}; a tier table prices graduated and volume charges",
                "give it `model: graduated` or `model: volume`, or prices of its own",
            )
            return props.copy_with(tiers=...), None, None
        found = self._table(use, chain)
        if found is None:
            return _with(props, "tiers", _placeholder(where)), None, None
        code, table = found
        if "tiers" not in table:
            self._report(
                where,
                f"price table '{code}' holds filter prices, not tiers",
                f"name it under the charge's filters: `filters: {{table: {code}}}`",
            )
            return _with(props, "tiers", _placeholder(where)), None, None
        theirs = table.get("per")
        if theirs is not None and per is not ... and _scale(per) not in (None, _scale(theirs)):
            written = "per single unit" if per is None else f"per {per}"
            self._report(
                where,
                f"price table '{code}' prices per {theirs}; {owner} writes its prices {written}",
                f"write `per: {theirs}` on {owner}, or use a table priced {written}",
            )
        return _with(props, "tiers", table.get("tiers")), code, theirs

    def _entry_tiers(
        self, entry: Any, model: Any, per: Any, known: bool, chain: tuple[str, ...]
    ) -> tuple[Any, str | None]:
        """A filter entry with its ``properties.tiers: {table: code}`` written in, and the tier
        table's code (None: none, or reported). ``per``: the unit its list gives it; ``known``
        False: none is known yet (a table without ``per:``), and an entry naming none takes
        the tier table's."""
        if not _tier_use(entry):
            return entry, None
        unit = entry.get("per")
        if unit is None:
            unit = per if known else ...
        props, code, theirs = self._tiers_for(
            entry["properties"], model, unit, "this filter", chain
        )
        out = _with(entry, "properties", props)
        if unit is ... and theirs is not None:
            out = _with(out, "per", theirs, self.by_code[str(code)])
        return out, code

    # -- plans and tables -------------------------------------------------------------------

    def plan(self, raw: LocDict) -> LocDict:
        charges = raw.get("charges")
        if not isinstance(charges, list):
            return raw
        found: Found = {}
        new = [
            self._charge(c, i, found) if isinstance(c, LocDict) else c
            for i, c in enumerate(charges)
        ]
        code = raw.get("code")
        if found and isinstance(code, str | int):
            self.uses.found.setdefault(str(code), found)
        if all(a is b for a, b in zip(new, charges, strict=True)):
            return raw
        return _with(raw, "charges", copy_sequence(charges, new))

    def _charge(self, raw: LocDict, index: int, found: Found) -> LocDict:
        model, per = raw.get("model", "standard"), raw.get("per")
        owner = f"charge '{raw.get('code', raw.get('metric'))}'"
        out = raw
        props = raw.get("properties")
        if _tier_use(raw):
            assert isinstance(props, LocDict)
            site = props["tiers"].value_loc(TABLE_KEY)
            props, code, _ = self._tiers_for(props, model, per, owner, ())
            if code is not None:
                found[(index, "tiers", -1)] = code
                props = _with(props, "tiers", self.uses.through(props["tiers"], code, site))
            out = _with(out, "properties", props)
        filters = raw.get("filters")
        if not _is_use(filters) and not (
            isinstance(filters, list) and any(_is_use(f) or _tier_use(f) for f in filters)
        ):
            return out
        entries = self._expand(filters, model, owner, ())
        resolved = []
        for position, (entry, code, site) in enumerate(entries):
            if code is not None and site is not None:
                found[(index, "filters", position)] = code
                entry = self.uses.through(entry, code, site)
            elif _tier_use(entry):
                site = entry["properties"]["tiers"].value_loc(TABLE_KEY)
                entry, tiers = self._entry_tiers(entry, model, per, True, ())
                if tiers is not None:
                    found[(index, "tiers", position)] = tiers
                    through = self.uses.through(entry["properties"]["tiers"], tiers, site)
                    entry = _with(entry, "properties", _with(entry["properties"], "tiers", through))
            resolved.append(entry)
        where = filters.loc if isinstance(filters, LocDict | LocList) else raw.loc
        return _with(out, "filters", _located(resolved, where))

    def table(self, raw: LocDict) -> LocDict:
        """A table as validated on its own: the tables its filters use written in."""
        code = raw.get("code")
        if not isinstance(code, str | int) or self.by_code.get(str(code)) is not raw:
            return raw  # no code, or a repeated one (reported): nothing uses it
        if "filters" in raw and "tiers" in raw:
            self._report(
                raw.key_loc("tiers"),
                f"price table '{code}' has both tiers and filters",
                "a table is a tier list or a filter price list: split it in two",
            )
        elif "filters" not in raw and "tiers" not in raw:
            self._report(
                raw.loc,
                f"price table '{code}' has neither tiers nor filters",
                "give it `filters:` (a filter price list) or `tiers:` (a tier list)",
            )
        if "tiers" in raw and "model" in raw:
            self._report(
                raw.key_loc("model"),
                "`model:` is for filter tables; a tier table fits graduated and volume charges",
                "remove `model:`",
            )
        tiers = raw.get("tiers")
        if _is_use(tiers):
            self._report(
                tiers.value_loc(TABLE_KEY),
                "a tier table lists its own tiers; it cannot name another table",
                "copy the tiers here, or name the other table where this one is used",
            )
            return _with(raw, "tiers", _placeholder(tiers.loc))
        filters = raw.get("filters")
        if isinstance(filters, LocList):
            self._check_repeats(str(code), filters)
        elif not _is_use(filters):
            return raw
        if not _is_use(filters) and not any(_is_use(f) or _tier_use(f) for f in filters):
            return raw
        return _with(raw, "filters", _located(self._entries(str(code), raw, ()), filters.loc))

    def _check_repeats(self, code: str, filters: list[Any]) -> None:
        seen: dict[Any, int] = {}
        for index, entry in enumerate(filters):
            key = _values_key(entry)
            if key is None or _is_use(entry):
                continue
            if key in seen:
                self._report(
                    entry.value_loc("values"),
                    f"this entry repeats entry #{seen[key] + 1} of price table '{code}' (same "
                    "values); Lago would bill only one of them",
                )
            seen.setdefault(key, index)


def _placeholder(where: SourceLocation) -> LocList:
    """One open tier in place of a tier table that could not be used (already reported), so
    the rest of the charge is still checked."""
    return _located([LocDict(loc=where)], where)


def _show(entry: Any) -> str:
    values = entry.get("values") if isinstance(entry, dict) else None
    if not isinstance(values, dict):
        return "(no values)"
    shown = (
        f"{k}: [{', '.join(map(str, v))}]" if isinstance(v, list) else f"{k}: {v}"
        for k, v in values.items()
    )
    return "{" + ", ".join(shown) + "}"


def resolve_tables(
    tables: list[LocDict], plans: list[LocDict]
) -> tuple[list[LocDict], list[LocDict], list[Problem], TableUses]:
    """(tables, plans) with every ``{table: code}`` written in, the problems found (unknown
    tables, cycles, a table a charge cannot take), and what was used where."""
    resolver = _Resolver(tables)
    out_tables = [resolver.table(raw) for raw in tables]
    out_plans = [resolver.plan(raw) for raw in plans]
    return out_tables, out_plans, resolver.problems, resolver.uses


def check_tables(tables: list[tuple[LocDict, PriceTable]]) -> list[Problem]:
    """What a filter table's prices must be wherever it is used: Lago's rules on prices of its
    model, and prices its ``per:`` divides exactly. (Filter values, tier bounds and a unit the
    table leaves to its user are checked where it is used.)"""
    problems: list[Problem] = []
    for raw, table in tables:
        report = Report(raw, problems)
        for index, entry in enumerate(table.filters or ()):
            check_properties(report, ("filters", index, "properties"), entry.properties)
        check_filter_units(report, ("filters",), table.filters or (), table.per)
    return problems


def own_problems(tables: list[LocDict]) -> list[Problem]:
    """The problems each (resolved) table has on its own (``TableUses.annotate``'s ``own``)."""
    return [p for raw in tables for p in validate(PriceTable, raw, raw.loc)[1]]
