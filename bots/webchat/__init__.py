"""The website chat channel: HTTP + WebSocket API, and the embeddable widget (static/).

``app.asgi`` mounts :func:`webchat_routers` and calls :meth:`WebchatChannel.start` at startup.
"""

from bots.webchat.channel import WebchatChannel
from bots.webchat.live import WebchatSender, topic_for
from bots.webchat.routes import STATIC_DIR, webchat_routers
from bots.webchat.tokens import SessionSigner, load_secret_key

__all__ = [
    "STATIC_DIR",
    "SessionSigner",
    "WebchatChannel",
    "WebchatSender",
    "load_secret_key",
    "topic_for",
    "webchat_routers",
]
