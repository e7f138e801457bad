"""Fuzzing the running app: schemathesis over its own OpenAPI document and hypothesis over
each messenger webhook, with correct signatures (so the random bytes reach the parsers and
the intake, not just the 403). The one property: no answer is a 500.

Used by ``tests/faults/test_fuzz.py`` (a bounded number of cases, part of the normal
suite) and ``benchmarks/fuzz.py`` (thousands of cases). The app is a real
``python -m app.cli serve --demo`` subprocess on 127.0.0.1 with the Telegram, WhatsApp
and Viber channels on; the messenger doubles run on a private event loop in a thread,
because hypothesis and schemathesis drive synchronous test functions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from tests.doubles import viber_api
from tests.doubles.telegram_bot_api import DEFAULT_TOKEN, FakeTelegramBotApi
from tests.doubles.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioApi

from .servers import AppProcess

TELEGRAM_SECRET = "fuzz-telegram-secret"
PUBLIC_BASE_URL = "https://support.example.ru"
BOT_NUMBER = "+14155238886"


class LoopThread:
    """An event loop in a daemon thread, for the aiohttp doubles."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> "LoopThread":
        self.thread.start()
        return self

    def run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@dataclass
class FuzzTarget:
    base_url: str
    statuses: Counter = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    known: Counter = field(default_factory=Counter)  # known_500 reasons: how often seen

    def note(self, what: str, response: httpx.Response | requests.Response, sent: object) -> None:
        self.statuses[(what, response.status_code)] += 1
        if response.status_code == 500:
            self.server_errors.append(f"{what}: 500 for {sent!r:.500} -> {response.text[:300]!r}")

    def summary(self) -> str:
        by_target: dict[str, Counter] = {}
        for (what, code), count in sorted(self.statuses.items()):
            by_target.setdefault(what, Counter())[code] = count
        lines = [f"  {what}: {sum(c.values())} requests, statuses {dict(sorted(c.items()))}" for what, c in by_target.items()]
        lines += [f"  known (reported) 500: {reason}: {count}" for reason, count in self.known.items()]
        return "\n".join(lines)


@contextlib.contextmanager
def fuzz_target(workdir: Path, database_url: str | None = None) -> Iterator[FuzzTarget]:
    """The app with every channel on, its messenger doubles, torn down afterwards."""
    database_url = database_url or f"sqlite+aiosqlite:///{workdir / 'fuzz.db'}"
    with LoopThread() as doubles:
        # Each double as its own ``async with`` would start it, on the doubles' loop.
        telegram = doubles.run(FakeTelegramBotApi().__aenter__())
        twilio = doubles.run(FakeTwilioApi().__aenter__())
        viber = doubles.run(viber_api.FakeViberApi().__aenter__())
        app = AppProcess(workdir, database_url)
        app.env.update(
            TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
            TELEGRAM_API_BASE=telegram.base_url,
            TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET,
            TWILIO_ACCOUNT_SID=ACCOUNT_SID,
            TWILIO_AUTH_TOKEN=AUTH_TOKEN,
            TWILIO_API_BASE=twilio.base_url,
            TWILIO_WHATSAPP_FROM=BOT_NUMBER,
            PUBLIC_BASE_URL=PUBLIC_BASE_URL,
            VIBER_AUTH_TOKEN=viber_api.DEFAULT_TOKEN,
            VIBER_API_BASE=viber.base_url,
        )
        try:
            asyncio.run(app.start())
            yield FuzzTarget(app.base_url)
        finally:
            app.stop()
            for double in (telegram, twilio, viber):
                doubles.run(double.__aexit__(None, None, None))


def _settings(examples: int):
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,  # no .hypothesis folder in the repository
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


# -- OpenAPI (schemathesis) ---------------------------------------------------------------------

INT64_MAX = 2**63 - 1


