"""The agent console (/console) in a real browser against the real app.

Each journey uses its own agent and its own city, so the journeys do not see each
other's items on the shared live server. Screenshots for the README land in
docs/screenshots/console-*.png.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from storage.clock import utc_now
from tests.browser.conftest import TIMEOUT_MS, ChatWidget

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "console-test-password"


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"console-{name}.png"))


def container(live_server):
    return live_server.app.state.container


def add_agent(live_server, login: str, *, cities: str, departments: str = "all", supervisor: bool = False, name: str | None = None) -> str:
    agents = container(live_server).console.service.agents
    live_server.call(lambda: agents.add(login, PASSWORD, cities=cities, departments=departments, supervisor=supervisor, name=name))
    return login


@pytest.fixture(scope="module")
def belgorod_agent(live_server) -> str:
    return add_agent(live_server, "b.orlova", cities="Белгород", departments="subscriber", name="Ольга Орлова")


@pytest.fixture(scope="module")
def lipetsk_agent(live_server) -> str:
    return add_agent(live_server, "l.sokolov", cities="Липецк", name="Игорь Соколов")


@pytest.fixture(scope="module")
def neftekamsk_agent(live_server) -> str:
    return add_agent(live_server, "n.gareev", cities="Нефтекамск", name="Ильдар Гареев")


@pytest.fixture(scope="module")
def supervisor(live_server) -> str:
    return add_agent(live_server, "s.petrova", cities="all", supervisor=True, name="Мария Петрова")


@pytest.fixture
def new_page(browser):
    """Another fresh browser context (a second person), failing on JavaScript errors."""
    contexts: list = []
    errors: list[str] = []

    def make():
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ru-RU")
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def log_in(page, live_server, login: str, password: str = PASSWORD) -> None:
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None)
    page.goto(f"{live_server}/console")
    page.get_by_label("Логин").fill(login)
    page.get_by_label("Пароль").fill(password)
    page.get_by_label("Пароль").press("Enter")
    expect(page.locator("#console-view")).to_be_visible()
    expect(page.locator("#live-status")).to_have_text("онлайн")  # the WebSocket is up
    assert not violations, violations  # nothing the CSP had to block


def ask_for_an_operator(chat: ChatWidget, city: str) -> None:
    answer = chat.send("Позовите оператора")
    if "Передаю разговор" not in answer:
        answer = chat.send(city)
    assert "Передаю разговор оператору" in answer and city in answer, answer


# -- login -------------------------------------------------------------------------------------
def test_console_page_is_served_with_a_csp_without_inline_script(page, live_server):
    response = page.goto(f"{live_server}/console")
    csp = response.headers.get("content-security-policy", "")
    assert "script-src" in csp or "default-src" in csp, csp
    assert "unsafe-inline" not in csp.split("script-src")[-1].split(";")[0], csp
    assert "unsafe-eval" not in csp, csp
    expect(page.get_by_label("Логин")).to_be_focused()


def test_wrong_password_says_so_and_keeps_the_login(page, live_server, belgorod_agent):
    page.goto(f"{live_server}/console")
    screenshot(page, "login")
    page.get_by_label("Логин").fill(belgorod_agent)
    page.get_by_label("Пароль").fill("not-the-password")
    page.get_by_role("button", name="Войти").click()
    expect(page.locator("#login-error")).to_have_text("Неверный логин или пароль.")
    expect(page.get_by_label("Логин")).to_have_value(belgorod_agent)
    expect(page.get_by_label("Пароль")).to_be_focused()
    expect(page.locator("#console-view")).to_be_hidden()


# -- callbacks ---------------------------------------------------------------------------------
def queue_callback(live_server, city: str, department: str, phone: str, **fields):
    """A subscriber's callback request from yesterday: due (and overdue) now."""
    callbacks = container(live_server).callbacks
    return live_server.call(lambda: callbacks.request(city, department, phone, now=utc_now() - timedelta(days=1), **fields))


def queue_frames(page) -> list[dict]:
    """The console's WebSocket frames of type "queue", as the page receives them."""
    frames: list[dict] = []

    def on_socket(socket) -> None:
        if socket.url.endswith("/api/agent/ws"):
            socket.on("framereceived", lambda payload: frames.append(json.loads(payload)) if '"queue"' in str(payload) else None)

    page.on("websocket", on_socket)
    return frames


