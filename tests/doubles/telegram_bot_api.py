"""A local stand-in for the Telegram Bot API server (core.telegram.org/bots/api).

A real HTTP server (aiohttp, 127.0.0.1, random port) speaking the Bot API wire
format, so the code under test runs its real HTTP client (aiogram's AiohttpSession)
against it by pointing ``TELEGRAM_API_BASE`` at ``api.base_url``:

* ``POST`` (or ``GET``) ``/bot<token>/<method>`` with a query string, a JSON body,
  a urlencoded form or multipart form data; method names are case-insensitive;
* answers ``{"ok": true, "result": ...}`` with realistic result objects, or
  ``{"ok": false, "error_code": ..., "description": ...}`` like Telegram does
  (401 for a wrong token, 404 for an unknown method, 400 for an empty or too long
  text or callback data over 64 bytes, 409 for getUpdates while a webhook is set);
* flood control on demand: ``fail_next("sendMessage", retry_after=1)`` answers the
  next call with HTTP 429 and ``parameters.retry_after``;
* ``getUpdates`` serves the updates queued with ``push_update`` with the Bot API's
  offset / limit / timeout (long polling) semantics.

Every call is recorded in ``api.calls`` (method, decoded parameters, monotonic time)
for tests to read what the client sent. The ``*_update`` builders make Update JSON
as Telegram sends it (to a webhook or from getUpdates).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

DEFAULT_TOKEN = "123456789:AAHtestTOKENtestTOKENtestTOKENtest_x"
BOT_USERNAME = "zt_support_test_bot"

# Parameters sent as JSON-serialized strings in form bodies (Bot API: "JSON-serialized").
_JSON_FIELDS = {
    "reply_markup",
    "commands",
    "scope",
    "allowed_updates",
    "entities",
    "caption_entities",
    "link_preview_options",
    "reply_parameters",
    "media",
}
_INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout", "max_connections", "cache_time", "user_id"}
_BOOL_FIELDS = {"drop_pending_updates", "show_alert", "disable_notification", "protect_content"}

# Canonical spelling of the methods this double implements (the API ignores case).
_METHODS = [
    "getMe",
    "sendMessage",
    "answerCallbackQuery",
    "deleteMessage",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "getUpdates",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "logOut",
    "close",
]
_CANONICAL = {name.lower(): name for name in _METHODS}


@dataclass(frozen=True)
class ApiCall:
    method: str  # canonical spelling, e.g. "sendMessage"
    params: dict[str, Any]
    at: float  # time.monotonic() when the request arrived
    content_type: str = ""


@dataclass
class _Failure:
    status: int
    description: str
    parameters: dict[str, Any] | None
    times: int


@dataclass
class _Webhook:
    url: str = ""
    secret_token: str | None = None
    allowed_updates: list[str] | None = None
    max_connections: int = 40


def bot_id_of(token: str) -> int:
    return int(token.split(":", 1)[0])


class FakeTelegramBotApi:
    """``async with FakeTelegramBotApi() as api:`` — then ``api.base_url``, ``api.token``."""

    def __init__(self, token: str = DEFAULT_TOKEN, *, username: str = BOT_USERNAME) -> None:
        self.token = token
        self.username = username
        self.calls: list[ApiCall] = []
        self.webhook = _Webhook()
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.blocked_chats: set[int] = set()  # sendMessage to these: 403 "bot was blocked"
        self._failures: dict[str, list[_Failure]] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._message_ids: dict[int, itertools.count] = {}
        self._queue: list[dict[str, Any]] = []
        self._update_ids = itertools.count(700_000_001)
        self._changed = asyncio.Condition()
        # hold(): calls to these methods wait (the caller sees no answer) and are
        # kept in ``held_calls``, not in ``calls``: nothing was delivered.
        self._holds: set[str] = set()
        self._released = asyncio.Event()
        self.held_calls: list[ApiCall] = []
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> "FakeTelegramBotApi":
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    def hold(self, method: str) -> None:
        """Leave calls to ``method`` unanswered (e.g. to kill the caller meanwhile)."""
        self._holds.add(method.lower())
        self._released.clear()

    def release(self) -> None:
        """Held calls end with 502 (never delivered); new calls are answered again."""
        self._holds.clear()
        self._released.set()

    async def close(self) -> None:
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "FakeTelegramBotApi":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def bot_id(self) -> int:
        return bot_id_of(self.token)

    @property
    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Зелёная точка",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    # -- what tests read -------------------------------------------------------------------
    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        return [
            call.params.get("text", "")
            for call in self.calls_to("sendMessage")
            if chat_id is None or call.params.get("chat_id") == chat_id
        ]

    async def wait_for(self, method: str, count: int = 1, *, timeout: float = 5.0) -> list[ApiCall]:
        """The calls to ``method`` once there are at least ``count`` of them."""

        async def enough() -> list[ApiCall]:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.calls_to(method)) >= count)
            return self.calls_to(method)

        try:
            return await asyncio.wait_for(enough(), timeout)
        except asyncio.TimeoutError:
            seen = [(c.method, c.params.get("text")) for c in self.calls]
            raise AssertionError(f"expected {count} call(s) to {method} within {timeout}s; calls: {seen}") from None

    async def quiet(self, seconds: float = 0.3) -> None:
        """Wait until no call arrived for ``seconds`` (to assert that nothing more comes)."""
        while True:
            before = len(self.calls)
            await asyncio.sleep(seconds)
            if len(self.calls) == before:
                return

    # -- behaviour on demand -----------------------------------------------------------------
    def fail_next(self, method: str, *, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next ``times`` calls to ``method`` with flood control (HTTP 429)."""
        self._failures.setdefault(method.lower(), []).append(
            _Failure(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}, times)
        )

    def fail_next_with(self, method: str, status: int, description: str, *, times: int = 1) -> None:
        self._failures.setdefault(method.lower(), []).append(_Failure(status, description, None, times))

    def remember_chat(self, chat: dict[str, Any]) -> None:
        self._chats[int(chat["id"])] = chat

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates (an ``update_id`` is assigned if missing)."""
        update = dict(update)
        update.setdefault("update_id", self.next_update_id())
        self._queue.append(update)
        self._notify()
        return update

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def _notify(self) -> None:
        async def wake() -> None:
            async with self._changed:
                self._changed.notify_all()

        asyncio.get_running_loop().create_task(wake())

    # -- HTTP ------------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = _CANONICAL.get(request.match_info["method"].lower())
        try:
            params = await _read_params(request)
        except ValueError:
            return _error(400, "Bad Request: can't parse request body")
        if method is None:
            return _error(404, "Not Found")
        if method.lower() in self._holds:
            self.held_calls.append(ApiCall(method, params, time.monotonic(), request.content_type))
            self._notify()
            await self._released.wait()
            return _error(502, "Bad Gateway")
        self.calls.append(ApiCall(method, params, time.monotonic(), request.content_type))
        self._notify()

        failure = self._take_failure(method)
        if failure is not None:
            return _error(failure.status, failure.description, failure.parameters)
        handler = getattr(self, f"_api_{method}")
        try:
            result = await handler(params)
        except _ApiError as error:
            return _error(error.status, error.description)
        return web.json_response({"ok": True, "result": result})

    def _take_failure(self, method: str) -> _Failure | None:
        pending = self._failures.get(method.lower())
        if not pending:
            return None
        failure = pending[0]
        failure.times -= 1
        if failure.times <= 0:
            pending.pop(0)
        return failure

    # -- methods ---------------------------------------------------------------------------------
    async def _api_getMe(self, params: dict[str, Any]) -> Any:
        return self.bot_user

    async def _api_sendMessage(self, params: dict[str, Any]) -> Any:
        chat_id = _required(params, "chat_id")
        text = params.get("text") or ""
        if not str(text).strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        _check_markup(markup)
        if chat_id in self.blocked_chats:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "from": self.bot_user,
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            "text": text,
        }
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # only inline keyboards come back in the Message
        return message

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        _required(params, "callback_query_id")
        return True

    async def _api_deleteMessage(self, params: dict[str, Any]) -> Any:
        _required(params, "chat_id")
        _required(params, "message_id")
        return True

    async def _api_setWebhook(self, params: dict[str, Any]) -> Any:
        url = params.get("url") or ""
        if url and not url.startswith("https://"):
            raise _ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _valid_secret(secret):
            raise _ApiError(400, "Bad Request: secret token contains unallowed characters")
        self.webhook = _Webhook(
            url=url,
            secret_token=secret,
            allowed_updates=params.get("allowed_updates"),
            max_connections=params.get("max_connections") or 40,
        )
        if params.get("drop_pending_updates"):
            self._queue.clear()
        return True

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = _Webhook()
        if params.get("drop_pending_updates"):
            self._queue.clear()
        return True

    async def _api_getWebhookInfo(self, params: dict[str, Any]) -> Any:
        info: dict[str, Any] = {
            "url": self.webhook.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
            "max_connections": self.webhook.max_connections,
        }
        if self.webhook.allowed_updates is not None:
            info["allowed_updates"] = self.webhook.allowed_updates
        return info

    async def _api_getUpdates(self, params: dict[str, Any]) -> Any:
        if self.webhook.url:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(int(params.get("timeout") or 0), 0)
        if offset is not None:
            if offset < 0:
                self._queue = self._queue[offset:]  # -N: the last N updates
            else:
                self._queue = [u for u in self._queue if u["update_id"] >= offset]  # confirm older ones
        if not self._queue and timeout:
            async with self._changed:
                try:
                    await asyncio.wait_for(self._changed.wait_for(lambda: bool(self._queue)), timeout)
                except asyncio.TimeoutError:
                    pass
        allowed = params.get("allowed_updates")
        batch = [u for u in self._queue if not allowed or _update_kind(u) in allowed][:limit]
        return batch

    async def _api_setMyCommands(self, params: dict[str, Any]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _ApiError(400, "Bad Request: commands are invalid")
        for command in commands:
            name = command.get("command", "")
            description = command.get("description", "")
            if not (1 <= len(name) <= 32 and all(c.islower() or c.isdigit() or c == "_" for c in name)):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _ApiError(400, "Bad Request: command description is empty")
        self.commands[_commands_key(params)] = commands
        return True

    async def _api_getMyCommands(self, params: dict[str, Any]) -> Any:
        return self.commands.get(_commands_key(params), [])

    async def _api_deleteMyCommands(self, params: dict[str, Any]) -> Any:
        self.commands.pop(_commands_key(params), None)
        return True

    async def _api_logOut(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_close(self, params: dict[str, Any]) -> Any:
        return True

    # -- helpers ---------------------------------------------------------------------------------
    def _next_message_id(self, chat_id: int) -> int:
        counter = self._message_ids.setdefault(chat_id, itertools.count(10_001))
        return next(counter)

    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id in self._chats:
            return self._chats[chat_id]
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "Абонент"}
        return {"id": chat_id, "type": "group", "title": "Группа"}


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


def _required(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if value in (None, ""):
        raise _ApiError(400, f"Bad Request: {name} is empty")
    return value


def _valid_secret(secret: str) -> bool:
    return 1 <= len(secret) <= 256 and all(c.isascii() and (c.isalnum() or c in "_-") for c in secret)


def _check_markup(markup: Any) -> None:
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise _ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if not button.get("text"):
                raise _ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode("utf-8")) <= 64:
                raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    return (scope.get("type", "default"), params.get("language_code") or "")


def _update_kind(update: dict[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Bot API parameters from the query string and a JSON, urlencoded or multipart body."""
    raw: dict[str, Any] = dict(request.query)
    if request.body_exists:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except json.JSONDecodeError as error:
                raise ValueError("bad JSON") from error
            if not isinstance(body, dict):
                raise ValueError("JSON body is not an object")
            return {**raw, **body}  # JSON bodies carry typed values already
        form = await request.post()
        for key, value in form.items():
            raw[key] = value if isinstance(value, str) else f"<file {getattr(value, 'filename', '')}>"
    return {key: _decode(key, value) for key, value in raw.items()}


