"""A local stand-in for the Viber REST bot API (developers.viber.com/docs/api/rest-bot-api).

A real HTTP server (aiohttp, 127.0.0.1, random port) speaking Viber's wire format, so
the adapter runs its real HTTP client against it (``VIBER_API_BASE = api.base_url``):

* ``POST /pa/<method>`` with a JSON body and the ``X-Viber-Auth-Token`` header;
* answers HTTP 200 with ``{"status": 0, "status_message": "ok", ...}`` or, like Viber,
  HTTP 200 with another status: 2 invalidAuthToken, 3 badData (a text over 7,000
  characters, a sender name over 28, tracking_data over 4,000, more than 24 buttons,
  a ``share-phone`` button without ``min_api_version`` 3...), 4 missingData,
  6 receiverNotSubscribed (users in ``unsubscribed``), 12 tooManyRequests (after
  ``unanswered_limit`` messages to a user who has not replied — ``user_replied``);
* scriptable: ``fail_next("send_message", status=12)`` or ``http_error=500``;
* implements ``set_webhook``, ``send_message``, ``get_account_info``.

Every call is recorded in ``api.calls``. :class:`CallbackFactory` builds callback JSON
as Viber posts it to a webhook, and ``signed`` the body and its signature header.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

DEFAULT_TOKEN = "4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f"
STATUS_MESSAGES = {
    0: "ok",
    2: "invalidAuthToken",
    3: "badData",
    4: "missingData",
    5: "receiverNotRegistered",
    6: "receiverNotSubscribed",
    12: "tooManyRequests",
}


@dataclass(frozen=True)
class ApiCall:
    method: str
    body: dict[str, Any]
    at: float


@dataclass
class _Failure:
    status: int | None
    http_error: int | None
    times: int


class _Refusal(Exception):
    def __init__(self, status: int, message: str | None = None) -> None:
        self.status = status
        self.message = message or STATUS_MESSAGES.get(status, "error")


class FakeViberApi:
    """``async with FakeViberApi() as api:`` — then ``api.base_url``, ``api.token``."""

    def __init__(self, token: str = DEFAULT_TOKEN, *, unanswered_limit: int = 100) -> None:
        self.token = token
        self.unanswered_limit = unanswered_limit
        self.calls: list[ApiCall] = []
        self.webhook: dict[str, Any] | None = None
        self.unsubscribed: set[str] = set()
        self.unanswered: dict[str, int] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._tokens = itertools.count(5_491_000_000_000_000_001)
        self._changed = asyncio.Condition()
        # hold(): calls to these methods wait (the caller sees no answer) and are
        # kept in ``held_calls``, not in ``calls``: nothing was delivered.
        self._holds: set[str] = set()
        self._released = asyncio.Event()
        self.held_calls: list[ApiCall] = []
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> "FakeViberApi":
        app = web.Application()
        app.router.add_post("/pa/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    def hold(self, method: str) -> None:
        """Leave calls to ``method`` unanswered (e.g. to kill the caller meanwhile)."""
        self._holds.add(method)
        self._released.clear()

    def release(self) -> None:
        """Held calls end with HTTP 502 (never delivered); new calls are answered again."""
        self._holds.clear()
        self._released.set()

    async def close(self) -> None:
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "FakeViberApi":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/pa"

    # -- what tests read -----------------------------------------------------------------------
    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method == method]

    def sent(self, receiver: str | None = None) -> list[dict[str, Any]]:
        return [c.body for c in self.calls_to("send_message") if receiver is None or c.body.get("receiver") == receiver]

    # -- behaviour on demand ---------------------------------------------------------------------
    def fail_next(self, method: str, *, status: int | None = None, http_error: int | None = None, times: int = 1) -> None:
        """The next ``times`` calls to ``method`` answer Viber ``status`` (HTTP 200) or
        the HTTP error ``http_error``."""
        self._failures.setdefault(method, []).append(_Failure(status, http_error, times))

    def user_replied(self, user_id: str) -> None:
        """Viber resets the unanswered-message count when the user writes."""
        self.unanswered.pop(user_id, None)

    # -- HTTP ------------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.headers.get("X-Viber-Auth-Token") != self.token:
            return _status(2)
        try:
            body = json.loads(await request.read())
        except ValueError:
            return _status(3, "badData: malformed JSON")
        if not isinstance(body, dict):
            return _status(3)
        if method in self._holds:
            self.held_calls.append(ApiCall(method, body, time.monotonic()))
            await self._released.wait()
            return web.Response(status=502, text="Bad Gateway")
        self.calls.append(ApiCall(method, body, time.monotonic()))
        await self._notify()
        failure = self._take_failure(method)
        if failure is not None:
            if failure.http_error:
                return web.Response(status=failure.http_error, text="Internal Server Error")
            return _status(failure.status or 1)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return _status(3, f"badData: unknown method {method}")
        try:
            result = handler(body)
        except _Refusal as refusal:
            return _status(refusal.status, refusal.message)
        return web.json_response({"status": 0, "status_message": "ok", **result})

    def _take_failure(self, method: str) -> _Failure | None:
        pending = self._failures.get(method)
        if not pending:
            return None
        failure = pending[0]
        failure.times -= 1
        if failure.times <= 0:
            pending.pop(0)
        return failure

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- methods ---------------------------------------------------------------------------------
    def _api_set_webhook(self, body: dict[str, Any]) -> dict[str, Any]:
        url = body.get("url")
        if not isinstance(url, str):
            raise _Refusal(4, "missingData: url")
        self.webhook = body
        return {"event_types": body.get("event_types") or ["delivered", "seen", "failed", "subscribed",
                                                           "unsubscribed", "conversation_started"]}

    def _api_get_account_info(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": "pa:75346594275468546724",
            "name": "Зелёная точка",
            "uri": "zt-support",
            "icon": "https://example.ru/avatar.jpg",
            "category": "Business",
            "subscribers_count": 1,
            "webhook": (self.webhook or {}).get("url", ""),
            "event_types": (self.webhook or {}).get("event_types", []),
            "members": [{"id": "01234567890A=", "name": "admin", "role": "admin"}],
        }

    def _api_send_message(self, body: dict[str, Any]) -> dict[str, Any]:
        receiver = body.get("receiver")
        if not receiver:
            raise _Refusal(4, "missingData: receiver")
        sender = body.get("sender")
        if not isinstance(sender, dict) or not sender.get("name"):
            raise _Refusal(4, "missingData: sender.name")
        if len(sender["name"]) > 28:
            raise _Refusal(3, "badData: sender.name is longer than 28 characters")
        if body.get("type") != "text":
            raise _Refusal(3, "badData: this double sends text messages only")
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _Refusal(4, "missingData: text")
        if len(text) > 7000:
            raise _Refusal(3, "badData: text is longer than 7000 characters")
        tracking = body.get("tracking_data")
        if tracking is not None and (not isinstance(tracking, str) or len(tracking) > 4000):
            raise _Refusal(3, "badData: tracking_data")
        _check_keyboard(body.get("keyboard"), int(body.get("min_api_version") or 1))
        if receiver in self.unsubscribed:
            raise _Refusal(6)
        count = self.unanswered.get(receiver, 0) + 1
        if count > self.unanswered_limit:
            raise _Refusal(12, "Too many requests")
        self.unanswered[receiver] = count
        return {"message_token": next(self._tokens), "chat_hostname": "SN-CHAT-05_"}


def _check_keyboard(keyboard: Any, min_api_version: int) -> None:
    if keyboard is None:
        return
    if not isinstance(keyboard, dict) or keyboard.get("Type") != "keyboard":
        raise _Refusal(3, "badData: keyboard.Type")
    buttons = keyboard.get("Buttons")
    if not isinstance(buttons, list) or not buttons or len(buttons) > 24:
        raise _Refusal(3, "badData: keyboard.Buttons (1 to 24)")
    for button in buttons:
        action = button.get("ActionType", "reply")
        if action == "share-phone" and min_api_version < 3:
            raise _Refusal(3, "badData: share-phone needs min_api_version 3")
        if action == "reply" and not button.get("ActionBody"):
            raise _Refusal(4, "missingData: ActionBody")
        if not 1 <= int(button.get("Columns", 6)) <= 6:
            raise _Refusal(3, "badData: Columns")


def _status(status: int, message: str | None = None) -> web.Response:
    return web.json_response({"status": status, "status_message": message or STATUS_MESSAGES.get(status, "error")})


# -- callbacks as Viber posts them ------------------------------------------------------------------
def signature(body: bytes, token: str = DEFAULT_TOKEN) -> str:
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def signed(callback: dict[str, Any], token: str = DEFAULT_TOKEN) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(callback, ensure_ascii=False).encode("utf-8")
    return body, {"Content-Type": "application/json", "X-Viber-Content-Signature": signature(body, token)}


@dataclass
class ViberUser:
    id: str = "Wy5pM2xKCDGmtjk9SjUk5A=="
    name: str = "Иван Петров"

    def profile(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "avatar": "https://media-direct.cdn.viber.com/a.jpg",
                "country": "RU", "language": "ru", "api_version": 10}


@dataclass
class CallbackFactory:
    user: ViberUser = field(default_factory=ViberUser)
    _tokens: Any = field(default_factory=lambda: itertools.count(5_490_000_000_000_000_001))
    last_tracking_data: str | None = None

    def _base(self, event: str) -> dict[str, Any]:
        return {"event": event, "timestamp": int(time.time() * 1000), "chat_hostname": "SN-CHAT-05_",
                "message_token": next(self._tokens)}

    def webhook(self) -> dict[str, Any]:
        return self._base("webhook")

    def conversation_started(self, *, subscribed: bool = False) -> dict[str, Any]:
        return {**self._base("conversation_started"), "type": "open", "context": "", "user": self.user.profile(),
                "subscribed": subscribed}

    def message(self, message: dict[str, Any]) -> dict[str, Any]:
        if self.last_tracking_data is not None:
            message = {"tracking_data": self.last_tracking_data, **message}
        return {**self._base("message"), "sender": self.user.profile(), "message": message, "silent": False}

    def text(self, text: str) -> dict[str, Any]:
        return self.message({"type": "text", "text": text})

    def contact(self, phone: str, name: str | None = None) -> dict[str, Any]:
        return self.message({"type": "contact", "text": "", "contact": {"name": name or self.user.name,
                                                                      "phone_number": phone}})

    def picture(self) -> dict[str, Any]:
        return self.message({"type": "picture", "text": "", "media": "https://dl-media.viber.com/p.jpg",
                             "thumbnail": "https://dl-media.viber.com/t.jpg", "file_name": "p.jpg"})

    def subscribed(self) -> dict[str, Any]:
        return {**self._base("subscribed"), "user": self.user.profile()}

    def unsubscribed(self) -> dict[str, Any]:
        return {**self._base("unsubscribed"), "user_id": self.user.id}

    def receipt(self, event: str, message_token: int | str, desc: str | None = None) -> dict[str, Any]:
        callback = {"event": event, "timestamp": int(time.time() * 1000), "chat_hostname": "SN-CHAT-05_",
                    "message_token": int(message_token), "user_id": self.user.id}
        if desc is not None:
            callback["desc"] = desc
        return callback
