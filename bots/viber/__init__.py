"""Viber channel adapter: the Viber REST bot API over httpx (the official SDK is
unmaintained), signed JSON callbacks in, ``send_message`` out.

Public API (for ``app``):

* ``channel_from_settings(settings) -> ViberChannel | None`` — the
  :class:`bots.channel.Channel` (its route: ``POST /webhooks/viber``), or None without
  ``VIBER_AUTH_TOKEN``.
* ``set_webhook(settings, send_name=..., send_photo=...)`` — for
  ``isp-support viber set-webhook``.
"""

from bots.viber.api import ViberError
from bots.viber.channel import ViberChannel, channel_from_settings
from bots.viber.config import WEBHOOK_PATH, ViberConfig, ViberNotConfigured
from bots.viber.sender import ViberSender
from bots.viber.setup import set_webhook

__all__ = [
    "WEBHOOK_PATH",
    "ViberChannel",
    "ViberConfig",
    "ViberError",
    "ViberNotConfigured",
    "ViberSender",
    "channel_from_settings",
    "set_webhook",
]
