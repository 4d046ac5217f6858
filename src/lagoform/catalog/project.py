"""Load a project (catalog/ + overrides/) into validated models, collecting every problem.

Steps: parse every YAML file with locations, gather items by kind, resolve plan variants,
validate each item, type override properties by their base charge's model, then run the
cross-checks. Any problem anywhere raises one ``CatalogError`` carrying all of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lagoform.catalog.diagnose import suggest, validate, walk
from lagoform.catalog.models_charge import with_model
from lagoform.catalog.models_metric import BillableMetric, Tax
from lagoform.catalog.models_plan import AddOn, BillingPlan, Coupon, Removal
from lagoform.catalog.models_table import PriceTable
from lagoform.catalog.models_tenant import Subscription, Tenant
from lagoform.catalog.models_usage import UsageMapping
from lagoform.catalog.table_uses import TableSources
from lagoform.catalog.tables import check_tables, own_problems, resolve_tables
from lagoform.catalog.variants import resolve_extends
from lagoform.catalog.versions import PlanFamily, check_migration_targets, expand_versions
from lagoform.catalog.yamlguard import read_yaml_file
from lagoform.catalog.yamlsrc import LocDict, LocList, SourceLocation, copy_mapping, parse_yaml
from lagoform.errors import CatalogError, Problem, sort_problems

# YAML list key -> (kind used by ``Project.locate``, model)
KINDS: dict[str, tuple[str, type[Any]]] = {
    "taxes": ("tax", Tax),
    "billable_metrics": ("billable_metric", BillableMetric),
    "add_ons": ("add_on", AddOn),
    "price_tables": ("price_table", PriceTable),
    "plans": ("plan", BillingPlan),
    "coupons": ("coupon", Coupon),
    "usage_mappings": ("usage_mapping", UsageMapping),
}
TOP_LEVEL_KEYS = (*KINDS, "remove")
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Item:
    """One catalog object: where it was written, its raw located data, and its model."""

    kind: str
    code: str | None
    raw: LocDict
    model: Any = None


@dataclass(frozen=True)
class Catalog:
    taxes: tuple[Tax, ...] = ()
    billable_metrics: tuple[BillableMetric, ...] = ()
    add_ons: tuple[AddOn, ...] = ()
    plans: tuple[BillingPlan, ...] = ()
    coupons: tuple[Coupon, ...] = ()
    usage_mappings: tuple[UsageMapping, ...] = ()
    remove: Removal = field(default_factory=Removal)
    price_tables: tuple[PriceTable, ...] = ()

    def tax(self, code: str) -> Tax | None:
        return next((t for t in self.taxes if t.code == code), None)

    def metric(self, code: str) -> BillableMetric | None:
        return next((m for m in self.billable_metrics if m.code == code), None)

    def add_on(self, code: str) -> AddOn | None:
        return next((a for a in self.add_ons if a.code == code), None)

    def plan(self, code: str) -> BillingPlan | None:
        return next((p for p in self.plans if p.code == code), None)

    def coupon(self, code: str) -> Coupon | None:
        return next((c for c in self.coupons if c.code == code), None)

    def usage_mapping(self, record_type: str) -> UsageMapping | None:
        return next((u for u in self.usage_mappings if u.record_type == record_type), None)


@dataclass(frozen=True)
class Project:
    """A validated project: the catalog, the tenants, and where each thing was written."""

    root: Path
    catalog: Catalog
    tenants: tuple[Tenant, ...]
    items: tuple[Item, ...] = ()
    warnings: tuple[Problem, ...] = ()  # valid, but likely mistakes (``Problem.warning``)
    # Which plan prices came from which shared price table (``tables.TableSources``).
    table_sources: TableSources = field(default_factory=dict)
    # Versioned plans (``versions:``/``migrations:``) by their version-1 code.
    plan_versions: dict[str, PlanFamily] = field(default_factory=dict)

    def tenant(self, external_id: str) -> Tenant | None:
        return next((t for t in self.tenants if t.external_id == external_id), None)

    def subscriptions(self) -> Iterator[tuple[Tenant, Subscription]]:
        for tenant in self.tenants:
            for subscription in tenant.subscriptions:
                yield tenant, subscription

    def locate(self, kind: str, code: str, *path: str | int) -> SourceLocation:
        """Where ``kind``/``code`` (and optionally a path inside it) is written.

        ``kind`` is tax, billable_metric, add_on, plan, coupon, usage_mapping or tenant. Path
        parts name mapping keys, list indexes, or list items by code/external_id/key, e.g.
        ``locate("plan", "pro_monthly", "charges", "tokens", "properties")``. A path ending
        in a mapping key gives the key's position; anything not found gives the closest parent.
        """
        for item in self.items:
            if item.kind == kind and item.code == code:
                location, _, found = walk(item.raw, path, item.raw.loc)
                if found and path and isinstance(path[-1], str):
                    _, parent, _ = walk(item.raw, path[:-1], item.raw.loc)
                    if isinstance(parent, LocDict) and path[-1] in parent:
                        return parent.key_loc(path[-1])  # the `key:` line reads best
                return location
        return SourceLocation(str(self.root))


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _yaml_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())


def _read(path: Path, root: Path, problems: list[Problem]) -> tuple[Any, bool]:
    """(data, ok): ok is False when the file could not be read or parsed (already reported)."""
    name = _rel(path, root)
    text, unreadable = read_yaml_file(path, name)
    if text is None:
        problems.extend(unreadable)
        return None, False
    data, found = parse_yaml(text, name)
    problems.extend(found)
    return (None, False) if found else (data, True)


def _gather_catalog(
    root: Path, problems: list[Problem]
) -> tuple[dict[str, list[LocDict]], list[LocDict]]:
    raw: dict[str, list[LocDict]] = {key: [] for key in KINDS}
    removals: list[LocDict] = []
    catalog_dir = root / "catalog"
    if not catalog_dir.is_dir():
        problems.append(Problem(f"no catalog/ directory under {root}", file=str(root)))
    for path in _yaml_files(catalog_dir):
        data, _ = _read(path, root, problems)
        name = _rel(path, root)
        if data is None:
            continue
        if not isinstance(data, LocDict):
            problems.append(
                SourceLocation(name, 1, 1).problem(
                    f"expected a mapping with any of {', '.join(TOP_LEVEL_KEYS)}"
                )
            )
            continue
        for key, value in data.items():
            where = data.key_loc(key)
            if key == "remove":
                if isinstance(value, LocDict):
                    removals.append(value)
                elif value is not None:
                    problems.append(data.value_loc(key).problem("expected a mapping under remove"))
                continue
            if key not in KINDS:
                problems.append(
                    where.problem(f"unknown top-level key '{key}'", suggest(key, TOP_LEVEL_KEYS))
                )
                continue
            if value is None:
                continue
            if not isinstance(value, LocList):
                problems.append(data.value_loc(key).problem(f"expected a list under {key}"))
                continue
            for index, item in enumerate(value):
                if isinstance(item, LocDict):
                    raw[key].append(item)
                else:
                    problems.append(
                        value.item_loc(index).problem(
                            f"expected a mapping for each entry of {key}, got a "
                            f"{'list' if isinstance(item, list) else 'value'}"
                        )
                    )
    return raw, removals


def _code_of(kind: str, raw: LocDict) -> str | None:
    key = "record_type" if kind == "usage_mapping" else "code"
    value = raw.get(key)
    return value if isinstance(value, str) else None


def _charge_models(plans: list[LocDict]) -> dict[str, dict[str, str]]:
    """plan code -> charge code -> charge model, from raw (resolved) plans."""
    out: dict[str, dict[str, str]] = {}
    for raw in plans:
        code = raw.get("code")
        charges = raw.get("charges")
        if not isinstance(code, str) or code in out:
            continue
        models: dict[str, str] = {}
        for charge in charges if isinstance(charges, list) else []:
            if isinstance(charge, dict):
                charge_code = charge.get("code", charge.get("metric"))
                if isinstance(charge_code, str):
                    models.setdefault(charge_code, str(charge.get("model", "standard")))
        out[code] = models
    return out


def _type_overrides(raw: LocDict, models: dict[str, dict[str, str]]) -> LocDict:
    """Write each override charge's base model into its properties (so they get typed)."""
    subs = raw.get("subscriptions")
    if not isinstance(subs, list):
        return raw
    new_subs = []
    for sub in subs:
        overrides = sub.get("overrides") if isinstance(sub, dict) else None
        charges = overrides.get("charges") if isinstance(overrides, dict) else None
        plan_code = sub.get("plan") if isinstance(sub, dict) else None
        plan_models = models.get(plan_code, {}) if isinstance(plan_code, str) else {}
        if not isinstance(charges, dict) or not isinstance(overrides, dict):
            new_subs.append(sub)
            continue
        new_charges = copy_mapping(charges)
        for code, override in charges.items():
            model = plan_models.get(code)
            if not isinstance(override, dict):
                continue
            typed = copy_mapping(override)
            if model is None:
                # Unknown plan or charge (reported by the checks): its prices cannot be typed.
                typed.pop("properties", None)
                typed.pop("filters", None)
                new_charges[code] = typed
                continue
            if "properties" in typed:
                typed["properties"] = with_model(typed["properties"], model)
            filters = typed.get("filters")
            if isinstance(filters, list):
                typed["filters"] = _typed_filters(filters, model)
            new_charges[code] = typed
        new_overrides = copy_mapping(overrides)
        new_overrides["charges"] = new_charges
        new_sub = copy_mapping(sub)
        new_sub["overrides"] = new_overrides
        new_subs.append(new_sub)
    out = raw.copy_with()
    typed_subs = LocList(new_subs, loc=subs.loc) if isinstance(subs, LocList) else new_subs
    if isinstance(subs, LocList) and isinstance(typed_subs, LocList):
        typed_subs.item_locs = list(subs.item_locs)
    out["subscriptions"] = typed_subs
    return out


