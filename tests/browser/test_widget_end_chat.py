"""The widget's "Завершить чат": the server revokes the session's token, the widget
forgets the session and its messages, and the next message starts a new session."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.browser


def test_end_chat_revokes_the_token_and_starts_over(chat, live_server):
    page = chat.page
    chat.send("Здравствуйте")
    token = page.evaluate("() => JSON.parse(localStorage.getItem('ispSupport.session')).token")

    with page.expect_response(lambda r: r.url.endswith("/api/webchat/sessions/end")) as ended:
        page.get_by_role("button", name="Завершить чат").click()
    assert ended.value.status == 204
    assert not chat.panel.is_visible()
    assert page.evaluate("() => localStorage.getItem('ispSupport.session')") is None

    refused = httpx.get(f"{live_server}/api/webchat/history", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "session_ended"

    page.get_by_role("button", name="Открыть чат поддержки").click()
    assert chat.user_messages.count() == 0  # the ended chat is not shown again
    chat.send("Здравствуйте")
    assert page.evaluate("() => JSON.parse(localStorage.getItem('ispSupport.session')).token") != token
