"""The owners of the state keys: conversations (``conv:``), the turn gate (``lock:``,
``dedup:``, ``rate:``) and the verify skill's attempts (``verify:*``), on the
in-process StateStore (the contract suite covers Redis behaving the same)."""

from __future__ import annotations

import base64
import json
import zlib

import pytest

from dialogs.conversation import Conversation, ConversationStore
from dialogs.gate import TurnGate
from dialogs.messages import Button, Inbound, Reply, TurnResult
from dialogs.skills.login_attempts import LoginAttempts
from dialogs.state.base import LockTimeout
from dialogs.state.memory import MemoryStateStore
from dialogs.turn import VerifyPolicy


async def test_conversations_round_trip_and_unknown_is_none():
    conversations = ConversationStore(MemoryStateStore(), ttl_seconds=60)
    assert await conversations.find("webchat:1") is None
    assert await conversations.load("webchat:1") == Conversation(key="webchat:1")
    await conversations.save(Conversation(key="webchat:1", verified_account="1000001", city="Уфа"))
    found = await conversations.find("webchat:1")
    assert (found.verified_account, found.city) == ("1000001", "Уфа")


def gate(store, per_minute: int = 30) -> TurnGate:
    return TurnGate(store, dedup_ttl_seconds=60, lock_timeout_seconds=5, lock_wait_seconds=5,
                    messages_per_minute=per_minute)


async def test_a_message_answered_before_gets_its_stored_result():
    turn_gate = gate(MemoryStateStore())
    inbound = Inbound(channel="webchat", user_id="1", message_id="m1", text="баланс")
    assert await turn_gate.answered_before(inbound) is None
    await turn_gate.remember(inbound, TurnResult(replies=[Reply("Баланс: 50 ₽")]))
    again = await turn_gate.answered_before(inbound)
    assert again.duplicate and [r.text for r in again.replies] == ["Баланс: 50 ₽"]
    other_chat = Inbound(channel="webchat", user_id="2", message_id="m1", text="баланс")
    assert await turn_gate.answered_before(other_chat) is None  # ids are unique per chat only


class CompressingStore(MemoryStateStore):
    """The in-process store asking for compressed values, as Redis does."""

    compress_large_values = True


async def test_the_stored_result_is_kept_plain_in_process():
    store = MemoryStateStore()
    turn_gate = gate(store)
    inbound = Inbound(channel="webchat", user_id="1", message_id="m1", text="как оплатить")
    result = TurnResult(replies=[Reply("Оплатить можно картой.", buttons=(Button("Офисы", "/offices"),))])
    await turn_gate.remember(inbound, result)
    stored = await store.get(TurnGate.dedup_key(inbound))
    assert json.loads(stored) == result.to_dict()  # no CPU spent shrinking the process's own heap
    assert (await turn_gate.answered_before(inbound)).replies == result.replies


async def test_the_stored_result_is_compact_and_complete():
    store = CompressingStore()
    turn_gate = gate(store)
    inbound = Inbound(channel="webchat", user_id="1", message_id="m1", text="как оплатить")
    text = "Оплатить интернет можно картой в приложении, в офисе или через терминал. " * 8
    result = TurnResult(replies=[Reply(text, buttons=(Button("Офисы", "/offices"),), ask_phone=True),
                                 Reply("Ещё вопрос?", offer_phone_login=True)], inbound_was_secret=True)
    await turn_gate.remember(inbound, result)
    stored = await store.get(TurnGate.dedup_key(inbound))
    assert len(stored.encode()) < len(plain_record(result).encode()) / 3
    again = await turn_gate.answered_before(inbound)
    assert again.replies == result.replies and again.inbound_was_secret and again.duplicate


async def test_a_result_stored_as_plain_json_before_compression_is_still_read():
    store = MemoryStateStore()
    turn_gate = gate(store)
    inbound = Inbound(channel="webchat", user_id="1", message_id="m1", text="баланс")
    await store.set(TurnGate.dedup_key(inbound), plain_record(TurnResult(replies=[Reply("Баланс: 50 ₽")])))
    again = await turn_gate.answered_before(inbound)
    assert again.duplicate and [r.text for r in again.replies] == ["Баланс: 50 ₽"]


async def test_a_result_compressed_with_zlibs_default_window_is_still_read_and_a_long_one_round_trips():
    store = MemoryStateStore()
    turn_gate = gate(store)
    inbound = Inbound(channel="webchat", user_id="1", message_id="m1", text="баланс")
    before = "z:" + base64.b64encode(zlib.compress(plain_record(TurnResult(replies=[Reply("Баланс: 50 ₽")])).encode())).decode()
    await store.set(TurnGate.dedup_key(inbound), before)  # as stored before the smaller window
    assert [r.text for r in (await turn_gate.answered_before(inbound)).replies] == ["Баланс: 50 ₽"]
    # Longer than the 4 KB window, and not repetitive: still whole.
    compressing = gate(CompressingStore())
    long = TurnResult(replies=[Reply(" ".join(f"строка {n}: {n * n}" for n in range(800)))])
    later = Inbound(channel="webchat", user_id="1", message_id="m2", text="баланс")
    await compressing.remember(later, long)
    assert (await compressing.answered_before(later)).replies == long.replies


