"""``lagoform import`` into an existing project: Lago's values, the project's everything else.

Each object Lago has is matched to where the project writes it (its file, its list, by code;
tenants by file). An object equal to Lago's is left alone; a changed one has only the values
Lago holds differently rewritten in place (``catalog.yaml_edit``), so comments, layout and
what Lago cannot hold stay: usage mappings, ``usage_target``, ``cascade_updates``, variants
(``extends``: a variant keeps only the keys that differ from its parent), the overrides'
``reason`` and ``approval``. An object Lago does not have is taken out of its file (a tenant
whose customer Lago does not know loses its file); a new one is added where its kind is
written (a new plan that equals another plus a few fields as its variant). A file nothing
changed in is not rewritten.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from lagoform.engine.importer import CATALOG_FILES, Imported, ImportResult

if TYPE_CHECKING:
    from lagoform.catalog import BillingPlan, Project

_KINDS = {key: kind for key, kind in (
    ("taxes", "tax"),
    ("billable_metrics", "billable_metric"),
    ("add_ons", "add_on"),
    ("plans", "plan"),
    ("coupons", "coupon"),
)}  # fmt: skip


class _Files:
    """The project's YAML files, read for round-trip editing on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.texts: dict[str, str] = {}
        self.data: dict[str, Any] = {}
        self.edited: set[str] = set()  # only these are written back (a file read is not)

    def __getitem__(self, relative: str) -> Any:
        from lagoform.catalog.yaml_edit import load_roundtrip

        if relative not in self.data:
            path = self.root / relative
            text = path.read_text(encoding="utf-8") if path.exists() else ""
            self.texts[relative] = text
            self.data[relative] = load_roundtrip(text) if text.strip() else None
        return self.data[relative]

    def edit(self, relative: str) -> Any:
        """The file's data, to change (it will be written back if its text changes)."""
        self.edited.add(relative)
        return self[relative]

    def set(self, relative: str, data: Any) -> None:
        self.edit(relative)
        self.data[relative] = data

    def save(self, result: ImportResult) -> None:
        from lagoform.catalog.yaml_edit import dump_roundtrip

        for relative in sorted(self.edited):
            data, path = self.data[relative], self.root / relative
            if data is None:
                if path.exists():
                    path.unlink()
                    result.removed.append(path)
                continue
            text = dump_roundtrip(data, self.texts[relative])
            if text == self.texts[relative]:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            result.files.append(path)


def merge_project(project: Project, lago: Imported, root: Path) -> ImportResult:
    """Write Lago's state into the project at ``root`` (see module doc)."""
    result = ImportResult()
    files = _Files(root)
    for key, kind in _KINDS.items():
        _merge_kind(project, lago, files, key, kind, result)
    _merge_removals(project, lago, files, result)
    _merge_tenants(project, lago, files, result)
    files.save(result)
    for key, _ in CATALOG_FILES:
        result.counts[key] = len(lago.catalog[key])
    result.counts["tenants"] = len(lago.tenants)
    return result


def _file_of(item: Any) -> str:
    return str(item.raw.loc.file)


def _merge_kind(
    project: Project, lago: Imported, files: _Files, key: str, kind: str, result: ImportResult
) -> None:
    from lagoform.catalog.yaml_edit import item_of, plain, update

    new = dict(lago.catalog[key])
    written = [i for i in project.items if i.kind == kind and i.model is not None]
    for item in written:
        relative, code = _file_of(item), str(item.code)
        items = files[relative][key]
        index = item_of(items, "code", code)
        if index is None:
            if kind == "plan" and code in new:  # a later version, written under `versions:`
                _merge_version(project, code, new.pop(code), item.model, result)
            continue
        if code not in new:
            del files.edit(relative)[key][index]
            result.notes.append(f"{kind.replace('_', ' ')} {code}: removed (not in Lago)")
            continue
        mine = new.pop(code)
        if _alike(mine, item.model):
            continue
        files.edit(relative)
        result.notes.append(f"{kind.replace('_', ' ')} {code}: updated from Lago")
        if kind == "plan" and item.model.extends is not None:
            _merge_variant(items, index, item.model, mine, lago)
        else:
            update(items[index], item.model, mine)
    if not new:
        return
    relative = _file_of(written[-1]) if written else f"catalog/{dict(CATALOG_FILES)[key]}"
    data = files.edit(relative)
    if data is None:
        from ruamel.yaml.comments import CommentedMap

        data = CommentedMap()
        files.set(relative, data)
    if data.get(key) is None:
        from ruamel.yaml.comments import CommentedSeq

        data[key] = CommentedSeq()
    added = list(new.values())
    if kind == "plan":
        from lagoform.catalog import plans_to_yaml
        from lagoform.catalog.yaml_edit import to_node

        roots = [
            lago.catalog[key][str(i.code)]
            for i in written
            if i.model.extends is None and str(i.code) in lago.catalog[key]
        ]
        fresh = [to_node(d) for d in plans_to_yaml(added, roots, exact=True)]
    else:
        fresh = [plain(model) for model in added]
    for model, node in zip(added, fresh, strict=True):
        data[key].append(node)
        result.notes.append(f"{kind.replace('_', ' ')} {model.code}: added")