def _typed_filters(filters: list[Any], model: str) -> list[Any]:
    out = LocList(loc=filters.loc) if isinstance(filters, LocList) else []
    for item in filters:
        if isinstance(item, dict) and "properties" in item:  # a discount entry has none
            item = copy_mapping(item)
            item["properties"] = with_model(item.get("properties"), model)
        out.append(item)
    if isinstance(filters, LocList) and isinstance(out, LocList):
        out.item_locs = list(filters.item_locs)
    return out


def _load_tenants(
    root: Path, models: dict[str, dict[str, str]], problems: list[Problem]
) -> list[Item]:
    items = []
    for path in _yaml_files(root / "overrides"):
        name = _rel(path, root)
        data, ok = _read(path, root, problems)
        if not ok:
            continue
        if data is None:
            problems.append(
                SourceLocation(name, 1, 1).problem("empty tenant file: expected a customer")
            )
            continue
        if not isinstance(data, LocDict):
            problems.append(
                SourceLocation(name, 1, 1).problem(
                    "expected a mapping with customer, subscriptions and wallets"
                )
            )
            continue
        if "external_id" in data:
            problems.append(
                data.key_loc("external_id").problem(
                    "unknown key 'external_id'", "the tenant id is the file name"
                )
            )
            continue
        typed = _type_overrides(data, models).copy_with(external_id=path.stem)
        tenant, found = validate(Tenant, typed, typed.loc)
        problems.extend(found)
        items.append(Item("tenant", path.stem, typed, tenant))
    return items


