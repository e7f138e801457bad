"""Verification through the web chat: password, SMS code, lockout, logout."""

from __future__ import annotations

import re

from sqlalchemy import select

from bots.sms.models import SmsOutbox


async def test_password_login_then_balance_resumes(chat):
    await chat.send("какой у меня баланс?")
    assert "номер лицевого счёта" in chat.text
    await chat.send("1000002")
    assert "пароль" in chat.text.lower()
    await chat.send("demo2")
    assert "вы вошли: лицевой счёт 1000002" in chat.text.lower()
    # the question asked before logging in is answered right away
    assert "Баланс: 50\u00a0₽" in chat.text


async def test_password_message_is_secret_and_redacted(stack, chat):
    await chat.send("войти")
    await chat.send("1000002")
    response = await chat.client.post(
        "/api/webchat/messages",
        json={"text": "demo2", "client_message_id": "secret-1"},
        headers={"Authorization": f"Bearer {chat.token}"},
    )
    assert response.status_code == 200
    history = await stack.container.transcript.history(f"webchat:{chat.session_id}")
    texts = [entry.text for entry in history]
    assert not any("demo2" in t for t in texts)
    assert any("скрыто" in t for t in texts)


async def test_wrong_password_counts_down_then_locks_with_retry_time(stack, chat):
    await chat.send("войти")
    await chat.send("1000002")
    await chat.send("wrong-1")
    assert "Осталось попыток: 4" in chat.text
    for attempt in range(2, 5):
        await chat.send(f"wrong-{attempt}")
    assert "Осталось попыток: 1" in chat.text
    await chat.send("wrong-5")
    assert "Слишком много неверных попыток" in chat.text
    assert "15 мин" in chat.text
    # even the right password is refused while locked, from another conversation too
    other = await stack.new_chat()
    await other.send("войти")
    await other.send("1000002")
    assert "Слишком много неверных попыток" in other.text
    # When the lock key expires (the StateStore's TTL; its expiry is covered by the
    # contract tests) the account opens again.
    await stack.container.store.delete("verify:locked:acct:1000002")
    await stack.container.store.delete("verify:fails:acct:1000002")
    await other.send("войти")
    await other.send("1000002")
    await other.send("demo2")
    assert "вы вошли" in other.text.lower()


async def test_unknown_account_looks_like_a_wrong_password(chat):
    await chat.send("войти")
    await chat.send("5555555")
    assert "пароль" in chat.text.lower()
    await chat.send("whatever")
    assert "Номер счёта или пароль не подходят" in chat.text


async def test_account_number_must_be_digits(chat):
    await chat.send("авторизоваться")
    await chat.send("12ab")
    assert "только цифры" in chat.text or "не ответ" in chat.text


async def test_sms_code_login(stack, chat):
    await chat.send("войти")
    await chat.send("1000004")
    await chat.click("SMS")
    assert "код" in chat.text.lower()
    async with stack.container.sessions() as session:
        sms = (await session.scalars(select(SmsOutbox).where(SmsOutbox.phone == "+79000000004"))).all()
    assert len(sms) == 1
    code = re.search(r"\d{6}", sms[0].text).group(0)
    await chat.send("000000" if code != "000000" else "111111")
    assert "Код не подходит" in chat.text
    await chat.send(code)
    assert "вы вошли: лицевой счёт 1000004" in chat.text.lower()


async def test_sms_for_unknown_account_sends_nothing_but_answers_the_same(stack, chat):
    await chat.send("войти")
    await chat.send("7777777")
    await chat.click("SMS")
    assert "Если номер счёта верный" in chat.text
    async with stack.container.sessions() as session:
        assert (await session.scalars(select(SmsOutbox))).all() == []


async def test_cancel_leaves_the_login_form(chat):
    await chat.send("войти")
    await chat.send("отмена")
    assert "отменил" in chat.text.lower()
    await chat.send("привет")  # a normal conversation again, not "that is not an answer"
    assert "Здравствуйте" in chat.text


async def test_logout_and_already_logged_in(chat):
    await chat.send("выйти")
    assert "не входили" in chat.text
    await chat.login()
    await chat.send("войти")
    assert "уже вошли" in chat.text
    await chat.press("logout")
    assert "Вы вышли из лицевого счёта 1000002" in chat.text
    await chat.press("balance")
    assert "номер лицевого счёта" in chat.text


async def test_idle_session_forgets_the_account(stack, chat):
    await chat.login()
    stack.clock.advance(minutes=31)
    await chat.press("balance")
    assert "номер лицевого счёта" in chat.text


async def test_password_reset_explains_and_offers_sms(chat):
    await chat.send("забыл пароль от личного кабинета")
    assert "Восстановить пароль" in chat.text
    assert any("SMS" in b for b in chat.buttons())
