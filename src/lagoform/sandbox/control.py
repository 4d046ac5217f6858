"""``/__sandbox/…`` control endpoints, so tests over real HTTP can steer the emulator.

No auth (the server binds to loopback). Routes: ``POST reset`` (answers how many events it
dropped), ``GET|PUT|POST faults``, ``GET|POST premium`` (``{"premium": bool}``), ``GET dump``,
``GET stats`` (``{"events": n}``), ``POST clock`` (``{"advance_seconds": N}``),
``POST settings`` (``{"plan_delete_delay": S, "features": [..]}``), ``POST save``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from lagoform.sandbox.core import Sandbox


def handle(
    sandbox: Sandbox, method: str, path: str, query: dict[str, list[str]], body: bytes
) -> tuple[int, Any]:
    action = path.removeprefix("/__sandbox/")
    try:
        payload = orjson.loads(body) if body.strip() else {}
    except orjson.JSONDecodeError:
        return 400, {"status": 400, "error": "BadRequest: invalid JSON"}
    if not isinstance(payload, dict):
        return 400, {"status": 400, "error": "BadRequest: expected a JSON object"}
    try:
        return 200, _dispatch(sandbox, method, action, payload)
    except (ValueError, TypeError) as exc:
        return 422, {"status": 422, "error": str(exc)}
    except LookupError:
        return 404, {"status": 404, "error": "Not Found", "code": "resource_not_found"}


def _dispatch(sandbox: Sandbox, method: str, action: str, payload: dict[str, Any]) -> Any:
    match (method, action):
        case ("POST", "reset"):
            return {"reset": True, "events_dropped": sandbox.reset()}
        case ("GET", "faults"):
            return {"faults": sandbox.set_faults()}
        case ("PUT" | "POST" | "PATCH", "faults"):
            return {"faults": sandbox.set_faults(**payload)}
        case ("GET", "premium"):
            return {"premium": sandbox.premium}
        case ("POST" | "PUT", "premium"):
            sandbox.set_premium(bool(payload.get("premium", True)))
            return {"premium": sandbox.premium}
        case ("GET", "dump"):
            return sandbox.dump()
        case ("GET", "stats"):
            # O(1), unlike GET /events: load runs poll it while events stream in
            return {"events": sandbox.event_count()}
        case ("POST", "clock"):
            sandbox.advance_clock(float(payload.get("advance_seconds", 0)))
            sandbox.tick()
            return {"now": sandbox.now()}
        case ("POST", "settings"):
            if "plan_delete_delay" in payload:
                sandbox.plan_delete_delay = float(payload["plan_delete_delay"])
            if "features" in payload:
                sandbox.set_features(payload["features"])
            return {
                "plan_delete_delay": sandbox.plan_delete_delay,
                "features": sorted(sandbox.features),
            }
        case ("POST", "save"):
            sandbox.save()
            return {"saved": sandbox.state_file is not None}
    raise LookupError(action)
