"""SMS through Twilio's Messages API, with the official ``twilio`` library's
async client. Every message is first stored in the outbox (so nothing is lost if
Twilio is down), then marked ``sent`` with Twilio's message SID or ``failed``.

The API base URL is configurable (a proxy or a test double): the twilio library
builds every Messages URL from ``client.api.base_url`` (``twilio.base.domain.Domain
.absolute_url``; the default is ``https://api.twilio.com``), so that attribute is
what we override. The library falls back to ``os.environ`` for any of
TWILIO_ACCOUNT_SID / AUTH_TOKEN / EDGE / REGION not given and for an *empty*
``environment`` mapping (``base/client_base.py``), so we pass an explicit one with
edge and region blank: configuration comes from the settings only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from types import MappingProxyType

from aiohttp import ClientError
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from twilio.base.exceptions import TwilioException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from bots.sms.models import SmsOutbox
from bots.sms.outbox import FAILED, SENT, mask_phone, store_outbox_row, utc_now

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_SECONDS = 15.0
# Non-empty on purpose (an empty mapping makes twilio read os.environ).
_NO_ENVIRONMENT = MappingProxyType({"TWILIO_EDGE": "", "TWILIO_REGION": ""})


class SmsSendError(Exception):
    """The SMS provider refused or could not be reached; the outbox row is ``failed``."""


class TwilioSmsSender:
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        api_base: str | None,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._from = from_number
        self._api_base = api_base.rstrip("/") if api_base else None
        self._sessions = sessions
        self._clock = clock
        self._client: Client | None = None
        self._http: AsyncTwilioHttpClient | None = None

    def _twilio(self) -> Client:
        # Built lazily: the aiohttp session inside must be created on the running loop.
        if self._client is None:
            self._http = AsyncTwilioHttpClient()
            client = Client(
                self._account_sid,
                self._auth_token,
                http_client=self._http,
                environment=_NO_ENVIRONMENT,
            )
            if self._api_base:
                client.api.base_url = self._api_base
            self._client = client
        return self._client

    async def send(self, phone_e164: str, text: str) -> None:
        row_id = await store_outbox_row(self._sessions, phone_e164, text, self._clock())
        try:
            # The async http client ignores its own timeout setting: bound it here.
            message = await asyncio.wait_for(
                self._twilio().messages.create_async(to=phone_e164, from_=self._from, body=text),
                REQUEST_TIMEOUT_SECONDS,
            )
        except (TwilioException, ClientError, asyncio.TimeoutError) as error:
            await self._mark(row_id, status=FAILED)
            code = getattr(error, "code", None)
            log.warning("SMS to %s failed: %s %s", mask_phone(phone_e164), type(error).__name__, code or "")
            raise SmsSendError(f"Twilio did not accept the SMS ({type(error).__name__} {code or ''})".strip()) from error
        await self._mark(row_id, status=SENT, provider_sid=message.sid, sent_at=self._clock())
        log.info("SMS to %s handed to Twilio as %s", mask_phone(phone_e164), message.sid)

    async def _mark(self, row_id: int, **values) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(update(SmsOutbox).where(SmsOutbox.id == row_id).values(**values))

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
            self._client = None
