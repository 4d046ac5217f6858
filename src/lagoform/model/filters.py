"""A charge filter's identity: its values map, keys and values sorted.

Lago matches filters by their exact values map (API_NOTES §4.5): on a plan update, on an
override, and when a metric's filter values change. ``["__ALL_FILTER_VALUES__"]`` is Lago's
wildcard, "any value of this key" (the YAML writes ``*``). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ALL_FILTER_VALUES", "filter_key", "filter_values", "key_of_values", "label"]

ALL_FILTER_VALUES = "__ALL_FILTER_VALUES__"


def filter_values(values: Mapping[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key in sorted(values):
        raw = values[key]
        items = [raw] if isinstance(raw, str) else list(raw or [])
        out[str(key)] = sorted(str(v) for v in items)
    return out


def filter_key(values: Mapping[str, Any]) -> str:
    """Identity of a charge filter: its values map, keys and values sorted.

    ``{"type": ["input"], "modality": ["audio"]}`` → ``"modality=audio;type=input"``.
    """
    return key_of_values(filter_values(values))


def key_of_values(values: Mapping[str, list[str]]) -> str:
    """``filter_key`` of a values map already in ``filter_values`` form."""
    return ";".join(f"{k}={'|'.join(v)}" for k, v in values.items())


def label(key: str) -> str:
    """A filter key as reviewers read it: ``modality=audio;type=input`` → ``modality=audio,
    type=input``, the wildcard as ``*`` and alternatives as ``a/b``."""
    return ", ".join(key.split(";")).replace(ALL_FILTER_VALUES, "*").replace("|", "/")
