"""Issue 12: the subscriber rates an ended conversation with an agent from the web chat
(``/api/webchat/status`` and ``/api/webchat/rating``); supervisors read the ratings
(``GET /api/agent/ratings``). SQLite and PostgreSQL (the ``console`` fixture)."""

from __future__ import annotations

import pytest


def bearer(chat) -> dict:
    return {"Authorization": f"Bearer {chat.token}"}


async def status_of(console, chat) -> dict:
    response = await console.client.get("/api/webchat/status", headers=bearer(chat))
    assert response.status_code == 200, response.text
    return response.json()


async def rate(console, chat, body) -> "object":
    return await console.client.post("/api/webchat/rating", headers=bearer(chat), json=body)


async def test_status_tells_whether_an_agent_of_the_queue_is_online(console):
    chat, _ = await console.queued_chat("Москва")
    assert (await status_of(console, chat)) == {"agents_online": False, "can_rate": False, "agent_name": None}
    await console.agent("tomsk", cities="Томск")  # online, but for another city
    await console.agent("chief", supervisor=True)  # supervisors do not answer chats
    assert (await status_of(console, chat))["agents_online"] is False
    await console.agent("anna", cities="Москва")
    assert (await status_of(console, chat))["agents_online"] is True
    console.clock.advance(minutes=30)  # a console not heard from is offline
    assert (await status_of(console, chat))["agents_online"] is False


async def test_before_any_queue_any_chat_agent_counts(console):
    chat = await console.new_chat()
    assert (await status_of(console, chat))["agents_online"] is False
    await console.agent("anna", cities="Томск")
    assert (await status_of(console, chat))["agents_online"] is True


async def test_an_ended_conversation_is_rated_once_and_supervisors_see_it(console):
    chat, handoff_id = await console.queued_chat("Москва")
    anna = await console.agent("anna", cities="Москва")
    assert (await rate(console, chat, {"stars": 5})).status_code == 409  # nobody talked to them yet
    await anna.post(f"/conversations/{handoff_id}/takeover")
    assert (await status_of(console, chat))["can_rate"] is False  # still talking
    refused = await rate(console, chat, {"stars": 5})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "no_conversation"
    await anna.post(f"/conversations/{handoff_id}/messages", {"text": "Здравствуйте!"})
    assert any("Здравствуйте!" == t for t in await console.mailbox(chat))
    events = await console.app.state.channels["webchat"].mailbox.after(chat.session_id, None)
    authored = [r for e in events for r in e.to_dict()["replies"] if r["text"] == "Здравствуйте!"]
    assert authored[0]["author"] == "anna"  # the agent's name (defaults to the login)
    await anna.post(f"/conversations/{handoff_id}/release")

    assert (await status_of(console, chat)) == {"agents_online": True, "can_rate": True, "agent_name": "anna"}
    created = await rate(console, chat, {"stars": 4, "comment": "  Спасибо, помогли \x00 "})
    assert created.status_code == 201, created.text
    assert (await status_of(console, chat))["can_rate"] is False
    again = await rate(console, chat, {"stars": 1})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_rated"

    chief = await console.agent("chief", supervisor=True)
    assert (await anna.get("/ratings")).status_code == 404  # supervisors only
    body = (await chief.get("/ratings")).json()
    assert body["total"] == 1 and body["average"] == 4.0
    assert body["by_stars"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}
    assert [(r["handoff_id"], r["agent"], r["stars"], r["comment"]) for r in body["latest"]] == [
        (handoff_id, "anna", 4, "Спасибо, помогли")
    ]


@pytest.mark.parametrize(
    "body",
    [{}, {"stars": 0}, {"stars": 6}, {"stars": "пять"}, {"stars": 3.5}, {"stars": 3, "comment": "x" * 1001},
     {"stars": 3, "extra": 1}, [], "5"],
)
async def test_bad_ratings_are_422_and_store_nothing(console, body):
    chat, handoff_id = await console.queued_chat("Москва")
    anna = await console.agent("anna", cities="Москва")
    await anna.post(f"/conversations/{handoff_id}/takeover")
    await anna.post(f"/conversations/{handoff_id}/release")
    assert (await rate(console, chat, body)).status_code == 422
    assert (await status_of(console, chat))["can_rate"] is True


async def test_rating_and_status_need_the_session_token(console):
    assert (await console.client.get("/api/webchat/status")).status_code == 401
    response = await console.client.post("/api/webchat/rating", json={"stars": 5})
    assert response.status_code == 401
    response = await console.client.post(
        "/api/webchat/rating", json={"stars": 5}, headers={"Authorization": "Bearer forged"}
    )
    assert response.status_code == 401
