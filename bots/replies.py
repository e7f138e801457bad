"""Bot replies out through a channel's sender, with the durable outbox behind it.

The first attempt goes straight to the messenger (no extra writes on the usual path).
A refusal for a passing reason (``DeliveryResult.retryable``: 5xx, 429, timeout) with
nothing of the turn's replies delivered yet is handed to the outbox
(``bots.outbox``), whose worker retries it with a backoff. The idempotency key is the
subscriber's message id, so a re-processed update never queues its answer twice. A
refusal after part of the replies went out is not retried: sending the rest again
would repeat what the subscriber already has (never twice wins).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Sequence

from dialogs.delivery import DeliveryResult, Sender
from dialogs.messages import Reply

if TYPE_CHECKING:
    from bots.outbox import Outbox

log = logging.getLogger(__name__)


async def send_replies(
    sender: Sender,
    outbox: "Outbox | None",
    user_id: str,
    replies: Sequence[Reply],
    *,
    message_id: str,
) -> DeliveryResult:
    result = await sender.send(user_id, replies)
    if result.sent or not result.retryable or outbox is None:
        return result
    if result.provider_message_ids:
        log.error("%s: a reply was delivered in part (%s); the rest is not repeated", sender.channel, result.detail)
        return result
    from bots.outbox import QUEUED_REASON

    try:
        await outbox.enqueue(
            f"{sender.channel}:{user_id}", replies, idempotency_key=f"reply:{sender.channel}:{message_id}"
        )
    except Exception as error:  # noqa: BLE001 - the database is away too: the reply is lost, say so
        log.error("%s: a refused reply could not be queued (%s)", sender.channel, type(error).__name__)
        return result
    log.warning("%s: reply refused for now (%s); queued for a retry", sender.channel, result.detail)
    return DeliveryResult.failed(QUEUED_REASON, retryable=True, detail=result.detail)
