"""``isp-support viber set-webhook``: register this server's webhook with Viber.

Viber checks the URL at once with a signed ``webhook`` callback, so the app must be
serving ``POST /webhooks/viber`` at that address when this runs.
"""

from __future__ import annotations

from typing import Any

from bots.viber.api import ViberApi
from bots.viber.config import ViberConfig

# The callbacks the channel reads (message, subscribed and conversation_started are
# always sent by Viber and may not be listed).
EVENT_TYPES = ["delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"]


async def set_webhook(settings: Any, *, send_name: bool = True, send_photo: bool = False, api: ViberApi | None = None) -> str:
    """Register ``VIBER_WEBHOOK_URL``; returns the URL registered. ``send_name`` /
    ``send_photo``: whether Viber includes the subscriber's name / photo in callbacks.
    Raises ``ViberNotConfigured`` or ``bots.viber.api.ViberError``."""
    config = ViberConfig.from_settings(settings)
    url = config.webhook_endpoint()
    client = api or ViberApi(config)
    try:
        await client.set_webhook(url, EVENT_TYPES, send_name=send_name, send_photo=send_photo)
    finally:
        if api is None:
            await client.close()
    return url
