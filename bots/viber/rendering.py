"""Engine replies in Viber's idiom: ``send_message`` bodies of type ``text``.

* Viber shows only the last keyboard it received, and a message without one brings the
  native keyboard back; so the buttons of a whole turn form one keyboard on its last
  message (up to 24 buttons, ``ActionType: reply``, ``ActionBody`` = the payload).
* A turn that wants the phone gets a ``share-phone`` button (API level 3, so the
  message says ``min_api_version: 3``).
* Texts longer than Viber's limit are cut at line breaks into several messages.
* ``tracking_data`` (returned with the subscriber's next message) carries the keyboard's
  payloads when they fit in Viber's 4,000 characters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence

from bots.viber.texts import CHOOSE_PROMPT, SHARE_PHONE_BUTTON
from dialogs.messages import Button, Reply

TEXT_LIMIT = 7000  # characters of a text message
MAX_BUTTONS = 24  # buttons of one keyboard
TRACKING_DATA_LIMIT = 4000  # characters
SHARE_PHONE_API_VERSION = 3
GRID_COLUMNS = 6  # a keyboard row is 6 columns wide
SHORT_TITLE = 18  # titles up to this length go two to a row


@dataclass(frozen=True)
class Outgoing:
    """One ``send_message`` body without the receiver."""

    body: dict[str, Any]

    @property
    def keyboard_payloads(self) -> list[str]:
        markup = self.body.get("keyboard") or {}
        return [b["ActionBody"] for b in markup.get("Buttons", ()) if b["ActionType"] == "reply"]

    @property
    def asks_phone(self) -> bool:
        markup = self.body.get("keyboard") or {}
        return any(b["ActionType"] == "share-phone" for b in markup.get("Buttons", ()))


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Pieces of at most ``limit`` characters, cut after a line break where there is one."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit) + 1 or limit
        pieces.append(text[:cut].rstrip("\n"))
        text = text[cut:]
    pieces.append(text)
    return [piece for piece in pieces if piece.strip()] or [""]


def _button(title: str, payload: str, columns: int) -> dict[str, Any]:
    return {
        "Columns": columns,
        "Rows": 1,
        "ActionType": "reply",
        "ActionBody": payload,
        "Text": title,
        "TextSize": "regular",
        # Newer Viber clients then do not echo the press (the payload) into the
        # conversation; older ones ignore the field and show it.
        "Silent": True,
    }


def keyboard(buttons: Sequence[Button], *, share_phone: bool) -> dict[str, Any] | None:
    room = MAX_BUTTONS - (1 if share_phone else 0)
    unique: dict[str, Button] = {}
    for button in buttons:
        unique.setdefault(button.payload, button)
    chosen = list(unique.values())[:room]
    if not chosen and not share_phone:
        return None
    columns = GRID_COLUMNS // 2 if all(len(b.title) <= SHORT_TITLE for b in chosen) else GRID_COLUMNS
    rendered = []
    if share_phone:
        rendered.append(
            {"Columns": GRID_COLUMNS, "Rows": 1, "ActionType": "share-phone", "ActionBody": "share-phone",
             "Text": SHARE_PHONE_BUTTON, "TextSize": "regular"}
        )
    rendered.extend(_button(b.title, b.payload, columns) for b in chosen)
    return {"Type": "keyboard", "DefaultHeight": False, "Buttons": rendered}


def tracking_data(payloads: Sequence[str]) -> str | None:
    if not payloads:
        return None
    data = json.dumps({"kb": list(payloads)}, ensure_ascii=False, separators=(",", ":"))
    return data if len(data) <= TRACKING_DATA_LIMIT else None


def payloads_from_tracking_data(data: str | None) -> set[str]:
    if not data:
        return set()
    try:
        decoded = json.loads(data)
    except ValueError:
        return set()
    kb = decoded.get("kb") if isinstance(decoded, dict) else None
    return {p for p in kb if isinstance(p, str)} if isinstance(kb, list) else set()


def render(replies: Sequence[Reply], sender: dict[str, str]) -> list[Outgoing]:
    """The messages of one turn, in order; the keyboard rides on the last one."""
    texts = [chunk for reply in replies if reply.text.strip() for chunk in split_text(reply.text.strip())]
    buttons = [button for reply in replies for button in reply.buttons]
    share_phone = any(reply.wants_shared_contact for reply in replies)
    markup = keyboard(buttons, share_phone=share_phone)
    if not texts:
        if markup is None:
            return []
        texts = [CHOOSE_PROMPT]
    messages = [Outgoing({"sender": sender, "type": "text", "text": text}) for text in texts]
    if markup is None:
        return messages
    last = dict(messages[-1].body, keyboard=markup)
    if share_phone:
        last["min_api_version"] = SHARE_PHONE_API_VERSION
    data = tracking_data([b["ActionBody"] for b in markup["Buttons"] if b["ActionType"] == "reply"])
    if data is not None:
        last["tracking_data"] = data
    messages[-1] = Outgoing(last)
    return messages
