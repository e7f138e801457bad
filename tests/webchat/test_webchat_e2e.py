"""Through the real container and dialog engine (smoke level; the skills have their own tests)."""

from __future__ import annotations

from .helpers import bearer, make_settings, running_app


async def test_greeting_comes_with_menu_buttons(database_url, tmp_path):
    async with running_app(make_settings(database_url, tmp_path)) as (_, client):
        session = (await client.post("/api/webchat/sessions")).json()
        response = await client.post("/api/webchat/messages", json={"text": "Здравствуйте"}, headers=bearer(session))
    assert response.status_code == 200
    body = response.json()
    assert body["held_by_agent"] is False
    assert body["replies"] and all(r["text"] for r in body["replies"])
    buttons = [b for r in body["replies"] for b in r["buttons"]]
    assert buttons and all(b["title"] and b["payload"] for b in buttons)


async def test_a_button_payload_is_understood(sqlite_url, tmp_path):
    async with running_app(make_settings(sqlite_url, tmp_path)) as (_, client):
        session = (await client.post("/api/webchat/sessions")).json()
        greeting = (await client.post("/api/webchat/messages", json={"payload": "greet"}, headers=bearer(session))).json()
        button = greeting["replies"][-1]["buttons"][0]
        response = await client.post("/api/webchat/messages", json={"payload": button["payload"]}, headers=bearer(session))
    assert response.status_code == 200
    assert response.json()["replies"]


async def test_a_retried_message_id_has_one_effect_and_the_same_replies(sqlite_url, tmp_path):
    async with running_app(make_settings(sqlite_url, tmp_path)) as (_, client):
        session = (await client.post("/api/webchat/sessions")).json()
        message = {"text": "Здравствуйте", "client_message_id": "retry-1"}
        first = await client.post("/api/webchat/messages", json=message, headers=bearer(session))
        again = await client.post("/api/webchat/messages", json=message, headers=bearer(session))
        assert first.status_code == again.status_code == 200
        # the same replies (only "at", when the server answered, is the retry's own)
        assert {**again.json(), "at": None} == {**first.json(), "at": None}

        # Another session may use the same client id: its own turn, not a replay.
        other = (await client.post("/api/webchat/sessions")).json()
        await client.post("/api/webchat/messages", json={"text": "Как оплатить?", "client_message_id": "retry-1"}, headers=bearer(other))

        history = (await client.get("/api/webchat/history", headers=bearer(session))).json()["messages"]
        other_history = (await client.get("/api/webchat/history", headers=bearer(other))).json()["messages"]
    assert [m["text"] for m in history if m["from"] == "user"] == ["Здравствуйте"]  # recorded once
    assert len(history) == 1 + len(first.json()["replies"])
    assert [m["text"] for m in other_history if m["from"] == "user"] == ["Как оплатить?"]


async def test_history_needs_the_token_and_is_per_session(sqlite_url, tmp_path):
    async with running_app(make_settings(sqlite_url, tmp_path)) as (_, client):
        assert (await client.get("/api/webchat/history")).status_code == 401
        session = (await client.post("/api/webchat/sessions")).json()
        assert (await client.get("/api/webchat/history", headers=bearer(session))).json() == {"messages": []}
        await client.post("/api/webchat/messages", json={"text": "Здравствуйте"}, headers=bearer(session))
        messages = (await client.get("/api/webchat/history", headers=bearer(session))).json()["messages"]
    assert messages[0]["from"] == "user" and messages[0]["text"] == "Здравствуйте"
    assert {m["from"] for m in messages[1:]} == {"bot"}
    assert all(m["at"] for m in messages)


async def test_a_password_is_flagged_secret_and_redacted_in_history(sqlite_url, tmp_path):
    async with running_app(make_settings(sqlite_url, tmp_path, demo=True)) as (_, client):
        session = (await client.post("/api/webchat/sessions")).json()
        for text in ("Хочу узнать баланс", "1000001"):
            await client.post("/api/webchat/messages", json={"text": text}, headers=bearer(session))
        response = await client.post("/api/webchat/messages", json={"text": "demo1"}, headers=bearer(session))
        history = (await client.get("/api/webchat/history", headers=bearer(session))).json()["messages"]
    assert response.json()["inbound_was_secret"] is True
    assert "demo1" not in str(history)


async def test_a_message_without_client_id_is_answered_each_time_and_keeps_no_replay_record(sqlite_url, tmp_path):
    async with running_app(make_settings(sqlite_url, tmp_path)) as (app, client):
        store = app.state.container.store
        session = (await client.post("/api/webchat/sessions")).json()
        ask = {"text": "Как оплатить интернет?"}
        first = await client.post("/api/webchat/messages", json=ask, headers=bearer(session))
        keys_after_first = store.stats().keys
        again = await client.post("/api/webchat/messages", json=ask, headers=bearer(session))
        # Without an id nobody can send "the same" message again: no result is kept to
        # replay (the conversation's state and rate keys exist already: no new key).
        assert store.stats().keys == keys_after_first
        with_id = await client.post(
            "/api/webchat/messages", json={**ask, "client_message_id": "m-1"}, headers=bearer(session)
        )
        assert store.stats().keys == keys_after_first + 1  # this one can be retried: kept
        history = (await client.get("/api/webchat/history", headers=bearer(session))).json()["messages"]
    assert first.status_code == again.status_code == with_id.status_code == 200
    assert again.json()["replies"] == first.json()["replies"]  # answered again, not replayed
    assert [m["text"] for m in history if m["from"] == "user"] == [ask["text"]] * 3  # each one recorded