def known_500(case) -> str | None:
    """500s already reported and not fixed yet, counted apart so the fuzz keeps looking for
    new ones. None today (ids beyond the key range were one: now a 422)."""
    return None


def fuzz_openapi(target: FuzzTarget, examples_per_operation: int) -> None:
    """Every operation of /openapi.json, each case without credentials or with valid ones
    (a web chat token, or the demo agent's Bearer token for /api/agent), so the fuzzed
    bodies get past the 401 into the handlers."""
    schema = schemathesis.openapi.from_url(f"{target.base_url}/openapi.json")
    session = requests.Session()
    # Logged in before the fuzzed logins lock 127.0.0.1 out (429).
    agent_token, webchat_token = _agent_token(session, target), _webchat_token(session, target)
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"openapi {operation.method.upper()} {operation.path}"
        if operation.path in ("/api/agent/logout", "/api/webchat/sessions/end"):
            token = None  # a valid call would end the session the other operations use
        else:
            token = agent_token if operation.path.startswith("/api/agent/") else webchat_token

        @_settings(examples_per_operation)
        @given(case=operation.as_strategy(), authorized=st.booleans())
        def check(case, authorized: bool) -> None:
            headers = {"Authorization": f"Bearer {token}"} if authorized and token else None
            response = case.call(base_url=target.base_url, session=session, headers=headers, timeout=30)
            if response.status_code == 500 and (reason := known_500(case)):
                target.known[reason] += 1
                return
            target.note(label, response, (case.path_parameters, case.query, case.body))
            assert response.status_code != 500, target.server_errors[-1]

        check()


def _webchat_token(session: requests.Session, target: FuzzTarget) -> str:
    return session.post(f"{target.base_url}/api/webchat/sessions", timeout=30).json()["token"]


def _agent_token(session: requests.Session, target: FuzzTarget) -> str:
    # The demo agent `serve --demo` creates (README, quick start).
    response = session.post(f"{target.base_url}/api/agent/login", json={"login": "demo", "password": "demo"}, timeout=30)
    response.raise_for_status()
    session.cookies.clear()  # the Bearer token only: a cookie would need the CSRF header
    return response.json()["token"]


# -- webhooks (hypothesis) ----------------------------------------------------------------------

_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
json_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
# Field values the adapters read, and random junk in their place.
_any_text = st.text(max_size=60)
_ids = st.integers(min_value=-(2**63), max_value=2**63) | _any_text


def _telegram_update():
    user = st.fixed_dictionaries(
        {"id": _ids, "is_bot": st.booleans(), "first_name": _any_text},
        optional={"username": _any_text, "language_code": _any_text},
    )
    message = st.fixed_dictionaries(
        {"message_id": _ids, "date": _ids, "chat": st.fixed_dictionaries({"id": _ids, "type": _any_text})},
        optional={
            "from": user,
            "text": _any_text,
            "contact": st.fixed_dictionaries({"phone_number": _any_text, "first_name": _any_text}, optional={"user_id": _ids}),
            "entities": json_values,
        },
    )
    callback = st.fixed_dictionaries(
        {"id": _any_text, "from": user, "chat_instance": _any_text}, optional={"data": _any_text, "message": message}
    )
    return st.fixed_dictionaries(
        {"update_id": _ids}, optional={"message": message, "edited_message": message, "callback_query": callback}
    )


telegram_bodies = (
    _telegram_update().map(lambda update: json.dumps(update).encode())
    | json_values.map(lambda value: json.dumps(value).encode())
    | st.binary(max_size=200)
)


def fuzz_telegram(target: FuzzTarget, examples: int) -> None:
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    with httpx.Client(base_url=target.base_url, timeout=30) as client:

        @_settings(examples)
        @given(body=telegram_bodies)
        def check(body: bytes) -> None:
            response = client.post("/webhooks/telegram", content=body, headers=headers)
            target.note("telegram webhook", response, body)
            assert response.status_code != 500, target.server_errors[-1]

        check()


