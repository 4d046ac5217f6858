"""The one error tree of lagoform. The CLI maps it to exit codes in one place.

::

    LagoformError                      exit 1 (every expected failure; never a traceback)
    ├── ConfigError                    lagoform.yaml, environments, missing API key variable
    ├── CatalogError                   invalid YAML/catalog: carries every Problem at once
    ├── LagoError                      Lago answered with an error, or could not be reached
    │   ├── LagoBadRequest             400
    │   ├── LagoUnauthorized           401
    │   ├── LagoForbidden              403 (premium-only feature, API key permission)
    │   ├── LagoNotFound               404
    │   ├── LagoMethodNotAllowed       405
    │   ├── LagoValidationError        422 (field -> error codes, shown in plain words)
    │   ├── LagoRateLimited            429 (retryable)
    │   ├── LagoServerError            5xx (retryable)
    │   ├── LagoTransportError         timeout, refused connection, broken response (retryable)
    │   └── LagoUnconfirmed            a 2xx that does not account for what was sent (retryable)
    ├── PlanError                      the plan cannot be built, loaded or applied as asked
    │   ├── StalePlanError             live objects changed since a saved plan was made
    │   └── BlockedChangeError         the plan holds changes Lago would silently ignore
    ├── ApplyError                     a write failed or Lago did not take it (read-back)
    ├── AuditError                     an audit sink refused a record (apply stops first)
    └── DispatchError                  the usage worker cannot run (spool, broker, mapping)

``ChangesPending`` is not an error: it carries exit code 2 for ``--detailed-exitcode``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located as precisely as we can."""

    message: str
    file: str | None = None
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    hint: str | None = None  # e.g. "did you mean 'token_usage'?"
    record_id: str | None = None  # for usage records
    warning: bool = False  # likely a mistake, but valid: reported, never blocking

    def location(self) -> str:
        if self.file is None:
            return f"record {self.record_id}" if self.record_id else "<input>"
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        text = f"{self.location()}: {'warning: ' if self.warning else ''}{self.message}"
        return f"{text} ({self.hint})" if self.hint else text


class LagoformError(Exception):
    """Root of every error lagoform expects; the CLI prints it and exits 1."""

    exit_code = EXIT_ERROR


class ConfigError(LagoformError):
    """``problems`` lists each located mistake in lagoform.yaml (empty for other config errors,
    such as an unknown environment or a missing key variable); the message reads the same."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems: list[Problem] = list(problems)


def sort_problems(problems: Sequence[Problem]) -> list[Problem]:
    """By file, line, column: the order a person reads them in."""
    return sorted(problems, key=lambda p: (p.file or "", p.line or 0, p.column or 0, p.message))


class CatalogError(LagoformError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sort_problems(problems)
        n = len(self.problems)
        super().__init__(f"{n} problem{'s' if n != 1 else ''} found")

    def __str__(self) -> str:
        lines = [str(p) for p in self.problems]
        n = len(self.problems)
        lines.append(f"{n} problem{'s' if n != 1 else ''} found; nothing was sent to Lago.")
        return "\n".join(lines)


class LagoError(LagoformError):
    """Lago answered with an error (or could not be reached). Never carries the API key."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.details = details or {}
        self.method = method
        self.path = path
        super().__init__(message)

    def __str__(self) -> str:
        where = f"{self.method} {self.path}: " if self.method and self.path else ""
        status = f"HTTP {self.status}" if self.status is not None else "no response"
        code = f" {self.code}" if self.code else ""
        return f"{where}{status}{code}: {self.args[0]}"


class LagoBadRequest(LagoError):
    pass


class LagoUnauthorized(LagoError):
    pass


class LagoForbidden(LagoError):
    pass


class LagoNotFound(LagoError):
    pass


class LagoMethodNotAllowed(LagoError):
    pass


class LagoValidationError(LagoError):
    pass


class LagoRateLimited(LagoError):
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)


class LagoServerError(LagoError):
    retryable = True


class LagoTransportError(LagoError):
    retryable = True


class LagoUnconfirmed(LagoError):
    """Lago answered 2xx, but its answer does not show that it took what was sent (e.g. an
    events batch answered ``{}`` or 204): nothing may be acknowledged; safe to send again
    when the call is idempotent (events are deduplicated by transaction id)."""

    retryable = True

    def __str__(self) -> str:
        where = f"{self.method} {self.path}: " if self.method and self.path else ""
        return f"{where}{self.args[0]}"


class PlanError(LagoformError):
    pass


class StalePlanError(PlanError):
    def __init__(self, moved: list[str], target: str = "") -> None:
        self.moved = moved
        listing = "\n".join(f"  - {m}" for m in moved)
        where = f" of {target}" if target else ""
        super().__init__(
            f"live state{where} changed since this plan was made; run `lagoform plan` again.\n"
            f"What moved:\n{listing}"
        )


class BlockedChangeError(PlanError):
    pass


class ApplyError(LagoformError):
    pass


class AuditError(LagoformError):
    pass


class DispatchError(LagoformError):
    pass


@dataclass
class ChangesPending(Exception):
    """Raised by ``plan --detailed-exitcode`` when the plan has changes (exit 2)."""

    count: int = 0
    exit_code: int = field(default=EXIT_CHANGES, init=False)
