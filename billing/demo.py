"""Demo subscribers for ``isp-support serve --demo`` (billing/demo_subscribers.csv).

| account | password | city        | state                                            |
|---------|----------|-------------|--------------------------------------------------|
| 1000001 | demo1    | Москва      | active, 1200 ₽: enough money, no trust payment   |
| 1000002 | demo2    | Уфа         | active, 50 ₽: may take a trust payment           |
| 1000003 | demo3    | Томск       | blocked, trust payment already used this month   |
| 1000004 | demo4    | Владивосток | blocked, 0 ₽: may take a trust payment           |
| 1000005 | demo5    | Ставрополь  | frozen                                           |
| 1000006 | demo6    | Нальчик     | two accounts on +79000000006 (with 1000007)      |

Phones are +7900000000N (N = the account's last digit; 1000007 shares 1000006's).
The dates are relative to ``now`` so the demo story stays true whatever the day:
the next charge is the 1st of the next local month, and 1000003's trust payment
falls in the current local month (four days ago, or at local midnight on the 1st
if the month is younger — then the card still shows it running for a few days).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.importer import write_subscribers
from billing.models import Account
from billing.months import city_tz, first_day_after, month_start, period_of
from billing.passwords import STANDARD, HashProfile
from reference.directory import Directory
from billing.subscriber_file import SubscriberRow, read_subscriber_file

DEMO_FILE = Path(__file__).with_name("demo_subscribers.csv")
# Accounts whose trust payment is "already used this month" (dated at load time).
TRUST_USED_THIS_MONTH = frozenset({"1000003"})


def _dated(row: SubscriberRow, directory: Directory, now: datetime) -> SubscriberRow:
    tz = city_tz(directory, row.city)
    next_charge = row.next_charge_date or first_day_after(period_of(now, tz))
    used_at = row.trust_payment_used_at
    if row.account in TRUST_USED_THIS_MONTH:
        # A few days ago, so the 3-day grant has run out — but never last month.
        used_at = max(month_start(now, tz), now - timedelta(days=4))
    return replace(row, next_charge_date=next_charge, trust_payment_used_at=used_at)


async def load_demo_if_empty(
    sessions: async_sessionmaker[AsyncSession],
    directory: Directory,
    now: datetime,
    *,
    profile: HashProfile = STANDARD,
) -> bool:
    """Load the demo subscribers if there are no accounts at all; True if loaded."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    async with sessions() as session:
        if await session.scalar(select(Account.id).limit(1)) is not None:
            return False
    demo = read_subscriber_file(DEMO_FILE, directory)
    demo = replace(demo, rows=tuple(_dated(row, directory, now) for row in demo.rows))
    try:
        await write_subscribers(sessions, directory, demo, profile=profile, now=now)
    except IntegrityError:
        return False  # another process loaded them at the same moment
    return True
