"""The mandatory audit record of every Lago mutation (DESIGN principle 4; docs/audit.md).

``record`` (schema) → ``chain`` (hash chain, verify, pending intents) → ``sinks`` (file, stdout,
Loki) → ``trail`` (the AuditHook apply calls). ``context`` resolves actor, commit and pull
request; ``overrides_diff`` and ``fields`` build the finance section; ``preview`` lists the
records an apply would write, for ``lagoform plan``.
"""

from __future__ import annotations

from lagoform.audit.chain import (
    GENESIS,
    ChainProblem,
    VerifyReport,
    pending_intents,
    read_records,
    verify_file,
)
from lagoform.audit.context import RunContext, detect_context
from lagoform.audit.fields import OverrideFacts
from lagoform.audit.overrides_diff import (
    charge_override_diff,
    effective_override_diff,
    plan_override_diff,
)
from lagoform.audit.preview import preview_records
from lagoform.audit.project_facts import override_facts
from lagoform.audit.record import SCHEMA_VERSION, OverrideDiffEntry, Record
from lagoform.audit.sinks import JsonlFileSink, LokiSink, Sink, StdoutSink
from lagoform.audit.trail import AuditTrail

__all__ = [
    "GENESIS",
    "SCHEMA_VERSION",
    "AuditTrail",
    "ChainProblem",
    "JsonlFileSink",
    "LokiSink",
    "OverrideDiffEntry",
    "OverrideFacts",
    "Record",
    "RunContext",
    "Sink",
    "StdoutSink",
    "VerifyReport",
    "charge_override_diff",
    "detect_context",
    "effective_override_diff",
    "override_facts",
    "pending_intents",
    "plan_override_diff",
    "preview_records",
    "read_records",
    "verify_file",
]