def plain_record(result: TurnResult) -> str:
    """A result as the gate stored it before compression."""
    return json.dumps(result.to_dict(), ensure_ascii=False)


async def test_a_message_without_an_id_is_never_a_duplicate():
    turn_gate = gate(MemoryStateStore())
    inbound = Inbound(channel="webchat", user_id="1", text="баланс")
    await turn_gate.remember(inbound, TurnResult())
    assert await turn_gate.answered_before(inbound) is None


async def test_too_fast_past_the_limit_per_conversation():
    turn_gate = gate(MemoryStateStore(), per_minute=2)
    mine, other = Inbound(channel="webchat", user_id="1"), Inbound(channel="webchat", user_id="2")
    assert [await turn_gate.too_fast(mine) for _ in range(3)] == [False, False, True]
    assert await turn_gate.too_fast(other) is False


async def test_one_turn_at_a_time_per_conversation():
    store = MemoryStateStore()
    inbound = Inbound(channel="webchat", user_id="1")
    async with gate(store).one_at_a_time(inbound):
        impatient = TurnGate(store, dedup_ttl_seconds=60, lock_timeout_seconds=5, lock_wait_seconds=0.05,
                             messages_per_minute=30)
        with pytest.raises(LockTimeout):
            async with impatient.one_at_a_time(inbound):
                raise AssertionError("two turns of one conversation at once")


async def test_wrong_guesses_lock_the_account_then_the_conversation():
    attempts = LoginAttempts(MemoryStateStore(), VerifyPolicy(max_attempts=2, max_attempts_per_conversation=3))
    assert await attempts.failed("1000001", "webchat:1") == (1, None)
    fails, locked_for = await attempts.failed("1000001", "webchat:1")
    assert fails == 2 and 0 < locked_for <= 15 * 60
    assert await attempts.account_locked_for("1000001") is not None
    # the third wrong guess in this conversation, on another account: the conversation locks
    _, locked_for = await attempts.failed("1000002", "webchat:1")
    assert locked_for is not None
    assert await attempts.account_locked_for("1000002") is None
    assert await attempts.locked_for("1000002", "webchat:1") is not None
    assert await attempts.locked_for("1000002", "webchat:2") is None


async def test_a_success_forgets_the_wrong_guesses_and_the_code():
    attempts = LoginAttempts(MemoryStateStore(), VerifyPolicy(max_attempts=2))
    await attempts.failed("1000001", "webchat:1")
    await attempts.keep_code("1000001", "webchat:1", "123456")
    assert await attempts.code_matches("1000001", "webchat:1", "123456")
    assert not await attempts.code_matches("1000001", "webchat:2", "123456")  # codes are per conversation
    assert not await attempts.code_matches("1000001", "webchat:1", "654321")
    await attempts.succeeded("1000001", "webchat:1")
    assert not await attempts.code_matches("1000001", "webchat:1", "123456")
    assert await attempts.failed("1000001", "webchat:1") == (1, None)  # counting starts again


async def test_at_most_three_codes_per_window():
    attempts = LoginAttempts(MemoryStateStore(), VerifyPolicy())
    assert [await attempts.may_send_code("1000001") for _ in range(4)] == [True, True, True, False]


async def test_the_gate_in_one_step_reads_and_keeps_the_turn():
    store = MemoryStateStore()
    conversations = ConversationStore(store, ttl_seconds=60)
    turn_gate = gate(store, per_minute=2)
    inbound = Inbound(channel="webchat", user_id="1", message_id="m1", text="баланс")
    async with turn_gate.enter(inbound, conversations) as turn:
        assert (turn.seen, turn.too_fast, turn.conversation) == (None, False, None)
        turn.save(Conversation(key="webchat:1", city="Уфа"))
        turn.remember(TurnResult(replies=[Reply("Баланс: 50 ₽")]))
        assert await conversations.find("webchat:1") is None  # kept when the turn ends
    assert (await conversations.find("webchat:1")).city == "Уфа"

    async with turn_gate.enter(inbound, conversations) as again:  # the same message re-delivered
        assert again.seen.duplicate and [r.text for r in again.seen.replies] == ["Баланс: 50 ₽"]
    following = Inbound(channel="webchat", user_id="1", message_id="m2", text="а в Нальчике?")
    async with turn_gate.enter(following, conversations) as turn:
        assert turn.conversation.city == "Уфа" and turn.too_fast is False  # the re-delivery was not counted
    async with turn_gate.enter(Inbound(channel="webchat", user_id="1", message_id="m3"), conversations) as turn:
        assert turn.too_fast is True


async def test_a_turn_that_fails_inside_the_gate_keeps_nothing():
    store = MemoryStateStore()
    conversations = ConversationStore(store, ttl_seconds=60)
    turn_gate = gate(store)
    inbound = Inbound(channel="webchat", user_id="1", message_id="m1", text="баланс")
    with pytest.raises(RuntimeError):
        async with turn_gate.enter(inbound, conversations) as turn:
            turn.save(Conversation(key="webchat:1", city="Уфа"))
            turn.remember(TurnResult(replies=[Reply("Баланс: 50 ₽")]))
            raise RuntimeError("a skill failed")
    assert await conversations.find("webchat:1") is None
    assert await turn_gate.answered_before(inbound) is None  # sending again retries
    async with turn_gate.enter(inbound, conversations):  # and the lock is free
        pass
