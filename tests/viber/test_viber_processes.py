"""Two app processes behind one load balancer (PostgreSQL + Redis shared): Viber
re-sends a callback to the other process; the subscriber gets one reply."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import provision_database, require_redis
from tests.viber.harness import viber_app, viber_settings


@pytest.mark.postgres
@pytest.mark.redis
async def test_the_same_message_token_in_two_processes_is_answered_once(viber_api, tmp_path):
    async with provision_database("postgres", tmp_path) as database_url:
        settings = viber_settings(
            database_url, viber_api, tmp_path, redis_url=await require_redis(),
            redis_prefix=f"viber-test:{uuid.uuid4().hex[:10]}:",
        )
        async with viber_app(settings, viber_api) as first, viber_app(settings, viber_api) as second:
            callback = first.callbacks.text("как оплатить интернет")
            assert (await first.post(callback)).status_code == 200
            assert (await second.post(callback)).status_code == 200
            await first.channel.drain()
            await second.channel.drain()
            replies = viber_api.sent()
            assert len(replies) == 1 and "Сбербанк" in replies[0]["text"]

            # Either process serves the same subscriber's next message and the agents'.
            assert (await second.post(first.callbacks.text("баланс"))).status_code == 200
            await second.channel.drain()
            later = viber_api.sent()[1:]
            assert later and "лицевого счёта" in later[-1]["text"]


async def test_a_message_token_is_claimed_once_per_store(state_store):
    """The claim behind the webhook's de-duplication, on both StateStores."""
    from bots.viber.state import ViberState

    first, second = ViberState(state_store), ViberState(state_store)
    assert await first.claim_message("5490000000000000001")
    assert not await second.claim_message("5490000000000000001")
    assert await second.claim_message("5490000000000000002")
