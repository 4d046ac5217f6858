"""From ``lagoform.yaml`` to a ready trail: build the configured sinks and open the trail.

The configuration (``lagoform.config``) only describes sinks; this is the one place they become
objects. Relative log paths are under the repository root; ``{env}`` in a path is the
environment's name, so every environment keeps its own chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from lagoform import config as cfg
from lagoform.audit.context import detect_context
from lagoform.audit.fields import OverrideFacts
from lagoform.audit.sinks import JsonlFileSink, LokiSink, Sink, StdoutSink
from lagoform.audit.trail import AuditTrail
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
    sinks = sinks_from_config(config.audit_for(environment), root=root, environment=environment)
    return AuditTrail(context, sinks, overrides=overrides, secrets=_unique(secrets))


def _unique(values: Iterable[str]) -> list[str]:
    return sorted(set(values))