_form_keys = st.sampled_from(
    ["MessageSid", "SmsMessageSid", "From", "To", "Body", "ButtonPayload", "ButtonText", "ProfileName", "WaId",
     "NumMedia", "MessageType", "Latitude", "Longitude", "MessageStatus", "ErrorCode", "AccountSid", "ListId"]
) | st.text(max_size=12)
_form_values = st.text(max_size=60) | st.sampled_from(
    ["whatsapp:+79000000002", f"whatsapp:{BOT_NUMBER}", "+79000000002", "0", "1", "text", "delivered", "read", "failed"]
)
_valid_inbound = st.fixed_dictionaries(
    {
        "MessageSid": st.from_regex(r"\ASM[0-9a-f]{32}\Z"),
        "AccountSid": st.just(ACCOUNT_SID),
        "From": st.just("whatsapp:+79000000002") | _form_values,
        "To": st.just(f"whatsapp:{BOT_NUMBER}"),
        "Body": st.text(max_size=60),
    }
)
# Random forms, and well-formed inbound messages with random fields mixed in (those get
# past the form checks into the intake).
whatsapp_forms = st.dictionaries(_form_keys, _form_values, max_size=10) | st.builds(
    lambda valid, extra: {**extra, **valid}, _valid_inbound, st.dictionaries(_form_keys, _form_values, max_size=5)
)


def _strict_utf8(form: dict[str, str]) -> bool:
    # The form is sent URL-encoded in UTF-8: a lone surrogate cannot be encoded at all.
    try:
        for key, value in form.items():
            key.encode("utf-8"), value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def fuzz_whatsapp(target: FuzzTarget, examples: int) -> None:
    validator = RequestValidator(AUTH_TOKEN)
    with httpx.Client(base_url=target.base_url, timeout=30) as client:

        @_settings(examples)
        @given(form=whatsapp_forms.filter(_strict_utf8), path=st.sampled_from(["/webhooks/whatsapp", "/webhooks/whatsapp/status"]))
        def check(form: dict[str, str], path: str) -> None:
            signature = validator.compute_signature(PUBLIC_BASE_URL + path, form)
            response = client.post(path, data=form, headers={"X-Twilio-Signature": signature})
            target.note("whatsapp webhook", response, form)
            assert response.status_code != 500, target.server_errors[-1]

        check()


def _viber_callback():
    sender = st.fixed_dictionaries({"id": _any_text}, optional={"name": _any_text, "api_version": _ids})
    message = st.fixed_dictionaries(
        {"type": st.sampled_from(["text", "contact", "picture", "location"]) | _any_text},
        optional={"text": _any_text, "tracking_data": _any_text, "contact": json_values},
    )
    return st.fixed_dictionaries(
        {
            "event": st.sampled_from(
                ["message", "conversation_started", "subscribed", "unsubscribed", "delivered", "seen", "failed", "webhook"]
            ) | _any_text,
            "timestamp": _ids,
        },
        optional={"message_token": _ids, "sender": sender, "user": sender, "user_id": _any_text, "message": message,
                  "subscribed": st.booleans() | json_values, "type": _any_text},
    )


viber_bodies = (
    _viber_callback().map(lambda callback: json.dumps(callback).encode())
    | json_values.map(lambda value: json.dumps(value).encode())
    | st.binary(max_size=200)
)


def fuzz_viber(target: FuzzTarget, examples: int) -> None:
    with httpx.Client(base_url=target.base_url, timeout=30) as client:

        @_settings(examples)
        @given(body=viber_bodies)
        def check(body: bytes) -> None:
            headers = {"Content-Type": "application/json", "X-Viber-Content-Signature": viber_api.signature(body, viber_api.DEFAULT_TOKEN)}
            response = client.post("/webhooks/viber", content=body, headers=headers)
            target.note("viber webhook", response, body)
            assert response.status_code != 500, target.server_errors[-1]

        check()
