"""What agents do in the console, independent of HTTP.

Every state change is a conditional UPDATE in SQL (``HandoffQueue`` /
``CallbackQueue``): exactly one of several agents or processes wins, never an
in-memory lock. Every action goes to the audit log, is announced on the live event
topic, and — where the subscriber must know — is told to them through their own
channel (``dialogs.delivery.Delivery``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from billing.port import Billing
from dialogs import formatting
from dialogs.delivery import Delivery, DeliveryResult
from dialogs.texts.catalog import TextCatalog
from dialogs.messages import Reply
from dispatcher.agents import AgentProfile, Agents
from dispatcher.audit import AuditLog
from dispatcher.callbacks import CallbackQueue
from dispatcher.clock import Clock, utc_now
from dispatcher.console import texts
from dispatcher.errors import NotHeldByAgent
from dispatcher.estimate import WaitEstimator
from dispatcher.handoffs import HandoffQueue, HandoffRecord
from dispatcher.live import ConsoleEvents, EventHub
from dispatcher.models import CallbackRequest, Handoff, HandoffNote
from dispatcher.transcript import TranscriptLine
from reference.directory import DEPARTMENTS, Directory

log = logging.getLogger(__name__)

MAX_TEXT = 4000
TRANSCRIPT_LINES = 200
QUEUE_PAGE = 200  # items per queue answer unless the client asks for more (?limit=)
QUEUE_MAX = 10_000


class Hidden(Exception):
    """Not there, or not the agent's to see: answered 404 either way."""


