"""fetch_live reads a large organisation without the cyclic collector, and gives it back
(what was read moved to its oldest generation, nothing left frozen)."""

from __future__ import annotations

import gc

import httpx
import pytest

from lagoform.engine.live import fetch_live
from lagoform.errors import LagoUnauthorized
from lagoform.lago import LagoClient


def _client(server: object, seen: list[bool]) -> LagoClient:
    def on_request(request: httpx.Request) -> None:
        seen.append(gc.isenabled())

    return LagoClient(
        server.url,  # type: ignore[attr-defined]
        server.api_key,  # type: ignore[attr-defined]
        pacing=None,
        event_hooks={"request": [on_request]},
    )


@pytest.mark.parametrize("enabled_before", [True, False])
def test_the_collector_is_paused_during_the_read_and_left_as_it_was(
    sandbox_server: object, enabled_before: bool
) -> None:
    seen: list[bool] = []
    (gc.enable if enabled_before else gc.disable)()
    gc.unfreeze()
    try:
        with _client(sandbox_server, seen) as client:
            live = fetch_live(client)
        assert gc.isenabled() is enabled_before
        # what was read went to the oldest generation, and nothing is left frozen
        assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()
        gc.enable()
    assert seen and not any(seen)  # every list request ran with the collector off
    assert live.objects.get("plan", {}) == {}


def test_a_heap_the_caller_froze_stays_frozen(sandbox_server: object) -> None:
    gc.freeze()
    try:
        with _client(sandbox_server, []) as client:
            fetch_live(client)
        assert gc.get_freeze_count() > 0 and gc.isenabled()
    finally:
        gc.unfreeze()


def test_a_failed_read_gives_the_collector_back(sandbox_server: object) -> None:
    seen: list[bool] = []
    client = LagoClient(
        sandbox_server.url,  # type: ignore[attr-defined]
        "not-the-key",
        pacing=None,
        event_hooks={"request": [lambda r: seen.append(gc.isenabled())]},
    )
    with client, pytest.raises(LagoUnauthorized):
        fetch_live(client)
    assert seen and not seen[0]
    assert gc.isenabled()
