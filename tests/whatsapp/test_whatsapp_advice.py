"""Before an agent writes: the 24-hour WhatsApp window, told in the console."""

from __future__ import annotations

from bots.whatsapp.texts import WINDOW_CLOSED_ADVICE, WINDOW_CLOSED_NO_TEMPLATE
from tests.whatsapp.harness import (
    SUBSCRIBER,
    WINDOW_TEMPLATE_SID,
    whatsapp_app,
    whatsapp_settings,
)

KEY = f"whatsapp:{SUBSCRIBER}"


async def agent_sees(wa, handoff_id: int) -> dict:
    agents = wa.container.console.service.agents
    if await agents.get("olga") is None:
        await agents.add("olga", "pw-olga", cities="Уфа", departments="all")
    login = await wa.client.post("/api/agent/login", json={"login": "olga", "password": "pw-olga"})
    assert login.status_code == 200, login.text
    response = await wa.client.get(
        f"/api/agent/conversations/{handoff_id}", headers={"Authorization": f"Bearer {login.json()['token']}"}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_window_open_no_advice_then_closed_without_template_cannot_deliver(wa):
    answer = " ".join(await wa.say("позовите оператора"))
    if "В каком вы городе" in answer:
        await wa.say("Уфа")
    record = await wa.container.handoffs.current(KEY)
    assert record is not None
    assert await wa.container.delivery.advise(KEY) is None
    assert (await agent_sees(wa, record.id))["delivery_advice"] is None

    wa.clock.advance(hours=24, minutes=1)
    assert await wa.container.delivery.advise(KEY) == WINDOW_CLOSED_NO_TEMPLATE
    assert (await agent_sees(wa, record.id))["delivery_advice"] == WINDOW_CLOSED_NO_TEMPLATE

    await wa.say("алло")  # the subscriber writes again: the window reopens
    assert await wa.container.delivery.advise(KEY) is None


async def test_window_closed_with_a_template_says_it_goes_as_the_template(database_url, twilio_api, tmp_path):
    settings = whatsapp_settings(database_url, twilio_api, tmp_path, twilio_content_sid_window=WINDOW_TEMPLATE_SID)
    async with whatsapp_app(settings, twilio_api) as wa:
        await wa.say("привет")
        wa.clock.advance(hours=30)
        advice = await wa.container.delivery.advise(KEY)
        assert advice == WINDOW_CLOSED_ADVICE and "шаблоном" in advice
