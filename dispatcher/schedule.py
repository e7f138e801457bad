"""Working-time arithmetic for a department's hours in one city's local time.

All inputs and outputs are aware UTC datetimes; the local time zone is only used to
ask the department's ``WeeklyHours`` whether it is open. Arithmetic is done in UTC so
a time-zone change (none in Russia today, but a provider may edit the data) cannot
shift an estimate by an hour.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from reference.hours import WeeklyHours


def require_utc(moment: datetime) -> datetime:
    """Refuse naive datetimes (a local wall time would be silently misread)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("an aware datetime is required")
    return moment.astimezone(timezone.utc)


def next_opening(hours: WeeklyHours, tz: ZoneInfo, moment: datetime) -> datetime:
    """The first moment at or after ``moment`` (UTC) when the department is open (UTC)."""
    local = require_utc(moment).astimezone(tz)
    return hours.next_opening(local).astimezone(timezone.utc)


def is_open(hours: WeeklyHours, tz: ZoneInfo, moment: datetime) -> bool:
    return hours.is_open(require_utc(moment).astimezone(tz))


def add_working_time(hours: WeeklyHours, tz: ZoneInfo, start: datetime, work: timedelta) -> datetime:
    """When ``work`` of the department's open time has passed, counting from ``start``.

    Closed time does not count: work that does not fit before closing continues at
    the next opening. The result is always a moment when the department is open
    (a call cannot start at the closing minute).
    """
    if work < timedelta(0):
        raise ValueError("negative work")
    moment = next_opening(hours, tz, start)
    remaining = work
    # Each pass consumes one opening span; a week has at most 7, so this is bounded
    # by the length of the work, not by the calendar.
    while True:
        closes = hours.closes_at(moment.astimezone(tz))
        if closes is None:  # around the clock
            return moment + remaining
        closes_utc = closes.astimezone(timezone.utc)
        if moment + remaining < closes_utc:
            return moment + remaining
        remaining -= closes_utc - moment
        moment = next_opening(hours, tz, closes_utc)
