"""The combined fault run (issue 10): two ``serve`` processes on one PostgreSQL and a
private Redis, load through the web chat AND the Telegram webhook, one process SIGKILLed
mid-load and restarted, then the private Redis stopped and restarted — and four counts
that must all be 0:

* acknowledged, never answered — Telegram updates answered 200 that got no reply
  (web chat requests are answered in their response: one that got none is retried on
  the other process with the same ``client_message_id``, as the widget does);
* duplicate replies — Telegram replies beyond one per acknowledged update, and web chat
  subscriber lines recorded twice in the transcript;
* lost callbacks — callback requests the bot confirmed («Заявка №…») that are not in
  the database;
* lost transcript lines — lines of answered web chat turns missing from the history.

``tests/faults/test_combined.py`` runs a short version; the long one:
``PYTHONPATH=$PWD .venv/bin/python -m tests.faults.combined`` (README, Durability).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import text as sql
from storage.engine import make_engine

from tests.doubles.telegram_bot_api import DEFAULT_TOKEN, FakeTelegramBotApi, TelegramUser, UpdateFactory

from .servers import AppProcess, PrivateRedis

WEBHOOK_SECRET = "combined-fault-run-secret"
LEASE_SECONDS = 3  # INBOX_LEASE_SECONDS: updates claimed by the killed process are taken again after this
APOLOGY = "техническая неполадка"
HELP_MARK = "Я умею"  # in the one message that answers /help
QUICK_TEXTS = ["Здравствуйте", "Как оплатить?", "Часы работы в Уфе", "баланс", "спасибо"]
TICKET = re.compile(r"Заявка №\s*(\d+)")


@dataclass
class Size:
    callback_sessions: int = 3  # web chat sessions that order a callback (6 turns each)
    chat_sessions: int = 3  # web chat sessions of quick questions
    chat_messages: int = 5
    telegram_users: int = 4
    telegram_updates: int = 5  # per user and phase


@dataclass
class Counts:
    acknowledged_never_answered: int = 0
    duplicate_replies: int = 0
    lost_callbacks: int = 0
    lost_transcript_lines: int = 0
    # context, printed, not asserted
    web_turns: int = 0
    telegram_acknowledged: int = 0
    callbacks_confirmed: int = 0
    seconds: float = 0.0
    web_lines_twice: int = 0  # the web chat part of duplicate_replies
    lost_examples: list = field(default_factory=list)  # a few missing lines, to look into

    def line(self) -> str:
        return (
            f"fault run: acknowledged never answered {self.acknowledged_never_answered}, duplicate replies "
            f"{self.duplicate_replies}, lost callbacks {self.lost_callbacks}, lost transcript lines "
            f"{self.lost_transcript_lines} (web chat turns {self.web_turns}, Telegram updates acknowledged "
            f"{self.telegram_acknowledged}, callbacks confirmed {self.callbacks_confirmed}, "
            f"web chat lines recorded twice {self.web_lines_twice}, {self.seconds:.0f} s)"
        ) + (f"\n  missing lines, e.g.: {self.lost_examples[:6]}" if self.lost_examples else "")

    def all_zero(self) -> bool:
        return not (self.acknowledged_never_answered or self.duplicate_replies or self.lost_callbacks or self.lost_transcript_lines)


@dataclass
class WebSession:
    token: str
    turns: list[tuple[str, list[str]]] = field(default_factory=list)  # answered (user text, bot texts)
    replies: list[dict] = field(default_factory=list)  # the last answer's replies (its buttons)


class Load:
    """Talks to both processes; a request a dead process did not answer goes to the other."""

    def __init__(self, apps: list[AppProcess]) -> None:
        self.clients = [httpx.AsyncClient(base_url=app.base_url, timeout=90) for app in apps]
        self.answered = 0
        self.started = time.monotonic()
        self._message_ids = itertools.count(1)
        self._update_ids = itertools.count(800_000_001)
        self.acknowledged: dict[int, int] = {}  # Telegram chat id -> updates answered 200
        self.confirmed_phones: set[str] = set()
        self.button_titles: set[str] = set()  # callbacks the bot confirmed (digits of the phone)

    async def close(self) -> None:
        for client in self.clients:
            await client.aclose()

    async def _post(self, first: int, path: str, **kwargs) -> httpx.Response:
        for attempt in range(40):
            client = self.clients[(first + attempt) % 2]
            try:
                response = await client.post(path, **kwargs)
            except httpx.TransportError:
                await asyncio.sleep(0.05 * (attempt % 2))  # dead or restarting: the other one
                continue
            if response.status_code == 503:  # the database or Redis briefly away: delivered again
                await asyncio.sleep(0.5)
                continue
            return response
        raise AssertionError(f"neither process answered {path}")

    async def session(self) -> WebSession:
        response = await self._post(0, "/api/webchat/sessions")
        return WebSession(response.json()["token"])

    async def say(self, session: WebSession, which: int, *, text: str | None = None, button: str | None = None) -> list[str]:
        body: dict = {"client_message_id": f"m{next(self._message_ids)}"}
        if button is not None:
            payloads = [b["payload"] for r in session.replies for b in r.get("buttons", []) if b["title"] == button]
            assert payloads, f"no button {button!r} in {session.replies}"
            body["payload"], shown = payloads[0], button
            self.button_titles.add(button)
        else:
            body["text"], shown = text, text
        response = await self._post(which, "/api/webchat/messages", json=body, headers={"Authorization": f"Bearer {session.token}"})
        assert response.status_code == 200, response.text
        session.replies = response.json()["replies"]
        bot = [r["text"] for r in session.replies]
        session.turns.append((shown, bot))
        self.answered += 1
        return bot

    async def order_callback(self, session: WebSession, which: int, phone: str) -> None:
        await self.say(session, which, text="перезвоните мне пожалуйста")
        await self.say(session, which + 1, button="Техподдержка")
        await self.say(session, which, text="Уфа")
        await self.say(session, which + 1, text=phone)
        await self.say(session, which, button="Как можно скорее")
        await self.say(session, which + 1, text="не работает интернет с утра")

    async def chat(self, session: WebSession, which: int, count: int) -> None:
        for m in range(count):
            await self.say(session, which + m, text=QUICK_TEXTS[m % len(QUICK_TEXTS)])

    async def telegram(self, user: TelegramUser, which: int, count: int) -> None:
        factory = UpdateFactory(user, update_ids=self._update_ids)
        for m in range(count):
            update = factory.text("/help")
            response = await self._post(
                which + m, "/webhooks/telegram", content=json.dumps(update),
                headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
            )
            assert response.status_code == 200, response.text
            self.acknowledged[user.id] = self.acknowledged.get(user.id, 0) + 1
            self.answered += 1

    async def history(self, session: WebSession) -> list[tuple[str, str]]:
        response = await self.clients[0].get("/api/webchat/history", headers={"Authorization": f"Bearer {session.token}"})
        assert response.status_code == 200, response.text
        return [(m["from"], m["text"]) for m in response.json()["messages"]]


async def run(workdir: Path, database_url: str, size: Size = Size()) -> Counts:
    """One combined run on ``database_url`` (empty or migrated; ``serve`` migrates it)."""
    started = time.monotonic()
    redis = PrivateRedis(workdir)
    redis.start()
    apps: list[AppProcess] = []
    try:
        async with FakeTelegramBotApi() as api:
            for _ in range(2):
                app = AppProcess(workdir, database_url, redis_url=redis.url, redis_prefix="combined:")
                app.env.update(
                    TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN, TELEGRAM_API_BASE=api.base_url,
                    TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET, INBOX_LEASE_SECONDS=str(LEASE_SECONDS),
                )
                apps.append(app)
            for app in apps:
                await app.start()
            load = Load(apps)
            try:
                counts = await _scenario(load, apps, redis, api, size)
            finally:
                await load.close()
            counts.lost_callbacks = await _lost_callbacks(database_url, load.confirmed_phones)
    finally:
        for app in apps:
            app.stop()
        redis.stop()
    counts.seconds = time.monotonic() - started
    return counts


async def _scenario(load: Load, apps: list[AppProcess], redis: PrivateRedis, api: FakeTelegramBotApi, size: Size) -> Counts:
    counts = Counts()
    callers = [await load.session() for _ in range(size.callback_sessions)]
    chatters = [await load.session() for _ in range(size.chat_sessions)]
    users = [TelegramUser(id=720_000_001 + u) for u in range(size.telegram_users)]
    phones = [f"+7 900 5{s:02d}-00-00" for s in range(size.callback_sessions)]
    total = size.callback_sessions * 6 + size.chat_sessions * size.chat_messages + size.telegram_users * size.telegram_updates

    # 1. load on both processes; process 0 is SIGKILLed after a third of it, then restarted.
    async def killer() -> None:
        while load.answered < total // 3:
            await asyncio.sleep(0.01)
        apps[0].kill()
        await apps[0].start()

    await asyncio.gather(
        *(load.order_callback(s, i, phone) for i, (s, phone) in enumerate(zip(callers, phones))),
        *(load.chat(s, i, size.chat_messages) for i, s in enumerate(chatters)),
        *(load.telegram(u, i, size.telegram_updates) for i, u in enumerate(users)),
        killer(),
    )

    print(f"  phase 1 (SIGKILL mid-load, restart) done at {time.monotonic() - load.started:.1f} s")
    # 2. the private Redis stopped: answered with the apology; restarted: recovered by itself.
    redis.stop()
    apologies = await asyncio.gather(*(load.say(s, i, text="Здравствуйте") for i, s in enumerate(chatters)))
    assert all(APOLOGY in " ".join(bot) for bot in apologies), apologies
    await asyncio.gather(*(load.telegram(u, i, 1) for i, u in enumerate(users)))
    redis.start()
    deadline = time.monotonic() + 30
    while APOLOGY in " ".join(await load.say(chatters[0], 0, text="Как оплатить?")):
        assert time.monotonic() < deadline, "the app did not recover after Redis came back"
        await asyncio.sleep(0.5)

    print(f"  phase 2 (Redis stopped and restarted) done at {time.monotonic() - load.started:.1f} s")
    # 3. more load after the recovery.
    await asyncio.gather(
        *(load.chat(s, i, 2) for i, s in enumerate(chatters)),
        *(load.telegram(u, i, 2) for i, u in enumerate(users)),
    )

    # Telegram: every acknowledged update answered (a claim of the killed process after its lease).
    expected = sum(load.acknowledged.values())

    def answered() -> int:
        return sum(_telegram_answers(api, user.id) for user in users)

    deadline = time.monotonic() + LEASE_SECONDS + 60
    while answered() < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    print(f"  Telegram answered {answered()}/{expected} at {time.monotonic() - load.started:.1f} s")
    await asyncio.sleep(LEASE_SECONDS + 2.0)  # a second processing would show by now
    for user in users:
        got, acked = _telegram_answers(api, user.id), load.acknowledged.get(user.id, 0)
        counts.acknowledged_never_answered += max(0, acked - got)
        if got != acked:
            other = [t[:120] for t in api.sent_texts(user.id) if HELP_MARK not in t]
            print(f"  Telegram chat {user.id}: {acked} acknowledged, {got} answered; other messages: {other}")
        counts.duplicate_replies += max(0, got - acked)
    counts.telegram_acknowledged = expected

    # Web chat: the transcript of every answered turn (the apologies' too, when recorded).
    for session in callers + chatters:
        stored = await load.history(session)
        for shown, bot in session.turns:
            if APOLOGY in " ".join(bot):
                continue  # Redis was away: the engine's error path, not a turn
            # A pressed button is recorded as the engine read it, not by its title: its bot lines count.
            lines = ([] if shown in load.button_titles else [("user", shown)]) + [("bot", b) for b in bot]
            missing = [line for line in lines if line not in stored]
            counts.lost_transcript_lines += len(missing)
            counts.lost_examples.extend(missing[:3])
        for shown in {s for s, _ in session.turns}:
            sent = sum(1 for s, _ in session.turns if s == shown)
            twice = max(0, stored.count(("user", shown)) - sent)
            counts.duplicate_replies += twice
            counts.web_lines_twice += twice
        counts.web_turns += len(session.turns)
    for session, phone in zip(callers, phones):
        if any(TICKET.search(b) for _, bot in session.turns for b in bot):
            load.confirmed_phones.add(re.sub(r"\D", "", phone))
    counts.callbacks_confirmed = len(load.confirmed_phones)
    return counts


def _telegram_answers(api: FakeTelegramBotApi, chat_id: int) -> int:
    """Messages that answer one update each: the /help text, or the apology (Redis away)."""
    return sum(1 for t in api.sent_texts(chat_id) if HELP_MARK in t or APOLOGY in t)


async def _lost_callbacks(database_url: str, confirmed_phones: set[str]) -> int:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            stored = {re.sub(r"\D", "", phone) for (phone,) in await connection.execute(sql("SELECT phone FROM callback_requests"))}
    finally:
        await engine.dispose()
    return len(confirmed_phones - stored)


async def _main() -> int:
    import argparse
    import tempfile

    from tests.conftest import provision_database

    parser = argparse.ArgumentParser(description="The combined fault run (README, Durability).")
    parser.add_argument("--scale", type=int, default=3, help="multiplies the sessions and Telegram users (default 3)")
    args = parser.parse_args()
    size = Size(callback_sessions=3 * args.scale, chat_sessions=3 * args.scale, telegram_users=4 * args.scale)
    with tempfile.TemporaryDirectory(prefix="fault-run-") as workdir:
        async with provision_database("postgres", Path(workdir)) as url:
            counts = await run(Path(workdir), url, size)
    print(counts.line())
    return 0 if counts.all_zero() else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(_main()))