def _decode(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if key in _JSON_FIELDS:
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if key in _INT_FIELDS:
        try:
            return int(value)
        except ValueError:
            return value  # e.g. "@channelusername"
    if key in _BOOL_FIELDS:
        return value.lower() == "true"
    return value


# -- Update builders (what Telegram sends) -------------------------------------------------------


@dataclass
class TelegramUser:
    id: int
    first_name: str = "Иван"
    last_name: str | None = "Петров"
    username: str | None = None
    language_code: str = "ru"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        data["language_code"] = self.language_code
        return data

    def private_chat(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        return chat


@dataclass
class UpdateFactory:
    """Builds Update JSON for one user; ids increase like Telegram's."""

    user: TelegramUser
    update_ids: itertools.count = field(default_factory=lambda: itertools.count(500_000_001))
    message_ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def _message(self, chat: dict[str, Any] | None = None, **content: Any) -> dict[str, Any]:
        return {
            "message_id": next(self.message_ids),
            "from": self.user.to_dict(),
            "chat": chat or self.user.private_chat(),
            "date": int(time.time()),
            **content,
        }

    def _update(self, **body: Any) -> dict[str, Any]:
        return {"update_id": next(self.update_ids), **body}

    def text(self, text: str, *, chat: dict[str, Any] | None = None) -> dict[str, Any]:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._update(message=self._message(chat, **content))

    def edited_text(self, text: str, *, message_id: int = 1) -> dict[str, Any]:
        message = self._message(text=text)
        message["message_id"] = message_id
        message["edit_date"] = message["date"]
        return self._update(edited_message=message)

    def contact(self, phone_number: str, *, user_id: int | None, first_name: str = "Иван") -> dict[str, Any]:
        contact: dict[str, Any] = {"phone_number": phone_number, "first_name": first_name}
        if user_id is not None:
            contact["user_id"] = user_id
        return self._update(message=self._message(contact=contact))

    def own_contact(self, phone_number: str) -> dict[str, Any]:
        return self.contact(phone_number, user_id=self.user.id, first_name=self.user.first_name)

    def sticker(self) -> dict[str, Any]:
        sticker = {
            "file_id": "CAACAgIAAxkBAAEBsticker",
            "file_unique_id": "AgADsticker",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        }
        return self._update(message=self._message(sticker=sticker))

    def photo(self, caption: str | None = None) -> dict[str, Any]:
        sizes = [
            {"file_id": f"AgACAgIAAxkBphoto{n}", "file_unique_id": f"AQADphoto{n}", "width": w, "height": w, "file_size": w * 40}
            for n, w in enumerate((90, 320, 800))
        ]
        content: dict[str, Any] = {"photo": sizes}
        if caption:
            content["caption"] = caption
        return self._update(message=self._message(**content))

    def voice(self) -> dict[str, Any]:
        voice = {"file_id": "AwACAgIAAxkBvoice", "file_unique_id": "AgADvoice", "duration": 3, "mime_type": "audio/ogg"}
        return self._update(message=self._message(voice=voice))

    def document(self) -> dict[str, Any]:
        document = {"file_id": "BQACAgIAAxkBdoc", "file_unique_id": "AgADdoc", "file_name": "check.pdf", "mime_type": "application/pdf"}
        return self._update(message=self._message(document=document))

    def group_text(self, text: str, *, group_id: int = -1001234567890, title: str = "Соседи") -> dict[str, Any]:
        chat = {"id": group_id, "type": "supergroup", "title": title}
        return self._update(message=self._message(chat, text=text))

    def callback(self, data: str, *, message: dict[str, Any] | None = None) -> dict[str, Any]:
        """A press on an inline button of ``message`` (a Message the bot sent; default:
        a minimal bot message in the user's private chat)."""
        message = message or {
            "message_id": 10_001,
            "from": {"id": bot_id_of(DEFAULT_TOKEN), "is_bot": True, "first_name": "Зелёная точка", "username": BOT_USERNAME},
            "chat": self.user.private_chat(),
            "date": int(time.time()),
            "text": "Выберите вариант:",
        }
        query = {
            "id": str(4_382_000_000_000_000_000 + next(self.message_ids)),
            "from": self.user.to_dict(),
            "message": message,
            "chat_instance": "-3542112270880925113",
            "data": data,
        }
        return self._update(callback_query=query)
