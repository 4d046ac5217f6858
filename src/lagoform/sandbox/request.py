"""What a sandbox handler receives: the parsed request plus the organization it acts on.

Handlers take a :class:`Request` and return the JSON-able success body (always HTTP 200, like
Lago); failures are raised as ``ApiError``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from lagoform.sandbox.api_errors import bad_request, param_missing
from lagoform.sandbox.state import Record, State

# The organization's premium integrations the sandbox knows (Organization::PREMIUM_INTEGRATIONS);
# a new sandbox has them all, like a fully enabled Lago organization.
FEATURES = frozenset({"progressive_billing", "events_targeting_wallets", "preview"})


@dataclass
class Org:
    """The organization the request runs against: state plus edition switches and the clock."""

    state: State
    premium: bool
    now: float
    plan_delete_delay: float = 0.2
    features: frozenset[str] = FEATURES

    def enabled(self, feature: str) -> bool:
        """A premium integration is on only with the premium licence too (organization.rb:203)."""
        return self.premium and feature in self.features


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, list[str]]
    raw_body: bytes
    org: Org
    _parsed: Any = field(default=None, repr=False)
    _has_parsed: bool = field(default=False, repr=False)

    @property
    def state(self) -> State:
        return self.org.state

    @property
    def now(self) -> float:
        return self.org.now

    def json(self) -> Any:
        if not self._has_parsed:
            if self.raw_body.strip():
                try:
                    self._parsed = orjson.loads(self.raw_body)
                except orjson.JSONDecodeError as exc:
                    raise bad_request(
                        f"Error occurred while parsing request parameters: {exc}"
                    ) from exc
            self._has_parsed = True
        return self._parsed

    def root(self, key: str) -> Record:
        """The object under the envelope key; missing/empty → 400 like Rails' ``require``."""
        doc = self.json()
        value = doc.get(key) if isinstance(doc, dict) else None
        if not isinstance(value, dict) or not value:
            raise param_missing(key)
        return value

    def optional_root(self, key: str) -> Record:
        doc = self.json()
        value = doc.get(key) if isinstance(doc, dict) else None
        return value if isinstance(value, dict) else {}

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def args(self, name: str) -> list[str]:
        """A list query parameter, accepting ``name[]=a&name[]=b`` and ``name=a``."""
        return self.query.get(f"{name}[]", []) + self.query.get(name, [])

    def flag(self, name: str) -> bool | None:
        value = self.arg(name)
        if value is None:
            return None
        return value.lower() in ("true", "1", "t", "yes")


Handler = Callable[[Request], Any]
