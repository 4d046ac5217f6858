"""The embedded Lago emulator: Lago's REST API semantics (API_NOTES) in pure Python.

Public API::

    Sandbox(*, premium=True, api_key=None, state_file=None, faults=None, latency_ms=0.0,
            fault_rate=0.0, fault_seed=0, plan_delete_delay=0.0, save_interval=2.0,
            clock=time.time, features=request.FEATURES)
        .handle(method, path, query, headers, body) -> (status, headers, body)   thread-safe
        .respond(...)           same, without the configured latency (async adapters sleep)
        .transport()            httpx transport for sync and async clients (in-process)
        .set_faults(**changes)  latency_ms, fault_rate, fault_seed, fault_phase, fault_status,
                                outage, outage_seconds, rate_limits={class: req/s}, rate_limit=True
        .set_premium(bool), .set_features(names), .reset(), .dump(), .advance_clock(seconds),
        .save(), .close()
    Faults                      the fault settings (dataclass)
    serve(sandbox, host="127.0.0.1", port=0, *, on_ready=None)   uvicorn HTTP server
    make_app(sandbox)           the raw ASGI app
    default_state_file(root)    ``<root>/.lagoform/sandbox.json``

State file: ``sandbox.json`` holds everything but events; events are appended to
``sandbox.json.events`` (one JSON line per save). Loaded at start; saved every
``save_interval`` seconds when something changed, and on ``close()``/shutdown. Two live
sandboxes on one file: the last to save wins, whole.

Control endpoints (no auth; loopback): ``/__sandbox/{reset,faults,premium,dump,clock,settings,
save}`` — see ``control``. Endpoint classes for rate limits: ``events`` (POST /events[/batch]),
``usage`` (current/projected usage), ``config`` (everything else).

Approximations: weighted_sum units are time-weighted over the period; recurring metrics count
every event since the subscription started; past usage is recomputed from events (no invoices);
``cascade_updates`` runs synchronously; plan deletion completes on the first request after
``plan_delete_delay``; ``custom_agg`` is always refused (403) as without the org flag; usage
thresholds and ``accepts_target_wallet`` follow the premium switch and the organization's
integrations (``features``, all on by default; ``/__sandbox/settings``); the 429 body is a guess
(Lago Cloud documents only the X-RateLimit-* headers); the sandbox issues no invoices (it
previews them) and sends no webhooks. Coverage and every known difference from Lago's server:
docs/sandbox.md.
"""

from __future__ import annotations

from pathlib import Path

from lagoform.sandbox.asgi import make_app, serve
from lagoform.sandbox.core import Sandbox
from lagoform.sandbox.faults import Faults

STATE_DIR = ".lagoform"
STATE_FILE = "sandbox.json"


def default_state_file(root: Path | None = None) -> Path:
    return (root or Path.cwd()) / STATE_DIR / STATE_FILE


__all__ = ["Faults", "Sandbox", "default_state_file", "make_app", "serve"]