def set_presence(page, frames: list[dict], status: str, shown: str) -> None:
    """Change presence in the header; wait for the queue frame it causes (frames arrive in
    order, so every earlier event has been delivered by then)."""
    before = len(frames)
    page.get_by_label("Статус").select_option(status)
    expect(page.locator("#toast")).to_have_text(f"Статус: {shown}.")
    wait_for_frames(page, frames, more_than=before)


def wait_for_frames(page, frames: list[dict], *, more_than: int) -> None:
    for _ in range(TIMEOUT_MS // 20):
        if len(frames) > more_than:
            return
        page.wait_for_timeout(20)  # lets Playwright deliver the frames
    raise AssertionError(f"no new queue frame (still {len(frames)})")


def test_a_new_callback_appears_on_the_board_without_reloading(page, live_server, neftekamsk_agent):
    frames = queue_frames(page)
    log_in(page, live_server, neftekamsk_agent)
    # presence away and back: the header shows it, and the live events of the login are all in
    set_presence(page, frames, "away", "отошёл")
    set_presence(page, frames, "online", "на линии")
    item = page.locator(".item--callback", has_text="Мигает красный индикатор")
    expect(item).to_have_count(0)

    seen = len(frames)
    queue_callback(live_server, "Нефтекамск", "tech", "+79000000010", topic="Мигает красный индикатор")
    wait_for_frames(page, frames, more_than=seen)  # the WebSocket says the queue changed
    expect(item).to_be_visible()
    expect(item).to_contain_text("+7 900 000-00-10")
    expect(item).to_have_class(re.compile(r"item--overdue"))


def test_agent_claims_the_next_callbacks_and_records_the_outcomes(page, live_server, belgorod_agent):
    unanswered = queue_callback(live_server, "Белгород", "subscriber", "+79000000028", topic="Подключить ТВ")
    ticket = queue_callback(
        live_server, "Белгород", "subscriber", "+79000000008", account_number="1000008",
        topic="Не работает интернет после оплаты", preferred_time="после 18:00",
    )
    log_in(page, live_server, belgorod_agent)
    expect(page.locator("#agent-name")).to_contain_text("Ольга Орлова")
    item = page.locator(".item--callback", has_text="Не работает интернет после оплаты")
    expect(item).to_be_visible()
    expect(item).to_have_class(re.compile(r"item--overdue"))

    # the oldest first: nobody answers, the keyboard records it, the retry is later
    page.keyboard.press("n")  # «Следующий звонок»
    expect(page.locator("#cb-phone")).to_have_text("+7 900 000-00-28")
    expect(page.locator("#cb-phone")).to_be_focused()
    page.keyboard.press("2")  # «Не ответил»
    expect(page.locator("#cb-result")).to_contain_text(re.compile(r"Абонент не ответил\. Повторный звонок: .*\d\d:\d\d"))
    callbacks = container(live_server).callbacks
    assert live_server.call(lambda: callbacks.get(unanswered.id)).status == "queued"

    page.keyboard.press("n")
    expect(page.locator("#cb-phone")).to_have_text("+7 900 000-00-08")
    expect(page.locator("#cb-phone")).to_have_attribute("href", "tel:+79000000008")
    expect(page.locator("#cb-details")).to_contain_text("1000008")
    expect(page.locator("#cb-details")).to_contain_text("после 18:00")
    expect(item).to_contain_text("у вас")
    page.get_by_label("Итог разговора (заметка)").fill("Перезагрузили роутер, интернет работает.")
    screenshot(page, "callback")
    page.get_by_role("button", name="Решено").click()

    expect(page.locator("#cb-result")).to_contain_text("Звонок отмечен: решено.")
    expect(item).to_have_count(0)
    stored = live_server.call(lambda: callbacks.get(ticket.id))
    assert (stored.status, stored.claimed_by) == ("done", belgorod_agent)

    page.keyboard.press("n")  # nothing else is due (the unanswered one comes back later)
    expect(page.locator("#toast")).to_have_text("Сейчас нет звонков, которые пора сделать.")


# -- conversations -----------------------------------------------------------------------------
def test_agent_takes_over_a_web_chat_talks_with_the_subscriber_and_releases_it(chat, new_page, live_server, lipetsk_agent):
    agent = new_page()
    log_in(agent, live_server, lipetsk_agent)
    item = agent.locator(".item--conversation")  # the agent's only city: this conversation alone
    expect(item).to_have_count(0)
    ask_for_an_operator(chat, "Липецк")
    expect(item).to_have_count(1)  # live, without reloading
    item.click()
    expect(agent.locator("#conv-meta")).to_contain_text("Липецк")
    expect(agent.locator("#transcript .line--in", has_text="Позовите оператора")).to_be_visible()
    expect(agent.locator("#reply-text")).to_be_disabled()
    expect(agent.locator("#delivery-advice")).to_be_hidden()  # the web chat always delivers

    before = chat.bot_messages.count()
    agent.keyboard.press("t")  # take over
    expect(agent.locator("#conv-meta")).to_contain_text("у вас")
    expect(agent.locator("#reply-text")).to_be_focused()
    chat.wait_for_bot_messages(before + 1)
    assert "подключился оператор" in chat.texts_since(before)

    # a canned reply goes into the box, the agent finishes it and sends with Enter
    agent.locator("#canned .canned__item").first.click()
    expect(agent.locator("#reply-text")).not_to_have_value("")
    agent.locator("#reply-text").fill("Здравствуйте! Я посмотрю, что с вашим подключением.")
    before = chat.bot_messages.count()
    agent.locator("#reply-text").press("Enter")
    sent = agent.locator("#transcript .line--agent", has_text="Я посмотрю, что с вашим подключением")
    expect(sent.locator(".line__delivery")).to_have_text("✓ доставлено")
    expect(agent.locator("#reply-text")).to_have_value("")
    chat.wait_for_bot_messages(before + 1)
    assert "Я посмотрю, что с вашим подключением" in chat.texts_since(before)

    # the subscriber answers: the bot stays silent, the agent sees it live
    chat.input.fill("Спасибо, жду")
    chat.input.press("Enter")
    expect(agent.locator("#transcript .line--in", has_text="Спасибо, жду")).to_be_visible()

    agent.get_by_label("Новая заметка").fill("Проверить порт на коммутаторе")
    agent.get_by_label("Новая заметка").press("Enter")
    expect(agent.locator("#notes")).to_contain_text("Проверить порт на коммутаторе")
    screenshot(agent, "conversation")

    # away from the conversation, a new subscriber line flags it on the board and in the tab title
    agent.keyboard.press("Escape")  # leave the note box
    agent.keyboard.press("Escape")  # close the conversation: focus back on the board
    expect(agent.locator("#conversation-pane")).to_be_hidden()
    expect(item).to_be_focused()
    chat.input.fill("Алло, вы здесь?")
    chat.input.press("Enter")
    expect(item.locator(".badge--unread")).to_have_text("новое сообщение")
    expect(agent).to_have_title(re.compile(r"^\(✉ 1\)"))
    agent.keyboard.press("Enter")  # open it again from the board
    expect(agent.locator("#transcript .line--in", has_text="Алло, вы здесь?")).to_be_visible()
    expect(item.locator(".badge--unread")).to_have_count(0)

    before = chat.bot_messages.count()
    agent.get_by_role("button", name="Вернуть боту").click()
    expect(agent.locator("#conv-takeover")).to_be_visible()
    expect(agent.locator("#reply-text")).to_be_disabled()
    chat.wait_for_bot_messages(before + 1)
    assert "Проверить порт" not in chat.page.content()  # notes stay private


def test_script_in_a_subscriber_message_is_shown_as_text(chat, new_page, live_server, neftekamsk_agent):
    injected = '<img src=x onerror="window.__pwned=1;alert(1)">'
    ask_for_an_operator(chat, "Нефтекамск")
    chat.input.fill(injected)
    chat.input.press("Enter")

    agent = new_page()
    dialogs: list[str] = []
    agent.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(agent, live_server, neftekamsk_agent)
    item = agent.locator(".item--conversation", has_text=injected)
    expect(item).to_be_visible()  # the queue preview shows the text as typed
    item.click()
    line = agent.locator("#transcript .line--in .line__text", has_text=injected)
    expect(line).to_have_text(injected)
    assert agent.locator("#transcript img, #queue img").count() == 0
    assert agent.evaluate("window.__pwned") is None
    assert dialogs == []


def test_a_failed_delivery_shows_the_reason_and_the_agent_transfers_the_conversation(page, live_server, neftekamsk_agent):
    # A Telegram conversation while this server runs no Telegram channel: every send fails.
    handoffs = container(live_server).handoffs
    live_server.call(lambda: handoffs.enqueue(
        "telegram:5550001", "telegram", city="Нефтекамск", department="subscriber", account_number="1000010", reason="not_understood",
    ))
    log_in(page, live_server, neftekamsk_agent)
    page.locator(".item--conversation", has_text="Telegram").click()
    expect(page.locator("#subscriber-card")).to_contain_text("1000010")
    expect(page.locator("#subscriber-card")).to_contain_text("15,00 ₽")
    # the channel's advice is shown above the reply box before anything is sent
    expect(page.locator("#delivery-advice")).to_have_text("Канал telegram не подключён: сообщение не отправлено.")
    page.get_by_role("button", name="Взять разговор").click()
    # filters: the agent's own city; transfers: every city (from /api/agent/me)
    expect(page.locator("#filter-city option")).to_have_text(["Все города", "Нефтекамск"])
    expect(page.locator("#transfer-city option")).to_have_count(16)
    expect(page.locator("#transfer-city option", has_text="Владивосток")).to_have_count(1)
    page.locator("#reply-text").fill("Здравствуйте! Проверяю ваш баланс.")
    page.get_by_role("button", name="Отправить").click()

    failed = page.locator("#transcript .line--agent.line--failed", has_text="Проверяю ваш баланс")
    expect(failed.locator(".line__delivery")).to_contain_text("Не доставлено: Канал telegram не подключён")
    expect(page.locator("#toast")).to_contain_text("Сообщение не доставлено")
    screenshot(page, "failed-delivery")

    page.get_by_label("Передать в отдел").select_option("tech")
    page.get_by_role("button", name="Передать").click()
    expect(page.locator("#toast")).to_contain_text("Передано: Нефтекамск · Техподдержка")
    expect(page.locator("#conversation-pane")).to_be_hidden()
    moved = page.locator(".group", has_text="Нефтекамск · Техподдержка").locator(".item--conversation", has_text="Telegram")
    expect(moved).to_be_visible()


# -- supervisor --------------------------------------------------------------------------------
def test_supervisor_sees_every_queue_who_is_viewing_and_the_statistics(page, live_server, supervisor):
    callbacks = container(live_server).callbacks
    live_server.call(lambda: callbacks.request(
        "Белгород", "tech", "+79000000018", topic="Нет телевидения", now=utc_now() - timedelta(hours=2),
    ))
    queue_callback(live_server, "Москва", "subscriber", "+79000000001", topic="Вернуть деньги за ТВ-пакет")
    handoffs = container(live_server).handoffs
    ticket = live_server.call(lambda: handoffs.enqueue(
        "telegram:5550002", "telegram", city="Уфа", department="tech", account_number="1000002", reason="asked",
    ))
    log_in(page, live_server, supervisor)

    # another agent (the demo supervisor) opens the Уфа conversation: the board shows who is viewing
    service = container(live_server).console.service
    demo = live_server.call(lambda: service.agents.get("demo"))
    live_server.call(lambda: service.viewing(demo, ticket.id))
    ufa = page.locator(".group", has_text="Уфа · Техподдержка").locator(".item--conversation")
    expect(ufa.locator(".item__viewers")).to_have_text("смотрят: demo")
    expect(page.locator(".group", has_text="Москва · Абонентский отдел")).to_contain_text("Вернуть деньги за ТВ-пакет")
    screenshot(page, "queue")

    expect(page.locator("#tab-stats")).to_be_visible()
    page.keyboard.press("s")
    row = page.locator("#stats-body tr", has=page.locator("td", has_text="Белгород")).filter(has_text="Техподдержка")
    expect(row).to_be_visible()
    expect(row.locator("td").nth(2)).to_have_text(re.compile(r"[1-9]\d*"))
    expect(page.locator("#stats-tiles")).to_contain_text("на линии")
    screenshot(page, "supervisor")
    page.keyboard.press("q")
    expect(page.locator("#queue-layout")).to_be_visible()


def test_no_statistics_without_supervision_an_ended_session_and_logout(page, live_server, lipetsk_agent):
    log_in(page, live_server, lipetsk_agent)
    expect(page.locator("#tab-stats")).to_be_hidden()
    page.keyboard.press("s")
    expect(page.locator("#stats-view")).to_be_hidden()

    page.context.clear_cookies()  # the session is gone (expired, or ended elsewhere)
    page.keyboard.press("n")
    expect(page.locator("#login-view")).to_be_visible()
    expect(page.locator("#login-error")).to_have_text("Сессия закончилась. Войдите снова.")

    log_in(page, live_server, lipetsk_agent)
    page.get_by_role("button", name="Выйти").click()
    expect(page.locator("#login-view")).to_be_visible()
    page.reload()
    expect(page.locator("#login-view")).to_be_visible()  # the session is gone
