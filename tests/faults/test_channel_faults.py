"""Durable intake under SIGKILL, for the messenger webhooks: an update acknowledged
with 200 and then the process killed before it was answered is answered after the
restart, exactly once (Telegram and Viber).

The app is a real ``python -m app.cli serve`` subprocess; the Bot API double runs in
the test process on a 127.0.0.1 port and holds the reply (no answer) so that the kill
lands after the acknowledgement and before the delivery, every time.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time

import httpx

from tests.doubles import viber_api
from tests.doubles.telegram_bot_api import DEFAULT_TOKEN, FakeTelegramBotApi, TelegramUser, UpdateFactory

from .servers import AppProcess

WEBHOOK_SECRET = "fault-suite-telegram-secret"
LEASE_SECONDS = 3  # INBOX_LEASE_SECONDS: the dead worker's claim is taken again after this


async def post_update(client: httpx.AsyncClient, update: dict) -> httpx.Response:
    return await client.post(
        "/webhooks/telegram",
        content=json.dumps(update),
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
    )


async def wait_until(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def test_telegram_update_acknowledged_then_sigkill_is_answered_once_after_restart(fault_database_url, tmp_path):
    async with FakeTelegramBotApi() as api:
        app = AppProcess(tmp_path, fault_database_url)
        app.env.update(
            TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
            TELEGRAM_API_BASE=api.base_url,
            TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
            INBOX_LEASE_SECONDS=str(LEASE_SECONDS),
        )
        await app.start()
        try:
            control, victim = TelegramUser(id=710_000_001), TelegramUser(id=710_000_002)
            async with httpx.AsyncClient(base_url=app.base_url, timeout=30) as client:
                # How many messages the bot sends for this text (the control chat).
                assert (await post_update(client, UpdateFactory(control).text("Здравствуйте"))).status_code == 200
                await wait_until(lambda: api.sent_texts(control.id), timeout=30, what="the control answer")
                await api.quiet(1.0)
                expected = len(api.sent_texts(control.id))

                api.hold("sendMessage")
                update = UpdateFactory(victim, update_ids=itertools.count(900_000_001)).text("Здравствуйте")
                response = await post_update(client, update)
                assert response.status_code == 200 and response.json()["reason"] == "accepted"
                # The turn ran and its reply is on the wire, unanswered: kill now.
                await wait_until(lambda: api.held_calls, timeout=30, what="the reply attempt")
            app.kill()
            api.release()
            assert api.sent_texts(victim.id) == []  # acknowledged, never answered

            await app.start()
            await wait_until(
                lambda: len(api.sent_texts(victim.id)) >= expected, timeout=LEASE_SECONDS + 30, what="the answer after the restart"
            )
            await api.quiet(LEASE_SECONDS + 2.0)  # a second processing would show by now
            answered = len(api.sent_texts(victim.id))
            print(f"\nfault suite (telegram): acknowledged then SIGKILL; messages after restart {answered}, expected {expected}")
            assert answered == expected
        finally:
            app.stop()


async def post_viber(client: httpx.AsyncClient, callback: dict) -> httpx.Response:
    body, headers = viber_api.signed(callback)
    return await client.post("/webhooks/viber", content=body, headers=headers)


async def test_viber_message_acknowledged_then_sigkill_is_answered_once_after_restart(fault_database_url, tmp_path):
    async with viber_api.FakeViberApi() as api:
        app = AppProcess(tmp_path, fault_database_url)
        app.env.update(
            VIBER_AUTH_TOKEN=viber_api.DEFAULT_TOKEN,
            VIBER_API_BASE=api.base_url,
            INBOX_LEASE_SECONDS=str(LEASE_SECONDS),
        )
        await app.start()
        try:
            control = viber_api.CallbackFactory(viber_api.ViberUser(id="Q29udHJvbC11c2VyLWlkLTE="))
            victim = viber_api.CallbackFactory(
                viber_api.ViberUser(id="VmljdGltLXVzZXItaWQtMDI="), _tokens=itertools.count(5_499_000_000_000_000_001)
            )
            async with httpx.AsyncClient(base_url=app.base_url, timeout=30) as client:
                assert (await post_viber(client, control.text("Здравствуйте"))).status_code == 200
                await wait_until(lambda: api.sent(control.user.id), timeout=30, what="the control answer")
                await asyncio.sleep(1.0)
                expected = len(api.sent(control.user.id))

                api.hold("send_message")
                response = await post_viber(client, victim.text("Здравствуйте"))
                assert response.status_code == 200
                await wait_until(lambda: api.held_calls, timeout=30, what="the reply attempt")
            app.kill()
            api.release()
            assert api.sent(victim.user.id) == []  # acknowledged, never answered

            await app.start()
            await wait_until(
                lambda: len(api.sent(victim.user.id)) >= expected, timeout=LEASE_SECONDS + 30, what="the answer after the restart"
            )
            await asyncio.sleep(LEASE_SECONDS + 2.0)  # a second processing would show by now
            answered = len(api.sent(victim.user.id))
            print(f"\nfault suite (viber): acknowledged then SIGKILL; messages after restart {answered}, expected {expected}")
            assert answered == expected
        finally:
            app.stop()
