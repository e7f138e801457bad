"""What the Viber channel needs from the settings.

``bots`` must not import ``app``: ``ViberConfig.from_settings`` takes any object with the
``viber_*`` attributes of ``app.settings.Settings``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from bots.setting_secrets import secret_text

WEBHOOK_PATH = "/webhooks/viber"
DEFAULT_API_BASE = "https://chatapi.viber.com/pa"
SENDER_NAME_LIMIT = 28  # send_message: sender.name, max 28 characters
# Viber bills chatbot-initiated messages outside a 24-hour session that starts with the
# subscriber's message (commercial terms since February 2024).
SESSION_WINDOW = timedelta(hours=24)
UNANSWERED_LIMIT = 100  # messages an hour to a subscriber who has not replied (send_message)


class ViberNotConfigured(RuntimeError):
    """A setting the requested Viber operation needs is missing."""



@dataclass(frozen=True)
class ViberConfig:
    auth_token: str
    api_base: str = DEFAULT_API_BASE
    sender_name: str = "Зелёная точка"
    sender_avatar: str | None = None
    webhook_url: str | None = None
    # A message that would open a paid (chatbot-initiated) session: send it or refuse.
    allow_paid_messages: bool = False
    unanswered_limit: int = UNANSWERED_LIMIT
    # status 12 ("too many requests"): how often to try again and how long to wait.
    retry_attempts: int = 3
    retry_wait: float = 1.0
    request_timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Any) -> "ViberConfig":
        token = secret_text(getattr(settings, "viber_auth_token", None))
        if not token:
            raise ViberNotConfigured("VIBER_AUTH_TOKEN is not set")
        return cls(
            auth_token=token,
            api_base=(getattr(settings, "viber_api_base", None) or DEFAULT_API_BASE).rstrip("/"),
            sender_name=(getattr(settings, "viber_sender_name", None) or cls.sender_name)[:SENDER_NAME_LIMIT],
            sender_avatar=getattr(settings, "viber_sender_avatar", None) or None,
            webhook_url=getattr(settings, "viber_webhook_url", None) or None,
            allow_paid_messages=bool(getattr(settings, "viber_allow_paid_messages", False)),
            unanswered_limit=int(getattr(settings, "viber_unanswered_limit", UNANSWERED_LIMIT)),
            retry_attempts=int(getattr(settings, "viber_retry_attempts", 3)),
            retry_wait=float(getattr(settings, "viber_retry_wait_seconds", 1.0)),
        )

    @property
    def sender(self) -> dict[str, str]:
        sender = {"name": self.sender_name}
        if self.sender_avatar:
            sender["avatar"] = self.sender_avatar
        return sender

    def webhook_endpoint(self) -> str:
        """``https://host`` → ``https://host/webhooks/viber``; a URL with a path is kept."""
        if not self.webhook_url:
            raise ViberNotConfigured("VIBER_WEBHOOK_URL is not set (the public https URL of this server)")
        if urlsplit(self.webhook_url).path in ("", "/"):
            return self.webhook_url.rstrip("/") + WEBHOOK_PATH
        return self.webhook_url

    def __repr__(self) -> str:  # never print the token
        return f"ViberConfig(api_base={self.api_base!r}, sender_name={self.sender_name!r})"
