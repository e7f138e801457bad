"""Composition root: builds every part from the settings and wires them together.

Nothing imports ``app``; ``app`` imports everything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.settings import Settings
from billing.db import make_engine, make_sessionmaker
from billing.port import Billing, TrustPolicy
from billing.reference.directory import Directory, default_directory
from dialogs.delivery import Delivery
from dialogs.engine import DialogEngine
from dialogs.state.base import StateStore

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Container:
    settings: Settings
    directory: Directory
    db_engine: AsyncEngine
    sessions: async_sessionmaker
    store: StateStore
    billing: Billing
    engine: DialogEngine
    delivery: Delivery
    clock: Callable[[], datetime] = utc_now
    extras: dict = field(default_factory=dict)  # services other parts hang here (queues, senders)

    async def close(self) -> None:
        await self.store.close()
        await self.db_engine.dispose()


async def build_container(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> Container:
    """Wire the product. Filled in as the parts land (see git log)."""
    from migrations.runner import upgrade

    directory = Directory(settings.reference_dir) if settings.reference_dir else default_directory()
    db_engine = make_engine(settings.database_url)
    await upgrade(db_engine)
    sessions = make_sessionmaker(db_engine)
    from dialogs.state import make_state_store

    store = make_state_store(settings.redis_url)
    from billing.sql import SqlBilling

    billing = SqlBilling(sessions, directory)
    delivery = Delivery()
    engine = DialogEngine()
    return Container(
        settings=settings,
        directory=directory,
        db_engine=db_engine,
        sessions=sessions,
        store=store,
        billing=billing,
        engine=engine,
        delivery=delivery,
        clock=clock,
    )


def trust_policy(settings: Settings) -> TrustPolicy:
    return TrustPolicy(
        days=settings.trust_days, fee=settings.trust_fee, amount_multiplier=settings.trust_amount_multiplier
    )
