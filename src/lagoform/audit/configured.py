"""From ``lagoform.yaml`` to a ready trail: build the configured sinks and open the trail.

The configuration (``lagoform.config``) only describes sinks; this is the one place they become
objects. Relative log paths are under the repository root; ``{env}`` in a path is the
environment's name, so every environment keeps its own chain. ``key_env`` names the variable
holding a keyed chain's HMAC key, read here and handed to the trail (never stored or shown).
The trail is checked before it is returned (``AuditTrail.check``): nothing reaches Lago through
a sink that cannot write or onto a chain that does not verify.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from lagoform import config as cfg
from lagoform.audit.context import detect_context
from lagoform.audit.fields import OverrideFacts
from lagoform.audit.seal import MIN_KEY_BYTES
from lagoform.audit.sinks import JsonlFileSink, LokiSink, Sink, StdoutSink
from lagoform.audit.trail import AuditTrail
from lagoform.errors import AuditError
from lagoform.lago import Secret

# Every Loki stream from lagoform carries these unless lagoform.yaml sets them.
DEFAULT_LOKI_LABELS = {"job": "lagoform"}


def sinks_from_config(audit: cfg.AuditConfig, *, root: Path, environment: str) -> list[Sink]:
    sinks: list[Sink] = []
    for spec in audit.sinks:
        match spec:
            case cfg.JsonlSink():
                sinks.append(JsonlFileSink(root / spec.path_for(environment)))
            case cfg.StdoutSink():
                sinks.append(StdoutSink())
            case cfg.LokiSink():
                labels = {**DEFAULT_LOKI_LABELS, "environment": environment, **spec.labels}
                sinks.append(LokiSink(spec.url, labels, timeout=spec.timeout))
    return sinks


def chain_key(var: str | None, env: Mapping[str, str]) -> bytes | None:
    """The HMAC key from the variable ``var`` names (None when no keyed chain is configured)."""
    if var is None:
        return None
    value = env.get(var, "")
    if not value.strip():
        raise AuditError(
            f"the audit chain is keyed (audit.key_env: {var}) but the variable {var} is not "
            "set; nothing was sent to Lago"
        )
    key = value.strip().encode()
    if len(key) < MIN_KEY_BYTES:
        raise AuditError(
            f"the audit chain key in {var} is shorter than {MIN_KEY_BYTES} bytes; use a long "
            "random secret"
        )
    return key


def log_path(config: cfg.LagoformConfig, *, root: Path, environment: str) -> Path | None:
    """The JSON Lines log of an environment (the first jsonl sink), or None if it has none."""
    for spec in config.audit_for(environment).sinks:
        if isinstance(spec, cfg.JsonlSink):
            return root / spec.path_for(environment)
    return None


def open_trail(
    config: cfg.LagoformConfig,
    *,
    root: Path,
    environment: str,
    api_url: str,
    plan_id: str | None,
    actor: str | None,
    env: Mapping[str, str],
    api_key: Secret | None = None,
    overrides: Mapping[str, OverrideFacts] | None = None,
) -> AuditTrail:
    """The trail for one apply. ``api_url`` is the target's URL (``"sandbox"`` for the embedded
    emulator); ``env`` is ``os.environ`` in the CLI. The API key, and ``LAGO_API_KEY`` if set,
    are scrubbed from every record."""
    context = detect_context(
        environment=environment, api_url=api_url, plan_id=plan_id, actor=actor, env=env, cwd=root
    )
    secrets: list[str] = [api_key.reveal()] if api_key is not None else []
    adhoc = env.get(cfg.ADHOC_KEY_ENV, "").strip()
    if adhoc:
        secrets.append(adhoc)
    audit = config.audit_for(environment)
    key = chain_key(audit.key_env, env)
    sinks = sinks_from_config(audit, root=root, environment=environment)
    trail = AuditTrail(context, sinks, overrides=overrides, secrets=_unique(secrets), key=key)
    try:
        trail.check()
    except AuditError:
        trail.close()
        raise
    return trail


def _unique(values: Iterable[str]) -> list[str]:
    return sorted(set(values))
