"""A local stand-in for Twilio's REST API (the Programmable Messaging part).

A real HTTP server (aiohttp, 127.0.0.1, random port) speaking Twilio's wire format,
so the code under test runs the real ``twilio`` library (its async HTTP client)
against it by pointing ``TWILIO_API_BASE`` at ``api.base_url``:

* ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` with a urlencoded form
  (``To``, ``From``, ``Body`` or ``ContentSid`` + ``ContentVariables``,
  ``StatusCallback``, …) and HTTP Basic auth (account SID : auth token);
* answers 201 with a Message resource (``sid``, ``status: queued``, ``error_code``,
  …) as the API reference shows it, or Twilio's error JSON (``code``, ``message``,
  ``more_info``, ``status``): 401/20003 for wrong credentials, 404/20404 for another
  account, 400/21602 without a body or content, 400/21617 for a body over 1,600
  characters, 400/21604 or 21603 without ``To`` / ``From``;
* Content templates (``contents``: SID → the ``types`` object of a Content resource, as
  created through the Content API): a message with a known ``ContentSid`` is rendered
  the way Twilio does it — ``{{key}}`` replaced by ``ContentVariables``, a variable not
  given falls back to the template's sample — into ``SentMessage.rendered``; an
  unknown SID is accepted unrendered (the quick-reply tests register none);
* failures on demand: ``fail_next(status=400, code=63016)`` answers the next create
  with that error (429 and 5xx too); ``stall_next(seconds)`` delays it.

Every create is recorded in ``api.messages`` (the decoded form body as posted).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import socket
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any

from aiohttp import web

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-test-auth-token-0123456789"
BODY_LIMIT = 1600

# Error texts as Twilio words them (twilio.com/docs/api/errors).
ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    21211: "Invalid 'To' Phone Number",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    63016: "Failed to send freeform message because you are outside the allowed window. "
    "If you are using WhatsApp, please use a Message Template.",
}


PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


def render_content(types: Any, variables: dict[str, str], samples: dict[str, str]) -> Any:
    """A Content template's ``types`` with every ``{{key}}`` substituted."""
    if isinstance(types, str):
        return PLACEHOLDER.sub(lambda m: variables.get(m.group(1), samples.get(m.group(1), m.group(0))), types)
    if isinstance(types, list):
        return [render_content(item, variables, samples) for item in types]
    if isinstance(types, dict):
        return {key: render_content(value, variables, samples) for key, value in types.items()}
    return types


@dataclass(frozen=True)
class ContentTemplate:
    """A Content resource: its ``types`` (e.g. ``{"twilio/list-picker": {...}}``) and
    the sample ``variables`` Twilio falls back to."""

    types: dict[str, Any]
    variables: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SentMessage:
    sid: str
    form: dict[str, str]
    rendered: dict[str, Any] | None = None  # the template's types as the subscriber gets them

    @property
    def to(self) -> str:
        return self.form.get("To", "")

    @property
    def body(self) -> str | None:
        return self.form.get("Body")

    @property
    def content_sid(self) -> str | None:
        return self.form.get("ContentSid")

    @property
    def content_variables(self) -> dict[str, str]:
        raw = self.form.get("ContentVariables")
        return json.loads(raw) if raw else {}

    @property
    def list_picker(self) -> dict[str, Any] | None:
        """The rendered ``twilio/list-picker`` (body, button, items), if it is one."""
        return (self.rendered or {}).get("twilio/list-picker")

    @property
    def text(self) -> str:
        """What the subscriber reads: the body, or a template's first variable."""
        return self.body if self.body is not None else self.content_variables.get("1", "")


@dataclass
class _Failure:
    status: int
    code: int
    message: str


@dataclass
class FakeTwilioApi:
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    messages: list[SentMessage] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)  # forms answered with an error
    contents: dict[str, ContentTemplate] = field(default_factory=dict)  # Content templates by HX… SID
    base_url: str = ""

    def __post_init__(self) -> None:
        self._failures: list[_Failure] = []
        self._stalls: list[float] = []
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None

    # -- test controls ----------------------------------------------------------------------------
    def fail_next(self, *, status: int = 400, code: int = 21211, message: str | None = None) -> None:
        self._failures.append(_Failure(status, code, message or ERROR_MESSAGES.get(code, "Error")))

    def stall_next(self, seconds: float) -> None:
        self._stalls.append(seconds)

    def messages_to(self, phone: str) -> list[SentMessage]:
        return [m for m in self.messages if m.to == f"whatsapp:{phone}"]

    # -- server -------------------------------------------------------------------------------------
    async def __aenter__(self) -> "FakeTwilioApi":
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._create_message)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(self._runner, sock).start()
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _error(self, status: int, code: int, message: str | None = None) -> web.Response:
        body = {
            "code": code,
            "message": message or ERROR_MESSAGES.get(code, "Error"),
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        return web.json_response(body, status=status)

    def _authorised(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("Authorization", "") == f"Basic {expected}"

    async def _create_message(self, request: web.Request) -> web.Response:
        if self._stalls:
            await asyncio.sleep(self._stalls.pop(0))
        if not self._authorised(request):
            return self._error(401, 20003)
        if request.match_info["sid"] != self.account_sid:
            return self._error(404, 20404)
        form = {key: str(value) for key, value in (await request.post()).items()}
        problem = self._problem(form)
        if problem is not None:
            self.refused.append(form)
            return problem
        sid = f"SM{next(self._ids):032x}"
        self.messages.append(SentMessage(sid, form, self._render(form)))
        return web.json_response(self._resource(sid, form), status=201)

    def _problem(self, form: dict[str, str]) -> web.Response | None:
        if self._failures:
            failure = self._failures.pop(0)
            return self._error(failure.status, failure.code, failure.message)
        if not form.get("To"):
            return self._error(400, 21604)
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return self._error(400, 21603)
        if not form.get("Body") and not form.get("ContentSid") and not form.get("MediaUrl"):
            return self._error(400, 21602)
        if len(form.get("Body", "")) > BODY_LIMIT:
            return self._error(400, 21617)
        if "ContentVariables" in form:
            try:
                variables = json.loads(form["ContentVariables"])
            except ValueError:
                variables = None
            if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
                return self._error(400, 21656, "The ContentVariables Parameter is invalid.")
        return None

    def _render(self, form: dict[str, str]) -> dict[str, Any] | None:
        template = self.contents.get(form.get("ContentSid", ""))
        if template is None:
            return None
        variables = json.loads(form.get("ContentVariables") or "{}")
        return render_content(template.types, variables, template.variables)

    def _resource(self, sid: str, form: dict[str, str]) -> dict[str, Any]:
        """A Message resource as the API reference shows it (201 Created)."""
        now = format_datetime(datetime.now(timezone.utc))
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": form.get("Body", ""),
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": form.get("To"),
            "uri": uri,
        }
