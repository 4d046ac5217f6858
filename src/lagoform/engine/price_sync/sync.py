"""``lagoform prices sync``: a provider price list written into the catalog as a reviewable change.

``sync_prices`` is the whole decision, without writing: which models the list adds, which it
no longer has (retired through ``remove.filter_values``), which prices move, and the new text of
every file that changes. ``write_result`` checks that the project still loads with those texts
(in a scratch copy) before it writes them; Lago is never called — the change goes through
``lagoform plan`` and review like any other.
"""

from __future__ import annotations

import fnmatch
import shutil
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal, Inexact, localcontext
from pathlib import Path

from ruamel.yaml.comments import CommentedSeq

from lagoform.catalog import ChargeFilter, Project, load_project
from lagoform.catalog.models_charge import StandardProperties, unit_of
from lagoform.catalog.yaml_edit import item_of
from lagoform.catalog.yamlsrc import LocDict, SourceLocation
from lagoform.engine.price_sync.catalog_edit import (
    Files,
    add_entry,
    add_metric_values,
    amount_like,
    node_of,
    retire_models,
    sync_entries,
    unretire,
)
from lagoform.engine.price_sync.compute import Priced, price_models, rounding_unit
from lagoform.engine.price_sync.settings import SyncSettings, Target, location
from lagoform.engine.price_sync.snapshot import EXACT, PriceList
from lagoform.errors import CatalogError, Problem
from lagoform.model.filters import filter_key
from lagoform.model.units import Unit, parse_unit

__all__ = ["PriceChange", "SyncResult", "check_result", "sync_prices", "write_result"]

ONE = parse_unit("1 token")


@dataclass(frozen=True)
class PriceChange:
    """One price of one model in one target: ``old`` None is a new price, ``new`` None a
    price the list no longer has (kept as written)."""

    target: str
    model: str
    token_type: str
    old: Decimal | None
    new: Decimal | None
    unit: str


@dataclass
class SyncResult:
    source: str
    snapshot: str
    selected: int = 0
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)  # retired models the list has again
    changes: list[PriceChange] = field(default_factory=list)
    kept: list[PriceChange] = field(default_factory=list)
    unchanged: int = 0
    texts: dict[str, str] = field(default_factory=dict)  # relative path -> new text

    @property
    def changed(self) -> bool:
        return bool(self.texts)

    def repriced(self) -> list[str]:
        moved = {c.model for c in self.changes if c.old is not None}
        return sorted(moved - set(self.added))


@dataclass
class _Target:
    target: Target
    filters: CommentedSeq
    per: Unit | None
    written: dict[str, ChargeFilter]  # the model's filters, by filter_key


def sync_prices(
    project: Project, settings: SyncSettings, data: LocDict, prices: PriceList
) -> SyncResult:
    """Everything the sync would change (see module doc); ``CatalogError`` on a problem."""
    priced, problems = price_models(prices, settings, data)
    if not priced and not problems:
        problems.append(
            location(data, "models").problem(
                f"the price list {prices.file} has no model these rules select; "
                "nothing was changed",
                "check the rules' provider and model patterns against the list",
            )
        )
    files = Files(project.root)
    targets = [
        (_resolve(files, project, target, location(data, *path), problems), path, types)
        for target, path, types in settings.targets()
    ]
    if problems:
        raise CatalogError(problems)
    result = SyncResult(prices.source, prices.file, selected=len(priced))
    metric = project.catalog.metric(settings.metric)
    assert metric is not None  # checked with the settings
    listed = [str(v) for v in dict(metric.filters).get(settings.model_key, ())]
    retired = {
        value
        for entry in project.catalog.remove.filter_values
        if entry.metric == settings.metric
        for value in entry.values.get(settings.model_key, ())
    }
    managed = {m for m in listed if _managed(settings, m)}
    result.added = sorted(set(priced) - set(listed))
    result.removed = sorted(managed - set(priced) - retired)
    result.restored = sorted(retired & set(priced))
    for target, path, types in targets:
        if target is not None:
            where = location(data, *path)
            _write_prices(result, settings, where, target, types, priced, problems)
    if problems:
        raise CatalogError(problems)
    metric_file = _file_of(project, "billable_metric", settings.metric)
    metric_node = node_of(files, metric_file, "billable_metrics", settings.metric)
    assert metric_node is not None
    add_metric_values(metric_node, settings.model_key, result.added)
    if result.restored:
        unretire(files, settings.metric, settings.model_key, set(result.restored))
    if result.removed:
        retire_models(files, metric_file, settings.metric, settings.model_key, result.removed)
    result.texts = files.changed()
    return result


def _managed(settings: SyncSettings, model: str) -> bool:
    """A catalog model the sync answers for: one a rule's model pattern matches."""
    if any(fnmatch.fnmatchcase(model, pattern) for pattern in settings.exclude):
        return False
    return any(fnmatch.fnmatchcase(model, rule.model) for rule in settings.models)


