"""Weekly opening hours in a city's local time."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from datetime import datetime, time, timedelta

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _parse_day_group(group: str) -> list[int]:
    if "-" in group:
        first, last = group.split("-", 1)
        a, b = DAY_NAMES.index(first), DAY_NAMES.index(last)
        return list(range(a, b + 1))
    return [DAY_NAMES.index(group)]


def _parse_span(span: str) -> tuple[time, time]:
    opens, closes = span.split("-", 1)
    return time.fromisoformat(opens.strip()), time.fromisoformat(closes.strip())


@dataclass(frozen=True)
class WeeklyHours:
    """Opening span per weekday (0 = Monday); ``None`` means closed that day."""

    days: tuple[tuple[time, time] | None, ...]
    around_the_clock: bool = False

    @classmethod
    def parse(cls, spec: str | dict) -> "WeeklyHours":
        """``"24/7"`` or ``{"mon-fri": "09:00-21:00", "sat-sun": "09:00-18:00"}``."""
        if spec == "24/7":
            return cls(days=((time(0), time(23, 59, 59)),) * 7, around_the_clock=True)
        if not isinstance(spec, dict):
            raise ValueError(f"bad hours spec: {spec!r}")
        days: list[tuple[time, time] | None] = [None] * 7
        for group, span in spec.items():
            for day in _parse_day_group(group):
                days[day] = _parse_span(span)
        return cls(days=tuple(days))

    def is_open(self, local: datetime) -> bool:
        if self.around_the_clock:
            return True
        span = self.days[local.weekday()]
        return span is not None and span[0] <= local.time() < span[1]

    def next_opening(self, local: datetime) -> datetime:
        """The first moment at or after ``local`` when it is open (same tzinfo)."""
        if self.is_open(local):
            return local
        for offset in range(0, 8):
            day = (local + timedelta(days=offset)).date()
            span = self.days[day.weekday()]
            if span is None:
                continue
            candidate = datetime.combine(day, span[0], tzinfo=local.tzinfo)
            if candidate >= local:
                return candidate
        raise ValueError("never open")

    def closes_at(self, local: datetime) -> datetime | None:
        """When the current opening span ends, or None if closed / around the clock."""
        if self.around_the_clock or not self.is_open(local):
            return None
        span = self.days[local.weekday()]
        assert span is not None
        return datetime.combine(local.date(), span[1], tzinfo=local.tzinfo)

    def describe(self) -> str:
        """Russian summary, e.g. «пн–пт 09:00–21:00, сб–вс 09:00–18:00»."""
        return self._description

    # Computed once per schedule (it is immutable): every office-hours answer describes
    # three or four of them. cached_property writes the instance's __dict__ directly,
    # which a frozen dataclass allows.
    @cached_property
    def _description(self) -> str:
        if self.around_the_clock:
            return "круглосуточно"
        ru = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")
        parts: list[str] = []
        i = 0
        while i < 7:
            j = i
            while j + 1 < 7 and self.days[j + 1] == self.days[i]:
                j += 1
            span = self.days[i]
            days = ru[i] if i == j else f"{ru[i]}–{ru[j]}"
            if span is None:
                parts.append(f"{days} выходной")
            else:
                parts.append(f"{days} {span[0]:%H:%M}–{span[1]:%H:%M}")
            i = j + 1
        return ", ".join(parts)
