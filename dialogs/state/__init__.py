"""Shared short-lived state: pick the backend from settings."""

from __future__ import annotations

from dialogs.state.base import LockTimeout, StateStore


def make_state_store(redis_url: str | None, *, prefix: str = "isp:") -> StateStore:
    """Redis when a URL is configured (many processes), else in-process memory."""
    if not redis_url:  # None or an empty setting
        from dialogs.state.memory import MemoryStateStore

        return MemoryStateStore()
    from dialogs.state.redis import RedisStateStore

    return RedisStateStore.from_url(redis_url, prefix=prefix)


__all__ = ["LockTimeout", "StateStore", "make_state_store"]