def _merge_version(
    project: Project, code: str, lago: BillingPlan, mine: BillingPlan, result: ImportResult
) -> None:
    """A plan version is a delta inside its plan's ``versions:``: import leaves it as written
    and says when Lago holds something else."""
    from lagoform.catalog.versions import family_of

    family = family_of(project.plan_versions, code)
    if family is None or _alike(lago, mine):
        return
    number = family.number_of(code)
    result.notes.append(
        f"plan {code}: differs in Lago; not imported (version {number} of plan "
        f"{family.code}: edit its `versions:` entry)"
    )


def _merge_variant(
    items: Any, index: int, old: BillingPlan, new: BillingPlan, lago: Imported
) -> None:
    """A variant keeps only its own keys: a changed one is rewritten (or dropped when it now
    equals its parent's), a value that now differs from the parent's is written."""
    from lagoform.catalog.yaml_edit import plain, to_node, update_value
    from lagoform.catalog.yaml_out import field_yaml

    assert old.extends is not None
    parent = lago.catalog["plans"].get(old.extends)
    node = items[index]
    if parent is None:  # its parent is gone from Lago: the variant becomes a whole plan
        items[index] = plain(new.model_copy(update={"extends": None}))
        return
    for name, field in type(new).model_fields.items():
        key = field.alias or name
        if name in ("code", "extends"):
            continue
        before, after = getattr(old, name), getattr(new, name)
        stated = to_node(field_yaml(new, name, exact=True))
        if key not in node:
            if not _same(name, new, parent):
                node[key] = stated
        elif _same(name, old, new):
            continue
        elif _same(name, new, parent):
            del node[key]
        else:
            update_value(node, key, before, after, stated)


def _same(name: str, one: Any, other: Any) -> bool:
    """One field of two models alike; a plan's charges by what they bill (their order in
    Lago's answer and the units the YAML writes them in do not matter)."""
    from lagoform.catalog import BillingPlan
    from lagoform.catalog.lago_overrides import same_charges

    if name == "charges" and isinstance(one, BillingPlan) and isinstance(other, BillingPlan):
        return same_charges(one, other)
    return bool(getattr(one, name) == getattr(other, name))


def _alike(one: Any, other: Any) -> bool:
    return all(_same(name, one, other) for name in type(one).model_fields)


def _merge_removals(project: Project, lago: Imported, files: _Files, result: ImportResult) -> None:
    """A code Lago has again is taken off the ``remove`` lists (else it is defined and
    removed at once)."""
    from lagoform.catalog.project import YAML_SUFFIXES

    base = project.root / "catalog"
    for path in sorted(p for p in base.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file()):
        data = files[path.relative_to(project.root).as_posix()]
        removal = data.get("remove") if isinstance(data, dict) else None
        if not isinstance(removal, dict):
            continue
        for key in _KINDS:
            codes = removal.get(key)
            if not isinstance(codes, list):
                continue
            for index in range(len(codes) - 1, -1, -1):
                if str(codes[index]) in lago.catalog[key]:
                    result.notes.append(f"remove: {key} {codes[index]} taken off (in Lago)")
                    files.edit(path.relative_to(project.root).as_posix())
                    del codes[index]


def _merge_tenants(project: Project, lago: Imported, files: _Files, result: ImportResult) -> None:
    from lagoform.catalog import tenant_to_yaml
    from lagoform.catalog.yaml_edit import to_node, update

    written = {i.code: i for i in project.items if i.kind == "tenant" and i.model is not None}
    for tenant_id, item in written.items():
        relative = _file_of(item)
        new = lago.tenants.get(str(tenant_id))
        if new is None:
            files.set(relative, None)
            result.notes.append(f"tenant {tenant_id}: file removed (no such customer in Lago)")
        elif new != item.model:
            update(files.edit(relative), item.model, new)
            result.notes.append(f"tenant {tenant_id}: updated from Lago")
    for tenant_id, tenant in lago.tenants.items():
        if tenant_id not in written:
            files.set(f"overrides/{tenant_id}.yaml", to_node(tenant_to_yaml(tenant)))
            result.notes.append(f"tenant {tenant_id}: added")
