"""The target's day: when scheduled prices (``engine.scheduled``) are due.

By **the target's clock**: the UTC day of the ``Date`` header of Lago's last answer (every HTTP
server sends one; the sandbox's follows ``POST /__sandbox/clock``), else this machine's UTC
day. So a CI runner with a wrong clock neither applies early nor late, and tests move the
sandbox's clock rather than this process's.
"""

from __future__ import annotations

import datetime as dt
from email.utils import parsedate_to_datetime
from typing import Any

from lagoform.catalog.project import Project
from lagoform.catalog.schedule import as_of, has_schedule

__all__ = ["day_at", "in_force", "server_time", "target_today", "today_of"]


def server_time(date_header: str | None) -> float | None:
    """An HTTP ``Date`` header as epoch seconds (None when missing or unreadable)."""
    if not date_header:
        return None
    try:
        when = parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": UTC by RFC 5322
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def today_of(date_header: str | None, *, fallback: dt.datetime | None = None) -> dt.date:
    """The UTC day of an HTTP ``Date`` header; the machine's UTC day when it is missing or
    unreadable."""
    return day_at(server_time(date_header), fallback=fallback)


def day_at(seconds: float | None, *, fallback: dt.datetime | None = None) -> dt.date:
    """The UTC day of a moment read from Lago (``LiveState.now``, ``server_time``); the
    machine's UTC day when there is none."""
    if seconds is not None:
        return dt.datetime.fromtimestamp(seconds, dt.UTC).date()
    return (fallback or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date()


def target_today(client: Any) -> dt.date:
    """Today at the target: the ``Date`` of the last answer ``client`` (a ``LagoClient``) got."""
    return today_of(getattr(getattr(client, "core", None), "server_date", None))


def in_force(project: Project, client: Any) -> Project:
    """``project`` with the scheduled prices due by the target's clock folded in, for commands
    that price without a plan (``lagoform impact``); one light read when nothing was read yet."""
    if not has_schedule(project):
        return project
    if getattr(getattr(client, "core", None), "server_date", None) is None:
        client.get("/billable_metrics", {"per_page": 1})  # any answer carries the Date header
    return as_of(project, target_today(client))
