"""Issue 12, the widget: timestamps, safe formatting, agents' names, ratings, phones,
and a header that tells whether agents are online. Screenshots for the README land in
docs/screenshots/widget-*.png (desktop and 390 px wide)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from dialogs.messages import Reply
from tests.browser.conftest import TIMEOUT_MS, ChatWidget

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
AGENT_LOGIN, AGENT_PASSWORD, AGENT_NAME = "t.smirnova", "widget-test-password", "Анна Смирнова"
CITY = "Тамбов"  # only this module's agent serves it
TIME = re.compile(r"^\d{2}:\d{2}$")


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"widget-{name}.png"))


def session_id(page) -> str:
    return page.evaluate("() => JSON.parse(localStorage.getItem('ispSupport.session')).session_id")


def push(live_server, page, *replies: Reply) -> None:
    page.locator(".isp-status-dot--online").wait_for()  # the WebSocket is up
    live_server.call(live_server.app.state.container.delivery.send, f"webchat:{session_id(page)}", list(replies))


@pytest.fixture(scope="module")
def agent(live_server):
    agents = live_server.app.state.container.console.service.agents
    live_server.call(lambda: agents.add(AGENT_LOGIN, AGENT_PASSWORD, cities=CITY, departments="all", name=AGENT_NAME))
    return agents


@pytest.fixture
def phone_chat(browser, live_server):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="ru-RU")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server)
    yield ChatWidget(page)
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def test_messages_carry_their_time_also_from_history(chat, page):
    chat.send("Здравствуйте")
    for row in (chat.user_messages.last, chat.bot_messages.last):
        shown = row.locator("time.isp-time")
        assert TIME.match(shown.inner_text()), shown.inner_text()
        assert shown.get_attribute("datetime")
    second = page.context.new_page()  # the history endpoint, not the tab's storage
    second.goto(page.url)
    second.locator(".isp-msg--user", has_text="Здравствуйте").wait_for()
    assert TIME.match(second.locator(".isp-msg--user time.isp-time").last.inner_text())
    second.close()


def test_bold_lists_and_links_are_rendered_without_markup_from_the_text(chat, live_server):
    page = chat.page
    before = chat.bot_messages.count()
    text = (
        "**Оплатить** можно так:\n- картой на сайте\n- в личном кабинете\n"
        "1. войдите\n2. нажмите «Оплатить»\n"
        "Подробнее: https://example.org/pay?x=1. Не ссылка: javascript:alert(1) и "
        '<img src=x onerror="window.__pwned=1"> **не закрыто'
    )
    push(live_server, page, Reply(text))
    chat.wait_for_bot_messages(before + 1)
    message = chat.bot_messages.last
    assert message.locator("strong").all_inner_texts() == ["Оплатить"]
    assert message.locator("ul li").all_inner_texts() == ["картой на сайте", "в личном кабинете"]
    assert message.locator("ol li").all_inner_texts() == ["войдите", "нажмите «Оплатить»"]
    links = message.locator("a")
    assert links.count() == 1
    assert links.get_attribute("href") == "https://example.org/pay?x=1"
    assert links.get_attribute("rel") == "noopener noreferrer" and links.get_attribute("target") == "_blank"
    assert message.locator("img").count() == 0
    assert '<img src=x onerror="window.__pwned=1">' in message.inner_text()
    assert "**не закрыто" in message.inner_text()  # an unpaired marker stays as typed
    assert page.evaluate("() => window.__pwned") is None
    screenshot(page, "formatting")


def test_an_agents_conversation_shows_the_name_and_can_be_rated_once(chat, live_server, agent):
    page = chat.page
    service = live_server.app.state.container.console.service
    answer = chat.send("Позовите оператора")
    if "Передаю разговор" not in answer:
        answer = chat.send(CITY)
    assert "Передаю разговор оператору" in answer, answer
    # nobody of the Тамбов queue is online: the header must not promise one
    expect(page.locator(".isp-status-text")).to_have_text("отвечает бот")

    live_server.call(lambda: agent.login(AGENT_LOGIN, AGENT_PASSWORD))  # the agent comes online
    profile = live_server.call(lambda: agent.get(AGENT_LOGIN))
    try:
        page.reload()
        expect(page.locator(".isp-status-text")).to_have_text("на связи")
        key = f"webchat:{session_id(page)}"
        handoff = live_server.call(lambda: service.handoffs.current(key))
        before = chat.bot_messages.count()
        live_server.call(lambda: service.takeover(profile, handoff.id))
        chat.wait_for_bot_messages(before + 1)
        assert f"подключился оператор {AGENT_NAME}" in chat.texts_since(before)

        before = chat.bot_messages.count()
        live_server.call(lambda: service.message(profile, handoff.id, "Здравствуйте! Сейчас **проверю** линию."))
        chat.wait_for_bot_messages(before + 1)
        assert chat.bot_messages.last.locator(".isp-author").inner_text() == AGENT_NAME
        assert chat.bot_messages.last.locator("strong").inner_text() == "проверю"
        screenshot(page, "agent")

        rating = page.locator("form.isp-rate")
        assert rating.count() == 0  # not while the conversation goes on
        live_server.call(lambda: service.release(profile, handoff.id))
        rating.wait_for()
        assert AGENT_NAME in rating.inner_text()
        rating.get_by_role("button", name="Отправить оценку").click()
        assert "Выберите оценку" in rating.locator(".isp-rate-hint").inner_text()
        rating.get_by_role("button", name="Оценка 4 из 5").click()
        assert rating.locator(".isp-star--on").count() == 4
        rating.get_by_label("Комментарий (необязательно)").fill("Быстро и вежливо")
        screenshot(page, "rating")
        rating.get_by_role("button", name="Отправить оценку").click()
        expect(rating).to_contain_text("Спасибо за оценку")

        summary = live_server.call(lambda: live_server.app.state.support_desk.summary(10))
        mine = [r for r in summary["latest"] if r["handoff_id"] == handoff.id]
        assert mine == [
            {"handoff_id": handoff.id, "agent": AGENT_LOGIN, "stars": 4, "comment": "Быстро и вежливо", "at": mine[0]["at"]}
        ]
        # one rating per conversation: a second one is refused, and the widget does not offer it again
        status = page.evaluate(
            """async () => {
                const s = JSON.parse(localStorage.getItem('ispSupport.session'));
                const r = await fetch('/api/webchat/rating', {method: 'POST',
                    headers: {'Content-Type': 'application/json', Authorization: 'Bearer ' + s.token},
                    body: JSON.stringify({stars: 5})});
                return r.status;
            }"""
        )
        assert status == 409
        page.reload()
        page.locator(".isp-status-dot--online").wait_for()
        chat.wait_for_bot_messages(1)
        expect(page.locator("form.isp-rate")).to_have_count(0)
        # a new tab rebuilds the chat from the history, which names no agent's login
        second = page.context.new_page()
        second.goto(page.url)
        labelled = second.locator(".isp-msg--agent", has_text="Сейчас проверю линию")
        labelled.wait_for()
        assert labelled.locator(".isp-author").inner_text() == "Оператор"
        assert AGENT_LOGIN not in second.locator(".isp-log").inner_text()
        second.close()
    finally:
        live_server.call(lambda: agent.set_presence(profile.id, "offline"))


def test_on_a_phone_the_widget_waits_to_be_opened_and_the_launcher_is_small(phone_chat, live_server):
    page = phone_chat.page
    launcher = page.get_by_role("button", name="Открыть чат поддержки")
    launcher.wait_for()
    page.wait_for_timeout(300)  # data-open="true" would have opened it by now
    assert not phone_chat.panel.is_visible()
    box = launcher.bounding_box()
    assert box["width"] <= 56 and box["height"] <= 56, box
    assert box["x"] + box["width"] <= PHONE["width"] and box["y"] + box["height"] <= PHONE["height"]
    screenshot(page, "phone-launcher")
    # at the end of the page, the last content scrolls clear of the launcher
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_timeout(100)
    launcher_top = launcher.bounding_box()["y"]
    last_text = page.evaluate(
        "() => { const r = document.createRange(); r.selectNodeContents(document.querySelector('footer .wrap'));"
        " return r.getBoundingClientRect().bottom; }"
    )
    assert last_text <= launcher_top, (last_text, launcher_top)
    assert float(page.evaluate("() => getComputedStyle(document.body).paddingBottom").removesuffix("px")) >= 60

    launcher.click()  # asked for: now it takes the whole screen
    phone_chat.wait_for_bot_messages(1)
    panel = phone_chat.panel.bounding_box()
    assert panel["width"] == PHONE["width"] and panel["height"] == PHONE["height"]
    phone_chat.send("Здравствуйте")
    screenshot(page, "phone-open")


def test_desktop_screenshot_of_the_open_widget(chat):
    chat.send("Как оплатить?")
    screenshot(chat.page, "desktop")
