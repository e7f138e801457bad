"""Time and small input helpers shared by the dispatcher services."""

from __future__ import annotations

from datetime import datetime

from dispatcher.schedule import require_utc
from storage.clock import Clock, utc_now  # noqa: F401 - re-exported for the dispatcher services




def resolve_now(now: datetime | None, clock: Clock) -> datetime:
    """The caller's ``now`` when given (tests, replays), else the service's clock."""
    return require_utc(now if now is not None else clock())


def fit(value: str | None, length: int) -> str | None:
    """Cut free text to its column's length: PostgreSQL refuses longer strings,
    and a long topic must not cost the subscriber their callback."""
    if value is None:
        return None
    value = value.strip()
    return value[:length] if value else None


def checked_account_number(account_number: str | None) -> str | None:
    """An account number is an identity: refuse a malformed one rather than cut it."""
    if account_number is None:
        return None
    account_number = account_number.strip()
    if not account_number or len(account_number) > 20:
        raise ValueError(f"bad account number: {account_number!r}")
    return account_number
