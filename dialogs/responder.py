"""Collects what a skill says during one turn (rasa-sdk's CollectingDispatcher)."""

from __future__ import annotations

from dialogs.messages import Button, Reply
from dialogs.texts.catalog import TextCatalog


class Responder:
    def __init__(self, texts: TextCatalog) -> None:
        self._texts = texts
        self.replies: list[Reply] = []

    def muted(self) -> "Responder":
        """A responder whose replies are discarded (for tentative checks)."""
        return Responder(self._texts)

    def text(self, key: str, /, **values: object) -> str:
        return self._texts.render(key, **values)

    def say(
        self,
        key: str,
        /,
        *,
        buttons: list[Button] | tuple[Button, ...] = (),
        ask_phone: bool = False,
        offer_phone_login: bool = False,
        **values: object,
    ) -> None:
        self.say_text(
            self._texts.render(key, **values), buttons=buttons, ask_phone=ask_phone, offer_phone_login=offer_phone_login
        )

    def say_text(
        self,
        text: str,
        *,
        buttons: list[Button] | tuple[Button, ...] = (),
        ask_phone: bool = False,
        offer_phone_login: bool = False,
    ) -> None:
        self.replies.append(
            Reply(text=text, buttons=tuple(buttons), ask_phone=ask_phone, offer_phone_login=offer_phone_login)
        )

    def button(self, key: str, payload: str, /, **values: object) -> Button:
        return Button(title=self._texts.render(key, **values), payload=payload)
