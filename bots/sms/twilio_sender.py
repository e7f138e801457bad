"""SMS through Twilio's Messages API, with the official ``twilio`` library's
async client (built by ``bots.twilio_rest``, shared with WhatsApp). Every message is
first stored in the outbox (so nothing is lost if Twilio is down), then marked
``sent`` with Twilio's message SID or ``failed``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from aiohttp import ClientError
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from twilio.base.exceptions import TwilioException

from bots.sms.models import SmsOutbox
from bots.sms.outbox import FAILED, SENT, mask_phone, store_outbox_row, utc_now
from bots.twilio_rest import REQUEST_TIMEOUT_SECONDS, TwilioRest

log = logging.getLogger(__name__)


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
        self._rest = TwilioRest(account_sid, auth_token, api_base)
        self._from = from_number
        self._sessions = sessions
        self._clock = clock

    async def send(self, phone_e164: str, text: str) -> None:
        row_id = await store_outbox_row(self._sessions, phone_e164, text, self._clock())
        try:
            # The async http client ignores its own timeout setting: bound it here.
            message = await asyncio.wait_for(
                self._rest.client.messages.create_async(to=phone_e164, from_=self._from, body=text),
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
        await self._rest.aclose()
