"""The durable outbox with the real Telegram sender (aiogram against the Bot API double)."""

from __future__ import annotations

import asyncio

from bots.outbox import Outbox, OutboxWorker
from dialogs.messages import Reply
from tests.telegram.harness import SUBSCRIBER_ID

REPLY = [Reply("Оператор: перезвоним в 15:00.")]


async def test_real_telegram_sender_502_then_ok_is_delivered_once(tg):
    """Through aiogram and the Bot API double: a 502 queues it, the worker delivers it."""
    outbox = Outbox(tg.container.sessions, tg.container.delivery, base_delay_seconds=0.05)
    tg.api.fail_next_with("sendMessage", 502, "Bad Gateway")
    result = await outbox.deliver(f"telegram:{SUBSCRIBER_ID}", REPLY, idempotency_key="agent:9:1")
    assert not result.sent and result.retryable
    worker = OutboxWorker(outbox, poll_seconds=0.05)
    worker.start()
    try:
        for _ in range(100):
            if (await outbox.counts()).get("sent"):
                break
            await asyncio.sleep(0.05)
    finally:
        await worker.close()
    texts = [call.params["text"] for call in tg.api.calls_to("sendMessage")]
    assert texts.count(REPLY[0].text) == 2  # the refused try and the delivered one
    assert await outbox.counts() == {"sent": 1}
    again = await outbox.deliver(f"telegram:{SUBSCRIBER_ID}", REPLY, idempotency_key="agent:9:1")
    assert again.sent
    assert [c.params["text"] for c in tg.api.calls_to("sendMessage")].count(REPLY[0].text) == 2
