"""The two message types every channel speaks with the dialog engine.

Adapters in ``bots/*`` turn a channel payload into an :class:`Inbound` and render
:class:`Reply` objects in the channel's own idiom. Nothing here knows a channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()
    # The engine wants the subscriber's phone: channels that can share a contact
    # (Telegram reply keyboard, Viber) show a "share my phone" button.
    ask_phone: bool = False
    # Logging in: channels that vouch for a shared phone (Telegram contact, Viber)
    # may offer to share it — it verifies like an SMS code. Others show nothing.
    offer_phone_login: bool = False
    # Who wrote it when a person did (an agent's name): the web chat labels the message.
    author: str | None = None

    @property
    def wants_shared_contact(self) -> bool:
        return self.ask_phone or self.offer_phone_login

    def to_dict(self) -> dict:
        data = {
            "text": self.text,
            "buttons": [{"title": b.title, "payload": b.payload} for b in self.buttons],
            "ask_phone": self.ask_phone,
            "offer_phone_login": self.offer_phone_login,
        }
        if self.author:
            data["author"] = self.author
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Reply":
        return cls(
            text=data["text"],
            buttons=tuple(Button(b["title"], b["payload"]) for b in data.get("buttons", ())),
            ask_phone=bool(data.get("ask_phone", False)),
            offer_phone_login=bool(data.get("offer_phone_login", False)),
            author=data.get("author") or None,
        )


TYPED, BUTTON, CONTACT = "typed", "button", "contact"


@dataclass(frozen=True, slots=True)
class Inbound:
    channel: str  # "webchat", "telegram", "whatsapp", "viber"
    user_id: str  # the channel's id of the subscriber (chat id, phone, session id)
    message_id: str | None = None  # the provider's message id, for de-duplication
    text: str | None = None
    payload: str | None = None  # a button press
    # Only set when the channel itself vouches for the number (WhatsApp sender,
    # a Telegram contact shared by its own owner, a phone shared in Viber).
    vouched_phone: str | None = None
    display_name: str | None = None
    # How the message came: typed text, a button press, a shared contact. Unset: read
    # from the fields (a payload is a button; a vouched phone without text a contact).
    via: str | None = None
    # A StateStore key whose presence refuses the turn before anything is read,
    # counted, replayed or stored (web chat: the session was ended). Checked in the
    # gate's own first step, so it costs no round trip of its own.
    refused_if_set: str | None = None

    def __post_init__(self) -> None:
        if self.via is None:
            via = BUTTON if self.payload else CONTACT if self.vouched_phone and not self.text else TYPED
            object.__setattr__(self, "via", via)
        elif self.via not in (TYPED, BUTTON, CONTACT):
            raise ValueError(f"unknown Inbound.via {self.via!r}")

    @property
    def conversation_key(self) -> str:
        return f"{self.channel}:{self.user_id}"


@dataclass(slots=True)
class TurnResult:
    """What one inbound message produced."""

    replies: list[Reply] = field(default_factory=list)
    # The inbound carried a secret (a password): channels that can, delete it.
    inbound_was_secret: bool = False
    # The same channel message id was already handled: the replies are the stored
    # ones, and channels that push replies themselves must not send them again.
    duplicate: bool = False
    # An agent holds the conversation: the bot stayed silent, the message went to
    # the agent's console.
    held_by_agent: bool = False
    # What the engine understood the message as (for metrics; not part of the reply).
    intent: str | None = None
    # ``Inbound.refused_if_set`` was set: nothing happened, there is no reply; the
    # channel tells its client why (the web chat: 401 session_ended). Never stored.
    refused: bool = False

    def to_dict(self) -> dict:
        return {
            "replies": [r.to_dict() for r in self.replies],
            "inbound_was_secret": self.inbound_was_secret,
            "held_by_agent": self.held_by_agent,
        }

    @classmethod
    def from_dict(cls, data: dict, *, duplicate: bool = False) -> "TurnResult":
        return cls(
            replies=[Reply.from_dict(r) for r in data.get("replies", ())],
            inbound_was_secret=bool(data.get("inbound_was_secret", False)),
            held_by_agent=bool(data.get("held_by_agent", False)),
            duplicate=duplicate,
        )
