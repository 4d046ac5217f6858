"""Where a price is written: the YAML line a policy finding points at, and the mappings around it.

A plan's price is in its catalog file (a variant's inherited price at its parent's line, where
it is written); a negotiated price in the tenant's file under its subscription's
``overrides:``. ``Spot`` keeps the chain of mappings from the object down to the price (plan →
charge → filter) so a rule can read a key written at any of them (``effective:``, see
``notice``). Charge filters are YAML list items matched by their values, as Lago matches them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lagoform.catalog.models_charge import WILDCARD
from lagoform.catalog.project import Project
from lagoform.catalog.yamlsrc import LocDict, LocList, SourceLocation
from lagoform.model.filters import ALL_FILTER_VALUES, filter_key

__all__ = ["Locator", "Spot"]


@dataclass(frozen=True)
class Spot:
    """A place in the YAML: its location and the mappings enclosing it, outermost first."""

    loc: SourceLocation
    chain: tuple[LocDict, ...] = ()

    def __str__(self) -> str:
        # file:line: a reviewer jumps to the line; the column adds nothing to a finding
        return f"{self.loc.file}:{self.loc.line}" if self.loc.line else self.loc.file


def _key(values: Any) -> str | None:
    if not isinstance(values, dict):
        return None
    lago = {
        k: [ALL_FILTER_VALUES if x == WILDCARD else x for x in (v if isinstance(v, list) else [v])]
        for k, v in values.items()
    }
    return filter_key(lago)


def _charge(charges: Any, code: str) -> LocDict | None:
    if not isinstance(charges, LocList):
        return None
    for item in charges:
        if isinstance(item, LocDict) and item.get("code", item.get("metric")) == code:
            return item
    return None


def _field_loc(node: LocDict, field: str | None) -> SourceLocation:
    """The line of the field in ``node`` (``amount_cents`` is written ``amount``; a price
    derived from a discount, at the discount)."""
    for name in (field, "amount" if field == "amount_cents" else None, "properties", "discount"):
        if name and name in node:
            return node.key_loc(name)
    return node.loc


def _values_of(key: str) -> dict[str, set[str]]:
    """``model=m01;type=input|output`` → ``{"model": {"m01"}, "type": {"input", "output"}}``."""
    out: dict[str, set[str]] = {}
    for part in key.split(";") if key else ():
        name, _, values = part.partition("=")
        out[name] = set(values.split("|"))
    return out


def _takes_in(broad: dict[str, set[str]], narrow: dict[str, set[str]]) -> bool:
    return all(
        ALL_FILTER_VALUES in values or (k in narrow and narrow[k] <= values)
        for k, values in broad.items()
    )


class Locator:
    """Finds prices in one project's YAML. Each filter list is indexed by filter key once: a
    price list of hundreds of models is located in linear time, not quadratic."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._items = {(i.kind, i.code): i.raw for i in reversed(project.items)}
        # id of a filter list -> (the list, kept alive so its id stays its own; key -> filter)
        self._filters: dict[int, tuple[LocList, dict[str, LocDict]]] = {}

    def _filter(self, filters: Any, key: str) -> LocDict | None:
        if not isinstance(filters, LocList):
            return None
        found = self._filters.get(id(filters))
        if found is None or found[0] is not filters:
            index: dict[str, LocDict] = {}
            for item in filters:
                if isinstance(item, LocDict) and (k := _key(item.get("values"))) is not None:
                    index.setdefault(k, item)
            found = self._filters[id(filters)] = (filters, index)
        exact = found[1].get(key)
        if exact is not None:
            return exact
        # a price derived from a broader entry (an override's `{model: m01}` discount): the
        # first entry whose values take in the filter's
        wanted = _values_of(key)
        return next((f for k, f in found[1].items() if _takes_in(_values_of(k), wanted)), None)

    def _descend(
        self, root: LocDict, charge: str | None, key: str | None, field: str | None
    ) -> Spot:
        chain = [root]
        node = root
        if charge is not None:
            found = _charge(root.get("charges"), charge)
            if found is None:
                return Spot(root.loc, tuple(chain))
            node = found
            chain.append(node)
            flt = self._filter(node.get("filters"), key) if key is not None else None
            if flt is not None:
                node = flt
                chain.append(node)
        return Spot(_field_loc(node, field), tuple(chain))

    def plan(
        self,
        plan: str,
        charge: str | None = None,
        key: str | None = None,
        field: str | None = None,
    ) -> Spot:
        """Where plan ``plan``'s price (a charge's, one of its filters' by key, or ``field`` of
        the plan itself such as ``amount_cents``) is written."""
        root = self._items.get(("plan", plan))
        if root is None:
            return Spot(SourceLocation("catalog"))
        return self._descend(root, charge, key, field)

    def subscription(
        self,
        subscription: str,
        charge: str | None = None,
        key: str | None = None,
        field: str | None = None,
    ) -> Spot:
        """Where a subscription's negotiated price is written (its tenant file's
        ``overrides:``); the subscription entry itself when it negotiates nothing there."""
        for tenant, sub in self.project.subscriptions():
            if sub.external_id != subscription:
                continue
            raw = self._items.get(("tenant", tenant.external_id))
            subs = raw.get("subscriptions") if raw is not None else None
            entry = next(
                (
                    s
                    for s in subs or ()
                    if isinstance(s, LocDict) and s.get("external_id") == subscription
                ),
                None,
            )
            if entry is None:
                break
            overrides = entry.get("overrides")
            if not isinstance(overrides, LocDict):
                return Spot(entry.loc, (entry,))
            charges = overrides.get("charges")
            node: LocDict = overrides
            chain = [entry, overrides]
            if (
                charge is not None
                and isinstance(charges, LocDict)
                and isinstance(charges.get(charge), LocDict)
            ):
                node = charges[charge]
                chain.append(node)
                flt = self._filter(node.get("filters"), key) if key is not None else None
                if flt is not None:
                    node = flt
                    chain.append(node)
            return Spot(_field_loc(node, field), tuple(chain))
        return Spot(SourceLocation("overrides"))
