"""Transcript on SQLite and PostgreSQL: order, limits, exact storage."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dispatcher import Transcript, TranscriptLine

NOW = datetime(2025, 6, 2, 7, 0, tzinfo=timezone.utc)


@pytest.fixture
async def transcripts(db_sessions, database_url):
    """Makes transcripts wired as the app wires them: on SQLite (a file) through the
    appender's own connection and thread, on PostgreSQL through the async engine."""
    made = []

    def make() -> Transcript:
        made.append(Transcript.for_database(db_sessions, database_url))
        return made[-1]

    yield make
    for transcript in made:
        await transcript.close()


async def test_messages_come_back_in_order(db_sessions, transcripts):
    transcript = transcripts()
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


async def test_history_limit_keeps_the_latest_messages_oldest_first(db_sessions, transcripts):
    transcript = transcripts()
    await transcript.record_many("c", [TranscriptLine("in", str(i)) for i in range(10)], now=NOW)
    assert [e.text for e in await transcript.history("c", limit=3)] == ["7", "8", "9"]


async def test_stores_exactly_what_it_is_given(db_sessions, transcripts):
    # Redaction is the caller's job: the transcript must not alter text in any way.
    transcript = transcripts()
    texts = [
        "  мой пароль: hunter2  ",
        "строка 1\nстрока 2\r\n\tотступ",
        "эмодзи 👍🏽 и нулевая\u200bширина",
        "[скрыто]",
        "",
    ]
    await transcript.record_many("c", [TranscriptLine("in", t) for t in texts], now=NOW)
    assert [e.text for e in await transcript.history("c")] == texts


async def test_an_invalid_line_rejects_the_whole_turn(db_sessions, transcripts):
    transcript = transcripts()
    with pytest.raises(ValueError):
        await transcript.record_many("c", [TranscriptLine("in", "привет"), TranscriptLine("robot", "?")], now=NOW)
    assert await transcript.history("c") == []


# -- the buffered writer the dialog engine uses -----------------------------------------------


async def test_buffered_transcript_keeps_order_and_history_sees_its_own_lines(db_sessions, transcripts):
    from dispatcher.transcript import BufferedTranscript, TranscriptLine

    buffered = BufferedTranscript(transcripts(), flush_seconds=60, wait_for_write=False)
    for turn in range(3):
        await buffered.record_many("web:1", [TranscriptLine("in", f"q{turn}"), TranscriptLine("bot", f"a{turn}")], now=NOW)
    # nothing written yet (a minute-long flush interval), but history flushes first
    assert await transcripts().history("web:1") == []
    texts = [e.text for e in await buffered.history("web:1")]
    assert texts == ["q0", "a0", "q1", "a1", "q2", "a2"]
    await buffered.close()


async def test_buffered_transcript_writes_in_the_background_and_on_close(db_sessions, transcripts):
    import asyncio

    from dispatcher.transcript import BufferedTranscript, TranscriptLine

    buffered = BufferedTranscript(transcripts(), flush_seconds=0.01, wait_for_write=False)
    await buffered.record_many("web:2", [TranscriptLine("in", "hello")], now=NOW)
    for _ in range(100):
        if await transcripts().history("web:2"):
            break
        await asyncio.sleep(0.01)
    assert [e.text for e in await transcripts().history("web:2")] == ["hello"]
    await buffered.close()
    await buffered.record_many("web:2", [TranscriptLine("bot", "after close")], now=NOW)  # written at once
    assert [e.text for e in await transcripts().history("web:2")] == ["hello", "after close"]


async def test_buffered_transcript_keeps_lines_when_the_database_refuses(db_engine, db_sessions, transcripts):
    from dispatcher.models import TranscriptMessage
    from dispatcher.transcript import BufferedTranscript, TranscriptLine

    buffered = BufferedTranscript(transcripts(), flush_seconds=60)
    async with db_engine.begin() as connection:
        await connection.run_sync(TranscriptMessage.__table__.drop)
    await buffered.record_many("web:3", [TranscriptLine("in", "kept")], now=NOW)
    with pytest.raises(Exception):
        await buffered.flush()
    async with db_engine.begin() as connection:
        await connection.run_sync(TranscriptMessage.__table__.create)
    assert [e.text for e in await buffered.history("web:3")] == ["kept"]
    await buffered.close()


