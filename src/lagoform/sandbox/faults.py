"""Fault injection: latency, a seeded 5xx rate, outage windows and Lago Cloud-style rate limits.

The settings are plain data (:class:`Faults`) that can be changed at runtime; the decision
logic (:class:`FaultInjector`) is deterministic for a given seed and request sequence.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from lagoform.sandbox.api_errors import ApiError, server_error, unavailable

# Lago Cloud's default per-organization limits (API_NOTES §2.4), used by `rate_limit=True`.
CLOUD_LIMITS = {"events": 500.0, "usage": 200.0, "config": 50.0}


@dataclass
class Faults:
    """What to inject. ``rate_limits`` maps an endpoint class (events, usage, config) to req/s."""

    latency_ms: float = 0.0
    fault_rate: float = 0.0
    fault_seed: int = 0
    # "before": fail without touching state; "after": apply the request, then answer 5xx
    # (a lost response — what a client's read-back reconciliation must survive).
    fault_phase: str = "before"
    fault_status: int = 500
    outage: bool = False
    outage_until: float | None = None
    rate_limits: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


FAULT_KEYS = frozenset(f.name for f in fields(Faults)) | {"outage_seconds", "rate_limit"}


def endpoint_class(method: str, path: str) -> str:
    if method == "POST" and path in ("/api/v1/events", "/api/v1/events/batch"):
        return "events"
    if path.endswith("/current_usage") or path.endswith("/projected_usage"):
        return "usage"
    return "config"


class FaultInjector:
    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._rng = random.Random(faults.fault_seed)
        self._windows: dict[str, tuple[int, int]] = {}  # class -> (window second, count)

    def configure(self, changes: dict[str, Any], now: float) -> None:
        """Apply a partial update; ``outage_seconds`` and ``rate_limit=True`` are shorthands.

        All or nothing: the update is built on a copy and checked whole, so a refused one (the
        control endpoint's 422) leaves the settings exactly as they were."""
        unknown = set(changes) - FAULT_KEYS
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(sorted(unknown))}")
        try:
            faults = self._updated(changes, now)
        except (TypeError, ValueError, AttributeError) as err:
            raise ValueError(f"invalid fault settings: {err}") from None
        self.faults = faults
        if "fault_seed" in changes:
            self._rng = random.Random(faults.fault_seed)

    def _updated(self, changes: dict[str, Any], now: float) -> Faults:
        faults = Faults(**{**asdict(self.faults), "rate_limits": dict(self.faults.rate_limits)})
        for key, value in changes.items():
            if key == "outage_seconds":
                faults.outage = False
                faults.outage_until = None if value is None else now + float(value)
            elif key == "rate_limit":
                faults.rate_limits = dict(CLOUD_LIMITS) if value else {}
            elif key == "rate_limits":
                faults.rate_limits = {str(k): float(v) for k, v in (value or {}).items()}
            elif key in ("latency_ms", "fault_rate"):
                setattr(faults, key, float(value or 0))
            elif key in ("fault_seed", "fault_status"):
                setattr(faults, key, int(value))
            elif key == "outage":
                faults.outage = bool(value)
                if not value:
                    faults.outage_until = None
            else:
                setattr(faults, key, value)
        if faults.fault_phase not in ("before", "after"):
            raise ValueError("fault_phase must be 'before' or 'after'")
        if not 0 <= faults.fault_rate <= 1:
            raise ValueError("fault_rate must be between 0 and 1")
        if not 0 <= faults.latency_ms <= 600_000:
            raise ValueError("latency_ms must be between 0 and 600000")
        if not 400 <= faults.fault_status <= 599:
            raise ValueError("fault_status must be an HTTP error status (400-599)")
        if any(not math.isfinite(v) or v <= 0 for v in faults.rate_limits.values()):
            raise ValueError("rate_limits must be above 0 requests per second")
        return faults

    def in_outage(self, now: float) -> bool:
        until = self.faults.outage_until
        return self.faults.outage or (until is not None and now < until)

    def check_before(self, klass: str, now: float) -> tuple[ApiError | None, dict[str, str]]:
        """Outage, rate limit and pre-processing faults; returns the error (if any) and the
        rate-limit headers every response of a limited class carries."""
        if self.in_outage(now):
            return unavailable(), {}
        headers: dict[str, str] = {}
        limit = self.faults.rate_limits.get(klass)
        if limit:
            second = math.floor(now)
            window, count = self._windows.get(klass, (second, 0))
            if window != second:
                window, count = second, 0
            allowed = max(1, int(limit))
            reset = max(1, math.ceil(window + 1 - now))
            if count >= allowed:
                headers = _rate_headers(allowed, 0, reset)
                # Lago Cloud documents only the X-RateLimit-* headers (no Retry-After) and no
                # body; this body follows the shape of Lago's other errors.
                error = ApiError(
                    429,
                    {"status": 429, "error": "Too Many Requests", "code": "too_many_requests"},
                    headers=headers,
                )
                return error, headers
            self._windows[klass] = (window, count + 1)
            headers = _rate_headers(allowed, allowed - count - 1, reset)
        if self.faults.fault_phase == "before" and self._draw():
            return self._fault(), headers
        return None, headers

    def fault_after(self) -> ApiError | None:
        if self.faults.fault_phase == "after" and self._draw():
            return self._fault()
        return None

    def _draw(self) -> bool:
        rate = self.faults.fault_rate
        return rate > 0 and self._rng.random() < rate

    def _fault(self) -> ApiError:
        status = self.faults.fault_status
        if status == 500:
            return server_error()
        if status == 503:
            return unavailable()
        return ApiError(status, {"status": status, "error": "Server Error"})


def _rate_headers(limit: int, remaining: int, reset: int) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(reset),
    }
