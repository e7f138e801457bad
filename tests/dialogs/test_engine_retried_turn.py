"""A turn processed again because its process died after the transcript was written
but before the message was marked handled (the widget then retries it on another
process): the transcript keeps the turn once (the combined fault run found it twice)."""

from __future__ import annotations

from contextlib import asynccontextmanager

from dialogs.engine import DialogEngine
from dialogs.messages import Inbound
from dialogs.nlu import NLU
from dialogs.state.memory import MemoryStateStore
from dispatcher import Transcript


class DiesBeforeTheTurnEnds(MemoryStateStore):
    """Drops the end-of-turn writes (conversation, dedup record) of the next turn, as a
    SIGKILL after the transcript commit would."""

    die_next = False

    @asynccontextmanager
    async def locked_turn(self, lock_key, **kwargs):
        async with super().locked_turn(lock_key, **kwargs) as turn:
            yield turn
            if self.die_next:
                self.die_next = False
                turn.writes.clear()


def say(text: str, message_id: str) -> Inbound:
    return Inbound(channel="webchat", user_id="s1", message_id=f"s1:{message_id}", text=text)


async def test_a_turn_processed_again_is_recorded_once(services, db_sessions):
    store = DiesBeforeTheTurnEnds()
    transcript = Transcript(db_sessions)
    engine = DialogEngine(services, NLU(services.directory), store=store, transcript=transcript)

    await engine.handle(say("Здравствуйте", "m1"))
    store.die_next = True
    first = await engine.handle(say("Как оплатить интернет?", "m2"))
    again = await engine.handle(say("Как оплатить интернет?", "m2"))  # the retry: nothing remembered it
    assert not again.duplicate and [r.text for r in again.replies] == [r.text for r in first.replies]
    await engine.handle(say("Часы работы в Уфе", "m3"))

    history = [(e.direction, e.text) for e in await transcript.history("webchat:s1")]
    assert history.count(("in", "Как оплатить интернет?")) == 1
    assert [text for direction, text in history if direction == "in"] == ["Здравствуйте", "Как оплатить интернет?", "Часы работы в Уфе"]
    replies_of_m2 = history[history.index(("in", "Как оплатить интернет?")) + 1:][: len(first.replies)]
    assert replies_of_m2 == [("bot", r.text) for r in first.replies]
