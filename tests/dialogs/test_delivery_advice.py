"""Delivery.advise: the optional preflight of a channel's sender."""

from __future__ import annotations

from typing import Sequence

from dialogs.delivery import Delivery, DeliveryResult
from dialogs.messages import Reply


class PlainSender:
    channel = "plain"

    async def send(self, user_id: str, replies: Sequence[Reply]) -> DeliveryResult:
        return DeliveryResult.ok()


class WindowSender(PlainSender):
    """Warns for users it has not heard from."""

    channel = "window"

    def __init__(self, heard_from: set[str]) -> None:
        self.heard_from = heard_from

    async def advise(self, user_id: str) -> str | None:
        return None if user_id in self.heard_from else "Окно закрыто: уйдёт шаблоном."


async def test_a_sender_without_advise_never_warns():
    delivery = Delivery()
    delivery.register(PlainSender())
    assert await delivery.advise("plain:42") is None


async def test_the_advice_of_the_conversations_own_sender():
    delivery = Delivery()
    delivery.register(WindowSender({"7"}))
    delivery.register(PlainSender())
    assert await delivery.advise("window:7") is None
    assert await delivery.advise("window:8") == "Окно закрыто: уйдёт шаблоном."
    assert await delivery.advise("plain:8") is None


async def test_an_unknown_channel_is_advised_as_not_connected():
    assert await Delivery().advise("icq:1") == "Канал icq не подключён: сообщение не отправлено."
    assert await Delivery().advise("nokey") == "Канал nokey не подключён: сообщение не отправлено."
