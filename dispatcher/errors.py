"""Errors the dispatcher services raise; the console API maps them to HTTP codes."""

from __future__ import annotations


class DispatcherError(Exception):
    """Base class of every dispatcher error."""


class UnknownCity(DispatcherError, ValueError):
    def __init__(self, city: str | None) -> None:
        super().__init__(f"unknown city: {city!r}")
        self.city = city


class UnknownDepartment(DispatcherError, ValueError):
    def __init__(self, department: str) -> None:
        super().__init__(f"unknown department: {department!r}")
        self.department = department


class NotFound(DispatcherError, LookupError):
    """No callback request / handoff with that id."""


class NotHeldByAgent(DispatcherError):
    """The agent does not hold this item (someone else claimed it, or it was closed
    or cancelled in the meantime): only the holder may record an outcome."""

    def __init__(self, item_id: int, agent: str, status: str | None, holder: str | None) -> None:
        super().__init__(f"#{item_id} is not held by {agent!r} (status {status!r}, held by {holder!r})")
        self.item_id = item_id
        self.agent = agent
        self.status = status
        self.holder = holder
