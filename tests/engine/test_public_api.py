"""The engine's public namespace: every name in ``__all__`` exists and nothing private leaks."""

from __future__ import annotations

import lagoform.engine as engine


def test_all_names_resolve_and_are_public() -> None:
    assert sorted(engine.__all__) == engine.__all__
    for name in engine.__all__:
        assert not name.startswith("_")
        assert getattr(engine, name) is not None
