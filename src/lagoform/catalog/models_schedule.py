"""Scheduled prices: a price written beside the current one that takes over on a date.

``scheduled:`` lists future prices on a plan (its base fee), on a charge (its properties, its
minimum) or on one filter (its properties). Each entry has an ``effective:`` date (UTC; the
price applies from 00:00 UTC that day), an optional ``notice:`` (``30 days``, ``4 weeks``,
``1 month``: how long before that date existing subscribers must have been told) and an
optional ``reason:``. The charge-level entries live in ``models_charge`` (they need its typed
properties); what they share is here. How "today" is decided and what the engine does with an
entry: ``lagoform.engine.scheduled``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from lagoform.catalog.diagnose import describe
from lagoform.catalog.models_base import CatalogModel, Text
from lagoform.catalog.money import Money

__all__ = [
    "EffectiveDate",
    "NoticeText",
    "ScheduledEntry",
    "ScheduledFee",
    "notice_start",
]

_NOTICE = re.compile(r"^\s*(\d{1,4})\s*(day|days|week|weeks|month|months)\s*$", re.IGNORECASE)


def _date(value: Any) -> Any:
    """A calendar date: YAML's ``2027-01-01`` (or the same text quoted); nothing else."""
    if isinstance(value, dt.datetime):
        raise ValueError(
            f"expected a date such as 2027-01-01 (year-month-day, no time), got {value.isoformat()}"
        )
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError as err:
            raise ValueError(
                f"expected a date such as 2027-01-01 (year-month-day), got {value!r} ({err})"
            ) from None
    raise ValueError(f"expected a date such as 2027-01-01 (year-month-day), got {describe(value)}")


def _notice(value: Any) -> Any:
    if isinstance(value, str) and _NOTICE.match(value):
        return " ".join(value.split()).lower()
    raise ValueError(
        "expected a notice period such as '30 days', '4 weeks' or '1 month', "
        f"got {describe(value) if not isinstance(value, str) else repr(value)}"
    )


EffectiveDate = Annotated[
    dt.date,
    BeforeValidator(_date),
    Field(
        description="The day the price takes over (00:00 UTC), written 2027-01-01.",
        examples=["2027-01-01"],
    ),
]
NoticeText = Annotated[
    str,
    BeforeValidator(_notice),
    Field(
        json_schema_extra={"pattern": _NOTICE.pattern},
        description="How long before `effective` existing subscribers must be told: '30 days', "
        "'4 weeks' or '1 month'.",
        examples=["30 days"],
    ),
]


def notice_start(effective: dt.date, notice: str | None) -> dt.date:
    """The last day subscribers may be told of a change taking effect on ``effective`` with
    ``notice`` (``effective`` itself without a notice). Months are calendar months, the day
    clamped to the month's end (31 March − 1 month = 28 or 29 February)."""
    if notice is None:
        return effective
    found = _NOTICE.match(notice)
    if found is None:
        raise ValueError(f"not a notice period: {notice!r}")
    count, unit = int(found.group(1)), found.group(2).lower()
    if unit.startswith("day"):
        return effective - dt.timedelta(days=count)
    if unit.startswith("week"):
        return effective - dt.timedelta(weeks=count)
    months = effective.year * 12 + effective.month - 1 - count
    year, month = divmod(months, 12)
    day = min(effective.day, calendar.monthrange(year, month + 1)[1])
    return dt.date(year, month + 1, day)


class ScheduledEntry(CatalogModel):
    """What every scheduled price says besides the price: when, with what notice, why."""

    effective: EffectiveDate
    notice: NoticeText | None = Field(
        default=None,
        description="How long before `effective` existing subscribers must be told: '30 days', "
        "'4 weeks' or '1 month'.",
    )
    reason: Text | None = Field(
        default=None,
        description="Why the price changes (shown in plans and pull-request comments).",
    )


class ScheduledFee(ScheduledEntry):
    """A plan's next base fee (``scheduled:`` on a plan)."""

    amount: Money = Field(
        description="The base fee per period from `effective` on, in the plan's currency.",
        examples=["119.00 USD"],
    )
