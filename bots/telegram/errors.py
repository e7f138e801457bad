"""Errors as the Telegram adapter logs them and reports them to agents."""

from __future__ import annotations

from aiogram.exceptions import TelegramAPIError


def describe_error(error: BaseException) -> str:
    """An error for the log without its message when that could echo what a
    subscriber wrote (e.g. a validation error quoting a password); Telegram's own
    error descriptions are kept."""
    if isinstance(error, TelegramAPIError):
        return f"{type(error).__name__}: {error.message}"
    return type(error).__name__
