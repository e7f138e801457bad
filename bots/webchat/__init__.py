"""The website chat channel: HTTP + WebSocket API, and the embeddable widget (static/).

``app`` builds it with :func:`channel_from_settings` (a :class:`bots.channel.Channel`).
"""

from bots.webchat.channel import WebchatChannel, channel_from_settings
from bots.webchat.live import WebchatSender, topic_for
from bots.webchat.routes import STATIC_DIR, webchat_routers
from bots.webchat.tokens import SessionSigner, load_secret_key

__all__ = [
    "STATIC_DIR",
    "SessionSigner",
    "WebchatChannel",
    "WebchatSender",
    "channel_from_settings",
    "load_secret_key",
    "topic_for",
    "webchat_routers",
]
