"""Browser tests: the real app on uvicorn (demo data, SQLite in tmp_path) and Debian's
chromium driven by Playwright.

Fixtures for new journeys:

* ``live_server`` — the base URL (a ``str``: ``page.goto(live_server)``), also carrying
  ``.app`` and ``.call(async_fn, *args)`` to run a coroutine on the server's loop,
  e.g. ``live_server.call(live_server.app.state.container.delivery.send, key, replies)``.
  One server for the whole test session (building the app with demo data takes seconds);
  every test gets a fresh browser context, so a fresh chat session. The demo accounts
  are shared: a journey that changes one (a trust payment) should use an account no
  other browser test changes.
* ``page`` — a fresh browser context (empty storage) and page; JavaScript errors on
  the page fail the test.
* ``chat`` — ``page`` opened on the demo page, wrapped in :class:`ChatWidget`
  (send text, press reply buttons, read messages).
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest
import uvicorn

from app.asgi import create_app
from app.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IN_CI = os.environ.get("CI", "").lower() == "true"
TIMEOUT_MS = 10_000


class LiveServer(str):
    """The server's base URL, plus a handle on the running app."""

    app: object
    loop: asyncio.AbstractEventLoop

    def call(self, async_fn, *args, timeout: float = 10.0):
        """Run ``async_fn(*args)`` on the server's event loop and return its result."""
        return asyncio.run_coroutine_threadsafe(async_fn(*args), self.loop).result(timeout)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("live_server")
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'browser.db'}",
        redis_url=None,
        secret_key="browser-test-secret-0123456789abcdef0123",
        secret_key_file=tmp_path / "secret",
        demo=True,
    )
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    started: dict = {}

    async def serve() -> None:
        started["loop"] = asyncio.get_running_loop()
        await server.serve()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), name="live-server", daemon=True)
    thread.start()
    for _ in range(1000):
        if server.started or not thread.is_alive():
            break
        threading.Event().wait(0.01)
    if not server.started:
        raise RuntimeError("the live server did not start (see the log above)")
    port = server.servers[0].sockets[0].getsockname()[1]
    url = LiveServer(f"http://127.0.0.1:{port}")
    url.app = app
    url.loop = started["loop"]
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(15)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is not installed (apt-get install -y chromium)"
        if IN_CI:
            pytest.fail(message + " — required in CI", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ru-RU")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


class ChatWidget:
    """The embedded widget as a subscriber sees it (it lives in an open shadow root;
    Playwright's CSS and role locators reach into it)."""

    def __init__(self, page) -> None:
        self.page = page
        self.panel = page.get_by_role("dialog")
        self.input = page.get_by_role("textbox", name="Сообщение")
        self.bot_messages = page.locator(".isp-msg--bot")
        self.user_messages = page.locator(".isp-msg--user")
        self.error = page.locator(".isp-error")

    def wait_for_bot_messages(self, at_least: int) -> None:
        self.page.wait_for_function(
            """n => document.querySelector('#isp-support-widget').shadowRoot
                     .querySelectorAll('.isp-msg--bot').length >= n""",
            arg=at_least,
            timeout=TIMEOUT_MS,
        )

    def send(self, text: str) -> str:
        """Type and send ``text``; wait for the answer; return the new bot texts joined."""
        before = self.bot_messages.count()
        self.input.fill(text)
        self.input.press("Enter")
        self.wait_for_bot_messages(before + 1)
        return self.texts_since(before)

    def press(self, title: str) -> str:
        """Press the (enabled) reply button ``title``; wait for the answer."""
        before = self.bot_messages.count()
        self.page.locator(".isp-button:not([disabled])", has_text=title).first.click()
        self.wait_for_bot_messages(before + 1)
        return self.texts_since(before)

    def texts_since(self, index: int) -> str:
        return "\n".join(self.bot_messages.nth(i).locator(".isp-text").inner_text() for i in range(index, self.bot_messages.count()))

    def active_buttons(self) -> list[str]:
        return self.page.locator(".isp-button:not([disabled])").all_inner_texts()


@pytest.fixture
def chat(page, live_server) -> ChatWidget:
    """The demo page with the widget open and the greeting shown."""
    page.goto(live_server)
    widget = ChatWidget(page)
    widget.wait_for_bot_messages(1)
    return widget
