"""Plan variants (``extends``).

``resolve_extends`` works on located raw YAML before validation: a variant starts as a copy of
its parent (inherited values keep the parent's file:line) and its own top-level keys replace
the parent's. What a subscription is billed on (base plan + overrides) is
``lagoform.model.effective``'s, in the comparison form.
"""

from __future__ import annotations

from typing import Any

from lagoform.catalog.diagnose import suggest
from lagoform.catalog.yamlsrc import LocDict
from lagoform.errors import Problem


def resolve_extends(plans: list[LocDict]) -> tuple[list[LocDict], list[Problem], set[int]]:
    """Each raw plan with its ``extends`` chain merged in; cycles and unknown parents reported.

    Also returns the ids of the raw plans that could not be resolved (not worth validating).
    """
    by_code: dict[str, LocDict] = {}
    for raw in plans:
        code = raw.get("code")
        if isinstance(code, str) and code not in by_code:
            by_code[code] = raw
    resolved: dict[int, LocDict] = {}
    problems: list[Problem] = []
    reported: set[int] = set()

    def resolve(raw: LocDict, chain: list[str]) -> LocDict:
        if id(raw) in resolved:
            return resolved[id(raw)]
        parent_code = raw.get("extends")
        if parent_code is None:
            return raw
        if not isinstance(parent_code, str):
            return raw  # the model reports "expected text"
        code = raw.get("code")
        where = raw.value_loc("extends")
        if parent_code in chain or parent_code == code:
            if id(raw) not in reported:
                reported.add(id(raw))
                cycle = " -> ".join([*chain, str(code), parent_code])
                problems.append(where.problem(f"plan variants form a cycle: {cycle}"))
            return raw
        parent = by_code.get(parent_code)
        if parent is None:
            if id(raw) not in reported:
                reported.add(id(raw))
                problems.append(
                    where.problem(
                        f"plan '{code}' extends unknown plan '{parent_code}'",
                        suggest(parent_code, [c for c in by_code if c != code]),
                    )
                )
            return raw
        base = resolve(parent, [*chain, str(code)])
        merged = base.copy_with()
        merged.loc = raw.loc
        for key, value in raw.items():
            merged[key] = value
            merged.key_locs[key] = raw.key_loc(key)
            merged.value_locs[key] = raw.value_loc(key)
        if "amount" in raw and "scheduled" not in raw:
            # scheduled base fees are the parent's future `amount`: a variant writing its own
            # amount does not inherit them (its own `scheduled:` says its future fees)
            merged.pop("scheduled", None)
        resolved[id(raw)] = merged
        return merged

    out = [resolve(raw, []) if isinstance(raw, LocDict) else raw for raw in plans]
    broken = {
        id(resolved_raw)
        for resolved_raw, raw in zip(out, plans, strict=True)
        if id(raw) in reported or _inherits_broken(raw, by_code, reported)
    }
    return out, problems, broken


def _inherits_broken(raw: LocDict, by_code: dict[str, LocDict], reported: set[int]) -> bool:
    seen: set[int] = set()
    current: Any = raw
    while isinstance(current, LocDict) and id(current) not in seen:
        if id(current) in reported:
            return True
        seen.add(id(current))
        parent = current.get("extends")
        current = by_code.get(parent) if isinstance(parent, str) else None
    return False
