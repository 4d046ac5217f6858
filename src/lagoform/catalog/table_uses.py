"""Where shared price tables are used, for problems and for renders.

A table's entries are copied into each charge that uses it with their locations wrapped
(``through``): a problem found there (a filter value the charge's metric lacks, a tier bound
its model refuses, a price its unit cannot hold) still points at the line in the table, and
``TableUses.annotate`` adds where the table is used. ``TableUses.sources`` says which prices of
which plan came from which table, keyed as renders key them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from lagoform.catalog.lago_form import filter_values_body
from lagoform.catalog.yamlsrc import LocDict, LocList, SourceLocation
from lagoform.errors import Problem
from lagoform.model.filters import filter_key

if TYPE_CHECKING:
    from lagoform.catalog.models_plan import BillingPlan

__all__ = ["TableSources", "TableUses"]

# plan code -> charge code -> "filters" | "tiers" -> "" (the charge's tiers) or filter key -> table
TableSources = dict[str, dict[str, dict[str, dict[str, str]]]]
# where a price came from inside one raw plan: (charge index, "filters" | "tiers", filter index,
# or -1 for the charge's own tiers) -> table code
Found = dict[tuple[int, str, int], str]
_Key = tuple[str | None, int | None, int | None, str]  # a problem: where, and what


@dataclass(frozen=True)
class _Through(SourceLocation):
    """A place in a table, as one charge that uses the table sees it: a problem found here is
    noted with the use (``table`` named at ``site``)."""

    table: str = ""
    site: SourceLocation | None = None
    notes: dict[_Key, set[tuple[str, SourceLocation]]] | None = field(
        default=None, compare=False, repr=False
    )

    def problem(self, message: str, hint: str | None = None, *, warning: bool = False) -> Problem:
        if self.notes is not None and self.site is not None:
            key = (self.file, self.line, self.column, message)
            self.notes.setdefault(key, set()).add((self.table, self.site))
        return super().problem(message, hint, warning=warning)


@dataclass
class TableUses:
    """What resolving found: which plan prices came from which table, and what each problem
    found through a table's use should say about that use."""

    found: dict[str, Found] = field(default_factory=dict)  # by plan code
    notes: dict[_Key, set[tuple[str, SourceLocation]]] = field(default_factory=dict)

    def through(self, value: Any, table: str, site: SourceLocation) -> Any:
        """A copy of ``value`` (raw YAML from a table) located as seen through one use."""
        seen: dict[tuple[str, int | None, int | None], SourceLocation] = {}

        def at(loc: SourceLocation) -> SourceLocation:
            # One location object per place: a mapping and its first key share one.
            key = (loc.file, loc.line, loc.column)
            if key not in seen:
                seen[key] = _Through(loc.file, loc.line, loc.column, table, site, self.notes)
            return seen[key]

        def copy(item: Any) -> Any:
            if isinstance(item, LocDict):
                out = LocDict({k: copy(v) for k, v in item.items()}, loc=at(item.loc))
                out.key_locs = {k: at(v) for k, v in item.key_locs.items()}
                out.value_locs = {k: at(v) for k, v in item.value_locs.items()}
                return out
            if isinstance(item, LocList):
                items = LocList([copy(v) for v in item], loc=at(item.loc))
                items.item_locs = [at(v) for v in item.item_locs]
                return items
            return item

        return copy(value)

    def annotate(self, problems: list[Problem], own: list[Problem]) -> list[Problem]:
        """Each problem found through a table's use, with where the table is used (every use
        that finds it); ``own``: the tables' problems on their own, which need no such note."""
        plain = {(p.file, p.line, p.column, p.message) for p in own}
        out = []
        for problem in problems:
            key = (problem.file, problem.line, problem.column, problem.message)
            uses = self.notes.get(key)
            if uses and key not in plain:
                problem = replace(problem, message=f"{problem.message} ({_used(uses)})")
            out.append(problem)
        return out

    def sources(self, plans: tuple[BillingPlan, ...]) -> TableSources:
        """Which prices of each validated plan came from which table, keyed as renders key
        them (a filter by ``model.filters.filter_key``)."""
        out: TableSources = {}
        for plan in plans:
            for (index, what, position), table in self.found.get(plan.code, {}).items():
                if index >= len(plan.charges):
                    continue
                charge = plan.charges[index]
                if position < 0:
                    key = ""
                elif position < len(charge.filters):
                    key = filter_key(filter_values_body(charge.filters[position].values))
                else:
                    continue
                by_charge = out.setdefault(plan.code, {}).setdefault(charge.code, {})
                by_charge.setdefault(what, {})[key] = table
        return out


def _used(uses: set[tuple[str, SourceLocation]]) -> str:
    """``price table 'llm_list', used at catalog/plans.yaml:20:20`` (and where else)."""
    tables = sorted({table for table, _ in uses})
    sites = sorted({site for _, site in uses}, key=lambda s: (s.file, s.line or 0, s.column or 0))
    shown = ", ".join(str(s) for s in sites[:3])
    more = f" and {len(sites) - 3} more" if len(sites) > 3 else ""
    names = ", ".join(f"'{t}'" for t in tables)
    return f"price table{'s' if len(tables) > 1 else ''} {names}, used at {shown}{more}"