def _file_of(project: Project, kind: str, code: str) -> str:
    item = next(i for i in project.items if i.kind == kind and i.code == code)
    return str(item.raw.loc.file)


def _resolve(
    files: Files, project: Project, target: Target, where: SourceLocation, problems: list[Problem]
) -> _Target | None:
    if target.price_table is not None:
        code = target.price_table
        table = next(t for t in project.catalog.price_tables if t.code == code)
        node = node_of(files, _file_of(project, "price_table", code), "price_tables", code)
        holder, per, model_filters = node, table.per, table.filters
    else:
        plan = project.catalog.plan(str(target.plan))
        assert plan is not None
        charge = plan.charge(str(target.charge))
        assert charge is not None
        node = node_of(files, _file_of(project, "plan", plan.code), "plans", plan.code)
        charges = node.get("charges") if node is not None else None
        at = item_of(charges, "code", charge.code)
        holder = charges[at] if charges is not None and at is not None else None
        per, model_filters = charge.per, charge.filters
    if holder is None:
        problems.append(where.problem(f"cannot find where {target.label()} is written"))
        return None
    filters = holder.setdefault("filters", CommentedSeq())
    if not isinstance(filters, list):
        problems.append(
            where.problem(
                f"{target.label()} takes its whole filter list from a price table",
                "write to that price table (write_to: [{price_table: CODE}])",
            )
        )
        return None
    written = {filter_key(dict(f.values)): f for f in model_filters or ()}
    assert isinstance(filters, CommentedSeq)
    return _Target(target, filters, unit_of(per), written)


def _write_prices(
    result: SyncResult,
    settings: SyncSettings,
    where: SourceLocation,
    target: _Target,
    types: list[int],
    priced: dict[str, Priced],
    problems: list[Problem],
) -> None:
    label = target.target.label()
    from_unit = rounding_unit(settings.rounding)
    key = settings.model_key
    entries = sync_entries(target.filters, key)
    for model in sorted(priced):
        for type_index in types:
            token_type = settings.token_types[type_index]
            values = {key: model, **token_type.values}
            identity = filter_key(values)
            existing = target.written.get(identity) if identity in entries else None
            unit = unit_of(existing.per) if existing is not None and existing.per else target.per
            shown = str(unit or ONE)
            old = _amount(existing)
            if type_index not in priced[model].prices:
                if existing is not None:
                    result.kept.append(
                        PriceChange(label, model, token_type.label(), old, None, shown)
                    )
                continue
            try:
                with localcontext(EXACT):
                    new = (unit or ONE).per_scale(
                        from_unit.per_unit(priced[model].prices[type_index])
                    )
                problem = (unit or ONE).problem(new)
            except Inexact:
                new, problem = (
                    Decimal(0),
                    (
                        f"{priced[model].prices[type_index]} per {from_unit} is not an exact price "
                        f"per {unit or ONE}"
                    ),
                )
            if problem:
                problems.append(
                    where.problem(
                        f"{model} {token_type.label()}: {problem}",
                        "round to a coarser step (rounding.step), or write a smaller unit in "
                        "the target's per:",
                    )
                )
                continue
            if existing is None:
                entries[identity] = add_entry(target.filters, key, values, amount_like(None, new))
                result.changes.append(
                    PriceChange(label, model, token_type.label(), None, new, shown)
                )
            elif old != new:
                properties = entries[identity].setdefault("properties", {})
                properties["amount"] = amount_like(properties.get("amount"), new)
                result.changes.append(
                    PriceChange(label, model, token_type.label(), old, new, shown)
                )
            else:
                result.unchanged += 1


def _amount(written: ChargeFilter | None) -> Decimal | None:
    if written is None or not isinstance(written.properties, StandardProperties):
        return None
    return written.properties.amount


def check_result(root: Path, result: SyncResult) -> None:
    """The project must load with the result's texts (checked in a scratch copy); else
    ``CatalogError`` with every problem, located in the files as they would be written."""
    if not result.texts:
        return
    with tempfile.TemporaryDirectory(prefix="lagoform-sync-") as scratch:
        copy = Path(scratch) / "project"
        for part in ("catalog", "overrides"):
            if (root / part).is_dir():
                shutil.copytree(root / part, copy / part)
        copy.mkdir(exist_ok=True)
        for relative, text in result.texts.items():
            (copy / relative).write_text(text, encoding="utf-8")
        try:
            load_project(copy)
        except CatalogError as err:
            raise CatalogError(
                [
                    *err.problems,
                    Problem(
                        "the synced catalog would not be valid (above, in the files as they "
                        "would be written); nothing was written",
                        file=result.snapshot,
                    ),
                ]
            ) from None


def write_result(root: Path, result: SyncResult) -> None:
    """Write the result's texts (after ``check_result``)."""
    for relative, text in result.texts.items():
        (root / relative).write_text(text, encoding="utf-8")
