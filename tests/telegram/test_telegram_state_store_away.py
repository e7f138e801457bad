"""The share-phone keyboard flag is cosmetic: with the StateStore (Redis) away its
methods must not raise, or the reply that reads it — the engine's apology above all —
is lost after the update was acknowledged (found by tests/faults/test_combined.py)."""

from __future__ import annotations

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from bots.telegram.state import TelegramState
from dialogs.state.memory import MemoryStateStore


class AwayStore(MemoryStateStore):
    async def get(self, key):
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    async def set(self, key, value, ttl=None):
        raise RedisConnectionError("Connection closed by server.")

    async def delete(self, key):
        raise RedisConnectionError("Connection closed by server.")


async def test_keyboard_flag_with_the_store_away_logs_and_does_not_raise(caplog):
    state = TelegramState(AwayStore())
    assert await state.keyboard_shown("42") is False
    await state.mark_keyboard_shown("42")
    await state.forget_keyboard("42")
    assert sum("keyboard state of 42" in r.getMessage() for r in caplog.records) == 3


async def test_keyboard_flag_works_with_the_store_up():
    state = TelegramState(MemoryStateStore())
    assert await state.keyboard_shown("42") is False
    await state.mark_keyboard_shown("42")
    assert await state.keyboard_shown("42") is True
    await state.forget_keyboard("42")
    assert await state.keyboard_shown("42") is False


async def test_a_kept_button_payload_still_fails_loudly():
    # Not cosmetic: a button whose payload was not kept would answer "outdated" later.
    with pytest.raises(RedisConnectionError):
        await TelegramState(AwayStore()).keep_payload("d", "p")
