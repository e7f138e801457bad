"""Issue 12: every message the web chat API returns carries its time (UTC, ISO 8601),
and a Reply's author survives the trip through the mailbox."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from dialogs.messages import Reply

from .helpers import bearer, make_settings, running_app


def parsed(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert moment.tzinfo is not None, value
    return moment


async def test_replies_and_history_carry_their_time(sqlite_url, tmp_path):
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    async with running_app(make_settings(sqlite_url, tmp_path)) as (_, client):  # the real engine and transcript
        session = (await client.post("/api/webchat/sessions")).json()
        answer = await client.post("/api/webchat/messages", json={"text": "Здравствуйте"}, headers=bearer(session))
        assert answer.status_code == 200, answer.text
        history = (await client.get("/api/webchat/history", headers=bearer(session))).json()["messages"]
    at = parsed(answer.json()["at"])
    assert before <= at <= datetime.now(timezone.utc) + timedelta(seconds=1)
    assert "author" not in answer.json()["replies"][0]  # the bot's replies have none
    assert history and all(before <= parsed(m["at"]) <= at + timedelta(seconds=1) for m in history)


def test_a_replys_author_round_trips_and_is_left_out_when_absent():
    assert "author" not in Reply("бот").to_dict()
    authored = Reply("Здравствуйте!", author="Анна Смирнова")
    assert authored.to_dict()["author"] == "Анна Смирнова"
    assert Reply.from_dict(authored.to_dict()) == authored
