"""The outbound side of a channel, as the conversation core sees it.

Every adapter implements :class:`ChannelSender`; ``app`` registers them in a
:class:`Delivery`. Agent messages (dispatcher) and asynchronous bot messages use
it, so the core never branches on the channel (Chatwoot's SendOnChannelService).
"""

from __future__ import annotations

from typing import Protocol, Sequence

from dialogs.messages import Reply


class ChannelSender(Protocol):
    channel: str

    async def send(self, user_id: str, replies: Sequence[Reply]) -> None:
        """Deliver replies to one subscriber of this channel."""


class UnknownChannel(LookupError):
    pass


class Delivery:
    def __init__(self) -> None:
        self._senders: dict[str, ChannelSender] = {}

    def register(self, sender: ChannelSender) -> None:
        self._senders[sender.channel] = sender

    def has(self, channel: str) -> bool:
        return channel in self._senders

    async def send(self, conversation_key: str, replies: Sequence[Reply]) -> None:
        channel, _, user_id = conversation_key.partition(":")
        sender = self._senders.get(channel)
        if sender is None:
            raise UnknownChannel(channel)
        await sender.send(user_id, replies)
