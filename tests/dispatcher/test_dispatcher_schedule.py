"""Working-time arithmetic, without a database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from reference.directory import default_directory
from dispatcher.schedule import add_working_time, next_opening

MOSCOW = ZoneInfo("Europe/Moscow")
SUBSCRIBER = default_directory().departments["subscriber"].hours
TECH = default_directory().departments["tech"].hours


def msk(*args) -> datetime:
    """A Moscow wall time as an aware UTC datetime. 2025-06-02 is a Monday."""
    return datetime(*args, tzinfo=MOSCOW).astimezone(timezone.utc)


def test_open_now_is_its_own_next_opening():
    assert next_opening(SUBSCRIBER, MOSCOW, msk(2025, 6, 2, 10, 0)) == msk(2025, 6, 2, 10, 0)


def test_after_closing_opens_next_morning_and_weekend_mornings_too():
    assert next_opening(SUBSCRIBER, MOSCOW, msk(2025, 6, 2, 21, 0)) == msk(2025, 6, 3, 9, 0)
    assert next_opening(SUBSCRIBER, MOSCOW, msk(2025, 6, 7, 18, 0)) == msk(2025, 6, 8, 9, 0)  # Sat → Sun


def test_work_that_fits_before_closing():
    assert add_working_time(SUBSCRIBER, MOSCOW, msk(2025, 6, 2, 10, 0), timedelta(minutes=30)) == msk(
        2025, 6, 2, 10, 30
    )


def test_work_past_closing_continues_next_opening():
    # 10 minutes until 21:00, the other 15 on Tuesday morning.
    assert add_working_time(SUBSCRIBER, MOSCOW, msk(2025, 6, 2, 20, 50), timedelta(minutes=25)) == msk(
        2025, 6, 3, 9, 15
    )


def test_ending_exactly_at_closing_means_the_next_opening():
    assert add_working_time(SUBSCRIBER, MOSCOW, msk(2025, 6, 2, 20, 50), timedelta(minutes=10)) == msk(
        2025, 6, 3, 9, 0
    )


def test_saturday_closes_at_18_and_sunday_opens_at_9():
    assert add_working_time(SUBSCRIBER, MOSCOW, msk(2025, 6, 7, 17, 55), timedelta(minutes=10)) == msk(
        2025, 6, 8, 9, 5
    )


def test_work_spanning_several_days():
    # Friday 20:00 + 1h (rest of Fri) + 9h (all of Sat) + 1h on Sunday = 10:00 Sunday.
    assert add_working_time(SUBSCRIBER, MOSCOW, msk(2025, 6, 6, 20, 0), timedelta(hours=11)) == msk(
        2025, 6, 8, 10, 0
    )


def test_around_the_clock_ignores_the_calendar():
    start = msk(2025, 6, 7, 23, 50)
    assert add_working_time(TECH, MOSCOW, start, timedelta(minutes=20)) == start + timedelta(minutes=20)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        next_opening(SUBSCRIBER, MOSCOW, datetime(2025, 6, 2, 10, 0))
