"""The channels this installation runs. Adding a channel = one package under ``bots/``
(a :class:`bots.channel.Channel` and its ``channel_from_settings``) + one line here.

Each factory reads its own settings and returns None when they are missing, so a
messenger switches on when its token is set.
"""

from __future__ import annotations

from bots import telegram, viber, webchat, whatsapp
from bots.channel import Channel, ChannelFactory
from app.settings import Settings

CHANNEL_FACTORIES: tuple[ChannelFactory, ...] = (
    webchat.channel_from_settings,
    telegram.channel_from_settings,
    viber.channel_from_settings,
    whatsapp.channel_from_settings,
)


def enabled_channels(settings: Settings) -> list[Channel]:
    channels = [channel for factory in CHANNEL_FACTORIES if (channel := factory(settings)) is not None]
    names = [channel.name for channel in channels]
    if len(set(names)) != len(names):
        raise ValueError(f"two channels share a name: {names}")
    return channels
