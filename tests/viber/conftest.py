"""Fixtures of the Viber tests: the Viber API double and the app wired to it."""

from __future__ import annotations

from typing import AsyncIterator

import pytest

from tests.doubles.viber_api import FakeViberApi


@pytest.fixture
async def viber_api() -> AsyncIterator[FakeViberApi]:
    async with FakeViberApi() as api:
        yield api