def load_project(root: Path) -> Project:
    """Load and validate ``root``/catalog and ``root``/overrides; raise ``CatalogError``."""
    from lagoform.catalog.checks import check_project

    root = Path(root)
    problems: list[Problem] = []
    raw, removals = _gather_catalog(root, problems)
    raw["plans"], version_problems, families = expand_versions(raw["plans"])
    problems.extend(version_problems)
    raw["plans"], variant_problems, unresolved = resolve_extends(raw["plans"])
    problems.extend(variant_problems)
    raw["price_tables"], raw["plans"], table_problems, uses = resolve_tables(
        raw["price_tables"], raw["plans"]
    )
    problems.extend(table_problems)
    items: list[Item] = []
    for key, (kind, model) in KINDS.items():
        for entry in raw[key]:
            if id(entry) in unresolved:  # its `extends` is already reported
                items.append(Item(kind, _code_of(kind, entry), entry, None))
                continue
            value, found = validate(model, entry, entry.loc)
            problems.extend(found)
            items.append(Item(kind, _code_of(kind, entry), entry, value))
    removal = Removal()
    merged: dict[str, list[Any]] = {}
    for entry in removals:
        value, found = validate(Removal, entry, entry.loc)
        problems.extend(found)
        if value is not None:
            for key in Removal.model_fields:
                merged.setdefault(key, []).extend(getattr(value, key))
    if merged:
        removal = Removal.model_validate(merged)
    tenant_items = _load_tenants(root, _charge_models(raw["plans"]), problems)

    def models(kind: str) -> tuple[Any, ...]:
        return tuple(i.model for i in items if i.kind == kind and i.model is not None)

    catalog = Catalog(
        taxes=models("tax"),
        billable_metrics=models("billable_metric"),
        add_ons=models("add_on"),
        plans=models("plan"),
        coupons=models("coupon"),
        usage_mappings=models("usage_mapping"),
        remove=removal,
        price_tables=models("price_table"),
    )
    project = Project(
        root=root,
        catalog=catalog,
        tenants=tuple(i.model for i in tenant_items if i.model is not None),
        items=(*items, *tenant_items),
        table_sources=uses.sources(catalog.plans),
        plan_versions=families,
    )
    problems.extend(check_project(project, removals))
    problems.extend(
        check_migration_targets(families, {t.external_id: t.tags for t in project.tenants})
    )
    tables = check_tables([(i.raw, i.model) for i in items if isinstance(i.model, PriceTable)])
    problems.extend(tables)
    if uses.notes:
        problems = uses.annotate(problems, [*tables, *own_problems(raw["price_tables"])])
    if any(not p.warning for p in problems):
        raise CatalogError(_dedupe(problems))  # warnings too: every finding in one run
    return replace(project, warnings=tuple(sort_problems(_dedupe(problems))))


def _dedupe(problems: list[Problem]) -> list[Problem]:
    # A parent plan's mistake is inherited by its variants: report it once, at its line.
    seen: set[tuple[Any, ...]] = set()
    out = []
    for p in problems:
        key = (p.file, p.line, p.column, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out
