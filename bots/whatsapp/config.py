"""What the WhatsApp channel needs from the settings.

``bots`` must not import ``app``, so :meth:`WhatsAppConfig.from_settings` takes any
object with the ``twilio_*`` / ``public_base_url`` attributes of ``app.settings.Settings``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WEBHOOK_PATH = "/webhooks/whatsapp"
STATUS_PATH = "/webhooks/whatsapp/status"
ADDRESS_PREFIX = "whatsapp:"  # Twilio's spelling of a WhatsApp address: "whatsapp:+7…"
MAX_QUICK_REPLIES = 3  # WhatsApp session quick-reply buttons per message


def _secret(value: Any) -> str | None:
    """Unwrap pydantic's SecretStr (or accept a plain string)."""
    if value is None:
        return None
    getter = getattr(value, "get_secret_value", None)
    text = getter() if getter else str(value)
    return text or None


@dataclass(frozen=True)
class WhatsAppConfig:
    account_sid: str
    auth_token: str
    from_number: str  # E.164, without "whatsapp:"
    public_base_url: str | None = None
    api_base: str | None = None
    # Content SIDs of the quick-reply templates with 1, 2, 3 buttons (None: not configured).
    quick_reply_sids: tuple[str | None, ...] = (None,) * MAX_QUICK_REPLIES
    window_content_sid: str | None = None
    window_variable: str = "1"

    @classmethod
    def from_settings(cls, settings: Any) -> "WhatsAppConfig | None":
        """None when the account, the token or the WhatsApp sender is missing."""
        account_sid = getattr(settings, "twilio_account_sid", None)
        auth_token = _secret(getattr(settings, "twilio_auth_token", None))
        sender = getattr(settings, "twilio_whatsapp_from", None)
        if not (account_sid and auth_token and sender):
            return None
        public = getattr(settings, "public_base_url", None)
        return cls(
            account_sid=account_sid,
            auth_token=auth_token,
            from_number=sender.removeprefix(ADDRESS_PREFIX).strip(),
            public_base_url=public.rstrip("/") if public else None,
            api_base=getattr(settings, "twilio_api_base", None) or None,
            quick_reply_sids=tuple(
                getattr(settings, f"twilio_content_sid_quick_reply_{n}", None) or None
                for n in range(1, MAX_QUICK_REPLIES + 1)
            ),
            window_content_sid=getattr(settings, "twilio_content_sid_window", None) or None,
            window_variable=getattr(settings, "twilio_window_template_variable", None) or "1",
        )

    def quick_reply_sid(self, buttons: int) -> str | None:
        """The template for a message with ``buttons`` quick replies, if configured."""
        if 1 <= buttons <= len(self.quick_reply_sids):
            return self.quick_reply_sids[buttons - 1]
        return None

    @property
    def has_quick_replies(self) -> bool:
        return any(self.quick_reply_sids)

    def public_url(self, path: str) -> str | None:
        return f"{self.public_base_url}{path}" if self.public_base_url else None

    def __repr__(self) -> str:  # never print the token
        return f"WhatsAppConfig(from_number={self.from_number!r}, public_base_url={self.public_base_url!r})"