# -- one refused row never blocks the others (issue 10) ----------------------------------------
async def test_buffered_writer_sets_aside_a_row_the_database_refuses(db_sessions, caplog, transcripts):
    from dispatcher.transcript import BufferedTranscript

    buffered = BufferedTranscript(transcripts(), flush_seconds=60, wait_for_write=False)
    # A lone surrogate is refused by both databases' drivers (text cleaning at the
    # adapters removes it; the writer must survive text that skipped the cleaning).
    await buffered.record_many("a", [TranscriptLine("in", "до"), TranscriptLine("bot", "ответ")], now=NOW)
    await buffered.record_many("bad", [TranscriptLine("in", "секрет\ud800"), TranscriptLine("bot", "ответ 2")], now=NOW)
    await buffered.record_many("b", [TranscriptLine("in", "после")], now=NOW)
    with caplog.at_level("ERROR", logger="dispatcher.transcript"):
        await buffered.flush()  # one batch of five rows, one of them refused
    assert [e.text for e in await buffered.history("a")] == ["до", "ответ"]
    assert [e.text for e in await buffered.history("bad")] == ["ответ 2"]
    assert [e.text for e in await buffered.history("b")] == ["после"]
    assert [row["conversation_key"] for row in buffered.set_aside] == ["bad"]
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "refused" in logged and "bad" in logged and "секрет" not in logged
    # Later lines keep flowing: nothing is retried forever.
    await buffered.record_many("c", [TranscriptLine("in", "ещё")], now=NOW)
    assert [e.text for e in await buffered.history("c")] == ["ещё"]
    await buffered.close()


@pytest.mark.postgres
async def test_a_nul_refused_by_postgres_is_set_aside(tmp_path):
    from tests.conftest import provision_database
    from dispatcher.transcript import BufferedTranscript
    from storage import make_engine, make_sessionmaker

    async with provision_database("postgres", tmp_path) as url:
        engine = make_engine(url)
        buffered = BufferedTranscript(Transcript(make_sessionmaker(engine)))  # durable: written before it returns
        await buffered.record_many("x", [TranscriptLine("in", "a\x00b"), TranscriptLine("bot", "ok")], now=NOW)
        await buffered.record_many("y", [TranscriptLine("in", "другой")], now=NOW)
        assert [e.text for e in await buffered.history("y")] == ["другой"]
        assert [e.text for e in await buffered.history("x")] == ["ok"]
        assert len(buffered.set_aside) == 1
        await buffered.close()
        await engine.dispose()