class Conflict(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ConsolePolicy:
    hold_timeout: timedelta
    overdue_after: timedelta
    auto_assign: bool
    agent_capacity: int


class ConsoleService:
    def __init__(
        self,
        *,
        sessions,
        directory: Directory,
        agents: Agents,
        handoffs: HandoffQueue,
        callbacks: CallbackQueue,
        transcript,
        delivery: Delivery,
        billing: Billing,
        audit: AuditLog,
        events: ConsoleEvents,
        hub: EventHub,
        estimator: WaitEstimator,
        policy: ConsolePolicy,
        clock: Clock = utc_now,
        catalog: TextCatalog | None = None,
    ) -> None:
        self.sessions = sessions
        self.directory = directory
        self.agents = agents
        self.handoffs = handoffs
        self.callbacks = callbacks
        self.transcript = transcript
        self.delivery = delivery
        self.billing = billing
        self.audit = audit
        self.events = events
        self.hub = hub
        self.estimator = estimator
        self.policy = policy
        self.clock = clock
        self.catalog = catalog or TextCatalog()  # the bot's texts: the console says waits as the bot does

    async def _in_queue_again(self, template: str, record: HandoffRecord, now: datetime, **values: str) -> str:
        """A notice that the subscriber waits in a queue again: the place and, where the
        queue's estimate can tell, when an operator is expected to answer — in the
        city's local time, as the bot says it when the conversation is first queued."""
        ticket = await self.handoffs.place(record, now=now)
        city = self.directory.city(record.city)
        if ticket.expected_at is not None and city is not None:
            when = f"{formatting.expected_answer(self.catalog.render, ticket.expected_at, now, city.tz)} {texts.ANSWERED_HERE}"
        else:
            when = texts.WHEN_UNKNOWN
        return template.format(position=ticket.position, when=when, **values)

    # -- the queue board ---------------------------------------------------------------------
    async def queue(self, agent: AgentProfile, limit: int = QUEUE_PAGE) -> tuple[list[dict], int]:
        """The oldest ``limit`` open items of the agent's queues, and how many there are.

        Each table is read with ``ORDER BY id LIMIT`` (ids grow with creation time, so
        that is oldest first) and the two are merged: the cost follows ``limit``, not
        the length of the queue.
        """
        now = self.clock()
        overdue = self.policy.overdue_after
        conv_scope = [Handoff.status.in_(("waiting", "assigned")),
                      *_scope(agent, Handoff.city, Handoff.department)]
        cb_scope = [CallbackRequest.status.in_(("queued", "claimed")),
                    *_scope(agent, CallbackRequest.city, CallbackRequest.department)]
        conversations = select(
            Handoff.id, Handoff.city, Handoff.department, Handoff.created_at, Handoff.channel, Handoff.status,
            Handoff.assigned_to, Handoff.reason, Handoff.preview,
        ).where(*conv_scope).order_by(Handoff.id).limit(limit)
        callbacks = select(
            CallbackRequest.id, CallbackRequest.city, CallbackRequest.department, CallbackRequest.created_at,
            CallbackRequest.status, CallbackRequest.claimed_by, CallbackRequest.topic, CallbackRequest.phone,
            CallbackRequest.scheduled_for, CallbackRequest.attempts,
        ).where(*cb_scope).order_by(CallbackRequest.id).limit(limit)
        async with self.sessions() as session:
            conv_rows = (await session.execute(conversations)).all()
            cb_rows = (await session.execute(callbacks)).all()
            total = await session.scalar(select(
                select(func.count()).select_from(Handoff).where(*conv_scope).scalar_subquery()
                + select(func.count()).select_from(CallbackRequest).where(*cb_scope).scalar_subquery()
            ))
        merged = sorted(
            [(r.created_at, 0, r.id, r) for r in conv_rows] + [(r.created_at, 1, r.id, r) for r in cb_rows],
            key=lambda item: item[:3],
        )[:limit]
        viewers = self.hub.viewers
        items = []
        for created_at, kind, item_id, r in merged:
            waited = max(0, int((now - created_at).total_seconds()))
            if kind == 0:
                items.append({
                    "kind": "conversation", "id": item_id, "city": r.city, "department": r.department,
                    "waiting_seconds": waited, "channel": r.channel, "status": r.status, "assigned_to": r.assigned_to,
                    "overdue": r.status == "waiting" and now - created_at > overdue,
                    "viewers": viewers("conversation", item_id), "topic": texts.REASONS.get(r.reason, r.reason),
                    "phone": None, "due_at": None, "attempts": None, "preview": r.preview,
                })
            else:
                items.append({
                    "kind": "callback", "id": item_id, "city": r.city, "department": r.department,
                    "waiting_seconds": waited, "channel": None, "status": r.status, "assigned_to": r.claimed_by,
                    "overdue": r.status == "queued" and now - r.scheduled_for > overdue,
                    "viewers": viewers("callback", item_id), "topic": r.topic, "phone": r.phone,
                    "due_at": r.scheduled_for.isoformat(), "attempts": r.attempts, "preview": None,
                })
        return items, total

    # -- one conversation ------------------------------------------------------------------------
    async def visible_handoff(self, agent: AgentProfile, handoff_id: int) -> HandoffRecord:
        record = await self.handoffs.get(handoff_id)
        if record is None or not agent.sees(record.city, record.department):
            raise Hidden()
        return record

    def scope(self, agent: AgentProfile) -> dict:
        """The queues the agent may filter by (their cities and departments; every city
        of the reference data for "all") and where they may transfer a conversation to
        (any city, any department: a transfer hands it to others)."""
        every_city = sorted((c.name for c in self.directory.cities), key=str.casefold)
        every_department = [{"id": d, "title": self.directory.department(d).title} for d in DEPARTMENTS]
        cities = every_city if agent.supervisor or agent.cities is None else [c for c in every_city if c in agent.cities]
        departments = [
            d for d in every_department if agent.supervisor or agent.departments is None or d["id"] in agent.departments
        ]
        return {
            "cities": cities,
            "departments": departments,
            "transfer_cities": every_city,
            "transfer_departments": every_department,
        }

    async def conversation(self, agent: AgentProfile, handoff_id: int) -> dict:
        record = await self.visible_handoff(agent, handoff_id)
        return await self._conversation_body(record)

    async def _conversation_body(self, record: HandoffRecord) -> dict:
        history = await self.transcript.history(record.conversation_key, TRANSCRIPT_LINES)
        async with self.sessions() as session:
            notes = (
                await session.scalars(
                    select(HandoffNote).where(HandoffNote.conversation_key == record.conversation_key).order_by(HandoffNote.id)
                )
            ).all()
            note_list = [{"text": n.text, "at": n.created_at.isoformat(), "author": n.author} for n in notes]
        return {
            "id": record.id,
            "conversation_key": record.conversation_key,
            "channel": record.channel,
            "city": record.city,
            "department": record.department,
            "status": record.status,
            "assigned_to": record.assigned_to,
            "transcript": [
                {"direction": e.direction, "text": e.text, "at": e.created_at.isoformat(), "author": e.author}
                for e in history
            ],
            "notes": note_list,
            "subscriber": await self._card(record.account_number),
            "delivery_advice": await self._advice(record.conversation_key),
        }

    async def _advice(self, conversation_key: str) -> str | None:
        """What the agent should know before replying (a paid Viber session, a closed
        WhatsApp window); a channel that cannot tell must not break the view."""
        try:
            return await self.delivery.advise(conversation_key)
        except Exception:  # noqa: BLE001 - the view matters more than the warning
            log.exception("console: delivery advice for %s failed", conversation_key.partition(":")[0])
            return None

    async def _card(self, account_number: str | None) -> dict | None:
        if not account_number:
            return None
        card = await self.billing.find_account(account_number)
        if card is None:
            return None
        return {
            "account": card.number,
            "balance": str(card.balance),
            "tariff": card.tariff,
            "monthly_fee": str(card.monthly_fee),
            "status": card.status.value if hasattr(card.status, "value") else str(card.status),
            "next_charge_date": card.next_charge_date.isoformat() if card.next_charge_date else None,
            "city": card.city,
            "phone": card.phone,
        }

    async def takeover(self, agent: AgentProfile, handoff_id: int) -> dict:
        record = await self.visible_handoff(agent, handoff_id)
        now = self.clock()
        if not await self.handoffs.claim(handoff_id, agent.login, now=now):
            current = await self.handoffs.get(handoff_id)
            holder = current.assigned_to if current else None
            raise Conflict("taken", f"Разговор уже взял оператор {holder}." if holder else "Разговор уже не ждёт оператора.")
        await self._joined(record, agent, now)
        await self.audit.record(agent.login, "takeover", f"conversation:{handoff_id}", now=now)
        return await self._conversation_body(await self.handoffs.get(handoff_id))

    async def _joined(self, record: HandoffRecord, agent: AgentProfile, now: datetime) -> None:
        """After a won claim (console or auto-assignment): tell everyone."""
        await self.events.mark_open(record.conversation_key, record.id, record.city, record.department)
        await self.agents.mark_assigned(agent.login, now)
        await self._tell(record.conversation_key, texts.OPERATOR_JOINED.format(name=agent.name))
        await self._note(record.conversation_key, texts.NOTE_TAKEN.format(login=agent.login))
        await self.events.conversation_changed(record.id, record.city, record.department)

    async def _held(self, agent: AgentProfile, handoff_id: int) -> HandoffRecord:
        record = await self.visible_handoff(agent, handoff_id)
        if record.status != "assigned" or record.assigned_to != agent.login:
            raise Conflict("not_holder", "Сначала возьмите разговор: сейчас он не у вас.")
        return record

    async def message(self, agent: AgentProfile, handoff_id: int, text: str) -> DeliveryResult:
        text = _text(text)
        record = await self._held(agent, handoff_id)
        now = self.clock()
        if not await self.handoffs.touch(handoff_id, agent.login, now):
            raise Conflict("not_holder", "Разговор уже не у вас.")
        result = await self._send(record.conversation_key, text, author=agent.name)
        lines = [TranscriptLine("agent", text, _first(result.provider_message_ids), agent.login)]
        if not result.sent:
            lines.append(TranscriptLine("system", texts.NOTE_NOT_DELIVERED.format(reason=result.reason)))
        await self.transcript.record_many(record.conversation_key, lines, now=now)
        detail = "sent" if result.sent else f"failed: {result.reason}"
        await self.audit.record(agent.login, "message", f"conversation:{handoff_id}", detail, now=now)
        return result

    async def add_note(self, agent: AgentProfile, handoff_id: int, text: str) -> dict:
        text = _text(text)
        record = await self.visible_handoff(agent, handoff_id)
        now = self.clock()
        async with self.sessions.begin() as session:
            session.add(HandoffNote(conversation_key=record.conversation_key, author=agent.login, text=text, created_at=now))
        if record.status == "assigned" and record.assigned_to == agent.login:
            await self.handoffs.touch(handoff_id, agent.login, now)
        await self.audit.record(agent.login, "note", f"conversation:{handoff_id}", now=now)
        await self.events.conversation_changed(record.id, record.city, record.department)
        return {"text": text, "at": now.isoformat(), "author": agent.login}

    async def release(self, agent: AgentProfile, handoff_id: int) -> dict:
        record = await self._held(agent, handoff_id)
        now = self.clock()
        if not await self.handoffs.release_to_bot(handoff_id, agent.login, now=now):
            raise Conflict("not_holder", "Разговор уже не у вас.")
        await self._note(record.conversation_key, texts.NOTE_RELEASED.format(login=agent.login))
        await self.events.mark_closed(record.conversation_key)
        await self._tell(record.conversation_key, texts.OPERATOR_LEFT)
        await self.audit.record(agent.login, "release", f"conversation:{handoff_id}", now=now)
        await self.events.conversation_changed(record.id, record.city, record.department)
        return {"id": handoff_id, "status": "released"}

    async def transfer(self, agent: AgentProfile, handoff_id: int, city: str | None, department: str) -> dict:
        record = await self.visible_handoff(agent, handoff_id)
        place = self.directory.city(city) if city else None
        if city and place is None:
            raise ValueError(f"Неизвестный город: {city}")
        if department not in DEPARTMENTS:
            raise ValueError(f"Неизвестный отдел: {department}")
        target_city = place.name if place else None
        if record.status == "assigned" and record.assigned_to != agent.login:
            raise Conflict("not_holder", "Разговор у другого оператора.")
        expect = agent.login if record.status == "assigned" else None
        if record.status not in ("waiting", "assigned") or not await self.handoffs.transfer(
            handoff_id, target_city, department, expect_agent=expect
        ):
            raise Conflict("changed", "Разговор уже изменился: обновите очередь.")
        now = self.clock()
        moved = await self.handoffs.get(handoff_id)
        await self.events.mark_open(record.conversation_key, handoff_id, target_city, department)
        dep_title = self.directory.department(department).title
        city_title = target_city or texts.ANY_CITY
        await self._note(
            record.conversation_key, texts.NOTE_TRANSFERRED.format(department=dep_title, city=city_title, login=agent.login)
        )
        await self._tell(record.conversation_key, await self._in_queue_again(texts.TRANSFERRED, moved, now,
                                                                           department=dep_title, city=city_title))
        await self.audit.record(
            agent.login, "transfer", f"conversation:{handoff_id}", f"{record.city}/{record.department} → {target_city}/{department}",
            now=now,
        )
        await self.events.conversation_changed(record.id, record.city, record.department)
        await self.events.conversation_changed(record.id, target_city, department)
        return {"id": handoff_id, "status": "waiting", "city": target_city, "department": department}

    async def viewing(self, agent: AgentProfile, handoff_id: int) -> None:
        record = await self.visible_handoff(agent, handoff_id)
        await self.events.viewing("conversation", handoff_id, agent.login, record.city, record.department)

    async def viewing_callback(self, agent: AgentProfile, request_id: int) -> None:
        """The agent has the callback open: others see it in ``viewers`` (and do not
        ring the same subscriber from a stale screen)."""
        row = await self.callbacks.get(request_id)
        if row is None or not agent.sees(row.city, row.department):
            raise Hidden()
        await self.events.viewing("callback", request_id, agent.login, row.city, row.department)

    # -- callbacks ---------------------------------------------------------------------------------
    async def next_callback(self, agent: AgentProfile) -> dict | None:
        claimed = await self.callbacks.claim_next_of(
            agent.login,
            cities=None if agent.supervisor else agent.cities,
            departments=None if agent.supervisor else agent.departments,
            now=self.clock(),
        )
        if claimed is None:
            return None
        await self.audit.record(agent.login, "callback_claim", f"callback:{claimed.id}")
        await self.events.queue_changed(claimed.city, claimed.department)
        return {
            "id": claimed.id,
            "phone": claimed.phone,
            "city": claimed.city,
            "department": claimed.department,
            "topic": claimed.topic,
            "attempts": claimed.attempts,
            "account_number": claimed.account_number,
            "due_at": claimed.scheduled_for.isoformat(),
            "preferred_time": claimed.preferred_time,
        }

    async def callback_result(self, agent: AgentProfile, request_id: int, outcome: str, note: str | None) -> dict:
        row = await self.callbacks.get(request_id)
        if row is None or not agent.sees(row.city, row.department):
            raise Hidden()
        now = self.clock()
        try:
            settled = await self.callbacks.settle(request_id, agent.login, outcome, note, now=now)
        except NotHeldByAgent as error:
            raise Conflict("not_holder", "Эта заявка сейчас не у вас.") from error
        await self.audit.record(agent.login, f"callback_{outcome}", f"callback:{request_id}", note, now=now)
        if settled.status == "no_answer" and settled.conversation_key:
            await self._tell(
                settled.conversation_key,
                texts.CALLBACK_GAVE_UP.format(
                    attempts=settled.attempts, phone=row.phone, id=request_id,
                    service_phone=self.directory.service_line.phone,
                ),
            )
            await self._note(
                settled.conversation_key, texts.NOTE_CALLBACK_GAVE_UP.format(id=request_id, attempts=settled.attempts)
            )
        await self.events.queue_changed(settled.city, settled.department)
        return {
            "status": settled.status,
            "next_attempt_at": settled.next_attempt_at.isoformat() if settled.next_attempt_at else None,
        }

    # -- reference, statistics, audit -------------------------------------------------------------
    def canned(self, agent: AgentProfile, department: str) -> list[dict]:
        if not agent.supervisor and agent.departments is not None and department not in agent.departments:
            return []
        return [
            {"id": r.id, "title": r.title, "text": r.text.replace("{agent}", agent.name)}
            for r in self.directory.canned_replies.get(department, ())
        ]

    async def stats(self) -> dict:
        now = self.clock()
        since = now - timedelta(days=1)
        async with self.sessions() as session:
            waiting_conv = (await session.execute(
                select(Handoff.city, Handoff.department, func.count(), func.min(Handoff.created_at))
                .where(Handoff.status == "waiting").group_by(Handoff.city, Handoff.department)
            )).all()
            waiting_cb = (await session.execute(
                select(CallbackRequest.city, CallbackRequest.department, func.count(), func.min(CallbackRequest.created_at))
                .where(CallbackRequest.status == "queued", CallbackRequest.scheduled_for <= now)
                .group_by(CallbackRequest.city, CallbackRequest.department)
            )).all()
            answered = (await session.execute(
                select(Handoff.city, Handoff.department, Handoff.created_at, Handoff.assigned_at, Handoff.closed_at)
                .where(Handoff.assigned_at.is_not(None), Handoff.assigned_at >= now - timedelta(days=7))
            )).all()
            closed_cb = (await session.execute(
                select(CallbackRequest.city, CallbackRequest.department, CallbackRequest.status,
                       CallbackRequest.scheduled_for, CallbackRequest.claimed_at, CallbackRequest.closed_at)
                .where(CallbackRequest.closed_at >= since)
            )).all()
        rows: dict[tuple, dict[str, Any]] = {}

        def row(city, department) -> dict[str, Any]:
            return rows.setdefault((city, department), {
                "city": city, "department": department, "waiting": 0, "oldest_seconds": 0,
                "waits": [], "handles": [], "callbacks_done_today": 0, "callbacks_failed_today": 0,
            })

        for city in self.directory.cities:
            for department in self.directory.departments:
                row(city.name, department)
        for city, department, count, oldest in list(waiting_conv) + list(waiting_cb):
            r = row(city, department)
            r["waiting"] += count
            if oldest is not None:
                oldest = _utc(oldest)
                r["oldest_seconds"] = max(r["oldest_seconds"], int((now - oldest).total_seconds()))
        for city, department, created, assigned, closed in answered:
            r = row(city, department)
            r["waits"].append((_utc(assigned) - _utc(created)).total_seconds())
            if closed is not None:
                r["handles"].append((_utc(closed) - _utc(assigned)).total_seconds())
        for city, department, status, scheduled, claimed, closed in closed_cb:
            r = row(city, department)
            local = self.directory.city(city)
            today = (lambda t: t.astimezone(local.tz).date()) if local else (lambda t: t.date())
            if today(_utc(closed)) != today(now):
                continue
            if status == "done":
                r["callbacks_done_today"] += 1
            elif status == "no_answer":
                r["callbacks_failed_today"] += 1
            if claimed is not None and status in ("done", "no_answer"):
                r["handles"].append((_utc(closed) - _utc(claimed)).total_seconds())
                r["waits"].append(max(0.0, (_utc(claimed) - _utc(scheduled)).total_seconds()))
        queues = []
        for r in rows.values():
            waits, handles = r.pop("waits"), r.pop("handles")
            r["avg_wait_seconds"] = round(sum(waits) / len(waits)) if waits else None
            r["avg_handle_seconds"] = round(sum(handles) / len(handles)) if handles else None
            queues.append(r)
        queues.sort(key=lambda r: (r["city"] or "", r["department"]))
        return {"queues": queues, "agents_online": len(await self.agents.online(now=now))}

    # -- the sweeper: quiet holds back to the queue, auto-assignment --------------------------------
    async def sweep(self) -> None:
        await self.requeue_quiet_holds()
        if self.policy.auto_assign:
            await self.auto_assign()

    async def requeue_quiet_holds(self) -> int:
        now = self.clock()
        profiles = {a.login: a for a in await self.agents.list()}
        moved = 0
        for handoff_id, login, activity_at, city, department, key in await self.handoffs.holds():
            agent = profiles.get(login)
            offline = agent is None or self.agents.effective_presence(agent, now) == "offline"
            idle = activity_at is None or now - activity_at > self.policy.hold_timeout
            if not (offline or idle):
                continue
            if not await self.handoffs.requeue(handoff_id, login, activity_at):
                continue  # the agent acted, or another process moved it first
            moved += 1
            why = (texts.WHY_OFFLINE if offline else texts.WHY_IDLE).format(login=login)
            record = await self.handoffs.get(handoff_id)
            await self._note(key, texts.NOTE_REQUEUED.format(why=why))
            await self._tell(key, await self._in_queue_again(texts.BACK_IN_QUEUE, record, now))
            await self.audit.record(login, "requeued", f"conversation:{handoff_id}", why, now=now)
            await self.events.conversation_changed(handoff_id, city, department)
        return moved

    async def auto_assign(self) -> int:
        now = self.clock()
        online = [a for a in await self.agents.online(now=now) if not a.supervisor]
        if not online:
            return 0
        load: dict[str, int] = {a.login: 0 for a in online}
        for _, login, *_rest in await self.handoffs.holds():
            if login in load:
                load[login] += 1
        order = await self.agents.round_robin_order()
        epoch = datetime.min.replace(tzinfo=now.tzinfo)
        assigned = 0
        for record in await self.handoffs.waiting():
            candidates = [
                a for a in online if a.sees(record.city, record.department) and load[a.login] < self.policy.agent_capacity
            ]
            if not candidates:
                continue
            agent = min(candidates, key=lambda a: (order.get(a.login) or epoch, a.login))
            if not await self.handoffs.claim(record.id, agent.login, now=now):
                continue
            load[agent.login] += 1
            order[agent.login] = now
            assigned += 1
            await self._joined(record, agent, now)
            await self.audit.record(agent.login, "auto_assigned", f"conversation:{record.id}", now=now)
        return assigned

    # -- helpers ---------------------------------------------------------------------------------
    async def _send(self, conversation_key: str, text: str, author: str | None = None) -> DeliveryResult:
        try:
            result = await self.delivery.send(conversation_key, [Reply(text=text, author=author)])
        except Exception:  # noqa: BLE001 - the agent must hear about it, not get a 500
            log.exception("console: delivery to %s failed", conversation_key.partition(":")[0])
            return DeliveryResult.failed("Ошибка канала при отправке: сообщение не доставлено.", retryable=True)
        # A sender that predates the DeliveryResult contract returns None on success.
        return result if isinstance(result, DeliveryResult) else DeliveryResult.ok()

    async def _tell(self, conversation_key: str, text: str) -> DeliveryResult:
        """A notice to the subscriber in their channel, kept in the transcript."""
        result = await self._send(conversation_key, text)
        lines = [TranscriptLine("system", text)]
        if not result.sent:
            lines.append(TranscriptLine("system", texts.NOTE_NOT_DELIVERED.format(reason=result.reason)))
        await self.transcript.record_many(conversation_key, lines, now=self.clock())
        return result

    async def _note(self, conversation_key: str, text: str) -> None:
        await self.transcript.record_many(conversation_key, [TranscriptLine("system", text)], now=self.clock())


def _scope(agent: AgentProfile, city_column, department_column) -> list:
    """SQL conditions for what the agent sees (mirrors ``AgentProfile.sees``)."""
    if agent.supervisor:
        return []
    conditions = []
    if agent.departments is not None:
        conditions.append(department_column.in_(agent.departments))
    if agent.cities is not None:
        conditions.append(city_column.in_(agent.cities))
    return conditions


def _text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValueError("Пустое сообщение.")
    if len(text) > MAX_TEXT:
        raise ValueError(f"Сообщение длиннее {MAX_TEXT} символов.")
    return text


def _first(ids: tuple[str, ...]) -> str | None:
    return ids[0] if ids else None


def _utc(moment: datetime) -> datetime:
    from datetime import timezone

    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment
