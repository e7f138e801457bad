"""Reading a secret setting without importing ``app`` (``bots`` must not): the channels'
configs take any settings-like object, whose secrets are pydantic ``SecretStr`` in the app
and may be plain strings in tests and tools."""

from __future__ import annotations

from typing import Any


def secret_text(value: Any) -> str | None:
    """Unwrap pydantic's SecretStr (or accept a plain string); None when unset or empty."""
    if value is None:
        return None
    getter = getattr(value, "get_secret_value", None)
    text = getter() if getter else str(value)
    return text or None
