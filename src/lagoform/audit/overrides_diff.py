"""The per-charge structured diff between a base plan and a subscription's override values.

Pure functions over Lago-shaped dicts (a plan as ``GET /plans/{code}`` returns it; overrides as
sent to ``PUT /subscriptions/{id}/charges/{code}``). They follow Lago's override semantics
(API_NOTES §4.5, §5.4, §5.5): only the keys an override carries change; ``properties`` is replaced
wholesale; ``filters`` is batch-replaced (matched by the exact values map; unmatched override
filters are added, base filters absent from the list are dropped). One entry per leaf field:
prices are reviewed field by field, never as free text. Both sides are first put in the
model's comparison form (``lagoform.model``: properties as Lago keeps them for the charge's
model, amounts as canonical decimals, filters identified by their values map), so ``None`` and an
absent key are the same value and ``"0.5"`` and ``"0.50"`` are not a change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from lagoform.audit.record import OverrideDiffEntry, jsonable
from lagoform.errors import PlanError
from lagoform.model.filters import filter_values, key_of_values
from lagoform.model.properties import properties
from lagoform.model.values import dec

# Keys of a charge an override may set (API_NOTES §5.5).
CHARGE_OVERRIDE_FIELDS = (
    "applied_pricing_unit",
    "filters",
    "invoice_display_name",
    "min_amount_cents",
    "properties",
    "tax_codes",
)
# Plan-level keys of ``plan_overrides`` (API_NOTES §5.4).
PLAN_OVERRIDE_FIELDS = (
    "amount_cents",
    "amount_currency",
    "description",
    "invoice_display_name",
    "name",
    "tax_codes",
    "trial_period",
)
_FILTER_FIELDS = ("invoice_display_name", "properties")

FilterValues = dict[str, list[str]]
Change = Literal["changed", "added", "removed"]
Emit = Callable[[str, Any, Any, Change], None]


def _same(base: Any, override: Any) -> bool:
    if base == override:
        return True
    both = isinstance(base, int | str) and isinstance(override, int | str)
    return both and not isinstance(base, bool) and dec(base) == dec(override)


def _properties(model: Any, props: Any) -> Any:
    kind = model if isinstance(model, str) else None
    return properties(kind, props) if isinstance(props, Mapping) else props


def _leaves(path: str, base: Any, override: Any, emit: Emit) -> None:
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        for key in sorted(set(base) | set(override), key=str):
            _leaves(f"{path}.{key}" if path else str(key), base.get(key), override.get(key), emit)
        return
    if isinstance(base, list) and isinstance(override, list) and path != "tax_codes":
        for index in range(max(len(base), len(override))):
            b = base[index] if index < len(base) else None
            o = override[index] if index < len(override) else None
            _leaves(f"{path}[{index}]", b, o, emit)
        return
    if base is None and override is None:
        return
    if base is None:
        _added(path, override, emit)
    elif override is None:
        _removed(path, base, emit)
    elif not _same(base, override):
        emit(path, base, override, "changed")


def _added(path: str, value: Any, emit: Emit) -> None:
    if isinstance(value, Mapping | list) and path != "tax_codes":
        _leaves(path, _empty_like(value), value, emit)
    else:
        emit(path, None, value, "added")


def _removed(path: str, value: Any, emit: Emit) -> None:
    if isinstance(value, Mapping | list) and path != "tax_codes":
        _leaves(path, value, _empty_like(value), emit)
    else:
        emit(path, value, None, "removed")


def _empty_like(value: Any) -> Any:
    return {} if isinstance(value, Mapping) else []


def _filters_by_values(model: Any, filters: Any) -> dict[str, tuple[FilterValues, dict[str, Any]]]:
    out: dict[str, tuple[FilterValues, dict[str, Any]]] = {}
    for item in filters or []:
        values = filter_values(item.get("values") or {})
        body = {k: item.get(k) for k in _FILTER_FIELDS}
        body["properties"] = _properties(model, body["properties"])
        out[key_of_values(values)] = (values, body)
    return out


def _filter_entries(code: str, model: Any, base: Any, override: Any) -> list[OverrideDiffEntry]:
    base_map, over_map = _filters_by_values(model, base), _filters_by_values(model, override)
    entries: list[OverrideDiffEntry] = []
    for key in sorted(set(base_map) | set(over_map)):
        values = (base_map.get(key) or over_map[key])[0]
        emit = _collector(entries, code, values)
        if key not in over_map:
            _removed("", base_map[key][1], emit)
        elif key not in base_map:
            _added("", over_map[key][1], emit)
        else:
            _leaves("", base_map[key][1], over_map[key][1], emit)
    return entries


def _collector(
    entries: list[OverrideDiffEntry], code: str | None, values: FilterValues | None
) -> Emit:
    def emit(path: str, base: Any, override: Any, change: Change) -> None:
        entries.append(
            OverrideDiffEntry(
                charge_code=code,
                filter_values=values,
                field=path,
                base_value=jsonable(base),
                override_value=jsonable(override),
                change=change,
            )
        )

    return emit


def _charge_tax_codes(charge: Mapping[str, Any]) -> Any:
    # Lago's responses carry ``taxes`` (objects); requests carry ``tax_codes``
    if "tax_codes" in charge or "taxes" not in charge:
        return charge.get("tax_codes")
    return [t.get("code") for t in charge.get("taxes") or [] if isinstance(t, Mapping)]


def _tax_codes(value: Any) -> Any:
    # order carries no meaning (replace semantics) and an empty list is the same as none
    return sorted(value) if isinstance(value, list) and value else None


def charge_override_diff(
    base_charge: Mapping[str, Any], override: Mapping[str, Any]
) -> list[OverrideDiffEntry]:
    """Entries for one charge: every leaf the override sets to a value other than the base's."""
    code = str(base_charge.get("code"))
    model = base_charge.get("charge_model")
    entries: list[OverrideDiffEntry] = []
    emit = _collector(entries, code, None)
    for name in sorted(k for k in override if k in CHARGE_OVERRIDE_FIELDS):
        base_value, new_value = base_charge.get(name), override.get(name)
        if name == "filters":
            continue  # after the charge-level fields, below
        if name == "properties":
            base_value = _properties(model, base_value)
            new_value = _properties(model, new_value)
        if name == "tax_codes":
            base_value = _tax_codes(_charge_tax_codes(base_charge))
            new_value = _tax_codes(new_value)
        _leaves(name, base_value, new_value, emit)
    if "filters" in override:
        entries.extend(
            _filter_entries(code, model, base_charge.get("filters"), override["filters"])
        )
    return entries


