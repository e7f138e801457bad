"""The personal cabinet: how to get one (registration comes with the contract),
where the login and password come from, how to sign in on the site (home and
business), what it can do, and the three ways to restore access. Facts are the
provider's data (reference/self_service.toml)."""

from __future__ import annotations

import re

from dialogs import formatting, payloads
from dialogs.events import Event
from dialogs.messages import Button
from dialogs.responder import Responder
from dialogs.forms import answered_aside
from dialogs.router import IntentIs, SkillRouter
from dialogs.turn import Turn

router = SkillRouter("cabinet")
answered_aside("cabinet_access")  # asked in the middle of a form: answered, the form goes on

# Which part of the question, by the words used; the first that matches wins.
TOPIC_WORDS: tuple[tuple[str, re.Pattern], ...] = (
    ("business", re.compile(r"бизнес|юр\w* ?лиц|юрлиц|компани|организац|предприяти|\bооо\b|\bип\b|business|biznes", re.I)),
    ("restore", re.compile(r"восстан|потерял|пропал|не (?:могу|получается) (?:попасть|войти|зайти)|не заход|"
                           r"не открыва|доступ|restore|lost", re.I)),
    ("features", re.compile(r"функци|что (?:можно|умеет|я могу)|зачем|возможност", re.I)),
    ("login", re.compile(r"войти|вход|зайти|попасть|ссылк|адрес|где (?:на сайте|находится)|login|vhod", re.I)),
)
TOPICS = ("register", "login", "business", "features", "restore")


def topic_of(turn: Turn) -> str:
    named = turn.entity("topic")
    if named in TOPICS:
        return named
    for topic, words in TOPIC_WORDS:
        if words.search(turn.parse.text):
            return topic
    return "register"


def topic_buttons(say: Responder, shown: str) -> list[Button]:
    titles = {
        "register": "buttons.cabinet_register",
        "login": "buttons.cabinet_login",
        "business": "buttons.cabinet_business",
        "restore": "buttons.cabinet_restore",
    }
    buttons = [say.button(key, payloads.make("cabinet_access", topic=topic)) for topic, key in titles.items() if topic != shown]
    return buttons + [say.button("buttons.mobile_app", payloads.make("mobile_app")), say.button("buttons.menu", payloads.MENU)]


def restore_ways(turn: Turn) -> str:
    return formatting.numbered(turn.services.directory.self_service["cabinet"]["restore_ways"])


@router.on(IntentIs("cabinet_access"))
async def cabinet_access(turn: Turn, say: Responder) -> list[Event]:
    facts = turn.services.directory.self_service["cabinet"]
    topic = topic_of(turn)
    if topic == "restore":
        say.say(
            "cabinet.restore",
            ways=restore_ways(turn),
            service_phone=turn.services.directory.service_line.phone,
            buttons=topic_buttons(say, topic),
        )
    elif topic == "business":
        say.say(
            "cabinet.business",
            steps=formatting.numbered(facts["login_business_steps"]),
            request=facts["business_request"],
            buttons=[say.button("buttons.new_connection", payloads.make("new_connection")), *topic_buttons(say, topic)],
        )
    elif topic == "login":
        say.say(
            "cabinet.login",
            steps=formatting.numbered(facts["login_web_steps"]),
            credentials=facts["credentials"],
            buttons=topic_buttons(say, topic),
        )
    elif topic == "features":
        say.say("cabinet.features", features=formatting.bullets(facts["features"]), buttons=topic_buttons(say, topic))
    else:
        say.say(
            "cabinet.register",
            credentials=facts["credentials"],
            steps=formatting.numbered(facts["register_steps"]),
            buttons=[say.button("buttons.new_connection", payloads.make("new_connection")), *topic_buttons(say, topic)],
        )
    return []
