"""The one clock: every service takes a ``Clock`` (tests pass their own) and defaults
to :func:`utc_now`. Times are aware and in UTC everywhere; local time is computed
only where a rule needs it (a city's hours, a calendar month)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
