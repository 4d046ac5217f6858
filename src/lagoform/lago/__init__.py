"""lagoform.lago: the HTTP client for Lago's REST API.

``LagoClient`` (sync, for the engine) and ``AsyncLagoClient`` (for the dispatch worker) share
one core (transport.py): envelopes, error mapping to ``lagoform.errors``, retries that never
duplicate a create, client-side pacing per endpoint class, pagination. The API key travels as a
``Secret``. This package imports nothing from the engine, the CLI or the sandbox.
"""

from __future__ import annotations

from lagoform.lago.aio import DEFAULT_MAX_CONNECTIONS, AsyncLagoClient
from lagoform.lago.client import LagoClient
from lagoform.lago.errors import (
    batch_rejections,
    code_in_words,
    explain_error_details,
    is_duplicate_only,
)
from lagoform.lago.pacing import PacingConfig, TokenBucket, endpoint_class
from lagoform.lago.retry import NO_RETRY, RetryPolicy, is_safe_to_repeat
from lagoform.lago.secret import Secret
from lagoform.lago.transport import PER_PAGE, EventPostResult, Timeouts, api_root

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "NO_RETRY",
    "PER_PAGE",
    "AsyncLagoClient",
    "EventPostResult",
    "LagoClient",
    "PacingConfig",
    "RetryPolicy",
    "Secret",
    "Timeouts",
    "TokenBucket",
    "api_root",
    "batch_rejections",
    "code_in_words",
    "endpoint_class",
    "explain_error_details",
    "is_duplicate_only",
    "is_safe_to_repeat",
]
