"""An agent's message to a Telegram subscriber goes through the real aiogram client to
the Bot API double; a refusal (the bot blocked) comes back to the agent and into the
transcript."""

from __future__ import annotations

import httpx

from tests.conftest import provision_database
from tests.doubles.telegram_bot_api import FakeTelegramBotApi
from tests.telegram.harness import SUBSCRIBER_ID, telegram_app, telegram_settings, texts_of


async def _login(client: httpx.AsyncClient, app, login: str) -> dict:
    await app.state.console.service.agents.add(login, "pw", cities="all", departments="all")
    response = await client.post("/api/agent/login", json={"login": login, "password": "pw"})
    client.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def test_agent_message_reaches_telegram_and_a_block_is_reported(tmp_path):
    async with FakeTelegramBotApi() as api, provision_database("sqlite", tmp_path) as url:
        settings = telegram_settings(url, api, tmp_path, console_sweep_seconds=0, password_hash_profile="insecure-fast")
        async with telegram_app(settings, api) as tg:
            await tg.say("позовите оператора")
            await tg.press("Москва")
            record = await tg.container.handoffs.current(f"telegram:{SUBSCRIBER_ID}")
            assert record is not None and record.channel == "telegram"
            headers = await _login(tg.client, tg.app, "anna")
            start = len(api.calls)
            taken = await tg.client.post(f"/api/agent/conversations/{record.id}/takeover", headers=headers)
            assert taken.status_code == 200
            assert any("подключился оператор" in t for t in texts_of(api.calls[start:]))

            start = len(api.calls)
            sent = await tg.client.post(
                f"/api/agent/conversations/{record.id}/messages", headers=headers, json={"text": "Добрый день, это Анна."}
            )
            assert sent.json() == {"delivery": {"status": "sent", "reason": None}}
            calls = [c for c in api.calls[start:] if c.method == "sendMessage"]
            assert [(c.params["chat_id"], c.params["text"]) for c in calls] == [(SUBSCRIBER_ID, "Добрый день, это Анна.")]

            # The subscriber answers in Telegram: the bot stays silent, the agent sees the line.
            assert await tg.say("спасибо, жду") == []
            body = (await tg.client.get(f"/api/agent/conversations/{record.id}", headers=headers)).json()
            assert ("in", "спасибо, жду") in [(line["direction"], line["text"]) for line in body["transcript"]]

            api.blocked_chats.add(SUBSCRIBER_ID)
            failed = await tg.client.post(
                f"/api/agent/conversations/{record.id}/messages", headers=headers, json={"text": "Вы здесь?"}
            )
            assert failed.status_code == 200
            delivery = failed.json()["delivery"]
            assert delivery["status"] == "failed" and delivery["reason"]
            assert "заблокировал" in delivery["reason"].lower()
            body = (await tg.client.get(f"/api/agent/conversations/{record.id}", headers=headers)).json()
            system = [line["text"] for line in body["transcript"] if line["direction"] == "system"]
            assert any(delivery["reason"] in text for text in system)