async def test_an_outage_is_retried_not_set_aside(tmp_path):
    from sqlalchemy.exc import OperationalError

    from dispatcher.transcript import BufferedTranscript, _refused_by_database

    assert not _refused_by_database(OperationalError("INSERT", {}, ConnectionResetError()))
    assert _refused_by_database(UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"))
    # A database that is gone keeps the lines queued.
    from storage import make_engine, make_sessionmaker

    url = f"sqlite+aiosqlite:///{tmp_path}/missing-dir/none.db"
    engine = make_engine(url)
    buffered = BufferedTranscript(Transcript.for_database(make_sessionmaker(engine), url), flush_seconds=60)
    await buffered.record_many("k", [TranscriptLine("in", "привет")], now=NOW)
    with pytest.raises(Exception):
        await buffered.flush()
    assert not buffered.set_aside and len(buffered._pending) == 1
    buffered._closed = True
    await engine.dispose()


# -- durable: a recorded turn is committed before record_many returns (issue 10) ------------------
async def test_durable_writer_commits_before_returning(db_sessions, transcripts):
    import asyncio

    from dispatcher.transcript import BufferedTranscript

    buffered = BufferedTranscript(transcripts(), flush_seconds=60)  # no timer help
    await buffered.record_many("d", [TranscriptLine("in", "вопрос"), TranscriptLine("bot", "ответ")], now=NOW)
    # Another reader (another process, or this one after a SIGKILL) sees it at once.
    assert [e.text for e in await transcripts().history("d")] == ["вопрос", "ответ"]

    # Turns at once share commits (group commit) and keep each turn's order.
    await asyncio.gather(
        *(buffered.record_many(f"g{i}", [TranscriptLine("in", f"q{i}"), TranscriptLine("bot", f"a{i}")], now=NOW) for i in range(50))
    )
    for i in (0, 25, 49):
        assert [e.text for e in await transcripts().history(f"g{i}")] == [f"q{i}", f"a{i}"]
    await buffered.close()


async def test_durable_writer_does_not_hold_turns_during_an_outage(db_engine, db_sessions, transcripts):
    import time

    from dispatcher.models import TranscriptMessage
    from dispatcher.transcript import BufferedTranscript

    buffered = BufferedTranscript(transcripts(), flush_seconds=60, max_wait_seconds=5)
    async with db_engine.begin() as connection:
        await connection.run_sync(TranscriptMessage.__table__.drop)
    await buffered.record_many("o", [TranscriptLine("in", "первый")], now=NOW)  # the write fails
    started = time.monotonic()
    await buffered.record_many("o", [TranscriptLine("in", "второй")], now=NOW)
    assert time.monotonic() - started < 1  # queued; no waiting on a database that is down
    async with db_engine.begin() as connection:
        await connection.run_sync(TranscriptMessage.__table__.create)
    assert [e.text for e in await buffered.history("o")] == ["первый", "второй"]
    await buffered.close()


# -- a turn processed again (its process died after the lines, before the dedup record) ----------
async def test_a_retried_turn_replaces_its_first_attempts_lines(db_sessions, transcripts):
    transcript = transcripts()
    await transcript.record_many("web:r", [TranscriptLine("in", "раз", "m1"), TranscriptLine("bot", "ответ")], now=NOW, turn="m1")
    await transcript.record_many("web:r", [TranscriptLine("in", "два", "m2"), TranscriptLine("bot", "ответ 2")], now=NOW, turn="m2")
    # The same message processed again (the other process): its answer replaces the first one.
    await transcript.record_many(
        "web:r", [TranscriptLine("in", "два", "m2"), TranscriptLine("bot", "ответ 2, снова"), TranscriptLine("bot", "ещё")],
        now=NOW, turn="m2",
    )
    # The same message id in another conversation is another turn.
    await transcript.record_many("web:s", [TranscriptLine("in", "два", "m2")], now=NOW, turn="m2")
    # Lines without a turn (agents, notes) are never replaced.
    await transcript.record("web:r", "agent", "Здравствуйте!", author="olga", now=NOW)
    await transcript.record("web:r", "agent", "Здравствуйте!", author="olga", now=NOW)

    assert [e.text for e in await transcript.history("web:r")] == [
        "раз", "ответ", "два", "ответ 2, снова", "ещё", "Здравствуйте!", "Здравствуйте!",
    ]
    assert [e.text for e in await transcript.history("web:s")] == ["два"]


async def test_buffered_retry_of_a_turn_is_recorded_once_in_and_across_batches(db_sessions, transcripts):
    from dispatcher.transcript import BufferedTranscript

    buffered = BufferedTranscript(transcripts(), flush_seconds=60, wait_for_write=False)
    # Two attempts queued in one batch: the later one is kept.
    await buffered.record_many("k", [TranscriptLine("in", "q1"), TranscriptLine("bot", "a1")], now=NOW, turn="1")
    await buffered.record_many("k", [TranscriptLine("in", "q2")], now=NOW, turn="2")
    await buffered.record_many("k", [TranscriptLine("in", "q1"), TranscriptLine("bot", "a1 again")], now=NOW, turn="1")
    await buffered.flush()
    assert [e.text for e in await buffered.history("k")] == ["q2", "q1", "a1 again"]
    # And one in a later batch (what another process does after a crash).
    other = BufferedTranscript(transcripts(), flush_seconds=60)
    await other.record_many("k", [TranscriptLine("in", "q2"), TranscriptLine("bot", "a2")], now=NOW, turn="2")
    assert [e.text for e in await other.history("k")] == ["q1", "a1 again", "q2", "a2"]
    await buffered.close()
    await other.close()


# -- live lines for agents: no lookup for a conversation the turn knows is not queued ----------
async def test_live_transcript_looks_up_the_queue_only_when_the_turn_does_not_know(db_sessions, transcripts):
    from dialogs.state.memory import MemoryStateStore
    from dispatcher.live import ConsoleEvents
    from dispatcher.transcript import LiveTranscript

    class CountingStore(MemoryStateStore):
        gets = 0
        published: list = []

        async def get(self, key):
            CountingStore.gets += 1
            return await super().get(key)

        async def publish(self, topic, message):
            CountingStore.published.append(message)

    class Previews:
        async def set_preview(self, conversation_key, text):
            pass

    store = CountingStore()
    events = ConsoleEvents(store)
    live = LiveTranscript(transcripts(), events, Previews())
    await events.mark_open("web:q", 7, "Уфа", "tech")

    await live.record_many("web:n", [TranscriptLine("in", "вопрос")], now=NOW, queued=False)
    assert CountingStore.gets == 0 and not CountingStore.published  # the turn knew: no round trip
    await live.record_many("web:q", [TranscriptLine("in", "жду оператора")], now=NOW, queued=True)
    assert CountingStore.gets == 1 and "жду оператора" in CountingStore.published[-1]
    await live.record_many("web:q", [TranscriptLine("agent", "Здравствуйте")], now=NOW)  # the console: unknown
    assert CountingStore.gets == 2 and len(CountingStore.published) == 2
    assert [e.text for e in await live.history("web:n")] == ["вопрос"]  # recorded all the same


# -- a stalled write (a hung database, a lock held elsewhere) does not hold the replies ----------
class _WriteLockHeldElsewhere:
    """Another client holds the transcript table's write lock until ``release``."""

    def __init__(self, database_url: str):
        self._url = database_url

    async def __aenter__(self):
        if self._url.startswith("sqlite"):
            import sqlite3

            self._sqlite = sqlite3.connect(self._url.split("///", 1)[1], isolation_level=None)
            self._sqlite.execute("BEGIN IMMEDIATE")  # SQLite's one writer is now this client
        else:
            import asyncpg

            from storage.engine import libpq_options_to_server_settings

            base, _, query = self._url.replace("postgresql+asyncpg://", "postgresql://").partition("?")
            options = query.split("options=", 1)[1].replace("%3D", "=")
            self._pg = await asyncpg.connect(base, server_settings=libpq_options_to_server_settings(options))
            self._transaction = self._pg.transaction()
            await self._transaction.start()
            # Blocks INSERT and DELETE; reads go on.
            await self._pg.execute("LOCK TABLE transcript_messages IN SHARE ROW EXCLUSIVE MODE")
        return self

    async def release(self):
        if self._url.startswith("sqlite"):
            self._sqlite.execute("COMMIT")
            self._sqlite.close()
        else:
            await self._transaction.commit()
            await self._pg.close()

    async def __aexit__(self, *exc):
        return False


async def test_a_stalled_write_releases_its_turns_after_the_bound_and_keeps_the_lines(database_url, transcripts):
    import asyncio
    import time

    from dispatcher.transcript import BufferedTranscript

    buffered = BufferedTranscript(transcripts(), flush_seconds=60, max_wait_seconds=0.5)
    async with _WriteLockHeldElsewhere(database_url) as lock:
        started = time.monotonic()
        await asyncio.gather(
            buffered.record_many("s1", [TranscriptLine("in", "первый")], now=NOW),
            buffered.record_many("s2", [TranscriptLine("in", "второй")], now=NOW),
        )
        assert 0.4 < time.monotonic() - started < 3  # released by the bound, not by the write
        started = time.monotonic()
        await buffered.record_many("s3", [TranscriptLine("in", "третий")], now=NOW)
        assert time.monotonic() - started < 0.3  # the write is late: new turns don't wait meanwhile
        await lock.release()
    for key, text in (("s1", "первый"), ("s2", "второй"), ("s3", "третий")):
        assert [e.text for e in await buffered.history(key)] == [text]
    # Once a write ends, turns wait for their commit again.
    await buffered.record_many("s4", [TranscriptLine("in", "четвёртый")], now=NOW)
    assert [e.text for e in await transcripts().history("s4")] == ["четвёртый"]
    await buffered.close()
