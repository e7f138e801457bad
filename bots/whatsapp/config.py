"""What the WhatsApp channel needs from the settings.

``bots`` must not import ``app``, so :meth:`WhatsAppConfig.from_settings` takes any
object with the ``twilio_*`` / ``public_base_url`` attributes of ``app.settings.Settings``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bots.setting_secrets import secret_text

WEBHOOK_PATH = "/webhooks/whatsapp"
STATUS_PATH = "/webhooks/whatsapp/status"
ADDRESS_PREFIX = "whatsapp:"  # Twilio's spelling of a WhatsApp address: "whatsapp:+7…"
MAX_QUICK_REPLIES = 3  # WhatsApp session quick-reply buttons per message
MAX_LIST_ITEMS = 10  # items of one twilio/list-picker (WhatsApp list message)
CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")
LIST_PICKER_SETTING = "TWILIO_CONTENT_SID_LIST_PICKER"



def parse_list_pickers(value: str | None) -> tuple[tuple[int, str], ...]:
    """``TWILIO_CONTENT_SID_LIST_PICKER`` → ((items, sid), …), sorted by items.

    A list-picker template has a fixed number of items (variables only fill them), so
    each menu size needs its own template: ``"4=HX…,5=HX…,10=HX…"``. A bare ``"HX…"``
    is a template with 10 items. Anything else is a configuration error, reported at
    start-up rather than as a broken message to a subscriber."""
    if not value or not value.strip():
        return ()
    by_size: dict[int, str] = {}
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        size_text, _, sid = part.rpartition("=")
        size_text, sid = size_text.strip() or str(MAX_LIST_ITEMS), sid.strip()
        if not (size_text.isdigit() and 1 <= int(size_text) <= MAX_LIST_ITEMS and CONTENT_SID.fullmatch(sid)):
            raise ValueError(
                f"{LIST_PICKER_SETTING}: {part!r} is not <items 1..{MAX_LIST_ITEMS}>=<HX… content SID>"
            )
        by_size[int(size_text)] = sid
    return tuple(sorted(by_size.items()))


@dataclass(frozen=True)
class WhatsAppConfig:
    account_sid: str
    auth_token: str
    from_number: str  # E.164, without "whatsapp:"
    public_base_url: str | None = None
    api_base: str | None = None
    # Content SIDs of the quick-reply templates with 1, 2, 3 buttons (None: not configured).
    quick_reply_sids: tuple[str | None, ...] = (None,) * MAX_QUICK_REPLIES
    # twilio/list-picker templates by their number of items (see parse_list_pickers).
    list_picker_sids: tuple[tuple[int, str], ...] = ()
    window_content_sid: str | None = None
    window_variable: str = "1"

    @classmethod
    def from_settings(cls, settings: Any) -> "WhatsAppConfig | None":
        """None when the account, the token or the WhatsApp sender is missing."""
        account_sid = getattr(settings, "twilio_account_sid", None)
        auth_token = secret_text(getattr(settings, "twilio_auth_token", None))
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
            list_picker_sids=parse_list_pickers(getattr(settings, "twilio_content_sid_list_picker", None)),
            window_content_sid=getattr(settings, "twilio_content_sid_window", None) or None,
            window_variable=getattr(settings, "twilio_window_template_variable", None) or "1",
        )

    def quick_reply_sid(self, buttons: int) -> str | None:
        """The template for a message with ``buttons`` quick replies, if configured."""
        if 1 <= buttons <= len(self.quick_reply_sids):
            return self.quick_reply_sids[buttons - 1]
        return None

    def list_picker_sid(self, items: int) -> str | None:
        """The list-picker template with exactly ``items`` items, if configured."""
        return dict(self.list_picker_sids).get(items)

    @property
    def has_quick_replies(self) -> bool:
        return any(self.quick_reply_sids)

    @property
    def max_buttons(self) -> int:
        """The most buttons one message carries as tappable buttons (0: numbered menus only)."""
        sizes = [n for n, _ in self.list_picker_sids]
        sizes += [n for n, sid in enumerate(self.quick_reply_sids, start=1) if sid]
        return max(sizes, default=0)

    def public_url(self, path: str) -> str | None:
        return f"{self.public_base_url}{path}" if self.public_base_url else None

    def __repr__(self) -> str:  # never print the token
        return f"WhatsAppConfig(from_number={self.from_number!r}, public_base_url={self.public_base_url!r})"
