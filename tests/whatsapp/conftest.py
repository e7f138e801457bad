"""Fixtures of the WhatsApp tests: the Twilio REST double and the app wired to it."""

from __future__ import annotations

from typing import AsyncIterator

import pytest

from tests.doubles.twilio_api import FakeTwilioApi
from tests.whatsapp.harness import WhatsAppHarness, whatsapp_app, whatsapp_settings


@pytest.fixture
async def twilio_api() -> AsyncIterator[FakeTwilioApi]:
    async with FakeTwilioApi() as api:
        yield api


@pytest.fixture
async def wa(database_url, twilio_api, tmp_path) -> AsyncIterator[WhatsAppHarness]:
    """The app with the demo subscribers, on each database."""
    async with whatsapp_app(whatsapp_settings(database_url, twilio_api, tmp_path), twilio_api) as harness:
        yield harness
