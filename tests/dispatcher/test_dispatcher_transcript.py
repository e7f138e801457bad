"""Transcript on SQLite and PostgreSQL: order, limits, exact storage."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dispatcher import Transcript, TranscriptLine

NOW = datetime(2025, 6, 2, 7, 0, tzinfo=timezone.utc)


async def test_messages_come_back_in_order(db_sessions):
    transcript = Transcript(db_sessions)
    await transcript.record("tg:1", "in", "Здравствуйте", channel_message_id="11", now=NOW)
    await transcript.record_many(
        "tg:1",
        [TranscriptLine("bot", "Добрый день!"), TranscriptLine("bot", "Назовите номер лицевого счёта.")],
        now=NOW + timedelta(seconds=1),
    )
    await transcript.record("tg:2", "in", "другой разговор", now=NOW)
    await transcript.record("tg:1", "agent", "Это Ольга, чем помочь?", author="olga", now=NOW + timedelta(seconds=2))

    history = await transcript.history("tg:1")
    assert [(e.direction, e.text) for e in history] == [
        ("in", "Здравствуйте"),
        ("bot", "Добрый день!"),
        ("bot", "Назовите номер лицевого счёта."),
        ("agent", "Это Ольга, чем помочь?"),
    ]
    assert history[0].channel_message_id == "11" and history[0].created_at == NOW
    assert history[-1].author == "olga"


async def test_history_limit_keeps_the_latest_messages_oldest_first(db_sessions):
    transcript = Transcript(db_sessions)
    await transcript.record_many("c", [TranscriptLine("in", str(i)) for i in range(10)], now=NOW)
    assert [e.text for e in await transcript.history("c", limit=3)] == ["7", "8", "9"]


async def test_stores_exactly_what_it_is_given(db_sessions):
    # Redaction is the caller's job: the transcript must not alter text in any way.
    transcript = Transcript(db_sessions)
    texts = [
        "  мой пароль: hunter2  ",
        "строка 1\nстрока 2\r\n\tотступ",
        "эмодзи 👍🏽 и нулевая\u200bширина",
        "[скрыто]",
        "",
    ]
    await transcript.record_many("c", [TranscriptLine("in", t) for t in texts], now=NOW)
    assert [e.text for e in await transcript.history("c")] == texts


async def test_an_invalid_line_rejects_the_whole_turn(db_sessions):
    transcript = Transcript(db_sessions)
    with pytest.raises(ValueError):
        await transcript.record_many("c", [TranscriptLine("in", "привет"), TranscriptLine("robot", "?")], now=NOW)
    assert await transcript.history("c") == []
