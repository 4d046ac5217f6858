"""lagoform: Lago billing configuration as reviewed code.

Pricing lives in YAML (``catalog/``, ``overrides/``); ``lagoform plan`` diffs it against a live
Lago, ``lagoform apply`` makes Lago match (with an audit record per mutation), and the dispatch
worker turns usage records into Lago events exactly once.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
