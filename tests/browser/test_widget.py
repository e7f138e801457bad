"""The embeddable widget in a real browser against the real app."""

from __future__ import annotations

import pytest

from dialogs.messages import Button, Reply

pytestmark = pytest.mark.browser


def test_demo_page_opens_the_widget_with_a_greeting_and_buttons(chat):
    page = chat.page
    assert "Зелёная точка" in page.title()
    assert chat.panel.is_visible()
    assert chat.input.is_visible()
    assert chat.bot_messages.count() >= 1
    assert chat.active_buttons(), "the greeting offers reply buttons"
    assert chat.user_messages.count() == 0  # the greeting needs no visible user message


def test_sending_text_shows_it_and_the_reply(chat):
    replies = chat.send("Здравствуйте")
    assert replies.strip()
    assert chat.user_messages.last.locator(".isp-text").inner_text() == "Здравствуйте"
    assert chat.input.input_value() == ""
    assert not chat.error.is_visible()


def test_pressing_a_button_sends_it_and_shows_its_title(chat):
    title = chat.active_buttons()[0]
    replies = chat.press(title)
    assert replies.strip()
    assert chat.user_messages.last.locator(".isp-text").inner_text() == title
    # buttons of answered messages are switched off; the new reply's are live
    assert chat.page.locator(".isp-msg--bot").first.locator(".isp-button[disabled]").count() >= 1


def test_reload_keeps_the_session_and_the_messages(chat):
    page = chat.page
    chat.send("Здравствуйте")
    token = page.evaluate("() => JSON.parse(localStorage.getItem('ispSupport.session')).token")
    bots, users = chat.bot_messages.count(), chat.user_messages.count()
    page.reload()
    chat.wait_for_bot_messages(bots)
    assert page.evaluate("() => JSON.parse(localStorage.getItem('ispSupport.session')).token") == token
    assert chat.bot_messages.count() == bots
    assert chat.user_messages.count() == users
    assert chat.user_messages.last.locator(".isp-text").inner_text() == "Здравствуйте"


def test_history_is_shown_in_a_new_tab_of_the_same_browser(chat, page):
    chat.send("Здравствуйте")
    second = page.context.new_page()  # same localStorage, empty sessionStorage
    second.goto(page.url)
    second.locator(".isp-msg--user", has_text="Здравствуйте").wait_for()
    assert second.locator(".isp-msg--bot").count() >= 2
    second.close()


def test_agent_message_arrives_live_over_the_websocket(chat, live_server):
    page = chat.page
    page.locator(".isp-status-dot--online").wait_for()
    session_id = page.evaluate("() => JSON.parse(localStorage.getItem('ispSupport.session')).session_id")
    before = chat.bot_messages.count()
    delivery = live_server.app.state.container.delivery
    reply = Reply("Здравствуйте! Я оператор Анна, чем помочь?", buttons=(Button("Спасибо", "thanks_bye"),))
    live_server.call(delivery.send, f"webchat:{session_id}", [reply])
    chat.wait_for_bot_messages(before + 1)
    assert "оператор Анна" in chat.bot_messages.last.inner_text()
    assert "Спасибо" in chat.active_buttons()


def test_network_failure_shows_a_friendly_russian_line_and_retry_works(chat):
    page = chat.page
    page.route("**/api/webchat/messages", lambda route: route.abort())
    chat.input.fill("Баланс")
    chat.input.press("Enter")
    chat.error.wait_for()
    text = chat.error.inner_text()
    assert "Нет соединения" in text and "Повторить" in text
    assert "Error" not in text and "at " not in text
    before = chat.bot_messages.count()
    page.unroute("**/api/webchat/messages")
    page.get_by_role("button", name="Повторить").click()
    chat.wait_for_bot_messages(before + 1)
    assert not chat.error.is_visible()


def test_phone_request_is_rendered_as_a_phone_input(chat, live_server):
    page = chat.page
    page.locator(".isp-status-dot--online").wait_for()
    session_id = page.evaluate("() => JSON.parse(localStorage.getItem('ispSupport.session')).session_id")
    ask = Reply("Оставьте номер, мы перезвоним.", ask_phone=True)
    live_server.call(live_server.app.state.container.delivery.send, f"webchat:{session_id}", [ask])
    phone = page.get_by_label("Ваш номер телефона")
    phone.wait_for()
    assert phone.get_attribute("type") == "tel"
    phone.fill("12")
    page.get_by_role("button", name="Отправить номер").click()
    assert "Введите номер полностью" in page.locator(".isp-phone-hint").inner_text()
    before = chat.bot_messages.count()
    phone.fill("+7 900 000-00-02")
    page.get_by_role("button", name="Отправить номер").click()
    chat.wait_for_bot_messages(before + 1)
    assert chat.user_messages.last.locator(".isp-text").inner_text() == "+7 900 000-00-02"
    assert page.locator(".isp-phone").count() == 0  # answered: the form is gone


def test_close_and_reopen_with_keyboard_support(chat):
    page = chat.page
    page.get_by_role("button", name="Свернуть чат").click()
    assert not chat.panel.is_visible()
    launcher = page.get_by_role("button", name="Открыть чат поддержки")
    assert launcher.get_attribute("aria-expanded") == "false"
    launcher.click()
    assert chat.panel.is_visible()
    page.keyboard.press("Escape")
    assert not chat.panel.is_visible()


def test_a_password_is_masked_in_the_chat_and_not_kept_in_the_browser(chat):
    page = chat.page
    chat.send("Хочу узнать баланс")
    chat.send("1000001")
    answer = chat.send("demo1")
    assert "1000001" in answer or "Баланс" in answer or "₽" in answer, answer
    assert chat.user_messages.last.locator(".isp-text").inner_text() == "••••••"
    stored = page.evaluate("() => JSON.stringify(Object.assign({}, sessionStorage, localStorage))")
    assert "demo1" not in stored


def test_an_expired_token_starts_a_new_session_without_an_error(chat, live_server):
    """Issue 10: tokens expire; the widget meets 401 token_expired by starting over."""
    import json
    import time

    from bots.webchat.tokens import SessionSigner

    page = chat.page
    signer = live_server.app.state.channels["webchat"].signer
    stale = SessionSigner(signer._secret, clock=lambda: time.time() - 40 * 24 * 3600).new_session()
    page.evaluate(
        "(s) => localStorage.setItem('ispSupport.session', s)",
        json.dumps({"session_id": stale.session_id, "token": stale.token}),
    )
    page.reload()
    chat.panel.wait_for()
    replies = chat.send("Здравствуйте")
    assert replies.strip()
    assert not chat.error.is_visible()
    current = page.evaluate("() => JSON.parse(localStorage.getItem('ispSupport.session'))")
    assert current["session_id"] != stale.session_id and current["token"] != stale.token
