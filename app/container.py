"""Composition root: builds every part from the settings and wires them together.

Nothing imports ``app``; ``app`` imports everything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.settings import Settings
from storage import make_engine, make_sessionmaker
from billing.port import Billing, BlockPolicy, TrustPolicy
from reference.directory import Directory, default_directory
from billing.demo import load_demo_if_empty
from billing.passwords import BULK, INSECURE_FAST, STANDARD
from billing.sql import SqlBilling
from bots.inbox import Inbox
from bots.outbox import Outbox, OutboxWorker
from bots.sms.outbox import OutboxSmsSender
from bots.sms.twilio_sender import TwilioSmsSender
from dialogs.delivery import Delivery
from dialogs.engine import DialogEngine
from dialogs.nlu import NLU
from dialogs.skills.login_attempts import LoginAttempts
from dialogs.state import make_state_store
from dialogs.state.base import StateStore
from dialogs.turn import Services, SmsSender, VerifyPolicy
from dispatcher.callbacks import CallbackQueue
from dispatcher.handoffs import HandoffQueue
from dispatcher.receipts import Receipts
from dispatcher.transcript import BufferedTranscript, LiveTranscript, Transcript
from dispatcher.agents import AgentExists, Agents
from dispatcher.audit import AuditLog
from dispatcher.console.auth import LoginGuard, LoginLimits
from dispatcher.console.runtime import Console
from dispatcher.console.service import ConsolePolicy, ConsoleService
from dispatcher.estimate import HandoffWait, WaitEstimator
from dispatcher.live import ConsoleEvents, EventHub
from datetime import timedelta
from migrations.runner import upgrade
from storage import utc_now

log = logging.getLogger(__name__)


PASSWORD_PROFILES = {"standard": STANDARD, "bulk": BULK, "insecure-fast": INSECURE_FAST}



@dataclass
class Container:
    settings: Settings
    directory: Directory
    db_engine: AsyncEngine
    sessions: async_sessionmaker
    store: StateStore
    billing: Billing
    callbacks: CallbackQueue
    handoffs: HandoffQueue
    transcript: LiveTranscript
    sms: SmsSender
    nlu: NLU
    engine: DialogEngine
    delivery: Delivery
    receipts: Receipts
    inbox: Inbox
    outbox: Outbox
    console: Console
    clock: Callable[[], datetime] = utc_now
    # Called in order at close (the transcript's writer, the SMS client, ...).
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def close(self) -> None:
        for closer in self.closers:
            try:
                await closer()
            except Exception:  # noqa: BLE001 - keep closing the rest
                log.exception("error while closing")
        await self.store.close()
        await self.db_engine.dispose()


def trust_policy(settings: Settings) -> TrustPolicy:
    return TrustPolicy(
        days=settings.trust_days, fee=settings.trust_fee, amount_multiplier=settings.trust_amount_multiplier
    )


def block_policy(settings: Settings) -> BlockPolicy:
    return BlockPolicy(
        min_days=settings.voluntary_block_min_days,
        max_days=settings.voluntary_block_max_days,
        max_days_ahead=settings.voluntary_block_max_days_ahead,
        fee_per_day=settings.voluntary_block_fee_per_day,
    )


def verify_policy(settings: Settings) -> VerifyPolicy:
    return VerifyPolicy(
        max_attempts=settings.verify_max_attempts,
        window_seconds=settings.verify_window_minutes * 60,
        max_attempts_per_conversation=settings.verify_max_attempts_per_conversation,
        sms_code_ttl_seconds=settings.sms_code_ttl_minutes * 60,
        session_idle_seconds=settings.session_idle_minutes * 60,
    )


def make_sms_sender(settings: Settings, sessions: async_sessionmaker, clock: Callable[[], datetime]) -> SmsSender:
    if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_sms_from:
        return TwilioSmsSender(
            settings.twilio_account_sid,
            settings.twilio_auth_token.get_secret_value(),
            settings.twilio_sms_from,
            settings.twilio_api_base,
            sessions,
            clock=clock,
        )
    return OutboxSmsSender(sessions, clock=clock, log_text=settings.demo)


def make_agents(
    settings: Settings, sessions: async_sessionmaker, directory: Directory, profile, clock: Callable[[], datetime]
) -> Agents:
    return Agents(
        sessions, directory, profile=profile, clock=clock,
        session_idle=timedelta(minutes=settings.console_session_idle_minutes),
        presence_timeout=timedelta(seconds=settings.console_presence_timeout_seconds),
    )


def make_directory(settings: Settings) -> Directory:
    return Directory(settings.reference_dir) if settings.reference_dir else default_directory()


async def prepare_database(
    settings: Settings, db_engine: AsyncEngine, *, clock: Callable[[], datetime] = utc_now
) -> None:
    """What runs once per start, before any request: migrations, then (``--demo``) the
    demo data into an empty database. ``serve --workers N`` runs it in the parent."""
    await upgrade(db_engine)
    if settings.demo:
        sessions = make_sessionmaker(db_engine)
        profile = PASSWORD_PROFILES[settings.password_hash_profile]
        directory = make_directory(settings)
        if await load_demo_if_empty(sessions, directory, clock(), profile=profile):
            log.info("demo subscribers loaded (see README: 1000001/demo1 … 1000010/demo10)")
        agents = make_agents(settings, sessions, directory, profile, clock)
        if not await agents.list():
            try:
                await agents.add("demo", "demo", cities="all", departments="all", supervisor=True, name="Демо-оператор")
                log.info("demo agent created: login demo, password demo (http://%s:%s/console)", settings.host, settings.port)
            except AgentExists:
                pass  # another process starting at the same time made it


async def prepare_once(settings: Settings) -> None:
    db_engine = make_engine(settings.database_url)
    try:
        await prepare_database(settings, db_engine)
    finally:
        await db_engine.dispose()


async def build_container(
    settings: Settings, *, clock: Callable[[], datetime] = utc_now, migrate: bool = True
) -> Container:
    """Every part, wired. ``migrate``: prepare the database first (migrations, demo
    data); False where that already ran once (the workers of ``serve --workers``)."""
    directory = make_directory(settings)
    db_engine = make_engine(settings.database_url)
    if migrate:
        await prepare_database(settings, db_engine, clock=clock)
    sessions = make_sessionmaker(db_engine)
    store = make_state_store(settings.redis_url, prefix=settings.redis_prefix)
    profile = PASSWORD_PROFILES[settings.password_hash_profile]
    billing = SqlBilling(sessions, directory, password_profile=profile, block_policy=block_policy(settings), clock=clock)
    # -- the agent console: agents, live events, the wait estimate --------------------------
    agents = make_agents(settings, sessions, directory, profile, clock)
    events = ConsoleEvents(store)
    estimator = WaitEstimator(
        sessions, agents, default_handle=timedelta(minutes=settings.callback_minutes_per_request),
        default_agents=settings.callback_agents_per_queue,
    )
    callbacks = CallbackQueue(
        sessions,
        directory,
        minutes_per_request=settings.callback_minutes_per_request,
        agents_per_queue=settings.callback_agents_per_queue,
        max_attempts=settings.callback_max_attempts,
        retry_minutes=settings.callback_retry_minutes,
        clock=clock,
        estimator=estimator,
        events=events,
    )
    handoffs = HandoffQueue(sessions, clock=clock, events=events, wait=HandoffWait(estimator, directory), store=store)
    # Lines of conversations queued for agents reach their consoles live.
    transcript = LiveTranscript(
        BufferedTranscript(
            Transcript.for_database(sessions, settings.database_url, clock=clock),
            wait_for_write=settings.transcript_durable,
        ),
        events,
        handoffs,
    )
    sms = make_sms_sender(settings, sessions, clock)
    nlu = NLU(directory)
    verify = verify_policy(settings)
    services = Services(
        billing=billing,
        directory=directory,
        callbacks=callbacks,
        handoffs=handoffs,
        sms=sms,
        login_attempts=LoginAttempts(store, verify),
        verify_policy=verify,
        trust_policy=trust_policy(settings),
        handoff_after_misunderstandings=settings.handoff_after_misunderstandings,
    )
    engine = DialogEngine(services, nlu, store=store, transcript=transcript, clock=clock, handoff_marks=handoffs.marks)
    delivery = Delivery()
    # Durable intake/outbound (README, Durability): the outbox worker retries what a
    # messenger refused for a passing reason; channels get both in their context.
    inbox = Inbox(sessions, lease_seconds=settings.inbox_lease_seconds, clock=clock)
    outbox = Outbox(sessions, delivery, clock=clock)
    outbox_worker = OutboxWorker(outbox)
    outbox_worker.start()
    on_close = [outbox_worker.close, transcript.close] + ([sms.aclose] if hasattr(sms, "aclose") else [])
    console = Console(
        service=ConsoleService(
            sessions=sessions, directory=directory, agents=agents, handoffs=handoffs, callbacks=callbacks,
            transcript=transcript, delivery=delivery, billing=billing, audit=AuditLog(sessions, clock=clock),
            events=events, hub=EventHub(store), estimator=estimator, clock=clock,
            policy=ConsolePolicy(
                hold_timeout=timedelta(minutes=settings.console_hold_timeout_minutes),
                overdue_after=timedelta(minutes=settings.console_overdue_minutes),
                auto_assign=settings.console_auto_assign,
                agent_capacity=settings.console_agent_capacity,
            ),
        ),
        guard=LoginGuard(store, LoginLimits(settings.console_login_max_failures, settings.console_login_lock_minutes * 60)),
        store=store,
        session_seconds=settings.console_session_idle_minutes * 60,
        cookie_secure=settings.console_cookie_secure,
        sweep_seconds=settings.console_sweep_seconds,
    )
    on_close.insert(0, console.close)
    return Container(
        settings=settings,
        directory=directory,
        db_engine=db_engine,
        sessions=sessions,
        store=store,
        billing=billing,
        callbacks=callbacks,
        handoffs=handoffs,
        transcript=transcript,
        sms=sms,
        nlu=nlu,
        engine=engine,
        delivery=delivery,
        receipts=Receipts(sessions, clock=clock),
        inbox=inbox,
        outbox=outbox,
        console=console,
        clock=clock,
        closers=on_close,
    )
