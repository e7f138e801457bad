"""Engine replies in WhatsApp's idiom.

* A reply with up to three buttons goes as session quick replies where a Content
  template for that many buttons is configured (``TWILIO_CONTENT_SID_QUICK_REPLY_<n>``:
  body ``{{1}}``, button *i* titled ``{{2i}}`` with id ``{{2i+1}}``).
* A reply with up to ten buttons goes as a list picker where a ``twilio/list-picker``
  template with that many items is configured (``TWILIO_CONTENT_SID_LIST_PICKER``:
  body ``{{1}}``, list button ``{{2}}``, item *i* titled ``{{3i}}`` with id ``{{3i+1}}``);
  quick replies win for up to three buttons when both are configured.
* Otherwise the buttons become a numbered menu under the text («Ответьте цифрой:
  1 — Баланс …»); the digit works as the button (``state.WhatsAppState``).
* Digits run on across the replies of one send, so every button of a turn has its
  own number; quick-reply and list-item ids carry the menu token and the number
  (``<token>.<n>``, resolved by ``state.WhatsAppState.payload_for_button``).
* A text longer than a Twilio body (1,600 characters) is split at paragraph, line or
  word boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from bots.whatsapp.config import WhatsAppConfig
from bots.whatsapp.texts import LIST_BUTTON, MENU_LINE, MENU_PROMPT
from dialogs.messages import Button, Reply

BODY_LIMIT = 1600  # characters of one Twilio message body
TEMPLATE_VARIABLE_LIMIT = 1024  # a WhatsApp template's body text
QUICK_REPLY_TITLE_LIMIT = 20  # WhatsApp cuts button titles at 20 characters
LIST_ITEM_TITLE_LIMIT = 24  # twilio/list-picker: an item's title


@dataclass(frozen=True)
class Outgoing:
    """One Twilio message: a plain body, or a Content template with its variables."""

    body: str | None = None
    content_sid: str | None = None
    content_variables: dict[str, str] | None = None


@dataclass
class Rendered:
    messages: list[Outgoing] = field(default_factory=list)
    menu_token: str = ""
    menu: list[str] = field(default_factory=list)  # payloads by number - 1


def split_text(text: str, limit: int = BODY_LIMIT) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at the last paragraph break, line
    break or space before the limit (a hard cut only inside one very long word)."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]
        # The strongest boundary in the second half of the window; a hard cut otherwise.
        cuts = (window.rfind(sep) for sep in ("\n\n", "\n", " "))
        cut = next((c for c in cuts if c > limit // 2), limit)
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def _short_title(title: str, limit: int = QUICK_REPLY_TITLE_LIMIT) -> str:
    if len(title) <= limit:
        return title
    return title[: limit - 1].rstrip() + "…"


def numbered_menu(buttons: Sequence[Button], first: int) -> str:
    lines = [MENU_PROMPT] + [MENU_LINE.format(number=first + i, title=b.title) for i, b in enumerate(buttons)]
    return "\n".join(lines)


class WhatsAppRenderer:
    def __init__(self, config: WhatsAppConfig) -> None:
        self.config = config

    def render(self, replies: Sequence[Reply], menu_token: str) -> Rendered:
        out = Rendered(menu_token=menu_token)
        for reply in replies:
            first = len(out.menu) + 1
            out.menu.extend(button.payload for button in reply.buttons)
            template = self.config.quick_reply_sid(len(reply.buttons)) if reply.buttons else None
            if template is not None:
                out.messages += self._quick_replies(reply, template, first, menu_token)
                continue
            template = self.config.list_picker_sid(len(reply.buttons)) if reply.buttons else None
            if template is not None:
                out.messages += self._list_picker(reply, template, first, menu_token)
                continue
            text = reply.text
            if reply.buttons:
                text = f"{text}\n\n{numbered_menu(reply.buttons, first)}"
            out.messages += [Outgoing(body=piece) for piece in split_text(text)]
        return out

    @staticmethod
    def _quick_replies(reply: Reply, template: str, first: int, token: str) -> list[Outgoing]:
        *head, last = split_text(reply.text, TEMPLATE_VARIABLE_LIMIT)
        variables = {"1": last}
        for i, button in enumerate(reply.buttons, start=1):
            variables[str(2 * i)] = _short_title(button.title)
            variables[str(2 * i + 1)] = f"{token}.{first + i - 1}"
        return [Outgoing(body=piece) for piece in head] + [Outgoing(content_sid=template, content_variables=variables)]

    @staticmethod
    def _list_picker(reply: Reply, template: str, first: int, token: str) -> list[Outgoing]:
        *head, last = split_text(reply.text, TEMPLATE_VARIABLE_LIMIT)
        variables = {"1": last, "2": LIST_BUTTON}
        for i, button in enumerate(reply.buttons, start=1):
            variables[str(3 * i)] = _short_title(button.title, LIST_ITEM_TITLE_LIMIT)
            variables[str(3 * i + 1)] = f"{token}.{first + i - 1}"
        return [Outgoing(body=piece) for piece in head] + [Outgoing(content_sid=template, content_variables=variables)]

    def window_template(self, replies: Sequence[Reply]) -> list[Outgoing] | None:
        """Messages after the 24-hour window: the approved template with the text in its
        variable (buttons cannot travel; agents' messages have none). None without one."""
        sid = self.config.window_content_sid
        if sid is None:
            return None
        text = "\n\n".join(reply.text for reply in replies if reply.text)
        return [
            Outgoing(content_sid=sid, content_variables={self.config.window_variable: piece})
            for piece in split_text(text, TEMPLATE_VARIABLE_LIMIT)
        ]
