"""Bot commands: what they mean to the dialog engine and the Russian command menu."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats

from bots.telegram.texts import COMMAND_DESCRIPTIONS
from dialogs import payloads

# A command is passed to the engine as the button payload with the same meaning,
# so "/start" and a "Меню" button take the same path through the skills.
COMMAND_PAYLOADS: dict[str, str] = {
    "start": payloads.make("greet"),  # the first thing a new subscriber sees
    "help": payloads.make("help"),
    "logout": payloads.make("logout"),
}


def bot_commands() -> list[BotCommand]:
    return [BotCommand(command=name, description=COMMAND_DESCRIPTIONS[name]) for name in COMMAND_PAYLOADS]


async def set_bot_commands(bot: Bot) -> None:
    """The command menu, in Russian, for private chats (the only place the bot talks)."""
    await bot.set_my_commands(bot_commands(), scope=BotCommandScopeAllPrivateChats())
