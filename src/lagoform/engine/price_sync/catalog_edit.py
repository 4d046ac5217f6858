"""The catalog edits of a price sync, made on round-trip YAML (comments, order, style kept).

Three places change: the filter entries of each target (a price table's ``filters`` or a plan
charge's), the metric's list of models, and ``remove.filter_values`` — the project's one way to
retire a model everywhere (docs/yaml-format.md). Files are read with ``catalog.yaml_edit`` on
first use and only those whose text changes are returned for writing.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from lagoform.catalog.project import YAML_SUFFIXES
from lagoform.catalog.yaml_edit import dump_roundtrip, item_of, load_roundtrip
from lagoform.model.filters import filter_key

__all__ = ["Files", "add_entry", "add_metric_values", "retire_models", "sync_entries", "unretire"]


class Files:
    """The project's YAML files, read for round-trip editing on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.texts: dict[str, str] = {}
        self.data: dict[str, Any] = {}

    def __getitem__(self, relative: str) -> Any:
        if relative not in self.data:
            text = (self.root / relative).read_text(encoding="utf-8")
            self.texts[relative] = text
            self.data[relative] = load_roundtrip(text) if text.strip() else CommentedMap()
        return self.data[relative]

    def catalog_files(self) -> list[str]:
        base = self.root / "catalog"
        paths = sorted(p for p in base.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())
        return [p.relative_to(self.root).as_posix() for p in paths]

    def changed(self) -> dict[str, str]:
        """Relative path -> new text, for each file read whose text would change."""
        out = {}
        for relative, data in self.data.items():
            text = dump_roundtrip(data, self.texts[relative])
            if text != self.texts[relative]:
                out[relative] = text
        return out


def sync_entries(filters: CommentedSeq, model_key: str) -> dict[str, CommentedMap]:
    """The entries of ``filters`` that name a model, by ``filter_key`` of their values."""
    out: dict[str, CommentedMap] = {}
    for entry in filters:
        values = entry.get("values") if isinstance(entry, CommentedMap) else None
        if isinstance(values, dict) and model_key in values:
            out[filter_key(values)] = entry
    return out


def add_entry(
    filters: CommentedSeq, model_key: str, values: dict[str, str], amount: Any
) -> CommentedMap:
    """A new entry, styled like its neighbours, after the last entry of the same model (else at
    the end)."""
    like = filters[-1] if len(filters) and isinstance(filters[-1], CommentedMap) else None
    inner = CommentedMap(values)
    properties = CommentedMap(amount=amount)
    entry = CommentedMap(values=inner, properties=properties)
    if like is not None:
        for key, node in (("values", inner), ("properties", properties)):
            written = like.get(key)
            if isinstance(written, CommentedMap) and written.fa.flow_style():
                node.fa.set_flow_style()
        if like.fa.flow_style():
            entry.fa.set_flow_style()
    position = len(filters)
    for index, other in enumerate(filters):
        other_values = other.get("values") if isinstance(other, dict) else None
        if isinstance(other_values, dict) and str(other_values.get(model_key)) == values[model_key]:
            position = index + 1
    filters.insert(position, entry)
    return entry


def amount_like(written: Any, amount: Decimal) -> Any:
    """``amount`` written the way the value it replaces was (a quoted string stays one)."""
    text = format(amount.normalize(), "f")
    return text if isinstance(written, str) else Decimal(text)


def add_metric_values(metric_node: CommentedMap, model_key: str, models: Iterable[str]) -> None:
    filters = metric_node.setdefault("filters", CommentedMap())
    listed = filters.get(model_key)
    if not isinstance(listed, list):
        listed = CommentedSeq([] if listed is None else [listed])
        filters[model_key] = listed
    for model in models:
        if model not in [str(v) for v in listed]:
            listed.append(model)


def _remove_node(files: Files, fallback: str) -> CommentedMap:
    """The ``remove:`` mapping to add to: the first catalog file that has one, else
    ``fallback``'s (created)."""
    for relative in files.catalog_files():
        data = files[relative]
        if isinstance(data, dict) and isinstance(data.get("remove"), dict):
            node: CommentedMap = data["remove"]
            return node
    data = files[fallback]
    data["remove"] = CommentedMap()
    created: CommentedMap = data["remove"]
    return created


def retire_models(
    files: Files, fallback: str, metric: str, model_key: str, models: list[str]
) -> None:
    """``models`` listed under ``remove.filter_values`` for ``metric``."""
    remove = _remove_node(files, fallback)
    entries = remove.setdefault("filter_values", CommentedSeq())
    for entry in entries:
        values = entry.get("values") if isinstance(entry, dict) else None
        if str(entry.get("metric")) == metric and isinstance(values, dict) and model_key in values:
            listed = values[model_key]
            if not isinstance(listed, list):
                listed = values[model_key] = CommentedSeq([listed])
                listed.fa.set_flow_style()
            listed.extend(m for m in models if m not in [str(v) for v in listed])
            return
    listed = CommentedSeq(models)
    listed.fa.set_flow_style()
    inner = CommentedMap([(model_key, listed)])
    inner.fa.set_flow_style()
    entries.append(CommentedMap(metric=metric, values=inner))


def unretire(files: Files, metric: str, model_key: str, models: set[str]) -> None:
    """``models`` taken off every ``remove.filter_values`` entry of ``metric`` (an entry, list or
    ``remove:`` left empty goes too)."""
    for relative in files.catalog_files():
        data = files[relative]
        remove = data.get("remove") if isinstance(data, dict) else None
        if not isinstance(remove, dict) or not isinstance(remove.get("filter_values"), list):
            continue
        entries = remove["filter_values"]
        for index in range(len(entries) - 1, -1, -1):
            entry = entries[index]
            values = entry.get("values") if isinstance(entry, dict) else None
            if str(entry.get("metric")) != metric or not isinstance(values, dict):
                continue
            listed = values.get(model_key)
            if isinstance(listed, list):
                for at in range(len(listed) - 1, -1, -1):
                    if str(listed[at]) in models:
                        del listed[at]
                if not listed:
                    del values[model_key]
            elif listed is not None and str(listed) in models:
                del values[model_key]
            if not values:
                del entries[index]
        if not entries:
            del remove["filter_values"]
        if not remove:
            del data["remove"]


def node_of(files: Files, relative: str, key: str, code: str) -> CommentedMap | None:
    items = files[relative].get(key) if isinstance(files[relative], dict) else None
    index = item_of(items, "code", code)
    if items is None or index is None:
        return None
    found: CommentedMap = items[index]
    return found
