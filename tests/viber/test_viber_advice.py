"""Before an agent writes: Viber's paid chatbot-initiated session and unsubscribed users."""

from __future__ import annotations

from bots.viber import texts
from tests.viber.harness import viber_app, viber_settings
from tests.viber.test_viber_webhook import clock, vb  # noqa: F401 - fixtures


async def test_no_advice_inside_the_session_refusal_told_outside_it(vb, clock):  # noqa: F811
    key = f"viber:{vb.user_id}"
    assert await vb.container.delivery.advise(key) == texts.PAID_REFUSED  # never wrote; paid messages off
    await vb.say("привет")
    assert await vb.container.delivery.advise(key) is None
    clock.advance(hours=25)
    assert await vb.container.delivery.advise(key) == texts.PAID_REFUSED


async def test_paid_session_is_announced_when_paid_messages_are_allowed(sqlite_url, viber_api, tmp_path, clock):  # noqa: F811
    settings = viber_settings(sqlite_url, viber_api, tmp_path, viber_allow_paid_messages=True)
    async with viber_app(settings, viber_api, clock=clock) as harness:
        advice = await harness.container.delivery.advise(f"viber:{harness.user_id}")
        assert advice == texts.PAID_ADVICE and advice.startswith("Сообщение откроет платную сессию Viber")


async def test_an_unsubscribed_subscriber_is_told_before_writing(vb):  # noqa: F811
    await vb.say("привет")
    assert (await vb.post(vb.callbacks.unsubscribed())).status_code == 200
    assert await vb.container.delivery.advise(f"viber:{vb.user_id}") == texts.NOT_SUBSCRIBED
