"""Billing periods (calendar or anniversary), as Lago's server cuts them; day counts as Lago
counts them for proration. Yearly-normalised amounts: ``model.intervals``. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["INTERVAL_MONTHS", "current_period", "days"]

INTERVAL_MONTHS = {"monthly": 1, "quarterly": 3, "semiannual": 6, "yearly": 12}
DAY = 86400


def days(start: float, end: float) -> int:
    """Days from one instant to another, both days counted (Utils::Datetime.date_diff...)."""
    return (int(end) // DAY) - (int(start) // DAY) + 1


def _add_months(moment: datetime, months: int, day: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last_day = (datetime(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(day, last_day))


def current_period(
    interval: str, billing_time: str, anchor: float, now: float
) -> tuple[float, float]:
    """(start, end) of the period containing ``now``; end is the last second of the period."""
    at = datetime.fromtimestamp(max(now, anchor), UTC)
    start_anchor = datetime.fromtimestamp(anchor, UTC)
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if interval == "weekly":
        if billing_time == "anniversary":
            days = (midnight.date() - start_anchor.date()).days % 7
        else:
            days = midnight.weekday()
        start = midnight - timedelta(days=days)
        end = start + timedelta(days=7)
    else:
        months = INTERVAL_MONTHS.get(interval, 1)
        if billing_time == "anniversary":
            day = start_anchor.day
            start = _add_months(
                start_anchor.replace(hour=0, minute=0, second=0, microsecond=0), 0, day
            )
            while (nxt := _add_months(start, months, day)) <= at:
                start = nxt
            end = _add_months(start, months, day)
        else:
            first_month = ((at.month - 1) // months) * months + 1
            start = midnight.replace(month=first_month, day=1)
            end = _add_months(start, months, 1)
    return start.timestamp(), end.timestamp() - 1
