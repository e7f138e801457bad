"""The app's container gives every channel the durable outbox; through the web chat's own sender."""

from __future__ import annotations

from dialogs.messages import Reply

from .helpers import make_settings, running_app


async def test_an_outbox_message_reaches_the_web_chat_once(sqlite_url, tmp_path, echo_engine):
    async with running_app(make_settings(sqlite_url, tmp_path), engine=echo_engine) as (app, client):
        session = (await client.post("/api/webchat/sessions")).json()
        outbox = app.state.container.outbox
        key = f"webchat:{session['session_id']}"
        for _ in range(2):  # the same agent message delivered twice (a retried console call)
            result = await outbox.deliver(key, [Reply("Это Ольга, чем помочь?")], idempotency_key="agent:olga:1")
            assert result.sent
        events = await app.state.channels["webchat"].mailbox.after(session["session_id"], None)
        texts = [reply["text"] for event in events for reply in event.to_dict()["replies"]]
        assert texts == ["Это Ольга, чем помочь?"]
        assert await outbox.counts() == {"sent": 1}
