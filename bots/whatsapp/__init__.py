"""WhatsApp channel adapter (Twilio): signed form webhooks in, the REST Messages API out.

Public API (for ``app``): ``channel_from_settings(settings) -> WhatsAppChannel | None``
— the :class:`bots.channel.Channel` (routes ``POST /webhooks/whatsapp`` and
``POST /webhooks/whatsapp/status``), or None without the Twilio account, token and
WhatsApp sender.
"""

from bots.whatsapp.channel import WhatsAppChannel, channel_from_settings
from bots.whatsapp.config import STATUS_PATH, WEBHOOK_PATH, WhatsAppConfig

__all__ = ["STATUS_PATH", "WEBHOOK_PATH", "WhatsAppChannel", "WhatsAppConfig", "channel_from_settings"]
