"""Calendar months in a subscriber's local time (the trust payment period)."""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo

from reference.directory import Directory

# Where a city is missing from the reference data (should not happen: the importer
# only accepts known cities) the provider's home time applies.
FALLBACK_TZ = ZoneInfo("Europe/Moscow")


def city_tz(directory: Directory, city_name: str) -> tzinfo:
    city = directory.city(city_name)
    return city.tz if city is not None else FALLBACK_TZ


def period_of(moment: datetime, tz: tzinfo) -> str:
    """``"YYYY-MM"`` of ``moment`` (timezone-aware) on the wall clock of ``tz``."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the month depends on the time zone")
    return moment.astimezone(tz).strftime("%Y-%m")


def first_day_after(period: str) -> date:
    """The first day of the month following ``period`` (``"YYYY-MM"``)."""
    year, month = (int(part) for part in period.split("-"))
    return date(year + month // 12, month % 12 + 1, 1)


def month_start(moment: datetime, tz: tzinfo) -> datetime:
    """Local midnight on the 1st of ``moment``'s month, as an aware datetime in ``tz``."""
    local = moment.astimezone(tz)
    return datetime(local.year, local.month, 1, tzinfo=tz)
