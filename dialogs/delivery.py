"""The outbound side of a channel, as the conversation core sees it.

Every channel has a :class:`Sender`; ``app`` registers them in a :class:`Delivery`.
Agent messages (dispatcher) and asynchronous bot messages go through it, so the core
never branches on the channel (Chatwoot's SendOnChannelService). A send never raises
for the channel's own refusals: it returns a :class:`DeliveryResult` the console can
show to the agent ("sent", or "failed" and why).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, Sequence

from dialogs.messages import Reply


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    status: Literal["sent", "failed"]
    # Shown to the agent when the message did not go out (Russian, one sentence).
    reason: str | None = None
    # A passing failure (5xx, 429, timeout): sending again later may work.
    retryable: bool = False
    # The messenger's ids of what was sent, kept with the transcript.
    provider_message_ids: tuple[str, ...] = ()
    # The messenger's own words (error code and description), for the log.
    detail: str | None = None

    @property
    def sent(self) -> bool:
        return self.status == "sent"

    @classmethod
    def ok(cls, *provider_message_ids: str) -> "DeliveryResult":
        return cls("sent", provider_message_ids=tuple(i for i in provider_message_ids if i))

    @classmethod
    def failed(cls, reason: str, *, retryable: bool = False, detail: str | None = None) -> "DeliveryResult":
        return cls("failed", reason=reason, retryable=retryable, detail=detail)

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "reason": self.reason,
            "retryable": self.retryable,
            "provider_message_ids": list(self.provider_message_ids),
            "detail": self.detail,
        }


class Sender(Protocol):
    """Delivers replies (bot or agent) to one user of one channel."""

    channel: str

    async def send(self, user_id: str, replies: Sequence[Reply]) -> DeliveryResult:
        """Deliver in order; stop at the first refusal and say why."""


class AdvisingSender(Sender, Protocol):
    """A sender that can tell, before anything is sent, what a message to the user would
    cost or become (a paid session, a template instead of free text, no delivery at
    all): ``advise`` returns one Russian sentence for the agent, or None when a message
    would go out as usual. Optional: senders without it never warn."""

    async def advise(self, user_id: str) -> str | None: ...


class UnknownChannel(LookupError):
    pass


NO_SUCH_CHANNEL = "Канал {channel} не подключён: сообщение не отправлено."


class Delivery:
    """Which sender serves which channel; ``send`` takes a conversation key
    (``<channel>:<user id>``), as the dispatcher stores it."""

    def __init__(self) -> None:
        self._senders: dict[str, Sender] = {}

    def register(self, sender: Sender) -> None:
        self._senders[sender.channel] = sender

    def has(self, channel: str) -> bool:
        return channel in self._senders

    def sender_for(self, channel: str) -> Sender:
        sender = self._senders.get(channel)
        if sender is None:
            raise UnknownChannel(channel)
        return sender

    async def advise(self, conversation_key: str) -> str | None:
        """What the agent should know before writing to this conversation (its channel's
        sender's ``advise``), or None."""
        channel, _, user_id = conversation_key.partition(":")
        sender = self._senders.get(channel)
        if sender is None:
            return NO_SUCH_CHANNEL.format(channel=channel or "?")
        advise = getattr(sender, "advise", None)
        return await advise(user_id) if advise is not None else None

    async def send(self, conversation_key: str, replies: Sequence[Reply]) -> DeliveryResult:
        channel, _, user_id = conversation_key.partition(":")
        sender = self._senders.get(channel)
        if sender is None:
            return DeliveryResult.failed(NO_SUCH_CHANNEL.format(channel=channel or "?"))
        return await sender.send(user_id, replies)