def _charges_by_code(plan: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(c.get("code")): c for c in plan.get("charges") or []}


def override_items(charges: Any) -> list[tuple[str, Mapping[str, Any]]]:
    """Charge overrides by code, sorted: from ``{code: override}`` or ``[{code, ...}]``."""
    if isinstance(charges, Mapping):
        return sorted((str(k), v) for k, v in charges.items())
    return sorted(((str(c.get("code")), c) for c in charges or []), key=lambda kv: kv[0])


def plan_override_diff(
    base_plan: Mapping[str, Any], overrides: Mapping[str, Any]
) -> list[OverrideDiffEntry]:
    """Entries for a whole override: plan-level fields (``charge_code`` None) then each charge.

    ``overrides`` holds plan-level keys and ``charges``: either ``{charge_code: override}`` or a
    list of overrides each carrying its ``code``. An override for a charge the base plan does not
    have is a PlanError: Lago's override endpoints cannot add charges.
    """
    entries: list[OverrideDiffEntry] = []
    emit = _collector(entries, None, None)
    for name in sorted(k for k in overrides if k in PLAN_OVERRIDE_FIELDS):
        base_value, new_value = base_plan.get(name), overrides.get(name)
        if name == "tax_codes":
            base_value = _tax_codes(_charge_tax_codes(base_plan))
            new_value = _tax_codes(new_value)
        _leaves(name, base_value, new_value, emit)
    base_charges = _charges_by_code(base_plan)
    for code, override in override_items(overrides.get("charges")):
        if code not in base_charges:
            raise PlanError(
                f"override for charge '{code}', which base plan '{base_plan.get('code')}' does "
                "not have; overrides can only change the base plan's charges"
            )
        entries.extend(charge_override_diff(base_charges[code], override))
    return entries


def effective_override_diff(
    base_plan: Mapping[str, Any], effective_plan: Mapping[str, Any]
) -> list[OverrideDiffEntry]:
    """What a subscription's effective plan (``GET /subscriptions/{id}`` → ``plan``) overrides
    relative to its base plan: the "previous override values" of a record, in the same form.
    Charges that exist on only one side show every overridable field as added or removed."""
    entries: list[OverrideDiffEntry] = []
    emit = _collector(entries, None, None)
    for name in ("amount_cents", "description", "invoice_display_name", "name"):
        _leaves(name, base_plan.get(name), effective_plan.get(name), emit)
    base_charges, live_charges = _charges_by_code(base_plan), _charges_by_code(effective_plan)
    for code in sorted(set(base_charges) | set(live_charges)):
        live = live_charges.get(code) or {}
        override = {k: live.get(k) for k in CHARGE_OVERRIDE_FIELDS}
        override["tax_codes"] = _charge_tax_codes(live)
        if "filters" not in live and code in live_charges:
            override.pop("filters")  # a response without filters says nothing about them
        entries.extend(charge_override_diff({**base_charges.get(code, {}), "code": code}, override))
    return entries
