"""Issue 10 reproductions through the web chat: bad bytes and deep JSON."""

from __future__ import annotations

import json

import pytest

from .helpers import bearer, make_settings, running_app


async def test_a_nul_in_a_message_blocks_no_ones_transcript(database_url, tmp_path):
    """`{"text":"a\\u0000b"}` once made PostgreSQL refuse every later transcript batch
    of the process, and every history read answered 500."""
    async with running_app(make_settings(database_url, tmp_path)) as (_, client):
        poisoner = (await client.post("/api/webchat/sessions")).json()
        body = '{"text":"a\\u0000b"}'
        response = await client.post(
            "/api/webchat/messages", content=body, headers={**bearer(poisoner), "Content-Type": "application/json"}
        )
        assert response.status_code == 200 and response.json()["replies"]

        later = (await client.post("/api/webchat/sessions")).json()
        await client.post("/api/webchat/messages", json={"text": "Здравствуйте"}, headers=bearer(later))
        for session in (later, poisoner):
            history = await client.get("/api/webchat/history", headers=bearer(session))
            assert history.status_code == 200
        assert [m["text"] for m in history.json()["messages"] if m["from"] == "user"] == ["ab"]
        later_history = (await client.get("/api/webchat/history", headers=bearer(later))).json()["messages"]
        assert [m["text"] for m in later_history if m["from"] == "user"] == ["Здравствуйте"]


@pytest.mark.parametrize("text", ["\u0000", "\u0001\u0002 ", "\ud800"])
async def test_a_message_of_only_refused_characters_is_a_422(client, session, text, echo_engine):
    body = json.dumps({"text": text})
    response = await client.post(
        "/api/webchat/messages", content=body, headers={**bearer(session), "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert echo_engine.seen == []


async def test_the_engine_gets_cleaned_text(client, session, echo_engine):
    body = json.dumps({"text": "при\u0000вет\r\n\ufffe"})
    response = await client.post(
        "/api/webchat/messages", content=body, headers={**bearer(session), "Content-Type": "application/json"}
    )
    assert response.status_code == 200
    assert echo_engine.seen[-1].text == "привет\n"
