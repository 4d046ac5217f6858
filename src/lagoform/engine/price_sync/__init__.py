"""Model price-list sync (``lagoform prices sync``): a provider's price list into the catalog.

``sources`` reads a snapshot (LiteLLM, OpenRouter, CSV) as exact per-token costs; ``settings``
reads ``prices.yaml``; ``compute`` applies markup, counting and rounding; ``sync`` decides the
catalog change and ``catalog_edit`` makes it on round-trip YAML; ``report`` says what changed.
Nothing here calls Lago: the result is a reviewable edit of the YAML.
"""

from __future__ import annotations

from lagoform.engine.price_sync.fetch import read_snapshot
from lagoform.engine.price_sync.report import sync_json, sync_text
from lagoform.engine.price_sync.settings import CONFIG_FILE, SyncSettings, load_settings
from lagoform.engine.price_sync.snapshot import SOURCES, PriceList
from lagoform.engine.price_sync.sources import read_price_list
from lagoform.engine.price_sync.sync import (
    PriceChange,
    SyncResult,
    check_result,
    sync_prices,
    write_result,
)

__all__ = [
    "CONFIG_FILE",
    "SOURCES",
    "PriceChange",
    "PriceList",
    "SyncResult",
    "SyncSettings",
    "check_result",
    "load_settings",
    "read_price_list",
    "read_snapshot",
    "sync_json",
    "sync_prices",
    "sync_text",
    "write_result",
]
