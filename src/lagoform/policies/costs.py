"""Which cost entries a charge filter may price, and which some filter surely prices.

A cost entry's ``values`` name filter values (``*``, or a key left out: any value); a charge
filter's values (Lago's form, ``__ALL_FILTER_VALUES__`` for any) select events. A filter *may*
price an entry when, on every key both name, their values meet; it *surely* prices it when the
entry names that key with values all inside the filter's. The entries are indexed by key and
value once, so a price list of hundreds of models × token types is matched in about linear
time rather than filters × entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from lagoform.catalog.models_charge import WILDCARD
from lagoform.catalog.models_policy import CostEntry
from lagoform.model.filters import ALL_FILTER_VALUES

__all__ = ["CostIndex"]


class CostIndex:
    def __init__(self, entries: Sequence[CostEntry]) -> None:
        self.entries = tuple(entries)
        everyone = set(range(len(self.entries)))
        self._all = frozenset(everyone)
        keys = {k for e in self.entries for k in e.values}
        # key -> entries that do not constrain it (left out, or "*")
        self._open: dict[str, set[int]] = {k: set() for k in keys}
        # key -> value -> entries naming that value for the key
        self._by: dict[str, dict[str, set[int]]] = {k: {} for k in keys}
        for index, entry in enumerate(self.entries):
            for key in keys:
                values = entry.values.get(key)
                if values is None or WILDCARD in values:
                    self._open[key].add(index)
                    continue
                for value in values:
                    self._by[key].setdefault(value, set()).add(index)

    def _constrained(self, values: Mapping[str, Iterable[str]]) -> list[tuple[str, set[str]]]:
        out = []
        for key, raw in values.items():
            allowed = set(raw)
            if ALL_FILTER_VALUES not in allowed:
                out.append((key, allowed))
        return out

    def may(self, values: Mapping[str, Iterable[str]]) -> list[CostEntry]:
        """The entries a filter with ``values`` may price."""
        found = set(self._all)
        for key, allowed in self._constrained(values):
            if key not in self._by:
                continue  # no entry names the key: any of them may have any value
            meet = set(self._open[key])
            for value in allowed:
                meet |= self._by[key].get(value, set())
            found &= meet
        return [self.entries[i] for i in sorted(found)]

    def surely(self, values: Mapping[str, Iterable[str]]) -> set[int]:
        """The entries (by index) a filter with ``values`` prices every event of."""
        found = set(self._all)
        for key, allowed in self._constrained(values):
            inside: set[int] = set()
            for value in allowed:
                inside |= self._by.get(key, {}).get(value, set())
            # an entry naming several values is inside only when all of them are
            found &= {i for i in inside if set(self.entries[i].values[key]) <= allowed}
        return found

    def uncovered(self, filters: Iterable[Mapping[str, Iterable[str]]]) -> list[CostEntry]:
        """The entries no filter surely prices: the charge's own price bills them."""
        covered: set[int] = set()
        for values in filters:
            covered |= self.surely(values)
        return [e for i, e in enumerate(self.entries) if i not in covered]
